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
