-- Reports by hour of day (issue 4, item 4): visit_daily_keys now also holds visits per local day, channel and
-- local hour (dimension 'hour_of_day', the hour as text), filled by the rollup pass (src/reports/rollup.ts).
-- Here the hours of the days already rolled up are added, in the zone of each site's rollup, with the
-- report's own expression, so reports reading them equal reports on raw visits.
INSERT INTO visit_daily_keys (account_id, site_id, dimension, day, channel, key, visits)
SELECT v.account_id, v.site_id, 'hour_of_day', (v.started_at AT TIME ZONE s.time_zone)::date, v.channel,
       (extract(hour from (v.started_at AT TIME ZONE s.time_zone))::int)::text, count(*)
  FROM visit_rollup_sites s
  JOIN visits v ON v.account_id = s.account_id AND v.site_id = s.site_id
   AND v.started_at < (s.rolled_to)::timestamp AT TIME ZONE s.time_zone
 WHERE NOT v.is_bot
 GROUP BY 1, 2, 3, 4, 5, 6;

-- visit_daily_numbers: visits per local day, channel and the number the visit was shown (number_id and
-- number_method, the fields the tracking_number report's key is computed from, joined to numbers and the
-- site's default number when read, so a changed default number shows at once). Lazy leasing sets a visit's
-- number after it was inserted: that update moves rolled_to back to the visit's day (src/tracking/visits.ts),
-- as a late visit does, so the day is rolled up again. Filled by the rollup pass; built here for the days
-- already rolled up.
CREATE TABLE visit_daily_numbers (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  day date NOT NULL,
  channel text NOT NULL,
  number_id uuid,
  number_method text NOT NULL,
  visits integer NOT NULL,
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_daily_numbers_site_day ON visit_daily_numbers (account_id, site_id, day);
INSERT INTO visit_daily_numbers (account_id, site_id, day, channel, number_id, number_method, visits)
SELECT v.account_id, v.site_id, (v.started_at AT TIME ZONE s.time_zone)::date, v.channel, v.number_id,
       v.number_method, count(*)
  FROM visit_rollup_sites s
  JOIN visits v ON v.account_id = s.account_id AND v.site_id = s.site_id
   AND v.started_at < (s.rolled_to)::timestamp AT TIME ZONE s.time_zone
 WHERE NOT v.is_bot
 GROUP BY 1, 2, 3, 4, 5, 6;
