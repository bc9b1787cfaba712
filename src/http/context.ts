import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { type SecretBox, secretBox } from '../secrets/secret-box.js';
import type { Geo } from '../tracking/geo.js';

/** What every route module gets: the configuration, the database, the clock and shared services. */
export interface AppContext {
  config: Config;
  db: Db;
  clock: Clock;
  geo: Geo;
  /** Encrypts credentials of connected services before they are stored. */
  secrets: SecretBox;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the presented API key; set by the /api/v1 auth hook. */
    accountId: string;
  }
}

/** The context of the HTTP app and of the workers that run its code paths outside a request. */
export function createContext(deps: Omit<AppContext, 'secrets'>): AppContext {
  // Without a configured key (tests, one-off commands) credentials are sealed under a per-process key.
  return { ...deps, secrets: secretBox(deps.config.secretKey ?? randomBytes(32).toString('hex')) };
}
