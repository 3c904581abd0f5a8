// Composition root: opens the database and builds stores, services and HTTP routes by hand, in
// order, through the wiring modules under wiring/ (one per area). Nothing else constructs
// services; each gets only the narrow dependencies it uses. Areas built early learn of areas
// built later through hooks that are only called after start-up.
import { readFileSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.ts';
import { openDatabase, type Database } from './storage/database.ts';
import { migrateToLatest } from './storage/migrate.ts';
import { parseSigningKeyFile, type SigningKey } from './core/signing.ts';
import { TokenStore } from './storage/stores/tokens.ts';
import { UserStore } from './storage/stores/users.ts';
import { DeviceStore } from './storage/stores/devices.ts';
import { Authenticator } from './services/auth/authenticator.ts';
import type { RetentionResult } from './services/media/retention.ts';
import { TransactionIdExpiry, type TransactionIdExpiryResult } from './services/housekeeping/transaction-ids.ts';
import { TransactionIdStore } from './storage/stores/transaction-ids.ts';
import { PushActionExpiry, type PushActionExpiryResult } from './services/housekeeping/push-actions.ts';
import { PushActionExpiryStore } from './storage/stores/push-action-expiry.ts';
import { RateLimiter } from './util/rate-limiter.ts';
import { createHttpServer } from './api/http.ts';
import { Router } from './api/router.ts';
import { versionRoutes } from './api/client/versions.ts';
import { wellKnownRoutes } from './api/well-known.ts';
import type { WiringContext } from './wiring/context.ts';
import { wireAppserviceAuth, wireAppserviceSender } from './wiring/appservices.ts';
import { wireAccounts, type AccountHooks } from './wiring/accounts.ts';
import { wireRooms } from './wiring/rooms.ts';
import { wirePersonal } from './wiring/personal.ts';
import { wireRoomReads } from './wiring/room-reads.ts';
import { wireE2ee } from './wiring/e2ee.ts';
import { wireSync } from './wiring/sync.ts';
import { wireMedia } from './wiring/media.ts';

/** How often expired transaction IDs and push actions are deleted (services/housekeeping/). */
const HOUSEKEEPING_INTERVAL_MS = 60 * 60 * 1000;

export interface FoyerApp {
  config: Config;
  database: Database;
  http: FastifyInstance;
  logger: Logger;
  signingKey: SigningKey;
  /** One pass of the media retention job now (it also runs on a timer). */
  runMediaRetention(): Promise<RetentionResult>;
  /** One pass of the transaction ID expiry now, as if the clock read `now` (it also runs hourly). */
  expireTransactionIds(now?: number): Promise<TransactionIdExpiryResult>;
  /** One pass of the push action expiry now, as if the clock read `now` (it also runs hourly). */
  expirePushActions(now?: number): Promise<PushActionExpiryResult>;
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting requests, finishes in-flight work, closes the database. */
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  databaseSchema?: string;
}

/** The server's logger: JSON lines to standard output, or to `destination` (tests read it). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    redact: { paths: ['req.headers.authorization', '*.password', '*.access_token', '*.refresh_token'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<FoyerApp> {
  const logger = options.logger ?? createLogger(config.log_level);
  const signingKey = parseSigningKeyFile(readFileSync(config.signing_key_path, 'utf8'));

  const database = await openDatabase({ url: config.database.url, schema: options.databaseSchema ?? config.database.schema, poolSize: config.database.pool_size });
  await migrateToLatest(database);
  const { db } = database;
  const base = { config, logger, database, db };

  const tokenStore = new TokenStore(db);
  const userStore = new UserStore(db);
  const deviceStore = new DeviceStore(db);
  const authenticator = new Authenticator(tokenStore);
  // Registrations load before the router: as_tokens authenticate requests from the start.
  let appservices: Awaited<ReturnType<typeof wireAppserviceAuth>>;
  try {
    appservices = await wireAppserviceAuth(base, { users: userStore, devices: deviceStore });
  } catch (err) {
    await database.close();
    throw err;
  }

  // HTTP
  const http = createHttpServer({ logger, maxBodyBytes: config.max_request_body_bytes });
  const limits = config.rate_limits;
  const rateLimiters = limits.enabled
    ? {
        login: new RateLimiter(limits.login),
        registration: new RateLimiter(limits.registration),
        message: new RateLimiter(limits.message),
        media_upload: new RateLimiter(limits.media_upload),
        to_device: new RateLimiter(limits.to_device),
      }
    : {};
  const router = new Router(http, { authenticator, rateLimiters, appservices: appservices.auth });
  const ctx: WiringContext = { ...base, router, rateLimiters };
  versionRoutes(router, { defaultRoomVersion: config.rooms.default_version });
  wellKnownRoutes(router, { clientBaseUrl: config.well_known.client_base_url ?? config.public_baseurl, server: config.well_known.server });

  // Accounts first; rooms and E2EE, built next, are reached through these hooks.
  const hooks: AccountHooks = {
    devicesDeleted: async (userId, deviceIds) => e2ee.onDevicesDeleted(userId, deviceIds),
    deviceChanged: async (userId) => e2ee.deviceLists.recordDeviceChange(userId),
    userDeactivated: async (userId) => rooms.membership.leaveAll(userId),
    profileChanged: async (userId) => rooms.membership.propagateProfile(userId),
  };
  const accounts = wireAccounts(ctx, {
    tokens: tokenStore,
    users: userStore,
    devices: deviceStore,
    authenticator,
    appserviceRegistry: appservices.registry,
    appserviceQueries: appservices.queries,
    hooks,
  });
  const rooms = await wireRooms(ctx, {
    signingKey,
    users: accounts.usersWithQueries,
    appserviceRegistry: appservices.registry,
    appserviceQueries: appservices.queries,
  });
  const personal = wirePersonal(ctx, { rooms, users: userStore, onTyping: (roomId) => appserviceSender.onTyping(roomId) });
  const roomReads = wireRoomReads(ctx, { rooms, ignoredUsers: personal.ignoredUsers, users: userStore });
  const e2ee = wireE2ee(ctx, { rooms, devices: deviceStore, deviceService: accounts.devices, uia: accounts.uiaService, appserviceRegistry: appservices.registry });
  wireSync(ctx, { rooms, personal, e2ee, visibility: roomReads.visibility, aggregations: roomReads.aggregations });
  const appserviceSender = await wireAppserviceSender(ctx, { appservices, accounts: accounts.appserviceAccounts, rooms, personal, e2ee, users: userStore });
  const media = wireMedia(ctx, { users: userStore });
  const transactionIds = new TransactionIdExpiry({ store: new TransactionIdStore(db), logger });
  transactionIds.start(HOUSEKEEPING_INTERVAL_MS);
  const pushActions = new PushActionExpiry({ db, store: new PushActionExpiryStore(db), counters: personal.unreadCounter, logger });
  pushActions.start(HOUSEKEEPING_INTERVAL_MS);

  let closed = false;
  return {
    config,
    database,
    http,
    logger,
    signingKey,
    runMediaRetention: () => media.retention.run(),
    expireTransactionIds: (now) => transactionIds.run(now),
    expirePushActions: (now) => pushActions.run(now),
    async listen() {
      return http.listen({ host: config.listen.bind, port: config.listen.port });
    },
    async close() {
      if (closed) return;
      closed = true;
      // Long-polls and half-open connections would hold shutdown for minutes: give in-flight
      // requests a short grace period, then cut what is left.
      const grace = setTimeout(() => http.server.closeAllConnections(), 2_000);
      await http.close();
      clearTimeout(grace);
      personal.typing.stop();
      await appserviceSender.stop();
      await media.stop();
      await transactionIds.stop();
      await pushActions.stop();
      await rooms.writer.drain();
      await rooms.positions.flushed();
      await database.close();
    },
  };
}
