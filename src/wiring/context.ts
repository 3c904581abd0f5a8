// What every wiring module gets from the composition root (../app.ts): configuration, the
// logger, the open database and the router routes are mounted on.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Database } from '../storage/database.ts';
import type { DB } from '../storage/schema/index.ts';
import type { Router, RateLimitName } from '../api/router.ts';
import type { RateLimiter } from '../util/rate-limiter.ts';

export interface WiringBase {
  config: Config;
  logger: Logger;
  database: Database;
  db: Kysely<DB>;
}

export interface WiringContext extends WiringBase {
  router: Router;
  rateLimiters: Partial<Record<RateLimitName, RateLimiter>>;
}
