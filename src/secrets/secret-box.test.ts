import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretBox, secretKeyFromDataDir } from './secret-box.js';

describe('secretBox', () => {
  const box = secretBox('a-long-test-passphrase-of-32-chars!!');

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.seal('ya29.oauth-token');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('oauth-token');
    expect(box.open(sealed)).toBe('ya29.oauth-token');
    expect(box.seal('ya29.oauth-token')).not.toBe(sealed); // a fresh IV each time
  });

  it('refuses a value sealed under another key or tampered with', () => {
    const sealed = box.seal('secret');
    expect(() => secretBox('another-passphrase-of-32-characters').open(sealed)).toThrow();
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`)).toThrow();
    expect(() => box.open('plain')).toThrow(/format/);
  });

  it('creates the data-folder key once and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-secret-'));
    const key = secretKeyFromDataDir(dir);
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(secretKeyFromDataDir(dir)).toBe(key);
    expect(readFileSync(join(dir, 'secret-key'), 'utf8').trim()).toBe(key);
  });
});
