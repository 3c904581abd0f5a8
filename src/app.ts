// Composition root: builds the database, stores, services and HTTP routes by hand, in order.
// Nothing else constructs services; each gets only the narrow dependencies it uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.ts';
import { openDatabase, type Database } from './storage/database.ts';
import { migrateToLatest } from './storage/migrate.ts';
import { parseSigningKeyFile, type SigningKey } from './core/signing.ts';
import { MatrixError } from './core/errors.ts';
import { TokenStore } from './storage/stores/tokens.ts';
import { UserStore } from './storage/stores/users.ts';
import { Authenticator } from './services/auth/authenticator.ts';
import { RateLimiter } from './util/rate-limiter.ts';
import { createHttpServer } from './api/http.ts';
import { Router } from './api/router.ts';
import { versionRoutes } from './api/client/versions.ts';
import { wellKnownRoutes } from './api/well-known.ts';
import { durationMs } from './config/schema.ts';
import { DeviceStore } from './storage/stores/devices.ts';
import { UiaStore } from './storage/stores/uia.ts';
import { RegistrationTokenStore } from './storage/stores/registration-tokens.ts';
import { UiaService } from './services/accounts/uia.ts';
import { dummyStage, passwordStage, registrationTokenStage } from './services/accounts/stages.ts';
import { SessionService } from './services/accounts/tokens.ts';
import { DeviceService } from './services/accounts/devices.ts';
import { RegistrationService } from './services/accounts/registration.ts';
import { LoginService } from './services/accounts/login.ts';
import { AccountService } from './services/accounts/account.ts';
import { ProfileService } from './services/accounts/profile.ts';
import { SharedSecretRegistration } from './services/accounts/shared-secret.ts';
import { registerRoutes } from './api/client/register.ts';
import { loginRoutes } from './api/client/login.ts';
import { logoutRoutes } from './api/client/logout.ts';
import { accountRoutes } from './api/client/account.ts';
import { deviceRoutes, trackDeviceActivity } from './api/client/devices.ts';
import { profileRoutes } from './api/client/profile.ts';
import { adminRegisterRoutes } from './api/admin/register.ts';
import { queryMaxStreamPosition } from './storage/stream-tables.ts';
import { ServerMetaStore } from './storage/stores/server-meta.ts';
import { EventStore } from './storage/stores/events.ts';
import { RoomStore } from './storage/stores/rooms.ts';
import { StateSnapshotStore } from './storage/stores/state.ts';
import { StreamPositions } from './services/streams/positions.ts';
import { Notifier } from './services/streams/notifier.ts';
import { EventReader } from './services/rooms/event-reader.ts';
import { CurrentStateCache, joinedMembersOf } from './services/rooms/current-state.ts';
import { UserMemberships } from './services/rooms/user-memberships.ts';
import { StateStore } from './services/rooms/state-store.ts';
import { EventBuilder } from './services/rooms/event-builder.ts';
import { ForwardExtremities } from './services/rooms/extremities.ts';
import { EventPersister } from './services/rooms/persist.ts';
import { RoomWriter } from './services/rooms/room-writer.ts';
import { MembershipService } from './services/rooms/membership.ts';
import { RoomCreator } from './services/rooms/create-room.ts';
import { RoomSender } from './services/rooms/send.ts';
import { RoomsSyncProvider } from './services/sync/rooms-provider.ts';
import { SyncService } from './services/sync/sync-service.ts';
import { roomMembershipRoutes } from './api/client/room-membership.ts';
import { roomSendRoutes } from './api/client/room-send.ts';
import { syncRoutes } from './api/client/sync.ts';
import { VisibilityFilter } from './services/rooms/visibility.ts';
import { RoomReads } from './services/rooms/room-reads.ts';
import { RoomHistory } from './services/rooms/room-history.ts';
import { roomReadRoutes } from './api/client/room-reads.ts';
import { RelationStore } from './storage/stores/relations.ts';
import { RelationAggregator } from './services/rooms/aggregations.ts';
import { RelationsService } from './services/rooms/relations.ts';
import { relationRoutes } from './api/client/relations.ts';
import { AccountDataStore } from './storage/stores/account-data.ts';
import { AccountDataService } from './services/account-data/account-data-service.ts';
import { AccountDataSyncProvider } from './services/sync/account-data-provider.ts';
import { accountDataRoutes, loadFilter } from './api/client/account-data.ts';
import { ReceiptStore } from './storage/stores/receipts.ts';
import { TypingService } from './services/ephemeral/typing.ts';
import { ReceiptService } from './services/ephemeral/receipts.ts';
import { EphemeralSyncProvider } from './services/sync/ephemeral-provider.ts';
import { ephemeralRoutes } from './api/client/ephemeral.ts';
import { PresenceStore } from './storage/stores/presence.ts';
import { PresenceService } from './services/ephemeral/presence.ts';
import { PresenceSyncProvider } from './services/sync/presence-provider.ts';
import { presenceRoutes } from './api/client/presence.ts';
import { PushActionStore } from './storage/stores/push-actions.ts';
import { PushEvaluator } from './services/push/push-evaluator.ts';
import { PushRulesSyncProvider } from './services/sync/push-rules-provider.ts';
import { UnreadCountsSyncProvider } from './services/sync/unread-provider.ts';
import { KeyedQueue } from './util/keyed-queue.ts';
import { notificationRoutes } from './api/client/notifications.ts';
import { PushRuleStore } from './storage/stores/push-rules.ts';
import { PushRulesService } from './services/push/push-rules-service.ts';
import { pushRuleRoutes } from './api/client/push-rules.ts';
import { AliasStore } from './storage/stores/aliases.ts';
import { AliasService } from './services/rooms/aliases.ts';
import { DirectoryService } from './services/rooms/directory.ts';
import { directoryRoutes } from './api/client/directory.ts';
import { SearchStore } from './storage/stores/search.ts';
import { SearchIndexer } from './services/search/search-indexer.ts';
import { RoomEventSearch } from './services/search/room-event-search.ts';
import { searchRoutes } from './api/client/search.ts';
import { UserDirectory } from './services/users/user-directory.ts';
import { UserDirectoryStore } from './storage/stores/user-directory.ts';
import { userDirectoryRoutes } from './api/client/user-directory.ts';
import { RoomUpgrader } from './services/rooms/upgrade.ts';
import { upgradeRoutes } from './api/client/upgrade.ts';
import { ReportStore } from './storage/stores/reports.ts';
import { ReportService } from './services/rooms/reports.ts';
import { reportRoutes } from './api/client/report.ts';
import { AppserviceStore } from './storage/stores/appservices.ts';
import { AppserviceRegistry } from './services/appservice/registry.ts';
import type { AppserviceRegistration } from './services/appservice/registration.ts';
import { AppserviceAuthenticator } from './services/appservice/auth.ts';
import { AppserviceClient } from './services/appservice/client.ts';
import { AppserviceQueries } from './services/appservice/queries.ts';
import { AppserviceAccounts, APPSERVICE_LOGIN_TYPE } from './services/appservice/accounts.ts';
import { AppserviceSender } from './services/appservice/sender.ts';
import { EphemeralContributor, RoomEventsContributor } from './services/appservice/contributors.ts';
import { DeviceListContributor, KeyCountContributor, ToDeviceContributor, ownsExclusively } from './services/appservice/encryption-contributors.ts';
import { InterestScan } from './services/appservice/interest.ts';
import { AppserviceOperations } from './services/appservice/operations.ts';
import { AutoAcceptInvites } from './services/appservice/auto-accept.ts';
import { appservicePingRoutes } from './api/appservice/ping.ts';
import { thirdPartyRoutes } from './api/appservice/thirdparty.ts';
import { adminAppserviceRoutes } from './api/admin/appservices.ts';
import { E2eKeyStore } from './storage/stores/e2e-keys.ts';
import { CrossSigningStore } from './storage/stores/cross-signing.ts';
import { DeviceListStore } from './storage/stores/device-lists.ts';
import { DeviceListService } from './services/e2ee/device-lists.ts';
import { KeyUploadService } from './services/e2ee/key-upload.ts';
import { KeyQueryService } from './services/e2ee/key-query.ts';
import { CrossSigningService } from './services/e2ee/cross-signing.ts';
import { removeDeviceKeys } from './services/e2ee/device-removal.ts';
import { DeviceListsSyncProvider } from './services/sync/device-lists-provider.ts';
import { keyRoutes } from './api/client/keys.ts';
import { ToDeviceStore } from './storage/stores/to-device.ts';
import { ToDeviceService } from './services/e2ee/to-device.ts';
import { ToDeviceSyncProvider } from './services/sync/to-device-provider.ts';
import { toDeviceRoutes } from './api/client/to-device.ts';
import { KeyBackupStore } from './storage/stores/key-backup.ts';
import { KeyBackupService } from './services/e2ee/key-backup.ts';
import { keyBackupRoutes } from './api/client/key-backup.ts';
import { DehydratedDeviceStore } from './storage/stores/dehydrated-devices.ts';
import { DehydratedDeviceService } from './services/e2ee/dehydrated.ts';
import { dehydratedDeviceRoutes } from './api/client/dehydrated-device.ts';
import { MediaStore } from './storage/stores/media.ts';
import { MediaFiles } from './storage/media-files.ts';
import { MediaUploads } from './services/media/uploads.ts';
import { MediaDownloads } from './services/media/downloads.ts';
import { Thumbnailer } from './services/media/thumbnails.ts';
import { MediaDeletion, MediaRetention, type RetentionResult } from './services/media/retention.ts';
import { MediaAdmin } from './services/media/media-admin.ts';
import { mediaUploadRoutes } from './api/media/upload.ts';
import { mediaDownloadRoutes } from './api/media/download.ts';
import { adminMediaRoutes } from './api/admin/media.ts';
import { AddressPolicy, SafeFetcher } from './services/media/safe-fetch.ts';
import { UrlPreviewer } from './services/media/url-preview.ts';
import { mediaPreviewRoutes } from './api/media/preview.ts';
import { mediaEncryptionKey } from './config/media-key.ts';
import { ConfigError } from './config/load.ts';

