// Application services (bridges). `wireAppserviceAuth` comes first, before the router exists:
// registrations (config files + database, hot-reloaded), as_token authentication and the
// user/alias queries. `wireAppserviceSender` comes last: the transaction sender (a consumer of
// the global stream, poked when the visible position advances) with its contributors, ping,
// third-party lookups, the admin API and auto-accepted invites.
import { durationMs } from '../config/schema.ts';
import { AppserviceStore } from '../storage/stores/appservices.ts';
import type { UserStore } from '../storage/stores/users.ts';
import type { DeviceStore } from '../storage/stores/devices.ts';
import { AppserviceRegistry } from '../services/appservice/registry.ts';
import type { AppserviceRegistration } from '../services/appservice/registration.ts';
import { AppserviceAuthenticator } from '../services/appservice/auth.ts';
import { AppserviceClient } from '../services/appservice/client.ts';
import { AppserviceQueries } from '../services/appservice/queries.ts';
import type { AppserviceAccounts } from '../services/appservice/accounts.ts';
import { AppserviceSender } from '../services/appservice/sender.ts';
import { EphemeralContributor, RoomEventsContributor } from '../services/appservice/contributors.ts';
import { DeviceListContributor, KeyCountContributor, ToDeviceContributor } from '../services/appservice/encryption-contributors.ts';
import { InterestScan } from '../services/appservice/interest.ts';
import { AppserviceOperations } from '../services/appservice/operations.ts';
import { AutoAcceptInvites } from '../services/appservice/auto-accept.ts';
import { appservicePingRoutes } from '../api/appservice/ping.ts';
import { thirdPartyRoutes } from '../api/appservice/thirdparty.ts';
import { adminAppserviceRoutes } from '../api/admin/appservices.ts';
import type { RoomsWiring } from './rooms.ts';
import type { PersonalWiring } from './personal.ts';
import type { E2eeWiring } from './e2ee.ts';
import type { WiringBase, WiringContext } from './context.ts';

export async function wireAppserviceAuth(base: WiringBase, deps: { users: UserStore; devices: DeviceStore }) {
  const { config, db, logger } = base;
  const store = new AppserviceStore(db);
  const registry = new AppserviceRegistry({
    serverName: config.server_name,
    configFiles: config.app_service_config_files,
    store,
    logger,
    pollMs: durationMs(config.appservices.reload_interval),
  });
  await registry.load();
  // The sender is built last; it exists before the first request can reach these callbacks.
  let nudgeSender: (id: string) => void = () => {};
  const client = new AppserviceClient();
  const queries = new AppserviceQueries({ registrations: () => registry.all(), client, onReachable: (id) => nudgeSender(id) });
  const auth = new AppserviceAuthenticator({
    byAsToken: (token) => registry.byAsToken(token),
    userExists: async (userId) => {
      const user = await deps.users.get(userId);
      return user ? { deactivated: !!user.deactivated } : undefined;
    },
    deviceExists: async (userId, deviceId) => !!(await deps.devices.get(userId, deviceId)),
    onRequest: (id) => nudgeSender(id),
  });
  return {
    store,
    registry,
    client,
    queries,
    auth,
    setNudge(nudge: (id: string) => void): void {
      nudgeSender = nudge;
    },
  };
}

export type AppserviceAuthWiring = Awaited<ReturnType<typeof wireAppserviceAuth>>;

export interface AppserviceSenderDeps {
  appservices: AppserviceAuthWiring;
  accounts: AppserviceAccounts;
  rooms: RoomsWiring;
  personal: PersonalWiring;
  e2ee: E2eeWiring;
  users: Pick<UserStore, 'get'>;
}

