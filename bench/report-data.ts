/**
 * A seeded, realistic report dataset for one site, written with bulk SQL: bench/reports.ts builds it at
 * issue 4's scale, test/report-rollup.test.ts at a small one.
 *
 * The data is written with bulk SQL (INSERT … SELECT over generate_series, seeded with setseed so every
 * run builds the same rows), not through HTTP: a million POST /t/visit would take about an hour on this
 * machine (see "POST /t/visit" in BENCHMARKS.md) and measure the tracker rather than the reports. The
 * rows look like what the tracker writes (channels, UTM values, landing URLs, regions, devices, pool
 * numbers, page views; calls attributed to visits or to a static number, with classification flags;
 * leads, won deals, ad costs), with skewed distributions as real traffic has (a few campaigns, keywords,
 * pages and regions take most visits; keywords and ads belong to campaigns, as in an ad account).
 */
import type { FastifyInstance } from 'fastify';
import { VISIT_REPORT_FIELDS } from '../src/calls/service.js';
import type { Db } from '../src/db/db.js';
import { setupApi } from './common.js';

/** The data covers the 90 local days (Moscow time) from FIRST_DAY. */
export const FIRST_DAY = '2026-08-01';
export const DAYS = 90;

const CAMPAIGNS = [
  'divany',
  'krovati',
  'kresla',
  'shkafy',
  'matrasy',
  'kuhni',
  'stoly',
  'stulya',
  'pufiki',
  'tumby',
  'sale',
  'brand',
  'remarketing',
  'moskva',
  'spb',
  'regions',
  'premium',
  'econom',
  'novinki',
  'akcii',
];
const KEYWORD_HEADS = [
  'диван',
  'угловой диван',
  'диван кровать',
  'кровать',
  'двуспальная кровать',
  'кресло',
  'матрас',
  'шкаф купе',
  'кухня',
  'стол',
  'стулья',
  'пуф',
  'тумба',
  'софа',
  'тахта',
  'кушетка',
  'комод',
  'банкетка',
  'стеллаж',
  'прихожая',
];
const KEYWORD_TAILS = [
  'купить',
  'купить в москве',
  'недорого',
  'цена',
  'на заказ',
  'от производителя',
  'интернет магазин',
  'со скидкой',
  'в рассрочку',
  'доставка',
  'отзывы',
  'фото',
  'каталог',
  'распродажа',
  'размеры',
  'белый',
  'серый',
  'из массива',
  'раскладной',
  'маленький',
];
const REGIONS = [
  ['Москва', 'Москва'],
  ['Московская область', '*'],
  ['Санкт-Петербург', 'Санкт-Петербург'],
  ['Краснодарский край', 'Краснодар'],
  ['Свердловская область', 'Екатеринбург'],
  ['Новосибирская область', 'Новосибирск'],
  ['Республика Татарстан', 'Казань'],
  ['Нижегородская область', 'Нижний Новгород'],
  ['Самарская область', 'Самара'],
  ['Ростовская область', 'Ростов-на-Дону'],
  ['Челябинская область', 'Челябинск'],
  ['Башкортостан', 'Уфа'],
  ['Пермский край', 'Пермь'],
  ['Воронежская область', 'Воронеж'],
  ['Волгоградская область', 'Волгоград'],
  ['Красноярский край', 'Красноярск'],
  ['Ленинградская область', 'Гатчина'],
  ['Тюменская область', 'Тюмень'],
  ['Саратовская область', 'Саратов'],
  ['Омская область', 'Омск'],
];
/** Regions after the named ones: the long tail of Russia's 85 regions. */
const REGION_COUNT = 85;
const MOSCOW_OBLAST_CITIES = ['Химки', 'Мытищи', 'Балашиха', 'Подольск', 'Королёв', 'Люберцы', 'Одинцово'];
const PAGES = ['divany', 'krovati', 'kresla', 'shkafy', 'matrasy', 'kuhni', 'stoly', 'aksessuary'];
const EMPLOYEES = ['Анна', 'Борис', 'Вера', 'Глеб', 'Дарья', 'Егор', 'Жанна', 'Зоя'];
const GROUPS = ['Продажи', 'Сервис', 'Опт'];
const POOL_SIZE = 60;

