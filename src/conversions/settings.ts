import type { Queryable } from '../db/db.js';
import { HttpError } from '../http/errors.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { SettingsBody } from './schema.js';

/** Which ended calls count as a conversion; `answered` means a person picked up, `all` any ended call. */
export const CALL_RULE_CLASSES = [
  'all',
  'answered',
  'targeted',
  'unique',
  'unique_targeted',
  'first_targeted',
] as const;

export const DESTINATIONS = ['ga4', 'metrika', 'google_ads'] as const;
export type Destination = (typeof DESTINATIONS)[number];

/** Credential fields of each destination: sealed in storage, kept when a PUT omits them, never returned. */
const SECRET_FIELDS = {
  ga4: ['apiSecret'],
  metrika: ['oauthToken'],
  googleAds: ['developerToken', 'clientSecret', 'refreshToken'],
} as const;
type DestinationKey = keyof typeof SECRET_FIELDS;

export interface ConversionRules {
  currency: string | null;
  delayMinutes: number;
  calls: SettingsBody['calls'];
  leads: SettingsBody['leads'];
}

/** Destinations with their credentials opened, as the senders use them. */
export interface OpenDestinations {
  ga4?: { measurementId: string; apiSecret: string };
  metrika?: { counterId: string; oauthToken: string };
  googleAds?: {
    customerId: string;
    conversionActionId: string;
    loginCustomerId?: string;
    clientId: string;
    developerToken: string;
    clientSecret: string;
    refreshToken: string;
  };
}

type StoredDestinations = Record<string, Record<string, string>>;

interface SettingsRow {
  rules: ConversionRules;
  destinations: StoredDestinations;
  updated_at: Date;
}

async function loadRow(q: Queryable, accountId: string, siteId: string): Promise<SettingsRow | null> {
  const [row] = await q.query<SettingsRow>(
    'SELECT rules, destinations, updated_at FROM conversion_settings WHERE account_id = $1 AND site_id = $2',
    [accountId, siteId],
  );
  return row ?? null;
}

/**
 * Stores a site's rule set. A credential a PUT omits keeps its stored value when that destination was set
 * before (so non-secret fields can change without re-entering secrets); otherwise it is a 400.
 */
export async function saveSettings(
  q: Queryable,
  secrets: SecretBox,
  accountId: string,
  siteId: string,
  body: SettingsBody,
  now: Date,
): Promise<void> {
  const previous = (await loadRow(q, accountId, siteId))?.destinations ?? {};
  const stored: StoredDestinations = {};
  for (const key of Object.keys(SECRET_FIELDS) as DestinationKey[]) {
    const given = body.destinations[key] as Record<string, string> | undefined;
    if (!given) continue;
    const out: Record<string, string> = {};
    for (const [field, value] of Object.entries(given)) {
      if (value !== undefined) out[field] = value;
    }
    if (key === 'googleAds') {
      out.customerId = out.customerId.replaceAll('-', '');
      if (out.loginCustomerId) out.loginCustomerId = out.loginCustomerId.replaceAll('-', '');
    }
    for (const field of SECRET_FIELDS[key]) {
      if (given[field] !== undefined) out[field] = secrets.seal(given[field]);
      else if (previous[key]?.[field]) out[field] = previous[key][field];
      else {
        const path = `body.destinations.${key}.${field}`;
        throw new HttpError(400, 'invalid_request', `${path}: is required`, [
          { field: path, message: 'is required' },
        ]);
      }
    }
    stored[key] = out;
  }
  const rules: ConversionRules = {
    currency: body.currency ?? null,
    delayMinutes: body.delayMinutes,
    calls: body.calls,
    leads: body.leads,
  };
  await q.query(
    `INSERT INTO conversion_settings (account_id, site_id, rules, destinations, updated_at) VALUES ($1,$2,$3,$4,$5)
     ON CONFLICT (account_id, site_id) DO UPDATE SET rules = EXCLUDED.rules, destinations = EXCLUDED.destinations,
       updated_at = EXCLUDED.updated_at`,
    [accountId, siteId, JSON.stringify(rules), JSON.stringify(stored), now],
  );
}

/** The rule set as the API shows it: credentials replaced by the names of the ones stored. */
export async function settingsView(q: Queryable, accountId: string, siteId: string) {
  const row = await loadRow(q, accountId, siteId);
  if (!row)
    return { configured: false, currency: null, delayMinutes: 0, calls: null, leads: null, destinations: {} };
  const destinations: Record<string, Record<string, unknown>> = {};
  for (const [key, stored] of Object.entries(row.destinations)) {
    const secretNames: readonly string[] = SECRET_FIELDS[key as DestinationKey];
    const shown: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(stored))
      if (!secretNames.includes(field)) shown[field] = value;
    shown.credentialsStored = secretNames.filter((f) => stored[f]);
    destinations[key] = shown;
  }
  return { configured: true, ...row.rules, destinations, updatedAt: new Date(row.updated_at).toISOString() };
}

export interface SiteConversionSettings {
  rules: ConversionRules;
  destinations: OpenDestinations;
}

/** The rule set with credentials opened, for deciding and sending; null when the site has none. */
export async function loadSettings(
  q: Queryable,
  secrets: SecretBox,
  accountId: string,
  siteId: string,
): Promise<SiteConversionSettings | null> {
  const row = await loadRow(q, accountId, siteId);
  if (!row) return null;
  const destinations: Record<string, Record<string, string>> = {};
  for (const [key, stored] of Object.entries(row.destinations)) {
    const secretNames: readonly string[] = SECRET_FIELDS[key as DestinationKey];
    destinations[key] = Object.fromEntries(
      Object.entries(stored).map(([f, v]) => [f, secretNames.includes(f) ? secrets.open(v) : v]),
    );
  }
  return { rules: row.rules, destinations: destinations as OpenDestinations };
}

/** Which destinations are configured, without opening any credential (used on the hot call path). */
export async function configuredRules(
  q: Queryable,
  accountId: string,
  siteId: string,
): Promise<{ rules: ConversionRules; destinations: Destination[] } | null> {
  const row = await loadRow(q, accountId, siteId);
  if (!row) return null;
  const map: Record<string, Destination> = { ga4: 'ga4', metrika: 'metrika', googleAds: 'google_ads' };
  return { rules: row.rules, destinations: Object.keys(row.destinations).map((k) => map[k]) };
}
