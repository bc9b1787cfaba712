import { describe, expect, it } from 'vitest';
import { ALL_CHANNELS, classifyTraffic, PAID_CHANNELS, type Traffic } from './channel.js';

const SITE = ['example.ru'];
const LANDING = 'https://example.ru/';

function classify(landingUrl: string, referrer?: string | null, siteDomains = SITE): Traffic {
  return classifyTraffic({ landingUrl, referrer, siteDomains });
}

function brief(t: Traffic) {
  return { channel: t.channel, source: t.source, medium: t.medium };
}

describe('constants', () => {
  it('lists channels', () => {
    expect(ALL_CHANNELS).toHaveLength(9);
    expect(PAID_CHANNELS).toEqual(['paid_search', 'paid_social', 'display']);
    for (const c of PAID_CHANNELS) expect(ALL_CHANNELS).toContain(c);
  });
});

describe('utm parameters', () => {
  it('reads all utm fields and decodes + as space', () => {
    const t = classify(
      'https://example.ru/sofas?utm_source=Yandex&utm_medium=CPC&utm_campaign=Sofas_Moscow&utm_content=ad%201&utm_term=купить+диван',
      'https://yandex.ru/',
    );
    expect(t).toEqual({
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
      campaign: 'Sofas_Moscow',
      content: 'ad 1',
      keyword: 'купить диван',
      gclid: null,
      yclid: null,
      fbclid: null,
      referrerDomain: 'yandex.ru',
    });
  });

  it('decodes percent-encoded Cyrillic', () => {
    const t = classify(
      `${LANDING}?utm_source=google&utm_medium=cpc&utm_term=${encodeURIComponent('диван угловой')}`,
    );
    expect(t.keyword).toBe('диван угловой');
  });

  it('wins over the referrer and click ids', () => {
    const t = classify(
      `${LANDING}?utm_source=newsletter&utm_medium=email&gclid=abc`,
      'https://www.google.com/',
    );
    expect(brief(t)).toEqual({ channel: 'email', source: 'newsletter', medium: 'email' });
    expect(t.gclid).toBe('abc');
  });

  it.each([
    ['cpc', 'google', 'paid_search'],
    ['ppc', 'bing', 'paid_search'],
    ['paid', 'yandex', 'paid_search'],
    ['paidsearch', 'google', 'paid_search'],
    ['paid_search', 'google', 'paid_search'],
    ['cpa', 'admitad', 'paid_search'],
    ['cpv', 'google', 'paid_search'],
    ['cpm', 'yandex', 'display'],
    ['banner', 'yandex', 'display'],
    ['display', 'google', 'display'],
    ['retargeting', 'criteo', 'display'],
    ['cpc', 'vk', 'paid_social'],
    ['cpc', 'facebook', 'paid_social'],
    ['cpc', 'instagram', 'paid_social'],
    ['cpc', 'ok', 'paid_social'],
    ['cpc', 'telegram', 'paid_social'],
    ['cpc', 'tiktok', 'paid_social'],
    ['cpc', 'mytarget', 'paid_social'],
    ['cpm', 'vk_ads', 'paid_social'],
    ['retargeting', 'vk', 'paid_social'],
    ['paid_social', 'somenetwork', 'paid_social'],
    ['paid-social', 'somenetwork', 'paid_social'],
    ['organic', 'google', 'organic_search'],
    ['email', 'sendpulse', 'email'],
    ['e-mail', 'sendpulse', 'email'],
    ['newsletter', 'unisender', 'email'],
    ['social', 'vk', 'social'],
    ['smm', 'vk', 'social'],
    ['referral', 'partner.ru', 'referral'],
    ['qr', 'flyer', 'referral'],
  ])('utm_medium=%s utm_source=%s → %s', (medium, source, channel) => {
    const t = classify(`${LANDING}?utm_source=${source}&utm_medium=${medium}`);
    expect(brief(t)).toEqual({ channel, source, medium });
  });

  it('keeps utm_source without utm_medium as referral', () => {
    expect(brief(classify(`${LANDING}?utm_source=billboard`))).toEqual({
      channel: 'referral',
      source: 'billboard',
      medium: null,
    });
  });

  it('names the source from the click id or referrer when only utm_medium is given', () => {
    expect(brief(classify(`${LANDING}?utm_medium=cpc&yclid=1`))).toEqual({
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
    });
    expect(brief(classify(`${LANDING}?utm_medium=cpc`, 'https://www.google.de/'))).toEqual({
      channel: 'paid_search',
      source: 'google',
      medium: 'cpc',
    });
  });

  it('does not name the source after the site itself', () => {
    expect(classify(`${LANDING}?utm_medium=cpc`, 'https://example.ru/catalog').source).toBeNull();
  });

  it('treats an ad click id as paid when the utm medium is unknown or missing', () => {
    expect(brief(classify(`${LANDING}?utm_source=google&utm_medium=spring&gclid=x`))).toEqual({
      channel: 'paid_search',
      source: 'google',
      medium: 'spring',
    });
    expect(brief(classify(`${LANDING}?utm_source=direct_sofas&yclid=5`))).toEqual({
      channel: 'paid_search',
      source: 'direct_sofas',
      medium: 'cpc',
    });
  });

  it('maps explicit (direct)/(none) to direct', () => {
    expect(classify(`${LANDING}?utm_source=(direct)&utm_medium=(none)`).channel).toBe('direct');
  });

  it('matches parameter names case-insensitively and takes the first non-empty value', () => {
    const t = classify(`${LANDING}?UTM_SOURCE=&utm_source=Google&Utm_Medium=CPC&utm_source=bing`);
    expect(brief(t)).toEqual({ channel: 'paid_search', source: 'google', medium: 'cpc' });
  });

  it('trims values, treats blank ones as absent and caps at 500 chars', () => {
    const long = 'x'.repeat(2000);
    const t = classify(
      `${LANDING}?utm_source=%20%20&utm_medium=%20&utm_campaign=${long}&utm_content=%20a%20`,
    );
    expect(t.channel).toBe('direct');
    expect(t.source).toBe('(direct)');
    expect(t.campaign).toHaveLength(500);
    expect(t.content).toBe('a');
    const s = classify(`${LANDING}?utm_source=${long}&utm_medium=cpc&gclid=${long}`);
    expect(s.source).toHaveLength(500);
    expect(s.gclid).toHaveLength(500);
  });

  it('reads utm from a relative landing URL', () => {
    expect(brief(classify('/catalog?utm_source=vk&utm_medium=cpc'))).toEqual({
      channel: 'paid_social',
      source: 'vk',
      medium: 'cpc',
    });
  });

  it('keeps campaign/content/term even when the channel comes from the referrer', () => {
    const t = classify(`${LANDING}?utm_campaign=spring`, 'https://www.google.com/');
    expect(t.channel).toBe('organic_search');
    expect(t.campaign).toBe('spring');
  });
});

