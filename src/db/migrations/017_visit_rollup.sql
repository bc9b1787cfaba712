-- Daily rollups of visits for reports (issue 4), filled by src/reports/rollup.ts for whole past local days
-- (in the time zone noted in visit_rollup_sites). Bots are left out, as reports leave them out. One table
-- with every visit field would hold about as many rows as raw visits (keyword × region × page × city make
-- nearly every visit distinct within a day), so there are two narrow ones:
--
-- visit_daily: visits per day and traffic source (channel, UTM fields, device). It answers reports by any
-- of these fields or by calendar keys, filtered by any of them.
CREATE TABLE visit_daily (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  day date NOT NULL,
  channel text NOT NULL,
  source text,
  medium text,
  campaign text,
  keyword text,
  content text,
  device_type text,
  visits integer NOT NULL,
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_daily_site_day ON visit_daily (account_id, site_id, day);

-- visit_daily_keys: visits per day, channel and the report key of one more dimension (region, city,
-- landing_page), as the report's own expression computes it. It answers those reports unfiltered or
-- filtered by channel.
CREATE TABLE visit_daily_keys (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  dimension text NOT NULL,
  day date NOT NULL,
  channel text NOT NULL,
  key text NOT NULL,
  visits integer NOT NULL,
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_daily_keys_site_day ON visit_daily_keys (account_id, site_id, dimension, day);

-- Per site: the zone the rollup's days are in, and the first local day not (or no longer) rolled up. A
-- visit written for an earlier day moves rolled_to back to that day; a changed site time zone makes the
-- rollup unusable until it is rebuilt in the new zone.
CREATE TABLE visit_rollup_sites (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  time_zone text NOT NULL,
  rolled_to date NOT NULL,
  PRIMARY KEY (account_id, site_id),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
