import { describe, expect, it } from 'vitest';
import { describeDevice } from './device.js';

const UA = {
  windowsChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  windowsYandex:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 YaBrowser/24.1.0.0 Safari/537.36',
  macSafari:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  linuxFirefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  androidPhone:
    'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  androidTablet:
    'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  smartTv:
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotMobile:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  yandexbot: 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  headless:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
};

describe('describeDevice', () => {
  it.each([
    ['windowsChrome', 'desktop', 'Chrome', 'Windows'],
    ['windowsYandex', 'desktop', 'Yandex', 'Windows'],
    ['macSafari', 'desktop', 'Safari', 'Mac OS'],
    ['linuxFirefox', 'desktop', 'Firefox', 'Linux'],
    ['iphone', 'mobile', 'Mobile Safari', 'iOS'],
    ['androidPhone', 'mobile', 'Chrome', 'Android'],
    ['ipad', 'tablet', 'Mobile Safari', 'iOS'],
    ['androidTablet', 'tablet', 'Chrome', 'Android'],
    ['smartTv', 'other', 'Samsung Internet', 'Tizen'],
  ] as const)('%s → %s %s %s', (key, deviceType, browser, os) => {
    expect(describeDevice(UA[key])).toEqual({ deviceType, browser, os, isBot: false });
  });

  it('flags crawlers', () => {
    expect(describeDevice(UA.googlebot)).toEqual({
      deviceType: 'other',
      browser: null,
      os: null,
      isBot: true,
    });
    expect(describeDevice(UA.yandexbot).isBot).toBe(true);
    expect(describeDevice(UA.headless).isBot).toBe(true);
  });

  it('keeps the device of a crawler that imitates a phone', () => {
    expect(describeDevice(UA.googlebotMobile)).toMatchObject({ deviceType: 'mobile', isBot: true });
  });

  it('treats HTTP clients as bots of unknown device', () => {
    expect(describeDevice('curl/8.4.0')).toEqual({
      deviceType: 'other',
      browser: null,
      os: null,
      isBot: true,
    });
  });

  it('treats a missing or blank User-Agent as a bot', () => {
    for (const ua of [undefined, '', '   ']) {
      expect(describeDevice(ua)).toEqual({ deviceType: 'other', browser: null, os: null, isBot: true });
    }
  });

  it('parses a User-Agent once and gives every later visit with it the same answer', () => {
    const first = describeDevice(UA.iphone);
    expect(describeDevice(` ${UA.iphone} `)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // Past the cache's bound (cleared when full) answers are still parsed correctly.
    for (let i = 0; i < 10_001; i++) describeDevice(`curl/${i}`);
    expect(describeDevice(UA.iphone)).toEqual(first);
    expect(describeDevice(UA.windowsChrome)).toEqual({
      deviceType: 'desktop',
      browser: 'Chrome',
      os: 'Windows',
      isBot: false,
    });
  });

  it('copes with huge input', () => {
    expect(() => describeDevice(`${UA.windowsChrome} ${'x'.repeat(100_000)}`)).not.toThrow();
  });
});