describe('click ids without utm', () => {
  it('gclid → google/cpc', () => {
    const t = classify(`${LANDING}?gclid=Cj0KCQ`, 'https://www.google.com/');
    expect(brief(t)).toEqual({ channel: 'paid_search', source: 'google', medium: 'cpc' });
    expect(t.gclid).toBe('Cj0KCQ');
  });

  it('gbraid/wbraid count as google ads too', () => {
    expect(brief(classify(`${LANDING}?gbraid=0AAAA`))).toEqual({
      channel: 'paid_search',
      source: 'google',
      medium: 'cpc',
    });
  });

  it('yclid → yandex/cpc', () => {
    const t = classify(`${LANDING}?yclid=123456`);
    expect(brief(t)).toEqual({ channel: 'paid_search', source: 'yandex', medium: 'cpc' });
    expect(t.yclid).toBe('123456');
  });

  it('ysclid (added to Yandex organic results) is not paid', () => {
    expect(classify(`${LANDING}?ysclid=lq1`, 'https://yandex.ru/').channel).toBe('organic_search');
  });

  it('fbclid → social, named after the referring network', () => {
    const fb = classify(`${LANDING}?fbclid=IwAR`);
    expect(brief(fb)).toEqual({ channel: 'social', source: 'facebook', medium: 'social' });
    expect(fb.fbclid).toBe('IwAR');
    expect(classify(`${LANDING}?fbclid=IwAR`, 'https://l.instagram.com/').source).toBe('instagram');
  });
});

