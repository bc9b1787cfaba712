import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import type { Geo } from '../tracking/geo.js';

/** What every route module gets: the configuration, the database, the clock and shared services. */
export interface AppContext {
  config: Config;
  db: Db;
  clock: Clock;
  geo: Geo;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the presented API key; set by the /api/v1 auth hook. */
    accountId: string;
  }
}
