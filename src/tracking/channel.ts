// Traffic channel classification of a visit from its landing URL and referrer. Pure: no I/O,
// never throws, so it can run on every widget hit with untrusted input.

export const ALL_CHANNELS = [
  'paid_search',
  'paid_social',
  'display',
  'organic_search',
  'social',
  'email',
  'referral',
  'direct',
  'internal',
] as const;

export type Channel = (typeof ALL_CHANNELS)[number];

export const PAID_CHANNELS = ['paid_search', 'paid_social', 'display'] as const satisfies readonly Channel[];

export type Traffic = {
  channel: Channel;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  content: string | null;
  keyword: string | null;
  gclid: string | null;
  yclid: string | null;
  fbclid: string | null;
  /** Referrer host, lowercased, without "www."; null without a usable referrer. */
  referrerDomain: string | null;
};

export type TrafficInput = {
  landingUrl: string;
  referrer?: string | null;
  /** The site's own domains; subdomains count too. */
  siteDomains: string[];
};

const MAX_VALUE_LENGTH = 500;

const DIRECT_SOURCE = '(direct)';
const DIRECT_MEDIUM = '(none)';

/** Trims and caps an untrusted value; empty becomes null. */
function clean(value: string | null | undefined): string | null {
  if (value == null) return null;
  const v = value.trim().slice(0, MAX_VALUE_LENGTH).trim();
  return v === '' ? null : v;
}

function cleanLower(value: string | null | undefined): string | null {
  return clean(value)?.toLowerCase() ?? null;
}

function parseUrl(raw: string | null | undefined): URL | null {
  if (typeof raw !== 'string' || raw.trim() === '') return null;
  try {
    return new URL(raw.trim());
  } catch {
    return null;
  }
}

/** Parses a landing URL; a relative "/path?query" is accepted too, other junk gives null. */
export function parseLandingUrl(landingUrl: string): URL | null {
  if (typeof landingUrl !== 'string') return null;
  const u = landingUrl.trim();
  const relative = /^[/?]/.test(u) && !u.startsWith('//');
  return relative ? parseUrl(`http://landing.invalid${u}`) : parseUrl(u);
}

function landingParams(landingUrl: string): URLSearchParams | null {
  return parseLandingUrl(landingUrl)?.searchParams ?? null;
}

/** First non-empty value of a query parameter, with the name matched case-insensitively. */
function param(params: URLSearchParams | null, name: string): string | null {
  if (!params) return null;
  for (const [key, value] of params) {
    if (key.toLowerCase() === name) {
      const v = clean(value);
      if (v !== null) return v;
    }
  }
  return null;
}

type Utm = {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  content: string | null;
  term: string | null;
};

/** The utm_* parameters of a landing URL, trimmed and capped (source and medium lowercased). */
function extractUtm(landingUrl: string): Utm {
  const params = landingParams(landingUrl);
  return {
    source: param(params, 'utm_source')?.toLowerCase() ?? null,
    medium: param(params, 'utm_medium')?.toLowerCase() ?? null,
    campaign: param(params, 'utm_campaign'),
    content: param(params, 'utm_content'),
    term: param(params, 'utm_term'),
  };
}

/** Lowercase host without "www." and a trailing dot. */
export function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^www\./, '');
}

/** True when host is domain itself or one of its subdomains. */
export function hostMatches(host: string, domain: string): boolean {
  return domain !== '' && (host === domain || host.endsWith(`.${domain}`));
}

/** Host of a domain as people write it: "example.com", "https://www.example.com/", "example.com:8080". */
export function normalizeDomain(domain: string): string {
  if (typeof domain !== 'string') return '';
  const d = domain.trim();
  const url = parseUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(d) ? d : `http://${d}`);
  return url ? normalizeHost(url.hostname) : '';
}

