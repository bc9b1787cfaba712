import { describe, expect, it } from 'vitest';
import { retryDelayMs, retrySpanMs, webhookSettings } from './settings.js';
import { signWebhook, verifyWebhookSignature } from './sign.js';

describe('webhook retry schedule', () => {
  it('doubles from the base and retries for more than 24 hours by default', () => {
    const s = webhookSettings({});
    expect([1, 2, 3, 4].map((a) => retryDelayMs(s, a) / 60_000)).toEqual([1, 2, 4, 8]);
    expect(retrySpanMs(s)).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(retrySpanMs(s) / 60_000).toBe(2047);
  });

  it('takes the base, cap and attempts from the environment', () => {
    const s = webhookSettings({
      RINGTRACE_WEBHOOK_RETRY_BASE_MS: '1000',
      RINGTRACE_WEBHOOK_RETRY_MAX_DELAY_MS: '5000',
      RINGTRACE_WEBHOOK_MAX_ATTEMPTS: '6',
    });
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(s, a))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(retrySpanMs(s)).toBe(17_000);
    expect(() => webhookSettings({ RINGTRACE_WEBHOOK_MAX_ATTEMPTS: 'x' })).toThrow(
      /RINGTRACE_WEBHOOK_MAX_ATTEMPTS/,
    );
  });
});

describe('webhook signature', () => {
  it('signs t.body with HMAC-SHA256 and rejects tampering and stale timestamps', () => {
    const body = '{"id":"1"}';
    const header = signWebhook('s3cret', 1_700_000_000, body);
    // Independently computed: printf '1700000000.{"id":"1"}' | openssl dgst -sha256 -hmac s3cret
    expect(header).toBe('t=1700000000,v1=2b9dee6c893e4bf012ad34ee7b89d492b9567b4f47740ccbf0f161ba3717dc08');
    expect(verifyWebhookSignature('s3cret', header, body, 1_700_000_100)).toBe(true);
    expect(verifyWebhookSignature('s3cret', header, '{"id":"2"}', 1_700_000_100)).toBe(false);
    expect(verifyWebhookSignature('other', header, body, 1_700_000_100)).toBe(false);
    expect(verifyWebhookSignature('s3cret', header, body, 1_700_001_000)).toBe(false);
    expect(verifyWebhookSignature('s3cret', undefined, body, 1_700_000_000)).toBe(false);
  });
});