const sqlArray = (values: string[]) => `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]`;

/** Picks from an SQL array with a skew: exponent 1 is uniform, larger exponents favour the first items. */
const pick = (array: string, length: number, r: string, skew = 1) =>
  `(${array})[1 + floor(power(${r}, ${skew}) * ${length})::int]`;

export async function generateReportData(
  db: Db,
  app: FastifyInstance,
  key: string,
  o: { visits: number; calls: number; progress?: (step: string) => void },
): Promise<{ accountId: string; siteId: string }> {
  const api = setupApi(app, key);
  const site = await api('/api/v1/sites', {
    name: 'Диваны на заказ',
    defaultNumber: '+7 (495) 123-45-67',
    replaceNumbers: ['+7 (495) 123-45-67'],
    timeZone: 'Europe/Moscow',
  });
  const pool: Array<{ id: string; e164: string }> = [];
  for (let i = 0; i < POOL_SIZE; i++)
    pool.push(await api(`/api/v1/sites/${site.id}/numbers`, { number: `+749977700${i + 10}`, kind: 'pool' }));
  const staticNumber = await api(`/api/v1/sites/${site.id}/numbers`, {
    number: '+74951110000',
    kind: 'static',
  });
  const rule = await api(`/api/v1/sites/${site.id}/static-rules`, {
    name: 'Avito',
    conditions: { referrerDomain: 'avito.ru' },
    numberId: staticNumber.id,
    source: 'avito',
    medium: 'classified',
  });
  const integration = await api('/api/v1/integrations', { kind: 'generic', name: 'PBX' });
  const accountId = (
    await db.query<{ account_id: string }>('SELECT account_id FROM sites WHERE id = $1', [site.id])
  )[0].account_id;

  const keywords = sqlArray(KEYWORD_HEADS.flatMap((h) => KEYWORD_TAILS.map((t) => `${h} ${t}`)));
  const camps = sqlArray(CAMPAIGNS);
  const regionNames = sqlArray([
    ...REGIONS.map(([r]) => r),
    ...Array.from({ length: REGION_COUNT - REGIONS.length }, (_, i) => `Регион ${i + 21}`),
  ]);
  const cityNames = sqlArray([
    ...REGIONS.map(([, c]) => c),
    ...Array.from({ length: REGION_COUNT - REGIONS.length }, (_, i) => `Город ${i + 21}`),
  ]);
  const paid = `channel IN ('paid_search', 'paid_social', 'display')`;

  await db.tx(async (q) => {
    await q.query('SELECT setseed(0.4242)');
    const t0 = performance.now();
    // r1..r9 are independent uniform draws per visit; each attribute uses its own.
    await q.query(
      `INSERT INTO visits (account_id, id, site_id, visitor_id, started_at, last_seen_at, channel, source, medium,
         campaign, content, keyword, referrer, landing_url, ip, country, region, city, device_type, browser, os,
         is_bot, number_id, number_method, static_rule_id, page_views)
       SELECT $1, gen_random_uuid(), $2, 'visitor-' || floor(r9 * 700000)::int, t, t + r8 * interval '15 minutes',
              channel, source, medium, campaign, content, keyword, referrer,
              'https://divany.example' || path || CASE WHEN campaign IS NOT NULL
                THEN '?utm_source=' || source || '&utm_medium=' || medium || '&utm_campaign=' || campaign ELSE '' END,
              '10.' || floor(r9 * 250)::int || '.' || floor(r8 * 250)::int || '.1', 'RU', region,
              CASE WHEN region_i = 2 THEN ${pick(sqlArray(MOSCOW_OBLAST_CITIES), MOSCOW_OBLAST_CITIES.length, 'r7', 2)}
                   ELSE (${cityNames})[region_i] END,
              device, 'Chrome', CASE device WHEN 'desktop' THEN 'Windows' ELSE 'Android' END,
              r8 < 0.02,
              CASE WHEN ${paid} THEN ($3::uuid[])[1 + floor(r7 * ${POOL_SIZE})::int]
                   WHEN source = 'avito.ru' THEN $4::uuid END,
              CASE WHEN ${paid} THEN 'pool' WHEN source = 'avito.ru' THEN 'static' ELSE 'default' END,
              CASE WHEN source = 'avito.ru' THEN $5::uuid END,
              1 + floor(power(r6, 2) * 6)::int
         FROM (
           SELECT *, CASE WHEN channel = 'referral' THEN 'https://' || source || '/' END AS referrer,
                  (${regionNames})[region_i] AS region
             FROM (
               SELECT r1, r2, r3, r4, r5, r6, r7, r8, r9, t, region_i, channel, path, device, ad_i,
                      CASE channel
                        WHEN 'paid_search' THEN CASE WHEN r1 < 0.7 THEN 'yandex' ELSE 'google' END
                        WHEN 'paid_social' THEN CASE WHEN r1 < 0.6 THEN 'vk' ELSE 'mytarget' END
                        WHEN 'display' THEN 'yandex'
                        WHEN 'organic_search' THEN CASE WHEN r1 < 0.65 THEN 'yandex' ELSE 'google' END
                        WHEN 'social' THEN ${pick(sqlArray(['vk.com', 't.me', 'ok.ru', 'dzen.ru']), 4, 'r1', 2)}
                        WHEN 'email' THEN 'newsletter'
                        WHEN 'referral' THEN CASE WHEN r1 < 0.3 THEN 'avito.ru' ELSE 'site' || floor(power(r2, 2) * 60)::int || '.ru' END
                        ELSE '(direct)' END AS source,
                      CASE channel
                        WHEN 'paid_search' THEN 'cpc' WHEN 'paid_social' THEN 'cpc' WHEN 'display' THEN 'cpm'
                        WHEN 'organic_search' THEN 'organic' WHEN 'social' THEN 'social' WHEN 'email' THEN 'email'
                        WHEN 'referral' THEN 'referral' ELSE '(none)' END AS medium,
                      CASE channel
                        WHEN 'paid_search' THEN (CASE WHEN r1 < 0.7 THEN 'yandex_' ELSE 'google_' END) || (${camps})[1 + ad_i / ${KEYWORD_TAILS.length}]
                        WHEN 'paid_social' THEN 'social_' || (1 + ad_i)
                        WHEN 'display' THEN 'rsya_' || (1 + ad_i)
                        WHEN 'email' THEN 'mail_' || (1 + floor(r2 * 12)::int) END AS campaign,
                      CASE WHEN channel = 'paid_search' THEN (${keywords})[1 + ad_i] END AS keyword,
                      -- Ads belong to a campaign: three per Yandex/Google campaign, two per social or display one.
                      CASE channel WHEN 'paid_search' THEN 'ad' || (ad_i / ${KEYWORD_TAILS.length} * 3 + 1 + floor(r4 * 3)::int)
                        WHEN 'paid_social' THEN 'banner' || (ad_i * 2 + 1 + floor(r4 * 2)::int)
                        WHEN 'display' THEN 'rsya-ad' || (ad_i * 2 + 1 + floor(r4 * 2)::int) END AS content
                 FROM (
                   SELECT *,
                          CASE WHEN rc < 0.30 THEN 'paid_search' WHEN rc < 0.36 THEN 'paid_social'
                               WHEN rc < 0.39 THEN 'display' WHEN rc < 0.69 THEN 'organic_search'
                               WHEN rc < 0.73 THEN 'social' WHEN rc < 0.76 THEN 'email'
                               WHEN rc < 0.84 THEN 'referral' ELSE 'direct' END AS channel,
                          CASE WHEN r5 < 0.2 THEN '/' ELSE '/catalog/' || ${pick(sqlArray(PAGES), PAGES.length, 'r4', 2)}
                               || '/' || (1 + floor(power(r5, 3) * 50)::int) END AS path,
                          1 + floor(power(r6, 3) * ${REGION_COUNT})::int AS region_i,
                          -- Keywords belong to campaigns (a keyword head per campaign), as in an ad account.
                          CASE WHEN rc < 0.30 THEN floor(power(r3, 3) * ${KEYWORD_HEADS.length * KEYWORD_TAILS.length})::int
                               WHEN rc < 0.36 THEN floor(power(r2, 2) * 8)::int ELSE floor(r2 * 6)::int END AS ad_i,
                          CASE WHEN r7 < 0.5 THEN 'desktop' WHEN r7 < 0.95 THEN 'mobile' ELSE 'tablet' END AS device
                     FROM (
                       SELECT random() AS rc, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                              random() AS r5, random() AS r6, random() AS r7, random() AS r8, random() AS r9,
                              $6::timestamptz + random() * interval '${DAYS} days' AS t
                         FROM generate_series(1, $7::int)) g) a) b) c`,
      [
        accountId,
        site.id,
        pool.map((p) => p.id),
        staticNumber.id,
        rule.id,
        `${FIRST_DAY}T00:00:00+03:00`,
        o.visits,
      ],
    );
    o.progress?.(`visits ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    await q.query(
      `INSERT INTO page_views (account_id, id, visit_id, url, title, at)
       SELECT v.account_id, gen_random_uuid(), v.id, v.landing_url, NULL, v.started_at + (n - 1) * interval '40 seconds'
         FROM visits v, generate_series(1, v.page_views) n WHERE v.account_id = $1`,
      [accountId],
    );
    o.progress?.(`page views ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    // Calls: paid and avito visits call more often than the rest; a few callers call again.
    const attributed = Math.round(o.calls * 0.9);
    const callColumns = `account_id, id, integration_id, provider_call_id, site_id, number_id, caller, tracking_number,
        status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, employee, group_name, visit_id, method,
        confidence, static_rule_id, call_page_url, is_unique, is_targeted, is_unique_targeted, is_first_targeted,
        is_repeat, is_missed, updated_at, ${VISIT_REPORT_FIELDS.map((f) => `visit_${f}`).join(', ')}`;
    // `v`: the attributed visit's alias, whose report fields the call carries (null: no visit).
    const callValues = (v: string | null, rule: string, number: string, e164: string, page: string) => {
      const visit = v ? `${v}.id` : 'NULL::uuid';
      const fields = VISIT_REPORT_FIELDS.map((f) => (v ? `${v}.${f}` : 'NULL')).join(', ');
      return `
        $1, gen_random_uuid(), $2, 'bench-' || gen_random_uuid(), $3, ${number},
        '+7916' || lpad(floor(power(a, 2) * 9000000)::text, 7, '0'), ${e164},
        CASE WHEN a2 < 0.82 THEN 'completed' ELSE 'missed' END, t,
        CASE WHEN a2 < 0.82 THEN t + wait * interval '1 second' END,
        t + (wait + CASE WHEN a2 < 0.82 THEN talk ELSE 0 END) * interval '1 second',
        wait, CASE WHEN a2 < 0.82 THEN talk END,
        CASE WHEN a2 < 0.82 THEN (${sqlArray(EMPLOYEES)})[1 + floor(a3 * ${EMPLOYEES.length})::int] END,
        (${sqlArray(GROUPS)})[1 + floor(power(a3, 2) * ${GROUPS.length})::int], ${visit},
        CASE WHEN ${visit} IS NOT NULL THEN 'dynamic' ELSE 'static' END, 1, ${rule}, ${page},
        a4 < 0.7, a2 < 0.82 AND talk >= 30, a4 < 0.7 AND a2 < 0.82 AND talk >= 30,
        a4 < 0.55 AND a2 < 0.82 AND talk >= 30, a4 >= 0.7, a2 >= 0.82, t, ${fields}`;
    };
    await q.query(
      `INSERT INTO calls (${callColumns})
       SELECT ${callValues('v', 'v.static_rule_id', 'v.number_id', `coalesce(n.e164, '+74951234567')`, 'v.landing_url')}
         FROM (SELECT v.*, random() AS a, random() AS a2, random() AS a3, random() AS a4,
                      3 + floor(random() * 40)::int AS wait, 5 + floor(power(random(), 2) * 600)::int AS talk,
                      v.started_at + (1 + random() * 20) * interval '1 minute' AS t
                 FROM visits v
                WHERE v.account_id = $1 AND NOT v.is_bot
                ORDER BY random() / CASE WHEN v.channel = 'paid_search' THEN 2.0
                                         WHEN v.source = 'avito.ru' THEN 3.0 ELSE 1.0 END
                LIMIT $4) v
         LEFT JOIN numbers n ON n.account_id = v.account_id AND n.id = v.number_id`,
      [accountId, integration.id, site.id, attributed],
    );
    await q.query(
      `INSERT INTO calls (${callColumns})
       SELECT ${callValues(null, '$4::uuid', '$5::uuid', '$6', 'NULL')}
         FROM (SELECT random() AS a, random() AS a2, random() AS a3, random() AS a4,
                      3 + floor(random() * 40)::int AS wait, 5 + floor(power(random(), 2) * 600)::int AS talk,
                      $7::timestamptz + random() * interval '${DAYS} days' AS t
                 FROM generate_series(1, $8::int)) s`,
      [
        accountId,
        integration.id,
        site.id,
        rule.id,
        staticNumber.id,
        staticNumber.e164,
        `${FIRST_DAY}T00:00:00+03:00`,
        o.calls - attributed,
      ],
    );
    o.progress?.(`calls ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    await q.query(
      `INSERT INTO leads (account_id, id, site_id, visit_id, type, phone, created_at,
         ${VISIT_REPORT_FIELDS.map((f) => `visit_${f}`).join(', ')})
       SELECT v.account_id, gen_random_uuid(), v.site_id, v.id, 'form', '+79260000000',
              v.started_at + (1 + random() * 10) * interval '1 minute', ${VISIT_REPORT_FIELDS.map((f) => `v.${f}`).join(', ')}
         FROM visits v WHERE v.account_id = $1 AND NOT v.is_bot ORDER BY random() LIMIT $2`,
      [accountId, Math.round(o.visits / 200)],
    );
    await q.query(
      `INSERT INTO deals (account_id, id, site_id, call_id, amount_minor, currency, status, created_at, updated_at)
       SELECT c.account_id, gen_random_uuid(), c.site_id, c.id, (5000 + floor(random() * 145000)::int) * 100, 'RUB',
              CASE WHEN random() < 0.75 THEN 'won' ELSE 'lost' END, c.ended_at, c.ended_at
         FROM calls c WHERE c.account_id = $1 AND c.is_targeted ORDER BY random() LIMIT $2`,
      [accountId, Math.round(o.calls / 12)],
    );
    // Ad costs: a row per day and paid campaign, plus keyword rows for the first Yandex campaign.
    await q.query(
      `INSERT INTO ad_costs (account_id, id, site_id, date, channel, source, medium, campaign, ad_group, keyword,
         impressions, clicks, cost_minor, currency, import_id, created_at)
       SELECT $1, gen_random_uuid(), $2, d::date, k.channel, k.source, k.medium, k.campaign, '', k.keyword,
              floor(1000 + random() * 20000)::int, floor(20 + random() * 400)::int,
              floor(100000 + random() * 3000000)::int, 'RUB', gen_random_uuid(), now()
         FROM generate_series($3::date, $3::date + ${DAYS - 1}, interval '1 day') d,
              (SELECT 'paid_search' AS channel, s AS source, 'cpc' AS medium, s || '_' || c AS campaign, '' AS keyword
                 FROM unnest(ARRAY['yandex', 'google']) s, unnest(${camps}) c
               UNION ALL SELECT 'paid_social', s, 'cpc', 'social_' || i, '' FROM unnest(ARRAY['vk', 'mytarget']) s,
                      generate_series(1, 8) i
               UNION ALL SELECT 'display', 'yandex', 'cpm', 'rsya_' || i, '' FROM generate_series(1, 6) i
               UNION ALL SELECT 'paid_search', 'yandex', 'cpc', 'yandex_${CAMPAIGNS[0]}', kw
                 FROM unnest((${keywords})[1:40]) kw) k`,
      [accountId, site.id, FIRST_DAY],
    );
    o.progress?.(`leads, deals, costs ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  });
  return { accountId, siteId: site.id as string };
}
