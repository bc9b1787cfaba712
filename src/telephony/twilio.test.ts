import { describe, expect, it } from 'vitest';
import { readCursor, signCursor, twilioSignature, validTwilioSignature } from './twilio.js';

describe('X-Twilio-Signature', () => {
  // The worked example of Twilio's webhook security documentation.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = {
    CallSid: ['CA1234567890ABCDE'],
    Caller: ['+14158675310'],
    Digits: ['1234'],
    From: ['+14158675310'],
    To: ['+18005551212'],
  };

  it('matches the documented example', () => {
    expect(twilioSignature('12345', url, params)).toBe('GvWf1cFY/Q7PnoempGyD5oXAezc=');
    expect(validTwilioSignature('12345', 'GvWf1cFY/Q7PnoempGyD5oXAezc=', url, params)).toBe(true);
  });

  it('refuses a wrong token, a changed parameter, a changed URL and a missing header', () => {
    const sig = 'GvWf1cFY/Q7PnoempGyD5oXAezc=';
    expect(validTwilioSignature('54321', sig, url, params)).toBe(false);
    expect(validTwilioSignature('12345', sig, url, { ...params, Digits: ['1235'] })).toBe(false);
    expect(validTwilioSignature('12345', sig, `${url}&x=1`, params)).toBe(false);
    expect(validTwilioSignature('12345', undefined, url, params)).toBe(false);
  });

  it('accepts the URL signed with or without the standard port', () => {
    const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
    expect(validTwilioSignature('12345', twilioSignature('12345', withPort, params), url, params)).toBe(true);
    expect(validTwilioSignature('12345', twilioSignature('12345', url, params), withPort, params)).toBe(true);
    const other = 'https://mycompany.com:8443/myapp.php?foo=1&bar=2';
    expect(validTwilioSignature('12345', twilioSignature('12345', other, params), url, params)).toBe(false);
  });
});

describe('signed cursors', () => {
  const c = { flowId: 'f1', callSid: 'CA1', node: 'service', member: 1 };
  it('round-trips', () => {
    expect(readCursor('secret', signCursor('secret', c))).toEqual(c);
  });
  it('refuses a forged or re-keyed cursor', () => {
    const token = signCursor('secret', c);
    const [, mac] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ f: 'f1', s: 'CA1', n: 'sales' })).toString('base64url')}.${mac}`;
    expect(readCursor('secret', forged)).toBeNull();
    expect(readCursor('other', token)).toBeNull();
    expect(readCursor('secret', 'garbage')).toBeNull();
    expect(readCursor('secret', `${token}.x`)).toBeNull();
  });
});
