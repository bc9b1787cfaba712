import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      dataDir: './data',
      sweepRingingMinutes: 10,
      sweepAnsweredMinutes: 240,
      sizingMaxAgeSeconds: 900,
    });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.webhooks.maxAttempts).toBe(12);
  });

  it('reads every group of settings from the environment', () => {
    const c = loadConfig({
      PORT: '9090',
      DATABASE_URL: 'postgres://db/ringtrace',
      RINGTRACE_SWEEP_RINGING_MINUTES: '15',
      RINGTRACE_WEBHOOK_MAX_ATTEMPTS: '3',
      RINGTRACE_SIZING_MAX_AGE_SECONDS: '0',
    });
    expect(c.port).toBe(9090);
    expect(c.databaseUrl).toBe('postgres://db/ringtrace');
    expect(c.sweepRingingMinutes).toBe(15);
    expect(c.webhooks.maxAttempts).toBe(3);
    expect(c.sizingMaxAgeSeconds).toBe(0);
  });

  it('names the bad setting', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/Invalid configuration: port/);
    expect(() => loadConfig({ RINGTRACE_FREEZE: 'x', RINGTRACE_SWEEP_ANSWERED_MINUTES: '0' })).toThrow(
      /sweepAnsweredMinutes/,
    );
    expect(() => loadConfig({ RINGTRACE_WEBHOOK_MAX_ATTEMPTS: 'many' })).toThrow(
      /RINGTRACE_WEBHOOK_MAX_ATTEMPTS/,
    );
  });

  it('reads the ad-cost sync settings', () => {
    expect(loadConfig({})).toMatchObject({
      adSyncDays: 3,
      yandexDirectUrl: 'https://api.direct.yandex.com',
      googleAdsUrl: 'https://googleads.googleapis.com',
      googleOauthUrl: 'https://oauth2.googleapis.com/token',
    });
    const c = loadConfig({
      RINGTRACE_AD_SYNC_DAYS: '7',
      RINGTRACE_YANDEX_DIRECT_URL: 'https://api-sandbox.direct.yandex.com',
    });
    expect(c.adSyncDays).toBe(7);
    expect(c.yandexDirectUrl).toBe('https://api-sandbox.direct.yandex.com');
    expect(() => loadConfig({ RINGTRACE_AD_SYNC_DAYS: '0' })).toThrow(/adSyncDays/);
    expect(() => loadConfig({ RINGTRACE_GOOGLE_ADS_URL: 'not a url' })).toThrow(/googleAdsUrl/);
  });
});
