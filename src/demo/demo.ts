// The demo site: a furniture shop with a simulated week of traffic and calls. Everything goes through the
// real HTTP routes (site API, widget endpoints, signed telephony webhook) on a manual clock, so the demo data
// is exactly what the product would have recorded, and loading it exercises the whole core loop.

import type { FastifyInstance, InjectOptions } from 'fastify';
import { createApiKey } from '../accounts/keys.js';
import { buildApp } from '../app.js';
import { ManualClock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { mixSeed, Rng, weightedTimeSampler } from '../simulate/rng.js';
import { signBody } from '../telephony/generic.js';
import { HEARTBEAT_SECONDS } from '../tracking/number-choice.js';

export interface DemoOptions {
  config: Config;
  db: Db;
  accountId: string;
  /** Length of the simulated period, ending now. */
  days?: number;
  visitsPerDay?: number;
  /** Same seed, same simulated traffic. */
  seed?: number;
}

export interface DemoSummary {
  siteName: string;
  siteId: string;
  visits: number;
  calls: number;
}

const SITE_NAME = 'Диваны на заказ';
const DOMAIN = 'divany-demo.ru';
const ORIGIN = `https://${DOMAIN}`;
const DEFAULT_NUMBER = '+7 495 123-45-67';
const DEFAULT_E164 = '+74951234567';
const FREEZE_MINUTES = 15;
/** The city's region as the geo database names it; a regional pool must use that name to match. */
const SPB_REGION = 'St.-Petersburg';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Moscow has kept UTC+3 all year since 2014, so local time needs no time-zone database. */
const MOSCOW_OFFSET = 3 * HOUR;
/** Nothing starts this close to now, so every visit and call of the plan completes before now. */
const QUIET_TAIL = 45 * MINUTE;
const LAST_CALL_BEFORE_END = 25 * MINUTE;
/**
 * The widget heartbeats every 30 s while the page is visible; the demo sends one beat in six, plus one
 * just before a call from the open page and one at the moment a visitor vanishes without a goodbye. Those
 * are the beats that decide lease ends and attribution, so the result is the same with a sixth of the
 * requests (loading the demo must stay fast on the embedded database).
 */
const HEARTBEAT_MS = HEARTBEAT_SECONDS * 6 * 1000;

// ---------------------------------------------------------------------------------------------------------
// The shop

interface Page {
  path: string;
  title: string;
  weight: number;
}

const PAGES: readonly Page[] = [
  { path: '/', title: 'Диваны на заказ в Москве от производителя — «Диваны на заказ»', weight: 6 },
  { path: '/catalog/', title: 'Каталог диванов — «Диваны на заказ»', weight: 8 },
  { path: '/catalog/uglovye/', title: 'Угловые диваны — купить угловой диван на заказ', weight: 10 },
  { path: '/catalog/pryamye/', title: 'Прямые диваны — каталог с ценами', weight: 7 },
  { path: '/catalog/divany-krovati/', title: 'Диваны-кровати для ежедневного сна', weight: 8 },
  { path: '/catalog/modulnye/', title: 'Модульные диваны — соберите свой', weight: 5 },
  { path: '/catalog/uglovye/milan/', title: 'Угловой диван «Милан» — от 64 900 ₽', weight: 6 },
  { path: '/catalog/uglovye/toronto/', title: 'Угловой диван «Торонто» — от 72 400 ₽', weight: 4 },
  { path: '/catalog/pryamye/oslo/', title: 'Диван «Осло» — от 42 500 ₽', weight: 5 },
  { path: '/catalog/divany-krovati/verona/', title: 'Диван-кровать «Верона» — от 38 900 ₽', weight: 5 },
  { path: '/catalog/modulnye/lego/', title: 'Модульный диван «Лего» — от 89 000 ₽', weight: 3 },
  { path: '/tkani/', title: 'Ткани и обивка: велюр, рогожка, экокожа', weight: 5 },
  { path: '/dostavka/', title: 'Доставка и сборка по Москве и области', weight: 5 },
  { path: '/akcii/', title: 'Акции и скидки — «Диваны на заказ»', weight: 4 },
  { path: '/otzyvy/', title: 'Отзывы покупателей', weight: 3 },
  { path: '/o-fabrike/', title: 'О фабрике: собственное производство с 2009 года', weight: 2 },
  { path: '/kontakty/', title: 'Контакты и шоурум — «Диваны на заказ»', weight: 5 },
];
const SPB_PAGE: Page = { path: '/spb/', title: 'Диваны на заказ в Санкт-Петербурге', weight: 0 };
const pageByPath = new Map([...PAGES, SPB_PAGE].map((p) => [p.path, p]));

interface Keyword {
  term: string;
  landing: string;
}

const YANDEX_KEYWORDS: readonly Keyword[] = [
  { term: 'купить диван', landing: '/catalog/' },
  { term: 'угловой диван недорого', landing: '/catalog/uglovye/' },
  { term: 'диван-кровать москва', landing: '/catalog/divany-krovati/' },
  { term: 'диван на заказ по размерам', landing: '/' },
  { term: 'купить угловой диван в москве', landing: '/catalog/uglovye/' },
  { term: 'модульный диван', landing: '/catalog/modulnye/' },
  { term: 'диван для ежедневного сна', landing: '/catalog/divany-krovati/' },
  { term: 'диван от производителя', landing: '/' },
  { term: 'прямой диван купить', landing: '/catalog/pryamye/' },
];
const SPB_KEYWORDS: readonly Keyword[] = [
  { term: 'диван на заказ спб', landing: '/spb/' },
  { term: 'купить диван в санкт-петербурге', landing: '/spb/' },
  { term: 'угловой диван спб', landing: '/spb/' },
];
const GOOGLE_KEYWORDS: readonly Keyword[] = [
  { term: 'диваны на заказ', landing: '/' },
  { term: 'угловой диван', landing: '/catalog/uglovye/' },
  { term: 'диван кровать купить', landing: '/catalog/divany-krovati/' },
];

type RegionKind = 'moscow' | 'moscow-oblast' | 'spb' | 'other';

/** /24 networks whose every address the bundled geo database places in the named region. */
const NETWORKS: Record<RegionKind | 'bot-google' | 'bot-yandex' | 'bot-bing', readonly string[]> = {
  moscow: [
    '77.88.55',
    '31.134.0',
    '195.19.0',
    '46.242.0',
    '5.228.0',
    '213.87.0',
    '188.170.0',
    '31.173.80',
    '89.113.0',
    '176.14.0',
    '37.110.0',
    '81.200.0',
    '2.92.0',
  ],
  'moscow-oblast': ['94.29.0', '109.252.0'],
  spb: ['95.161.0', '178.70.0', '92.100.0', '5.18.0', '91.122.0', '178.66.0', '95.55.0', '84.17.0'],
  // Leningrad Oblast, Perm, Rostov-on-Don, Nizhny Novgorod, Yekaterinburg, Novosibirsk, Kazan, Ufa.
  other: ['83.149.0', '46.146.0', '46.61.0', '85.143.0', '178.46.0', '94.180.0', '178.204.0', '94.41.0'],
  'bot-google': ['66.249.66'],
  'bot-yandex': ['5.255.253', '95.108.213'],
  'bot-bing': ['40.77.167'],
};

/** Mobile operator codes (DEF) common in each region, for callers' numbers. */
const MOBILE_CODES: Record<RegionKind, readonly string[]> = {
  moscow: ['915', '916', '925', '926', '903', '905', '909', '963', '967', '977', '985', '999'],
  'moscow-oblast': ['915', '916', '926', '903', '985', '977'],
  spb: ['911', '921', '931', '981', '952', '950'],
  other: ['912', '917', '913', '918', '920', '902', '950', '999'],
};

const UA = {
  chromeWin:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  yandexWin:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36',
  firefoxWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  androidChrome:
    'Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.58 Mobile Safari/537.36',
  androidYandex:
    'Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.2.88.00 SA/3 Mobile Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
} as const;

const HUMAN_AGENTS: ReadonlyArray<readonly [string, number]> = [
  [UA.chromeWin, 30],
  [UA.yandexWin, 14],
  [UA.firefoxWin, 3],
  [UA.safariMac, 5],
  [UA.iphone, 21],
  [UA.androidChrome, 18],
  [UA.androidYandex, 7],
  [UA.ipad, 2],
];

const BOTS: ReadonlyArray<readonly [{ ua: string; network: keyof typeof NETWORKS }, number]> = [
  [
    {
      ua: 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      network: 'bot-google',
    },
    4,
  ],
  [{ ua: 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)', network: 'bot-yandex' }, 5],
  [{ ua: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', network: 'bot-bing' }, 1],
];

const GROUPS = {
  sales: { name: 'Продажи', employees: ['Анна Смирнова', 'Дмитрий Козлов', 'Екатерина Волкова'] },
  service: { name: 'Сервис', employees: ['Игорь Петров', 'Ольга Новикова'] },
} as const;

type ChannelKind =
  | 'yandex_cpc'
  | 'google_cpc'
  | 'yandex_display'
  | 'vk_ads'
  | 'organic_yandex'
  | 'organic_google'
  | 'vk_social'
  | 'direct'
  | 'avito'
  | 'referral_2gis';

const NEW_VISITOR_CHANNELS: ReadonlyArray<readonly [ChannelKind, number]> = [
  ['yandex_cpc', 30],
  ['google_cpc', 9],
  ['yandex_display', 4],
  ['vk_ads', 5],
  ['organic_yandex', 17],
  ['organic_google', 7],
  ['vk_social', 3],
  ['direct', 15],
  ['avito', 6],
  ['referral_2gis', 4],
];
/** People coming back mostly type the address or search the brand; some click a retargeting ad. */
const RETURNING_CHANNELS: ReadonlyArray<readonly [ChannelKind, number]> = [
  ['direct', 42],
  ['organic_yandex', 15],
  ['yandex_cpc', 18],
  ['google_cpc', 5],
  ['yandex_display', 10],
  ['vk_social', 3],
  ['avito', 4],
  ['referral_2gis', 3],
];
/** Share of visits that end in a call, by channel: ads bring buyers, avito and 2GIS bring ready callers. */
const CALL_RATE: Record<ChannelKind, number> = {
  yandex_cpc: 0.06,
  google_cpc: 0.055,
  yandex_display: 0.03,
  vk_ads: 0.035,
  organic_yandex: 0.05,
  organic_google: 0.045,
  vk_social: 0.03,
  direct: 0.065,
  avito: 0.09,
  referral_2gis: 0.08,
};

/** Relative traffic by Moscow hour: quiet at night, busy 10:00–22:00. */
const HOURLY = [
  0.15, 0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.35, 0.6, 0.85, 1.0, 1.1, 1.15, 1.15, 1.1, 1.1, 1.05, 1.0, 1.0,
  1.05, 1.1, 1.0, 0.75, 0.4,
];

function moscowHour(t: number): number {
  return new Date(t + MOSCOW_OFFSET).getUTCHours();
}

function moscowWeekend(t: number): boolean {
  const day = new Date(t + MOSCOW_OFFSET).getUTCDay();
  return day === 0 || day === 6;
}

/**
 * Draws times in [from, to) following the daily profile, one uniform number per draw (inverse CDF over
 * minutes), so the rest of a plan consumes the same random numbers whatever time of day the demo runs.
 */
function timeSampler(from: number, to: number): (u: number) => number {
  const minutes = Math.max(1, Math.floor((to - from) / MINUTE));
  // Furniture is shopped for a little more at weekends.
  return weightedTimeSampler(from, minutes, (t) => HOURLY[moscowHour(t)] * (moscowWeekend(t) ? 1.15 : 1));
}

// ---------------------------------------------------------------------------------------------------------
// The plan: simulated people and what they do when

interface Visitor {
  /** Assigned by the server on the first page hit, like the widget's cookie. */
  id: string | null;
  region: RegionKind;
  ip: string;
  ua: string;
  ymUid: string | undefined;
  gaClientId: string | undefined;
  phone: string | null;
  /** End of the visitor's latest planned visit, for choosing who comes back. */
  lastEnd: number;
}

interface VisitState {
  visitor: Visitor;
  id: string | null;
  /** The number the page shows now (from the latest page hit). */
  shown: string | null;
}

interface CallState {
  to: string | null;
}

interface Action {
  at: number;
  seq: number;
  run: () => Promise<void>;
}

type CallOutcome = 'answered' | 'no-answer' | 'busy';

interface PlannedCall {
  at: number;
  from: string;
  /** Resolved when the call starts: the number the caller read, or dialed before. */
  to: () => string;
  outcome: CallOutcome;
  waitSeconds: number;
  talkSeconds: number;
  group: keyof typeof GROUPS;
  employee: string;
}

class Simulation {
  private readonly actions: Action[] = [];
  private seq = 0;
  private callSeq = 0;
  visits = 0;
  calls = 0;

  constructor(
    private readonly app: FastifyInstance,
    private readonly clock: ManualClock,
    private readonly siteKey: string,
    private readonly integration: { id: string; secret: string },
    private readonly end: number,
  ) {}

  at(t: number, run: () => Promise<void>): void {
    this.actions.push({ at: t, seq: this.seq++, run });
  }

  /** Runs every action in time order across all visitors, moving the clock to each. */
  async run(): Promise<void> {
    this.actions.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const action of this.actions) {
      this.clock.set(new Date(action.at));
      await action.run();
    }
  }

  /** Latest start for a call, so that even a long one ends before now. */
  clampCall(t: number, notBefore: number): number {
    return Math.max(notBefore, Math.min(t, this.end - LAST_CALL_BEFORE_END));
  }

  // Widget requests -------------------------------------------------------------------------------------

  private async send(opts: InjectOptions): Promise<unknown> {
    const res = await this.app.inject(opts);
    if (res.statusCode >= 300) {
      throw new Error(`demo: ${opts.method} ${opts.url} answered ${res.statusCode}: ${res.body}`);
    }
    return res.body ? JSON.parse(res.body) : null;
  }

  pageHit(visit: VisitState, url: string, referrer: string, title: string): Promise<void> {
    const { visitor } = visit;
    return this.send({
      method: 'POST',
      url: '/t/visit',
      remoteAddress: visitor.ip,
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': visitor.ua, origin: ORIGIN },
      payload: JSON.stringify({
        site: this.siteKey,
        visitor: visitor.id ?? undefined,
        visit: visit.id ?? undefined,
        url,
        referrer,
        title,
        gaClientId: visitor.gaClientId,
        ymUid: visitor.ymUid,
      }),
    }).then((body) => {
      const res = body as { visitor: string; visit: string; number: { e164: string } | null };
      if (visit.id === null) this.visits++;
      visitor.id = res.visitor;
      visit.id = res.visit;
      visit.shown = res.number?.e164 ?? null;
    });
  }

  ping(visit: VisitState, leave: boolean): Promise<void> {
    return this.send({
      method: 'POST',
      url: '/t/ping',
      remoteAddress: visit.visitor.ip,
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': visit.visitor.ua, origin: ORIGIN },
      payload: JSON.stringify(leave ? { visit: visit.id, leave: true } : { visit: visit.id }),
    }).then(() => undefined);
  }

  // Telephony -------------------------------------------------------------------------------------------

  private hook(events: unknown[]): Promise<void> {
    const raw = JSON.stringify(events);
    return this.send({
      method: 'POST',
      url: `/hooks/generic/${this.integration.id}`,
      headers: {
        'content-type': 'application/json',
        'x-ringtrace-signature': signBody(this.integration.secret, raw),
      },
      payload: raw,
    }).then(() => undefined);
  }

  /** Schedules a call's webhook events as a PBX sends them: on ringing, on answer, at the end. */
  call(plan: PlannedCall): CallState {
    const state: CallState = { to: null };
    // Asterisk-style unique id: start time in seconds and a sequence number.
    const callId = `${Math.floor(plan.at / 1000)}.${++this.callSeq}`;
    const iso = (t: number) => new Date(t).toISOString();
    const answeredAt = plan.at + plan.waitSeconds * 1000;
    const endedAt = plan.outcome === 'answered' ? answeredAt + plan.talkSeconds * 1000 : answeredAt;
    const group = GROUPS[plan.group].name;
    this.calls++;
    this.at(plan.at, () => {
      state.to = plan.to();
      return this.hook([
        {
          id: `${callId}:started`,
          type: 'call.started',
          callId,
          occurredAt: iso(plan.at),
          from: plan.from,
          to: state.to,
        },
      ]);
    });
    if (plan.outcome === 'answered') {
      this.at(answeredAt, () =>
        this.hook([
          {
            id: `${callId}:answered`,
            type: 'call.answered',
            callId,
            occurredAt: iso(answeredAt),
            employee: plan.employee,
            group,
          },
        ]),
      );
    }
    this.at(endedAt, () =>
      this.hook([
        {
          id: `${callId}:ended`,
          type: 'call.ended',
          callId,
          occurredAt: iso(endedAt),
          status: plan.outcome === 'answered' ? 'completed' : plan.outcome,
          group,
          ...(plan.outcome === 'answered'
            ? {
                talkSeconds: plan.talkSeconds,
                waitSeconds: plan.waitSeconds,
                recordingUrl: `https://pbx.${DOMAIN}/recordings/${callId}.mp3`,
              }
            : { waitSeconds: plan.waitSeconds }),
        },
      ]),
    );
    return state;
  }
}

/** Whether and how long: nobody answers at night, sales is busy at times during the day. */
function planOutcome(rng: Rng, at: number): Pick<PlannedCall, 'outcome' | 'waitSeconds' | 'talkSeconds'> {
  const hour = moscowHour(at);
  const open = hour >= 9 && hour < 21;
  const shoulder = hour === 8 || hour === 21;
  const outcome: CallOutcome = open
    ? rng.weighted([
        ['answered', 86],
        ['no-answer', 9],
        ['busy', 5],
      ])
    : shoulder
      ? rng.weighted([
          ['answered', 50],
          ['no-answer', 50],
        ])
      : rng.weighted([
          ['answered', 4],
          ['no-answer', 96],
        ]);
  if (outcome === 'busy') return { outcome, waitSeconds: rng.int(0, 2), talkSeconds: 0 };
  if (outcome === 'no-answer') return { outcome, waitSeconds: rng.int(15, 45), talkSeconds: 0 };
  // Quick questions and wrong numbers, ordinary consultations, long order talks.
  const talkSeconds = rng.weighted([
    [rng.int(6, 29), 20],
    [rng.int(30, 180), 50],
    [rng.int(181, 600), 30],
  ]);
  return { outcome, waitSeconds: rng.int(3, 22), talkSeconds };
}

function planAnswerer(rng: Rng, service: boolean): Pick<PlannedCall, 'group' | 'employee'> {
  const group = service ? 'service' : 'sales';
  return { group, employee: rng.pick(GROUPS[group].employees) };
}

function mobileNumber(rng: Rng, region: RegionKind): string {
  return `+7${rng.pick(MOBILE_CODES[region])}${rng.digits(7)}`;
}

function ipIn(rng: Rng, network: keyof typeof NETWORKS): string {
  return `${rng.pick(NETWORKS[network])}.${rng.int(1, 254)}`;
}

function newVisitor(rng: Rng, firstSeen: number): Visitor {
  const region = rng.weighted<RegionKind>([
    ['moscow', 60],
    ['moscow-oblast', 9],
    ['spb', 16],
    ['other', 15],
  ]);
  return {
    id: null,
    region,
    ip: ipIn(rng, region),
    ua: rng.weighted(HUMAN_AGENTS),
    // Yandex Metrica's _ym_uid: first-seen seconds and random digits; Google Analytics on some browsers.
    ymUid: `${Math.floor(firstSeen / 1000)}${rng.digits(9)}`,
    gaClientId: rng.chance(0.7) ? `${rng.digits(10)}.${Math.floor(firstSeen / 1000)}` : undefined,
    phone: null,
    lastEnd: firstSeen,
  };
}

function url(path: string, query: Record<string, string> = {}): string {
  const u = new URL(path, ORIGIN);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

/** Landing URL and referrer of a visit from the given channel, as the browser reports them. */
function landingFor(rng: Rng, channel: ChannelKind, region: RegionKind): { url: string; referrer: string } {
  const anyPage = () => rng.weighted(PAGES.map((p) => [p.path, p.weight] as const));
  const spb = region === 'spb';
  switch (channel) {
    case 'yandex_cpc': {
      const kw = rng.pick(spb ? SPB_KEYWORDS : YANDEX_KEYWORDS);
      const campaign = spb ? 'poisk_spb' : kw.landing.includes('uglovye') ? 'poisk_uglovye' : 'poisk_moskva';
      return {
        url: url(kw.landing, {
          utm_source: 'yandex',
          utm_medium: 'cpc',
          utm_campaign: campaign,
          utm_content: rng.digits(11),
          utm_term: kw.term,
          yclid: rng.digits(19),
        }),
        referrer: 'https://yandex.ru/',
      };
    }
    case 'google_cpc': {
      const kw = rng.pick(GOOGLE_KEYWORDS);
      const gclid = `Cj0KCQiA${Array.from({ length: 24 }, () => rng.pick([...'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789_-'])).join('')}BwE`;
      return {
        url: url(kw.landing, {
          utm_source: 'google',
          utm_medium: 'cpc',
          utm_campaign: spb ? 'search_spb' : 'search_moscow',
          utm_term: kw.term,
          gclid,
        }),
        referrer: 'https://www.google.com/',
      };
    }
    case 'yandex_display':
      return {
        url: url(rng.pick(['/catalog/uglovye/milan/', '/akcii/', '/catalog/divany-krovati/verona/']), {
          utm_source: 'yandex',
          utm_medium: 'cpm',
          utm_campaign: 'rsya_retargeting',
          utm_content: rng.digits(11),
        }),
        referrer: '',
      };
    case 'vk_ads':
      return {
        url: url(rng.pick(['/catalog/modulnye/lego/', '/akcii/', '/catalog/uglovye/toronto/']), {
          utm_source: 'vk',
          utm_medium: 'cpc',
          utm_campaign: 'vk_lookalike_buyers',
          utm_content: rng.pick(['carousel', 'video', 'banner_sale']),
        }),
        referrer: 'https://vk.com/',
      };
    case 'organic_yandex':
      return { url: url(anyPage()), referrer: rng.pick(['https://yandex.ru/', 'https://ya.ru/']) };
    case 'organic_google':
      return { url: url(anyPage()), referrer: 'https://www.google.com/' };
    case 'vk_social':
      return {
        url: url(rng.pick(['/catalog/uglovye/milan/', '/otzyvy/', '/akcii/'])),
        referrer: 'https://vk.com/',
      };
    case 'direct':
      return { url: url(rng.chance(0.8) ? '/' : anyPage()), referrer: '' };
    case 'avito':
      return {
        url: url(rng.pick(['/catalog/uglovye/', '/catalog/divany-krovati/', '/']), {
          utm_source: 'avito',
          utm_medium: 'referral',
          utm_campaign: 'profile',
        }),
        referrer: 'https://www.avito.ru/',
      };
    case 'referral_2gis':
      return { url: url(rng.pick(['/kontakty/', '/'])), referrer: 'https://2gis.ru/' };
  }
}

/** Pages after the landing page: browsing the catalog, often ending on delivery or contacts. */
function nextPage(rng: Rng, current: string): Page {
  for (;;) {
    const page = rng.weighted(PAGES.map((p) => [p, p.weight] as const));
    if (page.path !== current) return page;
  }
}

/**
 * One visit and what follows it. Counting draws (bot or not, returning or not, channel, calls) come first
 * from the visit's own stream, so the number of visits and calls does not depend on when the demo runs;
 * only the absolute times and who returns do.
 */
function planVisit(
  sim: Simulation,
  rng: Rng,
  start: number,
  isBot: boolean,
  isReturn: boolean,
  pastVisitors: Visitor[],
): void {
  if (isBot) {
    const bot = rng.weighted(BOTS);
    const visitor: Visitor = {
      id: null,
      region: 'other',
      ip: ipIn(rng, bot.network),
      ua: bot.ua,
      ymUid: undefined,
      gaClientId: undefined,
      phone: null,
      lastEnd: start,
    };
    const page = rng.weighted(PAGES.map((p) => [p, p.weight] as const));
    const visit: VisitState = { visitor, id: null, shown: null };
    // Crawlers render one page per session, with no cookies, heartbeat or leave.
    sim.at(start, () => sim.pageHit(visit, url(page.path), '', page.title));
    return;
  }

  const channel = rng.weighted(isReturn ? RETURNING_CHANNELS : NEW_VISITOR_CHANNELS);
  const callRate = CALL_RATE[channel] * (isReturn ? 1.5 : 1);
  const calls = rng.chance(callRate) ? (rng.chance(0.08) ? 2 : 1) : 0;
  const callKinds = Array.from({ length: calls }, () =>
    rng.weighted<'during' | 'frozen' | 'late'>([
      ['during', 58],
      ['frozen', 28],
      ['late', 14],
    ]),
  );
  const followUps = callKinds.map(() => rng.chance(0.14));

  // Who: someone who was here before (if anyone left long enough ago), or a new person.
  const eligible = isReturn ? pastVisitors.filter((v) => v.lastEnd < start - HOUR) : [];
  // A returning visitor with nobody eligible is one whose earlier visit predates the simulated period.
  let visitor: Visitor;
  if (eligible.length > 0) visitor = rng.pick(eligible);
  else {
    visitor = newVisitor(rng, start);
    pastVisitors.push(visitor);
  }
  const visit: VisitState = { visitor, id: null, shown: null };

  const landing = landingFor(rng, channel, visitor.region);
  const landingPath = new URL(landing.url).pathname;
  const landingPage = pageByPath.get(landingPath) ?? PAGES[0];
  const pageCount = rng.weighted([
    [1, 38],
    [2, 22],
    [3, 14],
    [4, 11],
    [5, 7],
    [6, 5],
    [7, 3],
  ]);

  // Page views with their dwell times; heartbeats while each page is open.
  let t = start;
  let currentUrl = landing.url;
  let currentTitle = landingPage.title;
  let currentPath = landingPath;
  let referrer = landing.referrer;
  for (let i = 0; i < pageCount; i++) {
    const hitAt = t;
    const [u, r, title] = [currentUrl, referrer, currentTitle];
    sim.at(hitAt, () => sim.pageHit(visit, u, r, title));
    const dwell = Math.min(300_000, 8_000 + Math.round(rng.exp(75_000)));
    for (let beat = hitAt + HEARTBEAT_MS; beat < hitAt + dwell; beat += HEARTBEAT_MS) {
      sim.at(beat, () => sim.ping(visit, false));
    }
    t = hitAt + dwell;
    if (i < pageCount - 1) {
      // The next page loads a moment later. Its hit undoes the goodbye ping the old page sends on
      // navigation (the visit goes on, the lease stays), so that ping is not simulated.
      const next = nextPage(rng, currentPath);
      referrer = currentUrl;
      currentUrl = url(next.path);
      currentTitle = next.title;
      currentPath = next.path;
      t += rng.int(400, 2500);
    }
  }
  const end = t;
  // Most pages say goodbye on close; a backgrounded mobile tab that gets killed never does.
  const leaves = rng.chance(visitor.ua.includes('Mobile') ? 0.75 : 0.92);
  sim.at(end, () => sim.ping(visit, leaves));
  visitor.lastEnd = end;

  // Calls from this visit.
  callKinds.forEach((kind, i) => {
    const base =
      kind === 'during'
        ? start + 15_000 + rng.float() * Math.max(1_000, end - start - 20_000)
        : kind === 'frozen'
          ? end + rng.int(1, FREEZE_MINUTES - 2) * MINUTE + rng.int(0, 59_000)
          : end + (FREEZE_MINUTES + 2) * MINUTE + rng.int(1, 100) * MINUTE;
    const at = sim.clampCall(Math.round(base), start + 15_000);
    // The open page's latest heartbeat, a few seconds before the visitor dials.
    if (kind === 'during' && at < end) {
      sim.at(Math.max(start + 1_000, at - rng.int(2_000, 25_000)), () => sim.ping(visit, false));
    }
    visitor.phone ??= mobileNumber(rng, visitor.region);
    const from = visitor.phone;
    const outcome = planOutcome(rng, at);
    const service = isReturn && rng.chance(0.3);
    const first = sim.call({
      at,
      from,
      to: () => visit.shown ?? DEFAULT_E164,
      ...outcome,
      ...planAnswerer(rng, service),
    });
    if (!followUps[i]) return;
    // A missed caller tries again soon; an answered one calls back later about the order.
    const firstEnd = at + (outcome.waitSeconds + outcome.talkSeconds) * 1000;
    const again =
      outcome.outcome === 'answered'
        ? firstEnd + rng.int(2, 30) * HOUR + rng.int(0, 59) * MINUTE
        : firstEnd + rng.int(2, 30) * MINUTE;
    const againAt = sim.clampCall(again, firstEnd + 30_000);
    // Right after a miss people redial from the call log; days later they mostly dial the main number.
    const redial = outcome.outcome !== 'answered' || rng.chance(0.25);
    sim.call({
      at: againAt,
      from,
      to: () => (redial ? (first.to ?? DEFAULT_E164) : DEFAULT_E164),
      ...planOutcome(rng, againAt),
      ...planAnswerer(rng, outcome.outcome === 'answered' && rng.chance(0.6)),
    });
  });
}

/** Calls to the billboard number: offline, no visit behind them. */
function planBillboardCalls(
  sim: Simulation,
  rng: Rng,
  count: number,
  when: (u: number) => number,
  billboard: string,
): void {
  const callers: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = sim.clampCall(when(rng.float()), 0);
    const from =
      callers.length > 0 && rng.chance(0.15)
        ? rng.pick(callers)
        : mobileNumber(rng, rng.chance(0.85) ? 'moscow' : 'moscow-oblast');
    callers.push(from);
    sim.call({
      at,
      from,
      to: () => billboard,
      ...planOutcome(rng, at),
      ...planAnswerer(rng, false),
    });
  }
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Creates the demo site «Диваны на заказ» in the account and simulates `days` days of its traffic and
 * calls up to now. If the account already has the demo site, nothing is loaded again.
 */
export async function loadDemo(opts: DemoOptions): Promise<DemoSummary> {
  const { db, accountId } = opts;
  const days = positiveInt(opts.days, 7);
  const visitsPerDay = positiveInt(opts.visitsPerDay, 300);
  const seed = Number.isFinite(opts.seed) ? Math.floor(opts.seed!) >>> 0 : 20_091_114;

  const existing = await db.query<{ id: string }>(
    'SELECT id FROM sites WHERE account_id = $1 AND $2 = ANY(domains) ORDER BY created_at LIMIT 1',
    [accountId, DOMAIN],
  );
  if (existing[0]) return summarize(db, accountId, existing[0].id);

  // Whole seconds, so the simulated times print cleanly.
  const end = Math.floor(Date.now() / 1000) * 1000;
  const start = end - days * DAY;
  const clock = new ManualClock(new Date(start - HOUR));
  const app = await buildApp({
    config: { ...opts.config, logLevel: 'silent' },
    db,
    clock,
  });
  const apiKey = await createApiKey(db, clock, accountId, 'demo loader').catch(async (err) => {
    await app.close();
    throw err;
  });
  const api: Api = async <T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> => {
    const res = await app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${apiKey.key}` },
      payload: body as object,
    });
    if (res.statusCode >= 300)
      throw new Error(`demo: ${method} ${path} answered ${res.statusCode}: ${res.body}`);
    return (res.body ? res.json() : null) as T;
  };
  const created: Partial<DemoSetup> = {};
  try {
    const { site, billboard, integration } = await createDemoSite(api, clock, created);

    const sim = new Simulation(app, clock, site.siteKey, integration, end);
    const main = new Rng(seed);
    const when = timeSampler(start, end - QUIET_TAIL);
    const total = Math.round(days * visitsPerDay * (0.95 + 0.1 * main.float()));
    const planned = Array.from({ length: total }, (_, i) => {
      const rng = new Rng(mixSeed(seed, i + 1));
      return { rng, at: when(rng.float()), isBot: rng.chance(0.05), isReturn: rng.chance(0.2) };
    }).sort((a, b) => a.at - b.at);
    const pastVisitors: Visitor[] = [];
    for (const p of planned) planVisit(sim, p.rng, p.at, p.isBot, p.isReturn, pastVisitors);
    const billboardCalls = Math.round(days * 3 * (0.8 + 0.4 * main.float()));
    planBillboardCalls(sim, new Rng(mixSeed(seed, 0)), billboardCalls, when, billboard);

    await sim.run();
    return { siteName: SITE_NAME, siteId: site.id, visits: sim.visits, calls: sim.calls };
  } catch (err) {
    // A half-loaded demo would block the next attempt (the site exists), so it is removed.
    await removeDemo(db, api, accountId, created).catch(() => {});
    throw err;
  } finally {
    // The loader's key was only for the calls above.
    await api('DELETE', `/api/v1/api-keys/${apiKey.id}`).catch(() => {});
    await app.close();
  }
}

type Api = <T>(method: 'POST' | 'DELETE', path: string, body?: unknown) => Promise<T>;

interface DemoSetup {
  site: { id: string; siteKey: string };
  billboard: string;
  integration: { id: string; secret: string };
}

/** The shop's site, number pools, static channels and PBX integration, as a customer would set them up. */
async function createDemoSite(api: Api, clock: ManualClock, created: Partial<DemoSetup>): Promise<DemoSetup> {
  const site = await api<{ id: string; siteKey: string }>('POST', '/api/v1/sites', {
    name: SITE_NAME,
    domains: [DOMAIN],
    timeZone: 'Europe/Moscow',
    currency: 'RUB',
    country: 'RU',
    homeRegion: 'Moscow',
    defaultNumber: DEFAULT_NUMBER,
    replaceNumbers: [DEFAULT_NUMBER],
    freezeMinutes: FREEZE_MINUTES,
    lateGraceMinutes: 120,
    targetedThresholdSeconds: 30,
    leadGroups: [GROUPS.sales.name],
    dynamicChannels: ['paid_search', 'paid_social', 'display'],
    multiRegional: true,
  });
  created.site = site;
  const sitePath = `/api/v1/sites/${site.id}`;
  clock.advanceMinutes(5);
  const homePool = await api<{ id: string }>('POST', `${sitePath}/pools`, { name: 'Москва', region: null });
  for (let i = 0; i < 12; i++) {
    await api('POST', `${sitePath}/numbers`, {
      number: `+7 499 350-14-${21 + i}`,
      kind: 'pool',
      poolId: homePool.id,
      region: 'Moscow',
    });
  }
  const spbPool = await api<{ id: string }>('POST', `${sitePath}/pools`, {
    name: 'Санкт-Петербург',
    region: SPB_REGION,
  });
  for (let i = 0; i < 5; i++) {
    await api('POST', `${sitePath}/numbers`, {
      number: `+7 812 409-37-${41 + i}`,
      kind: 'pool',
      poolId: spbPool.id,
      region: SPB_REGION,
    });
  }
  clock.advanceMinutes(5);
  const avito = await api<{ id: string }>('POST', `${sitePath}/numbers`, {
    number: '+7 495 120-33-44',
    kind: 'static',
  });
  await api('POST', `${sitePath}/static-rules`, {
    name: 'Авито',
    priority: 10,
    conditions: { utmSource: 'avito' },
    numberId: avito.id,
    source: 'avito',
    medium: 'classified',
    campaign: 'Профиль на Авито',
  });
  const billboard = await api<{ id: string; e164: string }>('POST', `${sitePath}/numbers`, {
    number: '+7 495 120-55-66',
    kind: 'static',
  });
  // No conditions: no visit matches it; calls to the number carry the rule's source.
  await api('POST', `${sitePath}/static-rules`, {
    name: 'Билборд на МКАД',
    conditions: {},
    numberId: billboard.id,
    source: 'billboard',
    medium: 'offline',
    campaign: 'Щит МКАД, 47 км',
  });
  clock.advanceMinutes(5);
  const integration = await api<{ id: string; secret: string }>('POST', '/api/v1/integrations', {
    kind: 'generic',
    name: 'АТС (демо)',
  });
  created.integration = integration;
  return { site, billboard: billboard.e164, integration };
}

/** Deletes a partly loaded demo: the site (with its numbers, visits, leases) and what its PBX sent. */
async function removeDemo(db: Db, api: Api, accountId: string, setup: Partial<DemoSetup>): Promise<void> {
  if (setup.site) await api('DELETE', `/api/v1/sites/${setup.site.id}`);
  if (!setup.integration) return;
  const integrationId = setup.integration.id;
  await db.tx(async (q) => {
    for (const table of ['calls', 'call_events']) {
      await q.query(`DELETE FROM ${table} WHERE account_id = $1 AND integration_id = $2`, [
        accountId,
        integrationId,
      ]);
    }
    await q.query('DELETE FROM integrations WHERE account_id = $1 AND id = $2', [accountId, integrationId]);
  });
}

function positiveInt(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? Math.max(1, Math.floor(value)) : fallback;
}

async function summarize(db: Db, accountId: string, siteId: string): Promise<DemoSummary> {
  const [counts] = await db.query<{ visits: number; calls: number }>(
    `SELECT (SELECT count(*)::int FROM visits WHERE account_id = $1 AND site_id = $2) AS visits,
            (SELECT count(*)::int FROM calls WHERE account_id = $1 AND site_id = $2) AS calls`,
    [accountId, siteId],
  );
  return { siteName: SITE_NAME, siteId, visits: counts.visits, calls: counts.calls };
}
