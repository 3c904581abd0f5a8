// Rooms: the global stream positions and notifier, the event pipeline (builder → persister →
// writer, DESIGN §3), memberships, aliases and the directory, room creation and sends, with
// their routes. Step 8 of the write path wakes the members of the room here.
import { MatrixError } from '../core/errors.ts';
import type { SigningKey } from '../core/signing.ts';
import { queryMaxStreamPosition } from '../storage/stream-tables.ts';
import { ServerMetaStore } from '../storage/stores/server-meta.ts';
import { EventStore } from '../storage/stores/events.ts';
import { RoomStore } from '../storage/stores/rooms.ts';
import { StateSnapshotStore } from '../storage/stores/state.ts';
import { AliasStore } from '../storage/stores/aliases.ts';
import type { UserStore } from '../storage/stores/users.ts';
import { StreamPositions } from '../services/streams/positions.ts';
import { Notifier } from '../services/streams/notifier.ts';
import { EventReader } from '../services/rooms/event-reader.ts';
import { CurrentStateCache, joinedMembersOf } from '../services/rooms/current-state.ts';
import { UserMemberships } from '../services/rooms/user-memberships.ts';
import { RoomMates } from '../services/rooms/room-mates.ts';
import { StateStore } from '../services/rooms/state-store.ts';
import { EventBuilder } from '../services/rooms/event-builder.ts';
import { ForwardExtremities } from '../services/rooms/extremities.ts';
import { EventPersister } from '../services/rooms/persist.ts';
import { RoomWriter } from '../services/rooms/room-writer.ts';
import { MembershipService } from '../services/rooms/membership.ts';
import { RoomCreator } from '../services/rooms/create-room.ts';
import { RoomSender } from '../services/rooms/send.ts';
import { AliasService } from '../services/rooms/aliases.ts';
import { DirectoryService } from '../services/rooms/directory.ts';
import type { AppserviceRegistry } from '../services/appservice/registry.ts';
import type { AppserviceQueries } from '../services/appservice/queries.ts';
import { roomMembershipRoutes } from '../api/client/room-membership.ts';
import { roomSendRoutes } from '../api/client/room-send.ts';
import { directoryRoutes } from '../api/client/directory.ts';
import type { WiringContext } from './context.ts';

export interface RoomsDeps {
  signingKey: SigningKey;
  /** Profiles for member events; users that do not exist yet may be created by an appservice. */
  users: Pick<UserStore, 'get'>;
  appserviceRegistry: AppserviceRegistry;
  appserviceQueries: AppserviceQueries;
}

export async function wireRooms(ctx: WiringContext, deps: RoomsDeps) {
  const { config, database, db, router } = ctx;
  const { appserviceRegistry, appserviceQueries } = deps;

  // One global position sequence for every stream, resumed above anything ever handed out.
  const serverMeta = new ServerMetaStore(db);
  const highWater = Number((await serverMeta.get('stream_high_water')) ?? 0);
  const positions = new StreamPositions(Math.max(await queryMaxStreamPosition(db), highWater), {
    save: (mark) => serverMeta.set('stream_high_water', String(mark)),
  });
  await positions.flushed();
  const notifier = new Notifier(positions);

  const eventStore = new EventStore(db, database.engine);
  const roomStore = new RoomStore(db);
  const reader = new EventReader(eventStore);
  const currentState = new CurrentStateCache(roomStore, reader);
  const stateStore = new StateStore(new StateSnapshotStore(db), eventStore);
  const extremities = new ForwardExtremities(roomStore);
  const builder = new EventBuilder({ serverName: config.server_name, signingKey: deps.signingKey, extremities, currentState, reader });
  const persister = new EventPersister({ database, extremities, events: eventStore, rooms: roomStore, stateStore, reader, currentState, positions });
  const writer = new RoomWriter({ builder, persister, rooms: roomStore });
  const profiles = {
    profileOf: async (userId: string) => {
      const user = await deps.users.get(userId);
      return user ? { displayname: user.displayname, avatar_url: user.avatar_url } : undefined;
    },
  };
  const membership = new MembershipService({
    writer,
    currentState,
    profiles,
    roomsOf: async (userId, memberships) => (await roomStore.roomsOfUser(userId, memberships)).map((r) => r.room_id),
  });

  // Aliases and directory (canonical alias checks are registered on the sender below)
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

  const creator = new RoomCreator({
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
  const sender = new RoomSender({ writer, rooms: roomStore, reader, currentState });
  sender.addStateValidator(aliases.canonicalAliasValidator());

  // Step 8 of the write path: wake the room's members (and the target of a membership change).
  const userMemberships = new UserMemberships(roomStore);
  persister.onPersisted((event, { previousState, currentState: state }) => {
    userMemberships.stateChanged(previousState, state);
    // The joined members' list is memoised per state map; a copy is made only when the target
    // of a membership change must be added (a user woken twice is harmless, but skip it).
    const joined = joinedMembersOf(state);
    const target = event.pdu.type === 'm.room.member' ? event.pdu.state_key : undefined;
    const users = target && !joined.includes(target) ? [...joined, target] : joined;
    // Woken long-polls build their answers as microtasks; waking them at once made the
    // sender's own reply (a few microtask hops away) wait behind the fan-out to a big room.
    // One turn of the event loop later, the reply has been written first.
    setImmediate(wakeUsers, notifier, users, event.streamPos!);
  });

  roomMembershipRoutes(router, {
    creator,
    membership,
    rooms: roomStore,
    resolveAlias: (alias) => aliases.resolveRoomId(alias),
    forget: async (userId, roomId) => {
      const m = (await currentState.get(roomId)).get(`m.room.member\u0000${userId}`)?.pdu.content.membership;
      if (m === 'join' || m === 'invite' || m === 'knock') throw new MatrixError('M_UNKNOWN', 'Leave the room before forgetting it');
      await roomStore.forget(userId, roomId);
    },
  });
  roomSendRoutes(router, { sender });

  /** The users sharing a room with `userId`, and that user (presence, device lists). */
  const roomMates = new RoomMates(roomStore);
  persister.onPersisted(roomMates.onPersisted);
  const usersSharingRoomWith = (userId: string) => roomMates.of(userId);

  return {
    positions,
    notifier,
    eventStore,
    roomStore,
    aliasStore,
    reader,
    currentState,
    stateStore,
    extremities,
    persister,
    writer,
    membership,
    creator,
    sender,
    userMemberships,
    usersSharingRoomWith,
  };
}

export type RoomsWiring = Awaited<ReturnType<typeof wireRooms>>;

function wakeUsers(notifier: Notifier, users: readonly string[], position: number): void {
  notifier.notifyUsers(users, position);
}
