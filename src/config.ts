import { z } from 'zod';
import { type WebhookSettings, webhookSettings } from './webhooks/settings.js';

/** The one configuration object. Every setting comes from the environment (or CLI flags mapped onto it). */
const configSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().default('0.0.0.0'),
  /** Public base URL used in widget snippets; defaults to http://localhost:PORT. */
  publicUrl: z.url().optional(),
  /** PostgreSQL server; when unset the embedded PGlite database in dataDir is used. */
  databaseUrl: z.string().optional(),
  dataDir: z.string().default('./data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Trust X-Forwarded-For from a reverse proxy for the visitor's IP. */
  trustProxy: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** Load the demo site into an empty database on start. */
  demoOnEmpty: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Token of the platform operator API (X-Operator-Token); unset = that API is off. */
  operatorToken: z.string().min(16).optional(),
  /** Days without impressions and calls after which a platform number leaves its pool for quarantine. */
  idleReleaseDays: z.coerce.number().int().min(1).max(3650).default(14),
  /** Days a released number rests in quarantine before any site can get it. */
  quarantineDays: z.coerce.number().int().min(0).max(3650).default(30),
  /** Upper bound of a pool grown from the inventory when the pool sets no maxSize of its own. */
  poolMaxSize: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Seconds between passes of the number lifecycle worker. */
  inventoryIntervalSeconds: z.coerce.number().int().min(1).max(86_400).default(600),
  /**
   * Seconds a stored pool sizing (GET /api/v1/sites/{id}/sizing, the inventory pass) is served again
   * before it is recomputed; 0 = always recompute.
   */
  sizingMaxAgeSeconds: z.coerce.number().int().min(0).max(86_400).default(900),
  /** Seconds between passes of the report rollup worker (it rolls up each site's ended days). */
  rollupIntervalSeconds: z.coerce.number().int().min(1).max(86_400).default(600),
  /** Minutes without a telephony event before the sweeper closes a ringing call as missed. */
  sweepRingingMinutes: z.coerce.number().int().min(1).max(1440).default(10),
  /** Minutes without a telephony event before the sweeper closes an answered call as completed. */
  sweepAnsweredMinutes: z.coerce.number().int().min(1).max(10_080).default(240),
  /**
   * Key that encrypts stored third-party credentials (src/secrets). Unset: `ringtrace start` keeps one in
   * dataDir/secret-key; servers sharing a PostgreSQL database must share this value.
   */
  secretKey: z.string().min(32).optional(),
  /** Days (ending yesterday) the daily ad-cost sync re-imports for each connection; late corrections land. */
  adSyncDays: z.coerce.number().int().min(1).max(90).default(3),
  /** Yandex.Direct API base URL (tests point it at a local stand-in). */
  yandexDirectUrl: z.url().default('https://api.direct.yandex.com'),
  /** Google Ads API base URL. */
  googleAdsUrl: z.url().default('https://googleads.googleapis.com'),
  /** Google OAuth 2.0 token endpoint used to refresh Google Ads access tokens. */
  googleOauthUrl: z.url().default('https://oauth2.googleapis.com/token'),
  /** Base URL of the GA4 Measurement Protocol (conversions out); tests point it at a local stand-in. */
  ga4Url: z.url().default('https://www.google-analytics.com'),
  /** Base URL of the Yandex Metrika management API (offline calls upload). */
  metrikaUrl: z.url().default('https://api-metrika.yandex.net'),
  /** Twilio REST API base URL (callbacks place calls through it; tests point it at a local stand-in). */
  twilioApiUrl: z.url().default('https://api.twilio.com'),
});

export type Config = z.infer<typeof configSchema> & {
  /** Outgoing webhook retries and auto-disable (RINGTRACE_WEBHOOK_*). */
  webhooks: WebhookSettings;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = configSchema.safeParse({
    port: env.PORT,
    host: env.HOST,
    publicUrl: env.RINGTRACE_PUBLIC_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.RINGTRACE_DATA_DIR || undefined,
    logLevel: env.LOG_LEVEL || undefined,
    trustProxy: env.RINGTRACE_TRUST_PROXY || undefined,
    demoOnEmpty: env.RINGTRACE_DEMO || undefined,
    operatorToken: env.RINGTRACE_OPERATOR_TOKEN || undefined,
    idleReleaseDays: env.RINGTRACE_IDLE_RELEASE_DAYS || undefined,
    quarantineDays: env.RINGTRACE_QUARANTINE_DAYS || undefined,
    poolMaxSize: env.RINGTRACE_POOL_MAX_SIZE || undefined,
    inventoryIntervalSeconds: env.RINGTRACE_INVENTORY_INTERVAL_SECONDS || undefined,
    sizingMaxAgeSeconds: env.RINGTRACE_SIZING_MAX_AGE_SECONDS || undefined,
    rollupIntervalSeconds: env.RINGTRACE_ROLLUP_INTERVAL_SECONDS || undefined,
    sweepRingingMinutes: env.RINGTRACE_SWEEP_RINGING_MINUTES || undefined,
    sweepAnsweredMinutes: env.RINGTRACE_SWEEP_ANSWERED_MINUTES || undefined,
    secretKey: env.RINGTRACE_SECRET_KEY || undefined,
    adSyncDays: env.RINGTRACE_AD_SYNC_DAYS || undefined,
    yandexDirectUrl: env.RINGTRACE_YANDEX_DIRECT_URL || undefined,
    ga4Url: env.RINGTRACE_GA4_URL || undefined,
    metrikaUrl: env.RINGTRACE_METRIKA_URL || undefined,
    googleAdsUrl: env.RINGTRACE_GOOGLE_ADS_URL || undefined,
    googleOauthUrl: env.RINGTRACE_GOOGLE_OAUTH_URL || undefined,
    twilioApiUrl: env.RINGTRACE_TWILIO_API_URL || undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return { ...parsed.data, webhooks: webhookSettings(env), ...overrides };
}
