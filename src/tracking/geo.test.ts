import { describe, expect, it } from 'vitest';
import { openGeo } from './geo.js';

describe('openGeo', () => {
  it('caches the opened databases', async () => {
    const [a, b] = await Promise.all([openGeo(), openGeo()]);
    expect(a).toBe(b);
    expect(await openGeo()).toBe(a);
  });

  it.each([
    ['77.88.55.242', { country: 'RU', region: 'Moscow', city: 'Moscow' }],
    ['46.146.0.1', { country: 'RU', region: 'Perm Krai', city: 'Perm' }],
    ['::ffff:77.88.55.242', { country: 'RU', region: 'Moscow', city: 'Moscow' }],
    ['2a02:6b8::2:242', { country: 'RU', region: 'Moscow', city: 'Moscow' }],
  ])('%s → %o', async (ip, expected) => {
    const geo = await openGeo();
    expect(geo.lookup(ip)).toEqual(expected);
  });

  it('8.8.8.8 is in California', async () => {
    const geo = await openGeo();
    expect(geo.lookup('8.8.8.8')).toMatchObject({ country: 'US', region: 'California' });
  });

  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '192.168.0.1',
    '::1',
    'fc00::1',
    'fe80::1%eth0',
    '',
    'localhost',
    '999.1.1.1',
    '1.2.3',
  ])('%s → nulls', async (ip) => {
    const geo = await openGeo();
    expect(geo.lookup(ip)).toEqual({ country: null, region: null, city: null });
  });

  it('drops a parenthesized district from the city name', async () => {
    const geo = await openGeo();
    // The database says "Moscow (Tsentralnyy administrativnyy okrug)" for these.
    expect(geo.lookup('5.44.51.1')).toEqual({ country: 'RU', region: 'Moscow', city: 'Moscow' });
    expect(geo.lookup('1.6.0.1')).toMatchObject({ country: 'IN', city: 'Navi Mumbai' });
  });
});