describe('referrer', () => {
  it.each([
    ['https://www.google.com/', 'google'],
    ['https://www.google.ru/', 'google'],
    ['https://www.google.co.uk/search?q=x', 'google'],
    ['https://www.google.com.tr/', 'google'],
    ['android-app://com.google.android.googlequicksearchbox/', 'google'],
    ['https://yandex.ru/search/?text=диван', 'yandex'],
    ['https://yandex.kz/', 'yandex'],
    ['https://yandex.com.tr/', 'yandex'],
    ['https://ya.ru/', 'yandex'],
    ['https://www.bing.com/', 'bing'],
    ['https://go.mail.ru/search?q=x', 'mail.ru'],
    ['https://duckduckgo.com/', 'duckduckgo'],
    ['https://search.yahoo.com/', 'yahoo'],
    ['https://uk.search.yahoo.com/', 'yahoo'],
    ['https://nova.rambler.ru/search', 'rambler'],
  ])('%s → organic %s', (referrer, source) => {
    const t = classify(LANDING, referrer);
    expect(brief(t)).toEqual({ channel: 'organic_search', source, medium: 'organic' });
  });

  it.each([
    'https://mail.yandex.ru/',
    'https://e.mail.ru/inbox',
    'https://mail.google.com/',
    'https://outlook.live.com/',
    'android-app://com.google.android.gm/',
  ])('%s → email', (referrer) => {
    const t = classify(LANDING, referrer);
    expect(t.channel).toBe('email');
    expect(t.medium).toBe('email');
  });

  it.each([
    ['https://vk.com/', 'vk'],
    ['https://m.vk.com/wall-1', 'vk'],
    ['https://ok.ru/', 'ok'],
    ['https://m.facebook.com/', 'facebook'],
    ['https://l.instagram.com/', 'instagram'],
    ['https://t.me/channel', 'telegram'],
    ['https://web.telegram.org/', 'telegram'],
    ['https://twitter.com/', 'twitter'],
    ['https://x.com/', 'twitter'],
    ['https://t.co/abc', 'twitter'],
    ['https://www.youtube.com/', 'youtube'],
    ['https://dzen.ru/a/xyz', 'dzen'],
    ['https://www.tiktok.com/', 'tiktok'],
    ['https://www.linkedin.com/', 'linkedin'],
  ])('%s → social %s', (referrer, source) => {
    expect(brief(classify(LANDING, referrer))).toEqual({ channel: 'social', source, medium: 'social' });
  });

  it('other Yandex and Mail.ru services are referrals, not search', () => {
    expect(brief(classify(LANDING, 'https://market.yandex.ru/'))).toEqual({
      channel: 'referral',
      source: 'market.yandex.ru',
      medium: 'referral',
    });
    expect(classify(LANDING, 'https://news.mail.ru/').channel).toBe('referral');
  });

  it('other hosts are referrals named by host without www', () => {
    const t = classify(LANDING, 'https://www.Partner-Site.com/blog/post?x=1');
    expect(brief(t)).toEqual({ channel: 'referral', source: 'partner-site.com', medium: 'referral' });
    expect(t.referrerDomain).toBe('partner-site.com');
  });

  it('own domains and subdomains are internal', () => {
    for (const referrer of [
      'https://example.ru/catalog',
      'https://www.example.ru/',
      'https://shop.example.ru/',
    ]) {
      const t = classify(LANDING, referrer);
      expect(t.channel).toBe('internal');
      expect(t.source).toBe('(direct)');
      expect(t.medium).toBe('(none)');
    }
  });

  it('accepts site domains written as URLs or with www', () => {
    expect(classify('https://b.com/', 'https://shop.a.com/', ['https://www.A.com/']).channel).toBe(
      'internal',
    );
  });

  it('the landing host counts as the site even when not listed', () => {
    expect(classify('https://landing.example.org/x', 'https://landing.example.org/', []).channel).toBe(
      'internal',
    );
  });

  it('a lookalike domain is not internal', () => {
    expect(classify(LANDING, 'https://notexample.ru/').channel).toBe('referral');
  });

  it('no referrer → direct', () => {
    for (const referrer of [undefined, null, '', '   ']) {
      const t = classify(LANDING, referrer);
      expect(t).toMatchObject({
        channel: 'direct',
        source: '(direct)',
        medium: '(none)',
        referrerDomain: null,
      });
    }
  });

  it('accepts a bare host as referrer', () => {
    expect(classify(LANDING, 'yandex.ru').source).toBe('yandex');
  });
});

describe('garbage input', () => {
  it('never throws and falls back to the referrer', () => {
    const inputs: Array<[string, string | null]> = [
      ['not a url ?utm_source=vk&utm_medium=cpc', 'https://www.google.com/'],
      ['https://exa mple.ru/?utm_source=vk&utm_medium=cpc', 'https://www.google.com/'],
      ['http://[::1/?utm_source=vk', 'https://www.google.com/'],
      ['%%%?utm_source=%E0%A4%A', 'https://www.google.com/'],
    ];
    for (const [landingUrl, referrer] of inputs) {
      expect(classify(landingUrl, referrer).channel).toBe('organic_search');
    }
  });

  it('survives malformed percent-encoding and junk referrers', () => {
    const t = classify(`${LANDING}?utm_source=%E0%A4%A&utm_medium=cpc`, 'javascript:alert(1)');
    expect(t.channel).toBe('paid_search');
    // WHATWG decoding replaces broken UTF-8 sequences instead of throwing.
    expect(t.source).toBe('\ufffd%a');
    expect(t.referrerDomain).toBeNull();
    expect(classify(LANDING, 'http://').channel).toBe('direct');
    expect(classify(LANDING, 'about:blank').channel).toBe('direct');
    expect(classify(LANDING, '::::').channel).toBe('direct');
  });

  it('tolerates values of the wrong type from untyped callers', () => {
    const bad = { landingUrl: 42, referrer: {}, siteDomains: 'example.ru' } as unknown as Parameters<
      typeof classifyTraffic
    >[0];
    expect(classifyTraffic(bad).channel).toBe('direct');
  });
});