export interface FoyerApp {
  config: Config;
  database: Database;
  http: FastifyInstance;
  logger: Logger;
  signingKey: SigningKey;
  /** One pass of the media retention job now (it also runs on a timer). */
  runMediaRetention(): Promise<RetentionResult>;
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

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['req.headers.authorization', '*.password', '*.access_token', '*.refresh_token'], censor: '[redacted]' },
  });
}

/** media.legacy_unauthenticated_before as a timestamp; a date that does not parse must not open everything. */
function legacyMediaBefore(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ts = Date.parse(value);
  if (Number.isNaN(ts)) throw new ConfigError(`media.legacy_unauthenticated_before: not a date: ${value}`);
  return ts;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<FoyerApp> {
  const logger = options.logger ?? createLogger(config.log_level);
  const signingKey = parseSigningKeyFile(readFileSync(config.signing_key_path, 'utf8'));

  const database = await openDatabase({ url: config.database.url, schema: options.databaseSchema ?? config.database.schema, poolSize: config.database.pool_size });
  await migrateToLatest(database);
  const { db } = database;

  // Stores
  const tokenStore = new TokenStore(db);
  const userStore = new UserStore(db);

  // Services
  const authenticator = new Authenticator(tokenStore);

  // Application services: registrations (config files + database, hot-reloaded) and as_token
  // authentication; the sender, queries and routes are wired further down.
  const appserviceStore = new AppserviceStore(db);
  const appserviceRegistry = new AppserviceRegistry({
    serverName: config.server_name,
    configFiles: config.app_service_config_files,
    store: appserviceStore,
    logger,
    pollMs: durationMs(config.appservices.reload_interval),
  });
  try {
    await appserviceRegistry.load();
  } catch (err) {
    await database.close();
    throw err;
  }
  const appserviceClient = new AppserviceClient();
  const appserviceQueries = new AppserviceQueries({
    registrations: () => appserviceRegistry.all(),
    client: appserviceClient,
    onReachable: (id) => appserviceSender.nudge(id),
  });
  const appserviceAuth = new AppserviceAuthenticator({
    byAsToken: (token) => appserviceRegistry.byAsToken(token),
    userExists: async (userId) => {
      const user = await userStore.get(userId);
      return user ? { deactivated: !!user.deactivated } : undefined;
    },
    deviceExists: async (userId, deviceId) => !!(await deviceStore.get(userId, deviceId)),
    onRequest: (id) => appserviceSender.nudge(id),
  });

  // HTTP
  const http = createHttpServer({ logger, maxBodyBytes: config.max_request_body_bytes });
  const limits = config.rate_limits;
  const rateLimiters = limits.enabled
    ? {
        login: new RateLimiter(limits.login),
        registration: new RateLimiter(limits.registration),
        message: new RateLimiter(limits.message),
        media_upload: new RateLimiter(limits.media_upload),
      }
    : {};
  const router = new Router(http, { authenticator, rateLimiters, appservices: appserviceAuth });
  versionRoutes(router, { defaultRoomVersion: config.rooms.default_version });
  wellKnownRoutes(router, { clientBaseUrl: config.well_known.client_base_url ?? config.public_baseurl, server: config.well_known.server });

  // Accounts: registration, login, tokens, devices, passwords, deactivation, profiles.
  // Hooks for other areas (rooms: onUserDeactivated / onProfileChanged; E2EE: onDevicesDeleted;
  // appservices: isExclusive, login types via accountLogin.addLoginType) are wired here.
  const deviceStore = new DeviceStore(db);
  const registrationTokenStore = new RegistrationTokenStore(db);
  const uiaStore = new UiaStore(db);
  const uiaService = new UiaService({
    db,
    store: uiaStore,
    stages: [
      dummyStage,
      passwordStage({ users: userStore, serverName: config.server_name, limiter: 'login' in rateLimiters ? rateLimiters.login : undefined }),
      registrationTokenStage({ tokens: registrationTokenStore }),
    ],
  });
  const accountDevices = new DeviceService({
    db,
    devices: deviceStore,
    tokens: tokenStore,
    authenticator,
    uia: uiaService,
    // E2EE is built further down; devices are only deleted after start-up, when it exists.
    onDevicesDeleted: async (userId, deviceIds) => {
      await removeE2eeDeviceKeys(userId, deviceIds);
      await toDevice.dropDevices(userId, deviceIds);
      await dehydratedDevices.onDevicesDeleted(userId, deviceIds);
    },
    onDeviceRenamed: (userId) => deviceLists.recordDeviceChange(userId),
  });
  const loginSessions = new SessionService({
    db,
    tokens: tokenStore,
    users: userStore,
    devices: deviceStore,
    authenticator,
    accessTokenLifetimeMs: config.access_token_lifetime === undefined ? null : durationMs(config.access_token_lifetime),
    onDeviceCreated: (userId) => deviceLists.recordDeviceChange(userId),
  });
  const accountRegistration = new RegistrationService({
    db,
    serverName: config.server_name,
    settings: { enabled: config.registration.enabled, requiresToken: config.registration.requires_token, allowGuests: config.registration.allow_guests },
    users: userStore,
    registrationTokens: registrationTokenStore,
    uia: uiaService,
    sessions: loginSessions,
    limiter: 'registration' in rateLimiters ? rateLimiters.registration : undefined,
    isExclusive: (userId) => appserviceRegistry.isExclusiveUser(userId),
  });
  const accountLogin = new LoginService({ db, serverName: config.server_name, users: userStore, sessions: loginSessions });
  const appserviceAccounts = new AppserviceAccounts({
    serverName: config.server_name,
    byAsToken: (token) => appserviceRegistry.byAsToken(token),
    createUser: (opts) => accountRegistration.performCreateUser(opts),
    userExists: (userId) => userStore.exists(userId),
    ensureDevice: async (userId, deviceId, displayName) => {
      await deviceStore.ensure({ user_id: userId, device_id: deviceId, display_name: displayName, now: Date.now() });
    },
  });
  accountLogin.addLoginType(APPSERVICE_LOGIN_TYPE, appserviceAccounts.loginType());
  // Local users that do not exist yet may be created on demand by the appservice owning them.
  const userStoreWithQueries = Object.assign(Object.create(userStore) as UserStore, {
    get: async (userId: string) => {
      const user = await userStore.get(userId);
      if (user || !userId.endsWith(`:${config.server_name}`) || !(await appserviceQueries.queryUser(userId))) return user;
      return userStore.get(userId);
    },
  });
  const accountService = new AccountService({
    db,
    users: userStore,
    devices: deviceStore,
    tokens: tokenStore,
    deviceService: accountDevices,
    authenticator,
    uia: uiaService,
    // Rooms are built further down; these run only after start-up, when they exist.
    onUserDeactivated: (userId) => membership.leaveAll(userId),
    onProfileChanged: (userId) => membership.propagateProfile(userId),
  });
  const profileService = new ProfileService({
    serverName: config.server_name,
    users: userStoreWithQueries,
    onProfileChanged: (userId) => membership.propagateProfile(userId),
  });
  const sharedSecretRegistration = new SharedSecretRegistration({
    secret: config.registration.shared_secret,
    nonces: uiaStore,
    registration: accountRegistration,
  });
  trackDeviceActivity(http, { resolveToken: router.resolveToken, devices: accountDevices });
  registerRoutes(router, {
    registration: accountRegistration,
    registrationTokens: registrationTokenStore,
    appserviceRegister: (token, body) => appserviceAccounts.register(token, body),
  });
  loginRoutes(router, { login: accountLogin, sessions: loginSessions });
  logoutRoutes(router, { devices: accountDevices });
  accountRoutes(router, { accounts: accountService });
  deviceRoutes(router, {
    devices: accountDevices,
    putDeviceAsAppservice: (requester, deviceId, displayName) => appserviceAccounts.putDeviceAsAppservice(requester, deviceId, displayName),
  });
  profileRoutes(router, { profiles: profileService });
  adminRegisterRoutes(router, { sharedSecret: sharedSecretRegistration });

  // Rooms, streams and sync
  const serverMeta = new ServerMetaStore(db);
  const highWater = Number((await serverMeta.get('stream_high_water')) ?? 0);
  const positions = new StreamPositions(Math.max(await queryMaxStreamPosition(db), highWater), {
    save: (mark) => serverMeta.set('stream_high_water', String(mark)),
  });
  await positions.flushed();
  const notifier = new Notifier(positions);
  const eventStore = new EventStore(db);
  const roomStore = new RoomStore(db);
  const reader = new EventReader(eventStore);
  const currentState = new CurrentStateCache(roomStore, reader);
  const stateStore = new StateStore(new StateSnapshotStore(db), eventStore);
  const extremities = new ForwardExtremities(roomStore);
  const builder = new EventBuilder({ serverName: config.server_name, signingKey, extremities, currentState, reader });
  const persister = new EventPersister({ database, extremities, events: eventStore, rooms: roomStore, stateStore, reader, currentState, positions });
  const writer = new RoomWriter({ builder, persister, rooms: roomStore });
  const profiles = {
    profileOf: async (userId: string) => {
      const user = await userStoreWithQueries.get(userId);
      return user ? { displayname: user.displayname, avatar_url: user.avatar_url } : undefined;
    },
  };
  const membership = new MembershipService({
    writer,
    currentState,
    profiles,
    roomsOf: async (userId, memberships) => (await roomStore.roomsOfUser(userId, memberships)).map((r) => r.room_id),
  });

  // Aliases and directory (canonical alias checks are registered on roomSender below)
  const aliasStore = new AliasStore(db);
  const aliases = new AliasService({
    serverName: config.server_name,
    store: aliasStore,
    // Aliases in an appservice's namespace that do not exist yet may be created on demand by it.
    queryMissingAlias: (alias) => appserviceQueries.queryAlias(alias),
    currentState,
    writer,
    isExclusive: (alias, appserviceId) => appserviceRegistry.isExclusiveAlias(alias, appserviceId),
  });
  const directory = new DirectoryService({ serverName: config.server_name, store: aliasStore, currentState, writer });
  directoryRoutes(router, { aliases, directory });

  const roomCreator = new RoomCreator({
    serverName: config.server_name,
    defaultRoomVersion: config.rooms.default_version,
    encryptionByDefault: config.rooms.encryption_by_default,
    builder,
    writer,
    membership,
    profiles,
    aliases: aliases.reservations(),
    publish: (roomId) => directory.publish(roomId),
  });
  const roomSender = new RoomSender({ writer, rooms: roomStore, reader, currentState });
  roomSender.addStateValidator(aliases.canonicalAliasValidator());
  // Step 8 of the write path: wake the room's members (and the target of a membership change).
  const userMemberships = new UserMemberships(roomStore);
  persister.onPersisted((event, { previousState, currentState: state }) => {
    userMemberships.stateChanged(previousState, state);
    const users = new Set(joinedMembersOf(state));
    if (event.pdu.type === 'm.room.member' && event.pdu.state_key) users.add(event.pdu.state_key);
    notifier.notifyUsers(users, event.streamPos!);
  });
  // Account data, tags and filters
  const accountDataStore = new AccountDataStore(db);
  const accountData = new AccountDataService({ store: accountDataStore, positions, notifier });
  accountDataRoutes(router, { accountData, store: accountDataStore });

  // Push rules, evaluated when events are written (unread counts, /notifications)
  const pushRules = new PushRulesService(db, new PushRuleStore(db));
  pushRuleRoutes(router, { pushRules });
  const pushActionStore = new PushActionStore(db);
  persister.addWriteHook(
    new PushEvaluator({
      serverName: config.server_name,
      store: pushActionStore,
      pushRules,
      ignores: async (userId, senderId) => (await accountData.ignoredUsers(userId)).has(senderId),
    }),
  );
  // Clients learn of rule changes through m.push_rules account data, written in order per user.
  const pushRulesQueue = new KeyedQueue();
  pushRules.onRulesChanged = (userId) => {
    void pushRulesQueue.run(userId, async () => accountData.set(userId, '', 'm.push_rules', await pushRules.queryAccountDataContent(userId)));
  };

  // History visibility, applied on every read path
  const visibility = new VisibilityFilter({ reader, stateStore, currentState, ignoredUsers: (userId) => accountData.ignoredUsers(userId) });

  // Bundled aggregations (unsigned.m.relations) for every read path, sync included
  const relationStore = new RelationStore(db);
  const relationAggregator = new RelationAggregator({
    relations: relationStore,
    reader,
    writer,
    visibility,
    ignoredUsers: (userId) => accountData.ignoredUsers(userId),
  });

  // Typing, receipts and read markers
  const receiptStore = new ReceiptStore(db);
  const typing = new TypingService({
    positions,
    notifyRoom: (roomId, position) => {
      void currentState.get(roomId).then((state) => notifier.notifyUsers(joinedMembersOf(state), position));
      onTypingForAppservices(roomId);
    },
  });
  const receipts = new ReceiptService({
    store: receiptStore,
    positions,
    reader,
    currentState,
    accountData,
    notifyUsers: (userIds, position) => notifier.notifyUsers(userIds, position),
  });
  ephemeralRoutes(router, { typing, receipts, currentState });
  notificationRoutes(router, { actions: pushActionStore, receipts: receiptStore, reader, writer });

  // Presence
  const presenceStore = new PresenceStore(db);
  const usersSharingRoomWith = async (userId: string) => {
    const users = new Set(await roomStore.usersSharingRoomsWith(userId));
    users.add(userId);
    return [...users];
  };
  const presence = new PresenceService({
    store: presenceStore,
    positions,
    usersSharingRoomWith,
    notifyUsers: (userIds, position) => notifier.notifyUsers(userIds, position),
    userExists: async (userId) => !!(await userStore.get(userId)),
  });
  presenceRoutes(router, { presence });

  // End-to-end encryption: device keys, one-time and fallback keys, cross-signing, device lists
  const e2eKeyStore = new E2eKeyStore(db, database.engine);
  const crossSigningStore = new CrossSigningStore(db);
  const deviceListStore = new DeviceListStore(db);
  const deviceLists = new DeviceListService({ db, store: deviceListStore, positions, notifier, usersSharingRoomWith });
  persister.onPersisted((event) => {
    if (event.pdu.type === 'm.room.member') deviceLists.onMembershipChanged(event.roomId, event.streamPos!);
  });
  const keyUpload = new KeyUploadService({ db, keys: e2eKeyStore, deviceLists });
  const removeE2eeDeviceKeys = removeDeviceKeys({ keys: e2eKeyStore, crossSigning: crossSigningStore, deviceLists });
  keyRoutes(router, {
    upload: keyUpload,
    query: new KeyQueryService({ serverName: config.server_name, keys: e2eKeyStore, crossSigning: crossSigningStore }),
    crossSigning: new CrossSigningService({ db, serverName: config.server_name, store: crossSigningStore, keys: e2eKeyStore, uia: uiaService, deviceLists }),
    deviceLists,
    memberships: (userId) => roomStore.roomsOfUser(userId, ['join', 'invite', 'leave', 'ban', 'knock']),
  });

  // Send-to-device, server-side key backup and dehydrated devices (MSC3814)
  const toDeviceStore = new ToDeviceStore(db);
  const toDevice = new ToDeviceService({
    db,
    store: toDeviceStore,
    positions,
    notifier,
    serverName: config.server_name,
    logDebug: (fields, message) => logger.debug(fields, message),
    pushedToAppservice: (userId) => appserviceRegistry.all().some((r) => r.msc3202 && !!r.url && ownsExclusively(r, userId)),
  });
  toDeviceRoutes(router, { toDevice });
  keyBackupRoutes(router, { backup: new KeyBackupService({ db, store: new KeyBackupStore(db) }) });
  const dehydratedDevices = new DehydratedDeviceService({
    db,
    store: new DehydratedDeviceStore(db),
    devices: deviceStore,
    deviceService: accountDevices,
    keyUpload,
    toDevice,
  });
  dehydratedDeviceRoutes(router, { dehydrated: dehydratedDevices });

  const syncService = new SyncService({
    positions,
    notifier,
    providers: [
      new RoomsSyncProvider({
        events: eventStore,
        reader,
        stateStore,
        currentState,
        writer,
        isForgotten: (userId, roomId) => roomStore.isForgotten(userId, roomId),
        visibility,
        ignoredUsers: (userId) => accountData.ignoredUsers(userId),
        aggregations: relationAggregator,
        persister,
      }),
      // After rooms: room account data of left rooms goes into their leave sections.
      new AccountDataSyncProvider(accountDataStore, accountData.changes),
      new EphemeralSyncProvider({ typing, receipts: receiptStore, receiptChanges: receipts.changes }),
      new PresenceSyncProvider({ store: presenceStore, presence, usersSharingRoomWith }),
      new PushRulesSyncProvider(pushRules),
      new DeviceListsSyncProvider({ deviceLists, keyCounts: keyUpload }),
      new ToDeviceSyncProvider(toDevice),
      // Last: counts for the joined rooms the other providers put in the response.
      new UnreadCountsSyncProvider({ actions: pushActionStore, receipts: receiptStore }),
    ],
    memberships: (userId) => userMemberships.of(userId),
  });
  roomMembershipRoutes(router, {
    creator: roomCreator,
    membership,
    rooms: roomStore,
    resolveAlias: (alias) => aliases.resolveRoomId(alias),
    forget: async (userId, roomId) => {
      const m = (await currentState.get(roomId)).get(`m.room.member\u0000${userId}`)?.pdu.content.membership;
      if (m === 'join' || m === 'invite' || m === 'knock') throw new MatrixError('M_UNKNOWN', 'Leave the room before forgetting it');
      await roomStore.forget(userId, roomId);
    },
  });
  roomSendRoutes(router, { sender: roomSender });
  syncRoutes(router, {
    sync: syncService,
    loadFilter: (userId, filterId) => loadFilter(accountDataStore, userId, filterId),
    setPresence: (userId, state) => presence.touchFromSync(userId, state),
  });

  // Room reads: /event, /state, /members, /messages, /context, /timestamp_to_event, with history
  // visibility and bundled aggregations (unsigned.m.relations, services/rooms/aggregations.ts)
  const roomReads = new RoomReads({
    events: eventStore,
    reader,
    stateStore,
    currentState,
    writer,
    visibility,
    aggregations: relationAggregator,
    currentPosition: () => positions.current,
  });
  roomReadRoutes(router, { reads: roomReads, history: new RoomHistory(roomReads) });

  // Search and user directory: the full-text index is written with each event (a write hook)
  const searchStore = new SearchStore(db, database.engine);
  persister.addWriteHook(new SearchIndexer(searchStore));
  const roomEventSearch = new RoomEventSearch({
    store: searchStore,
    rooms: roomStore,
    events: eventStore,
    reader,
    visibility,
    reads: roomReads,
    currentPosition: () => positions.current,
  });
  searchRoutes(router, { search: roomEventSearch });
  userDirectoryRoutes(router, { directory: new UserDirectory({ store: new UserDirectoryStore(db), serverName: config.server_name }) });

  // Relations and threads: /relations, /threads, and the send-time checks of new relations.
  const relations = new RelationsService({ reads: roomReads, store: relationStore, reader, visibility, currentPosition: () => positions.current });
  relationRoutes(router, { relations });
  roomSender.addMessageValidator((roomId, sender, type, content) => relations.checkNewRelation(roomId, sender, type, content));
  roomSender.addStateValidator((roomId, sender, type, _stateKey, content) => relations.checkNewRelation(roomId, sender, type, content));

  // Upgrades and reports
  const upgrader = new RoomUpgrader({ db, creator: roomCreator, writer, currentState, extremities, reader, aliases: aliasStore });
  upgradeRoutes(router, { upgrader });
  const reports = new ReportService({
    serverName: config.server_name,
    store: new ReportStore(db),
    reader,
    currentState,
    writer,
    visibility,
    userExists: (userId) => userStore.exists(userId),
  });
  reportRoutes(router, { reports });

  // Application services: the transaction sender (a consumer of the global stream, poked when
  // the visible position advances), queries, ping, third-party lookups, admin, auto-accept.
  const ephemeralContributor = new EphemeralContributor({
    receiptsBetween: (from, to, limit) => appserviceStore.receiptsBetween(from, to, limit),
    presenceBetween: (from, to, limit) => appserviceStore.presenceBetween(from, to, limit),
    presenceEvent: (row) => presence.asEvent(row),
    usersSharingRoomWith,
  });
  const interestDeps = { currentState, aliasesOfRoom: (roomId: string) => aliasStore.aliasesOfRoom(roomId) };
  const appserviceSender = new AppserviceSender({
    db,
    store: appserviceStore,
    client: appserviceClient,
    contributors: [
      new RoomEventsContributor({
        eventsBetween: (from, to, limit) => appserviceStore.eventsBetween(from, to, limit),
        roomVersionOf: async (roomId) => (await writer.versionOf(roomId))?.id,
      }),
      ephemeralContributor,
      // MSC3202: to-device first, so the key counts (last) can see whose devices it is about.
      new ToDeviceContributor({ queuedBetween: (a, b, n) => toDeviceStore.queuedBetween(a, b, n), deleteMessages: (keys, trx) => toDeviceStore.deleteMessages(keys, trx) }),
      new DeviceListContributor({
        changesBetween: (a, b, n) => deviceListStore.changesBetween(a, b, n),
        membershipChangesBetween: (a, b, n) => deviceListStore.allMembershipChangesBetween(a, b, n),
        joinedMembersOf: (roomIds) => deviceListStore.joinedMembersOf(roomIds),
        usersSharingRoomWith,
      }),
      new KeyCountContributor({
        devicesOf: (userId) => toDeviceStore.existingDevices(userId, null),
        countOneTimeKeys: (userId, deviceId) => keyUpload.countOneTimeKeys(userId, deviceId),
        unusedFallbackKeyTypes: (userId, deviceId) => keyUpload.unusedFallbackKeyTypes(userId, deviceId),
      }),
    ],
    interest: interestDeps,
    currentPosition: () => positions.current,
    logger,
    backoff: { initialMs: durationMs(config.appservices.retry_initial), maxMs: durationMs(config.appservices.retry_max) },
  });
  function onTypingForAppservices(roomId: string): void {
    const regs = appserviceRegistry.all().filter((r) => r.receiveEphemeral);
    if (regs.length === 0) return;
    void ephemeralContributor
      .pushTyping(regs, (reg) => new InterestScan(reg, interestDeps), roomId, typing.typingIn(roomId).userIds)
      .then(() => appserviceSender.pokeAll())
      .catch((err) => logger.warn({ err }, 'typing for appservices failed'));
  }
  positions.onAdvance(() => appserviceSender.pokeAll());
  const onRegistrationsChanged = async (regs: readonly AppserviceRegistration[]) => {
    for (const reg of regs) {
      // A sender user that cannot be created must not keep the other bridges from loading.
      await appserviceAccounts.ensureSender(reg).catch((err) => logger.error({ appservice: reg.id, error: (err as Error).message }, 'cannot create the appservice sender user'));
    }
    await appserviceSender.setRegistrations(regs);
  };
  appserviceRegistry.onChange(onRegistrationsChanged);
  await onRegistrationsChanged(appserviceRegistry.all());
  appserviceRegistry.watch();
  appservicePingRoutes(router, { queries: appserviceQueries, registration: (id) => appserviceRegistry.get(id) });
  thirdPartyRoutes(router, { queries: appserviceQueries });
  adminAppserviceRoutes(router, {
    operations: new AppserviceOperations({ registry: appserviceRegistry, store: appserviceStore, queries: appserviceQueries }),
  });
  const autoAccept = new AutoAcceptInvites({
    serverName: config.server_name,
    settings: {
      enabled: config.auto_accept_invites.enabled,
      onlyForDirectMessages: config.auto_accept_invites.only_for_direct_messages,
      onlyFromLocalUsers: config.auto_accept_invites.only_from_local_users,
    },
    isPlainLocalUser: async (userId) => {
      const user = await userStore.get(userId);
      return !!user && !user.deactivated && !user.appservice_id && !appserviceRegistry.isExclusiveUser(userId);
    },
    join: async (roomId, userId) => {
      await membership.perform('join', roomId, userId);
    },
    markDirect: async (userId, otherUserId, roomId) => {
      const stored = await accountDataStore.get(userId, '', 'm.direct');
      const current = (stored ? JSON.parse(stored) : {}) as Record<string, unknown>;
      const rooms = Array.isArray(current[otherUserId]) ? (current[otherUserId] as string[]) : [];
      if (!rooms.includes(roomId)) await accountData.set(userId, '', 'm.direct', { ...current, [otherUserId]: [...rooms, roomId] });
    },
    logger,
  });
  persister.onPersisted((event) => autoAccept.onPersisted(event));
  // Media repository: files under <data_dir>/media, metadata in the database (services/media/README.md)
  const mediaConfig = config.media;
  const mediaStore = new MediaStore(db);
  const mediaFiles = new MediaFiles(join(config.data_dir, 'media'), mediaEncryptionKey(mediaConfig), true);
  const mediaFileLocks = new KeyedQueue();
  const mediaUploads = new MediaUploads({
    serverName: config.server_name,
    store: mediaStore,
    files: mediaFiles,
    fileLocks: mediaFileLocks,
    limits: {
      maxUploadBytes: mediaConfig.max_upload_size,
      userQuotaBytes: mediaConfig.user_quota_bytes,
      maxPendingUploads: mediaConfig.max_pending_uploads,
      unusedExpirationMs: durationMs(mediaConfig.unused_expiration),
    },
  });
  const mediaDownloads = new MediaDownloads({
    serverName: config.server_name,
    store: mediaStore,
    files: mediaFiles,
    waiters: mediaUploads.waiters,
    legacyBeforeTs: legacyMediaBefore(mediaConfig.legacy_unauthenticated_before),
  });
  const thumbnailer = new Thumbnailer({ store: mediaStore, files: mediaFiles, fileLocks: mediaFileLocks, maxImagePixels: mediaConfig.max_image_pixels });
  const mediaDeletion = new MediaDeletion({ serverName: config.server_name, store: mediaStore, files: mediaFiles, fileLocks: mediaFileLocks });
  const retention = config.media_retention;
  const mediaRetention = new MediaRetention({
    deletion: mediaDeletion,
    logger,
    settings: {
      localLifetimeMs: retention.local_media_lifetime === undefined ? null : durationMs(retention.local_media_lifetime),
      remoteLifetimeMs: retention.remote_media_lifetime === undefined ? null : durationMs(retention.remote_media_lifetime),
    },
  });
  mediaRetention.start(durationMs(retention.check_interval));
  mediaUploadRoutes(router, { uploads: mediaUploads });
  mediaDownloadRoutes(router, { downloads: mediaDownloads, thumbnails: thumbnailer, files: mediaFiles, maxUploadBytes: mediaConfig.max_upload_size });
  const previewConfig = mediaConfig.url_preview;
  const previewFetcher = new SafeFetcher(new AddressPolicy({ allow: previewConfig.ip_range_whitelist, deny: previewConfig.ip_range_blacklist }), {
    maxBytes: previewConfig.max_spider_size,
    timeoutMs: durationMs(previewConfig.timeout),
  });
  mediaPreviewRoutes(router, { previewer: new UrlPreviewer({ enabled: previewConfig.enabled, fetcher: previewFetcher }) });
  adminMediaRoutes(router, {
    admin: new MediaAdmin({ serverName: config.server_name, store: mediaStore, deletion: mediaDeletion }),
    userExists: (userId) => userStore.exists(userId),
  });

  let closed = false;
  return {
    config,
    database,
    http,
    logger,
    signingKey,
    runMediaRetention: () => mediaRetention.run(),
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
      typing.stop();
      appserviceRegistry.stop();
      await appserviceSender.stop();
      await mediaRetention.stop();
      await previewFetcher.close();
      await mediaFileLocks.drain();
      await writer.drain();
      await positions.flushed();
      await database.close();
    },
  };
}
