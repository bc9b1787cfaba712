-- Reports at 1 M visits (issue 4): a lead carries the report fields of its visit, as a call does (migration
-- 025), copied when the lead is written (src/leads/routes.ts), so the leads half of a report never joins leads
-- to visits (1,600 primary-key lookups into 1 M visits per 30 days). A lead's visit never changes and visits
-- never change these fields after they are inserted, so the copy is exact.
ALTER TABLE leads ADD COLUMN visit_channel text;
ALTER TABLE leads ADD COLUMN visit_source text;
ALTER TABLE leads ADD COLUMN visit_medium text;
ALTER TABLE leads ADD COLUMN visit_campaign text;
ALTER TABLE leads ADD COLUMN visit_keyword text;
ALTER TABLE leads ADD COLUMN visit_content text;
ALTER TABLE leads ADD COLUMN visit_landing_url text;
ALTER TABLE leads ADD COLUMN visit_region text;
ALTER TABLE leads ADD COLUMN visit_city text;
ALTER TABLE leads ADD COLUMN visit_device_type text;
-- The landing page report's key, the path of the landing URL (src/reports/dimensions.ts's pathOf, the same
-- expression), computed once when a call or lead is written rather than by a regular expression per row on every
-- report (most of a 90-day landing page report's time at 50,000 calls).
ALTER TABLE calls ADD COLUMN visit_landing_path text GENERATED ALWAYS AS (CASE WHEN visit_landing_url IS NULL THEN '(not set)' ELSE coalesce(nullif(substring(visit_landing_url from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*([^?#]*)'), ''), '/') END) STORED;
ALTER TABLE leads ADD COLUMN visit_landing_path text GENERATED ALWAYS AS (CASE WHEN visit_landing_url IS NULL THEN '(not set)' ELSE coalesce(nullif(substring(visit_landing_url from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*([^?#]*)'), ''), '/') END) STORED;
UPDATE leads l SET visit_channel = v.channel, visit_source = v.source, visit_medium = v.medium,
       visit_campaign = v.campaign, visit_keyword = v.keyword, visit_content = v.content,
       visit_landing_url = v.landing_url, visit_region = v.region, visit_city = v.city,
       visit_device_type = v.device_type
  FROM visits v WHERE v.account_id = l.account_id AND v.id = l.visit_id;

-- keyword becomes a visit_daily_keys dimension (visits per local day, channel and keyword, 5 times fewer rows
-- than visit_daily, which also splits by content, device and the other UTM fields). Added here for the days
-- already rolled up by summing visit_daily, whose keyword is the visit's, with the report's own expression.
INSERT INTO visit_daily_keys (account_id, site_id, dimension, day, channel, key, visits)
SELECT account_id, site_id, 'keyword', day, channel, coalesce(keyword, '(not set)'), sum(visits)
  FROM visit_daily
 GROUP BY account_id, site_id, day, channel, coalesce(keyword, '(not set)');

-- visit_daily_key_totals: visit_daily_keys summed over channel, for reports by those dimensions without a
-- filter (the overview's and most reports): 5 times fewer rows for landing pages and keywords. Filled by the
-- rollup pass with visit_daily_keys (src/reports/rollup.ts); built here from the days already rolled up.
CREATE TABLE visit_daily_key_totals (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  dimension text NOT NULL,
  day date NOT NULL,
  key text NOT NULL,
  visits integer NOT NULL,
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_daily_key_totals_site_day ON visit_daily_key_totals (account_id, site_id, dimension, day);
INSERT INTO visit_daily_key_totals (account_id, site_id, dimension, day, key, visits)
SELECT account_id, site_id, dimension, day, key, sum(visits)
  FROM visit_daily_keys GROUP BY account_id, site_id, dimension, day, key;