export async function wireAppserviceSender(ctx: WiringContext, deps: AppserviceSenderDeps) {
  const { config, db, router, logger } = ctx;
  const { appservices, rooms, personal, e2ee } = deps;
  const { store, registry, client, queries } = appservices;

  const ephemeralContributor = new EphemeralContributor({
    receiptsBetween: (from, to, limit) => store.receiptsBetween(from, to, limit),
    presenceBetween: (from, to, limit) => store.presenceBetween(from, to, limit),
    presenceEvent: (row) => personal.presence.asEvent(row),
    usersSharingRoomWith: rooms.usersSharingRoomWith,
  });
  const interestDeps = { currentState: rooms.currentState, aliasesOfRoom: (roomId: string) => rooms.aliasStore.aliasesOfRoom(roomId) };
  const sender = new AppserviceSender({
    db,
    store,
    client,
    contributors: [
      new RoomEventsContributor({
        eventsBetween: (from, to, limit) => store.eventsBetween(from, to, limit),
        roomVersionOf: async (roomId) => (await rooms.writer.versionOf(roomId))?.id,
      }),
      ephemeralContributor,
      // MSC3202: to-device first, so the key counts (last) can see whose devices it is about.
      new ToDeviceContributor({
        queuedBetween: (a, b, n) => e2ee.toDeviceStore.queuedBetween(a, b, n),
        deleteMessages: (keys, trx) => e2ee.toDeviceStore.deleteMessages(keys, trx),
      }),
      new DeviceListContributor({
        changesBetween: (a, b, n) => e2ee.deviceListStore.changesBetween(a, b, n),
        membershipChangesBetween: (a, b, n) => e2ee.deviceListStore.allMembershipChangesBetween(a, b, n),
        joinedMembersOf: (roomIds) => e2ee.deviceListStore.joinedMembersOf(roomIds),
        usersSharingRoomWith: rooms.usersSharingRoomWith,
      }),
      new KeyCountContributor({
        devicesOf: (userId) => e2ee.toDeviceStore.existingDevices(userId, null),
        countOneTimeKeys: (userId, deviceId) => e2ee.keyUpload.countOneTimeKeys(userId, deviceId),
        unusedFallbackKeyTypes: (userId, deviceId) => e2ee.keyUpload.unusedFallbackKeyTypes(userId, deviceId),
      }),
    ],
    interest: interestDeps,
    currentPosition: () => rooms.positions.current,
    logger,
    backoff: { initialMs: durationMs(config.appservices.retry_initial), maxMs: durationMs(config.appservices.retry_max) },
  });
  appservices.setNudge((id) => sender.nudge(id));

  /** Typing is not in the database: it is pushed to the interested appservices as it happens. */
  function onTyping(roomId: string): void {
    const regs = registry.all().filter((r) => r.receiveEphemeral);
    if (regs.length === 0) return;
    void ephemeralContributor
      .pushTyping(regs, (reg) => new InterestScan(reg, interestDeps), roomId, personal.typing.typingIn(roomId).userIds)
      .then(() => sender.pokeAll())
      .catch((err) => logger.warn({ err }, 'typing for appservices failed'));
  }
  rooms.positions.onAdvance(() => sender.pokeAll());
  const onRegistrationsChanged = async (regs: readonly AppserviceRegistration[]) => {
    for (const reg of regs) {
      // A sender user that cannot be created must not keep the other bridges from loading.
      await deps.accounts.ensureSender(reg).catch((err) => logger.error({ appservice: reg.id, error: (err as Error).message }, 'cannot create the appservice sender user'));
    }
    await sender.setRegistrations(regs);
  };
  registry.onChange(onRegistrationsChanged);
  await onRegistrationsChanged(registry.all());
  registry.watch();
  appservicePingRoutes(router, { queries, registration: (id) => registry.get(id) });
  thirdPartyRoutes(router, { queries });
  adminAppserviceRoutes(router, { operations: new AppserviceOperations({ registry, store, queries }) });

  const autoAccept = new AutoAcceptInvites({
    serverName: config.server_name,
    settings: {
      enabled: config.auto_accept_invites.enabled,
      onlyForDirectMessages: config.auto_accept_invites.only_for_direct_messages,
      onlyFromLocalUsers: config.auto_accept_invites.only_from_local_users,
    },
    isPlainLocalUser: async (userId) => {
      const user = await deps.users.get(userId);
      return !!user && !user.deactivated && !user.appservice_id && !registry.isExclusiveUser(userId);
    },
    join: async (roomId, userId) => {
      await rooms.membership.perform('join', roomId, userId);
    },
    markDirect: async (userId, otherUserId, roomId) => {
      const stored = await personal.accountDataStore.get(userId, '', 'm.direct');
      const current = (stored ? JSON.parse(stored) : {}) as Record<string, unknown>;
      const directRooms = Array.isArray(current[otherUserId]) ? (current[otherUserId] as string[]) : [];
      if (!directRooms.includes(roomId)) await personal.accountData.set(userId, '', 'm.direct', { ...current, [otherUserId]: [...directRooms, roomId] });
    },
    logger,
  });
  rooms.persister.onPersisted((event) => autoAccept.onPersisted(event));

  return {
    onTyping,
    async stop(): Promise<void> {
      registry.stop();
      await sender.stop();
    },
  };
}