function referrerHost(referrer: string | null | undefined): string | null {
  if (typeof referrer !== 'string') return null;
  const r = referrer.trim();
  // Some clients send a bare host; anything else without a scheme is junk.
  const url =
    parseUrl(r) ?? (/^[a-z0-9.-]+\.[a-z]{2,}(?:[/?#:]|$)/i.test(r) ? parseUrl(`http://${r}`) : null);
  if (!url) return null;
  // android-app://<package>/ is what Android apps send (Gmail, Google app); keep those.
  if (!['http:', 'https:', 'android-app:'].includes(url.protocol)) return null;
  const host = normalizeHost(url.hostname);
  return host === '' ? null : clean(host);
}

// ---------------------------------------------------------------------------
// Known hosts

type HostRule = { domains: string[]; name: string };

// Checked before search engines: mail.yandex.ru must not count as Yandex search.
const MAIL_CLIENTS: string[] = [
  'mail.yandex.ru',
  'mail.yandex.com',
  'mail.yandex.kz',
  'mail.yandex.by',
  'mail.yandex.uz',
  'e.mail.ru',
  'touch.mail.ru',
  'mail.google.com',
  'outlook.live.com',
  'outlook.office.com',
  'outlook.office365.com',
  'mail.yahoo.com',
  'mail.rambler.ru',
  'com.google.android.gm',
];

const SOCIAL: HostRule[] = [
  { domains: ['vk.com', 'vk.ru', 'vkontakte.ru'], name: 'vk' },
  { domains: ['ok.ru', 'odnoklassniki.ru'], name: 'ok' },
  { domains: ['facebook.com', 'fb.com', 'fb.me'], name: 'facebook' },
  { domains: ['instagram.com'], name: 'instagram' },
  { domains: ['t.me', 'telegram.me', 'telegram.org'], name: 'telegram' },
  // t.co is what twitter.com/x.com actually send as referrer.
  { domains: ['twitter.com', 'x.com', 't.co'], name: 'twitter' },
  { domains: ['youtube.com', 'youtu.be'], name: 'youtube' },
  { domains: ['dzen.ru', 'zen.yandex.ru'], name: 'dzen' },
  { domains: ['tiktok.com'], name: 'tiktok' },
  { domains: ['linkedin.com', 'lnkd.in'], name: 'linkedin' },
  { domains: ['pinterest.com'], name: 'pinterest' },
  { domains: ['reddit.com'], name: 'reddit' },
];

// Country TLDs such as google.co.uk, google.com.tr, yandex.kz.
const TLD = String.raw`[a-z]{2,3}(?:\.[a-z]{2})?`;

type EngineRule = { test: (host: string) => boolean; name: string };

const SEARCH_ENGINES: EngineRule[] = [
  {
    name: 'google',
    test: (h) =>
      new RegExp(`^(?:m\\.)?google\\.${TLD}$`).test(h) || h === 'com.google.android.googlequicksearchbox',
  },
  // Only the search front pages: other Yandex services (maps, market) are referrals.
  {
    name: 'yandex',
    test: (h) => new RegExp(`^(?:m\\.)?(?:yandex\\.${TLD}|ya\\.ru)$`).test(h) || h === 'com.yandex.searchapp',
  },
  { name: 'bing', test: (h) => hostMatches(h, 'bing.com') },
  { name: 'mail.ru', test: (h) => h === 'go.mail.ru' },
  { name: 'duckduckgo', test: (h) => hostMatches(h, 'duckduckgo.com') },
  { name: 'yahoo', test: (h) => new RegExp(`(?:^|\\.)search\\.yahoo\\.${TLD}$`).test(h) },
  { name: 'rambler', test: (h) => hostMatches(h, 'rambler.ru') },
  { name: 'ecosia', test: (h) => hostMatches(h, 'ecosia.org') },
  { name: 'brave', test: (h) => h === 'search.brave.com' },
  { name: 'baidu', test: (h) => hostMatches(h, 'baidu.com') },
];

function socialName(host: string): string | null {
  return SOCIAL.find((s) => s.domains.some((d) => hostMatches(host, d)))?.name ?? null;
}

function searchEngineName(host: string): string | null {
  return SEARCH_ENGINES.find((e) => e.test(host))?.name ?? null;
}

// ---------------------------------------------------------------------------
// utm_medium / utm_source vocabulary

// Compared after dropping "-", "_" and spaces, so "paid-social" == "paid_social" == "paidsocial".
const DISPLAY_MEDIUMS = new Set(['cpm', 'banner', 'display', 'retargeting', 'remarketing', 'media', 'rtb']);
const PAID_MEDIUMS = new Set([
  'cpc',
  'ppc',
  'cpa',
  'cpv',
  'cpl',
  'cpi',
  'cpo',
  'paid',
  'ads',
  'ad',
  'sem',
  'context',
]);
const ORGANIC_MEDIUMS = new Set(['organic', 'seo', 'organicsearch']);
const EMAIL_MEDIUMS = new Set(['email', 'mail', 'mailing', 'newsletter', 'emailnewsletter', 'rassylka']);
const SOCIAL_MEDIUMS = new Set(['social', 'smm', 'socialnetwork', 'socialmedia']);
const REFERRAL_MEDIUMS = new Set(['referral', 'ref', 'referrer', 'link']);

// Tokens of utm_source that mean a social network's ad cabinet ("vk_ads", "fb-ig", "target.my.com").
const SOCIAL_SOURCE_TOKENS = new Set([
  'vk',
  'vkontakte',
  'vkads',
  'facebook',
  'fb',
  'instagram',
  'ig',
  'meta',
  'ok',
  'odnoklassniki',
  'telegram',
  'tg',
  'tiktok',
  'mytarget',
  'twitter',
  'linkedin',
  'youtube',
  'dzen',
  'pinterest',
  'snapchat',
  'reddit',
]);

function compact(value: string): string {
  return value.replace(/[\s_-]+/g, '');
}

function isPaidMedium(m: string): boolean {
  return DISPLAY_MEDIUMS.has(m) || PAID_MEDIUMS.has(m) || m.startsWith('paid') || m.includes('cpc');
}

function isSocialSource(source: string | null): boolean {
  if (!source) return false;
  if (source.includes('target.my.com') || socialName(normalizeHost(source)) !== null) return true;
  return source.split(/[^a-z0-9]+/).some((token) => SOCIAL_SOURCE_TOKENS.has(token));
}

/** Channel for an explicit utm_medium, or null when the medium is not one we know. */
function channelForMedium(medium: string, source: string | null): Channel | null {
  const m = compact(medium);
  if (isPaidMedium(m)) {
    // A social source decides first: VK or myTarget ads bought per impression are still paid social.
    if (isSocialSource(source) || m.includes('social')) return 'paid_social';
    return DISPLAY_MEDIUMS.has(m) ? 'display' : 'paid_search';
  }
  if (ORGANIC_MEDIUMS.has(m)) return 'organic_search';
  if (EMAIL_MEDIUMS.has(m) || m.includes('email') || m.includes('newsletter')) return 'email';
  if (SOCIAL_MEDIUMS.has(m) || m.includes('social')) return 'social';
  if (REFERRAL_MEDIUMS.has(m)) return 'referral';
  return null;
}

// ---------------------------------------------------------------------------

/** Classifies a visit. utm wins, then ad click ids, then the referrer; never throws. */
export function classifyTraffic(input: TrafficInput): Traffic {
  const landingUrl = typeof input?.landingUrl === 'string' ? input.landingUrl : '';
  const params = landingParams(landingUrl);
  const utm = extractUtm(landingUrl);
  const gclid = param(params, 'gclid');
  const yclid = param(params, 'yclid');
  const fbclid = param(params, 'fbclid');
  // Google's app-to-web click ids: channel only, there is no field to store them.
  const googleClick = gclid ?? param(params, 'gbraid') ?? param(params, 'wbraid');

  const referrerDomain = referrerHost(input?.referrer);
  const siteHosts = [
    ...(Array.isArray(input?.siteDomains) ? input.siteDomains : []).map(normalizeDomain),
    // The landing host is the site by definition, even if the caller forgot to list it.
    normalizeDomain(parseUrl(landingUrl)?.hostname ?? ''),
  ].filter((h) => h !== '');

  const base = {
    campaign: utm.campaign,
    content: utm.content,
    keyword: utm.term,
    gclid,
    yclid,
    fbclid,
    referrerDomain,
  };
  const result = (channel: Channel, source: string | null, medium: string | null): Traffic => ({
    channel,
    source: cleanLower(source),
    medium: cleanLower(medium),
    ...base,
  });

  const clickSource = googleClick ? 'google' : yclid ? 'yandex' : null;
  const internal = referrerDomain !== null && siteHosts.some((site) => hostMatches(referrerDomain, site));
  const referrerName =
    referrerDomain && !internal
      ? (searchEngineName(referrerDomain) ?? socialName(referrerDomain) ?? referrerDomain)
      : null;

  if (utm.source !== null || utm.medium !== null) {
    if (utm.source === DIRECT_SOURCE && (utm.medium === null || utm.medium === DIRECT_MEDIUM)) {
      return result('direct', DIRECT_SOURCE, DIRECT_MEDIUM);
    }
    const channel = utm.medium === null ? null : channelForMedium(utm.medium, utm.source);
    if (channel !== null) {
      // utm_medium alone (e.g. cpc): name the source after the click id or referrer.
      return result(channel, utm.source ?? clickSource ?? referrerName, utm.medium);
    }
    // An ad click id is proof of a paid click even when the utm tags are unusual or incomplete.
    if (clickSource !== null) return result('paid_search', utm.source ?? clickSource, utm.medium ?? 'cpc');
    return result('referral', utm.source, utm.medium);
  }

  if (clickSource !== null) return result('paid_search', clickSource, 'cpc');
  // Meta appends fbclid to every outbound link, organic posts included, so it is not "paid".
  if (fbclid !== null) {
    const network = referrerDomain ? socialName(referrerDomain) : null;
    return result('social', network ?? 'facebook', 'social');
  }

  if (referrerDomain === null) return result('direct', DIRECT_SOURCE, DIRECT_MEDIUM);
  if (internal) return result('internal', DIRECT_SOURCE, DIRECT_MEDIUM);
  if (MAIL_CLIENTS.some((d) => hostMatches(referrerDomain, d)))
    return result('email', referrerDomain, 'email');
  const network = socialName(referrerDomain);
  if (network !== null) return result('social', network, 'social');
  const engine = searchEngineName(referrerDomain);
  if (engine !== null) return result('organic_search', engine, 'organic');
  return result('referral', referrerDomain, 'referral');
}
