-- Reports at 1 M visits (issue 4, item 4): a call carries the report fields of the visit it is attributed to,
-- copied when the call is written (src/calls/service.ts), so the calls half of a report never joins calls to
-- visits (50,000 primary-key lookups were most of a 90-day report's time). Visits never change these fields
-- after they are inserted, and every write of a call rewrites them with its visit_id, so the copy is exact.
-- All null: the call has no visit.
ALTER TABLE calls ADD COLUMN visit_channel text;
ALTER TABLE calls ADD COLUMN visit_source text;
ALTER TABLE calls ADD COLUMN visit_medium text;
ALTER TABLE calls ADD COLUMN visit_campaign text;
ALTER TABLE calls ADD COLUMN visit_keyword text;
ALTER TABLE calls ADD COLUMN visit_content text;
ALTER TABLE calls ADD COLUMN visit_landing_url text;
ALTER TABLE calls ADD COLUMN visit_region text;
ALTER TABLE calls ADD COLUMN visit_city text;
ALTER TABLE calls ADD COLUMN visit_device_type text;
UPDATE calls c SET visit_channel = v.channel, visit_source = v.source, visit_medium = v.medium,
       visit_campaign = v.campaign, visit_keyword = v.keyword, visit_content = v.content,
       visit_landing_url = v.landing_url, visit_region = v.region, visit_city = v.city,
       visit_device_type = v.device_type
  FROM visits v WHERE v.account_id = c.account_id AND v.id = c.visit_id;

-- visit_daily_sources: visits per day and channel, source, medium and campaign (visit_daily without keyword,
-- content and device: 15 times fewer rows at 1 M visits). It answers reports by these fields or by calendar
-- keys, filtered by them, and gives the cost matching its campaign list. Filled by the rollup pass with
-- visit_daily (src/reports/rollup.ts); built here from the days already rolled up.
CREATE TABLE visit_daily_sources (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  day date NOT NULL,
  channel text NOT NULL,
  source text,
  medium text,
  campaign text,
  visits integer NOT NULL,
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_daily_sources_site_day ON visit_daily_sources (account_id, site_id, day);
INSERT INTO visit_daily_sources (account_id, site_id, day, channel, source, medium, campaign, visits)
SELECT account_id, site_id, day, channel, source, medium, campaign, sum(visits)
  FROM visit_daily GROUP BY account_id, site_id, day, channel, source, medium, campaign;
