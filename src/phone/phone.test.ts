import { describe, expect, it } from 'vitest';
import { displayPhone, isPremiumRate, parsePhone, phoneDigitVariants, phoneRegion } from './phone.js';

describe('parsePhone', () => {
  it('accepts international input in any punctuation', () => {
    expect(parsePhone('+7 (495) 123-45-67')).toBe('+74951234567');
    expect(parsePhone('+7-916-123-45-67')).toBe('+79161234567');
    expect(parsePhone('+44 20 7123 4567')).toBe('+442071234567');
  });

  it('uses the default country for national input', () => {
    expect(parsePhone('84951234567', 'RU')).toBe('+74951234567');
    expect(parsePhone('8 800 555-35-35', 'RU')).toBe('+78005553535');
    expect(parsePhone('(202) 555-0123', 'US')).toBe('+12025550123');
    expect(parsePhone('020 7123 4567', 'GB')).toBe('+442071234567');
  });

  it('returns null for national input without a default country', () => {
    expect(parsePhone('84951234567')).toBeNull();
  });

  it('returns null for invalid numbers and garbage', () => {
    expect(parsePhone('+7 495 123')).toBeNull();
    expect(parsePhone('+7 (000) 000-00-00')).toBeNull();
    expect(parsePhone('')).toBeNull();
    expect(parsePhone('call me maybe')).toBeNull();
    expect(parsePhone('1'.repeat(10_000))).toBeNull();
    expect(parsePhone('84951234567', 'XX' as never)).toBeNull();
  });

  it('drops an extension', () => {
    expect(parsePhone('+7 916 123-45-67 ext. 12')).toBe('+79161234567');
  });
});

describe('phoneDigitVariants', () => {
  it('RU: international, trunk 8, national', () => {
    expect(phoneDigitVariants('+74951234567')).toEqual(['74951234567', '84951234567', '4951234567']);
  });

  it('US has no trunk prefix: national number repeated', () => {
    expect(phoneDigitVariants('+12025550123')).toEqual(['12025550123', '2025550123', '2025550123']);
  });

  it('GB: trunk 0', () => {
    expect(phoneDigitVariants('+442071234567')).toEqual(['442071234567', '02071234567', '2071234567']);
  });

  it('IT keeps its leading zero inside the national number, so no extra prefix', () => {
    expect(phoneDigitVariants('+390612345678')).toEqual(['390612345678', '0612345678', '0612345678']);
  });

  it('KZ shares +7 and trunk 8 with RU', () => {
    expect(phoneDigitVariants('+77172123456')).toEqual(['77172123456', '87172123456', '7172123456']);
  });

  it('throws on garbage', () => {
    expect(() => phoneDigitVariants('nope')).toThrow(RangeError);
  });
});

describe('displayPhone', () => {
  it('formats nationally', () => {
    expect(displayPhone('+74951234567')).toBe('8 (495) 123-45-67');
    expect(displayPhone('+12025550123')).toBe('(202) 555-0123');
    expect(displayPhone('+442071234567')).toBe('020 7123 4567');
  });

  it('returns unparseable input unchanged', () => {
    expect(displayPhone('n/a')).toBe('n/a');
  });
});

describe('isPremiumRate', () => {
  it('detects premium-rate ranges', () => {
    expect(isPremiumRate('+78091234567')).toBe(true);
    expect(isPremiumRate('+19005551234')).toBe(true);
  });

  it('is false for ordinary, toll-free and unparseable numbers', () => {
    expect(isPremiumRate('+74951234567')).toBe(false);
    expect(isPremiumRate('+79161234567')).toBe(false);
    expect(isPremiumRate('+78005553535')).toBe(false);
    expect(isPremiumRate('garbage')).toBe(false);
  });
});

describe('phoneRegion', () => {
  it('returns the country', () => {
    expect(phoneRegion('+74951234567')).toBe('RU');
    expect(phoneRegion('+77172123456')).toBe('KZ');
    expect(phoneRegion('+442071234567')).toBe('GB');
    expect(phoneRegion('+12025550123')).toBe('US');
  });

  it('returns null for non-geographic or unparseable numbers', () => {
    expect(phoneRegion('+80012345678')).toBeNull();
    expect(phoneRegion('xyz')).toBeNull();
  });
});
