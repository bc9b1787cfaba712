import { describe, expect, it } from 'vitest';
import { classifyTraffic } from './channel.js';
import { matchStaticRule, type StaticRuleConditions, staticRuleConditionsSchema } from './static-rules.js';

type Rule = { id: string; priority: number; conditions: StaticRuleConditions };

function visit(landingUrl: string, referrer: string | null = null) {
  return { traffic: classifyTraffic({ landingUrl, referrer, siteDomains: ['example.ru'] }), landingUrl };
}

function rule(id: string, conditions: StaticRuleConditions, priority = 0): Rule {
  return { id, priority, conditions };
}

const yandexCpc =
  'https://example.ru/?utm_source=Yandex&utm_medium=cpc&utm_campaign=Sofas&utm_content=ad1&utm_term=sofa';

describe('matchStaticRule', () => {
  it('matches utm conditions case-insensitively', () => {
    const r = rule('direct', { utmSource: 'yandex', utmMedium: 'CPC', utmCampaign: 'sofas' });
    expect(matchStaticRule([r], visit(yandexCpc))).toBe(r);
  });

  it('matches utm_content and utm_term', () => {
    expect(matchStaticRule([rule('a', { utmContent: 'AD1', utmTerm: 'Sofa' })], visit(yandexCpc))?.id).toBe(
      'a',
    );
  });

  it('requires all conditions', () => {
    const r = rule('x', { utmSource: 'yandex', utmCampaign: 'chairs' });
    expect(matchStaticRule([r], visit(yandexCpc))).toBeNull();
  });

  it('uses equality, not substring', () => {
    expect(matchStaticRule([rule('x', { utmSource: 'yand' })], visit(yandexCpc))).toBeNull();
  });

  it('never matches a rule without conditions (offline numbers)', () => {
    const offline = rule('billboard', {}, 100);
    expect(matchStaticRule([offline], visit('https://example.ru/'))).toBeNull();
    expect(matchStaticRule([offline], visit(yandexCpc))).toBeNull();
  });

  it('ignores blank conditions', () => {
    expect(matchStaticRule([rule('blank', { utmSource: '  ' })], visit(yandexCpc))).toBeNull();
    expect(matchStaticRule([rule('mixed', { utmSource: '', utmMedium: 'cpc' })], visit(yandexCpc))?.id).toBe(
      'mixed',
    );
  });

  it('matches the referrer domain and its subdomains', () => {
    const r = rule('vk', { referrerDomain: 'vk.com' });
    expect(matchStaticRule([r], visit('https://example.ru/', 'https://vk.com/wall'))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/', 'https://m.vk.com/'))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/', 'https://www.VK.com/'))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/', 'https://notvk.com/'))).toBeNull();
    expect(matchStaticRule([r], visit('https://example.ru/'))).toBeNull();
  });

  it('accepts a referrer domain written with www or as a URL', () => {
    for (const referrerDomain of ['www.partner.ru', 'https://partner.ru/', 'PARTNER.RU']) {
      const r = rule('p', { referrerDomain });
      expect(matchStaticRule([r], visit('https://example.ru/', 'https://blog.partner.ru/post'))).toBe(r);
    }
  });

  it('matches the landing path prefix', () => {
    const r = rule('promo', { landingPathPrefix: '/promo' });
    expect(matchStaticRule([r], visit('https://example.ru/promo/spring?x=1'))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/Promo'))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/catalog/promo'))).toBeNull();
    expect(matchStaticRule([r], visit('not a url'))).toBeNull();
    expect(
      matchStaticRule([rule('np', { landingPathPrefix: 'promo' })], visit('https://example.ru/promo'))?.id,
    ).toBe('np');
  });

  it('compares decoded paths', () => {
    const r = rule('sale', { landingPathPrefix: '/акция' });
    expect(matchStaticRule([r], visit(`https://example.ru/${encodeURIComponent('акция')}/1`))).toBe(r);
  });

  it('combines path with utm', () => {
    const r = rule('both', { landingPathPrefix: '/', utmMedium: 'cpc' });
    expect(matchStaticRule([r], visit(yandexCpc))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/'))).toBeNull();
  });

  it('counts click-id-only visits by their classified source and medium', () => {
    const r = rule('google-ads', { utmSource: 'google', utmMedium: 'cpc' });
    expect(matchStaticRule([r], visit('https://example.ru/?gclid=abc'))).toBe(r);
    expect(matchStaticRule([r], visit('https://example.ru/', 'https://www.google.com/'))).toBeNull();
  });

  it('highest priority wins regardless of order', () => {
    const low = rule('low', { utmSource: 'yandex' }, 1);
    const high = rule('high', { utmMedium: 'cpc' }, 10);
    const nonMatching = rule('other', { utmSource: 'google' }, 100);
    expect(matchStaticRule([low, high, nonMatching], visit(yandexCpc))).toBe(high);
    expect(matchStaticRule([nonMatching, high, low], visit(yandexCpc))).toBe(high);
  });

  it('ties go to the earlier rule', () => {
    const a = rule('a', { utmSource: 'yandex' }, 5);
    const b = rule('b', { utmMedium: 'cpc' }, 5);
    expect(matchStaticRule([a, b], visit(yandexCpc))).toBe(a);
    expect(matchStaticRule([b, a], visit(yandexCpc))).toBe(b);
  });

  it('returns null for no rules or no match', () => {
    expect(matchStaticRule([], visit(yandexCpc))).toBeNull();
    expect(matchStaticRule([rule('x', { utmSource: 'vk' })], visit('https://example.ru/'))).toBeNull();
  });
});

describe('staticRuleConditionsSchema', () => {
  it('accepts known conditions and an empty object', () => {
    expect(staticRuleConditionsSchema.parse({})).toEqual({});
    expect(staticRuleConditionsSchema.parse({ utmSource: ' yandex ', landingPathPrefix: '/promo' })).toEqual({
      utmSource: 'yandex',
      landingPathPrefix: '/promo',
    });
  });

  it('rejects unknown keys, blank and overlong values, non-strings', () => {
    expect(staticRuleConditionsSchema.safeParse({ utm_source: 'x' }).success).toBe(false);
    expect(staticRuleConditionsSchema.safeParse({ utmSource: '  ' }).success).toBe(false);
    expect(staticRuleConditionsSchema.safeParse({ utmTerm: 'x'.repeat(501) }).success).toBe(false);
    expect(staticRuleConditionsSchema.safeParse({ utmTerm: 'x'.repeat(500) }).success).toBe(true);
    expect(staticRuleConditionsSchema.safeParse({ referrerDomain: 5 }).success).toBe(false);
  });
});
