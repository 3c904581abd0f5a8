// Reading rooms: history visibility (applied on every read path), bundled aggregations,
// /event, /state, /members, /messages, /context, /timestamp_to_event, search (indexed by a
// write hook), the user directory, relations and threads, upgrades and reports.
import { RelationStore } from '../storage/stores/relations.ts';
import { SearchStore } from '../storage/stores/search.ts';
import { UserDirectoryStore } from '../storage/stores/user-directory.ts';
import { ReportStore } from '../storage/stores/reports.ts';
import type { UserStore } from '../storage/stores/users.ts';
import { VisibilityFilter } from '../services/rooms/visibility.ts';
import { RelationAggregator } from '../services/rooms/aggregations.ts';
import { RoomReads } from '../services/rooms/room-reads.ts';
import { RoomHistory } from '../services/rooms/room-history.ts';
import { RelationsService } from '../services/rooms/relations.ts';
import { RoomUpgrader } from '../services/rooms/upgrade.ts';
import { ReportService } from '../services/rooms/reports.ts';
import { SearchIndexer } from '../services/search/search-indexer.ts';
import { RoomEventSearch } from '../services/search/room-event-search.ts';
import { UserDirectory } from '../services/users/user-directory.ts';
import { roomReadRoutes } from '../api/client/room-reads.ts';
import { relationRoutes } from '../api/client/relations.ts';
import { searchRoutes } from '../api/client/search.ts';
import { userDirectoryRoutes } from '../api/client/user-directory.ts';
import { upgradeRoutes } from '../api/client/upgrade.ts';
import { reportRoutes } from '../api/client/report.ts';
import type { RoomsWiring } from './rooms.ts';
import type { WiringContext } from './context.ts';

export interface RoomReadsDeps {
  rooms: RoomsWiring;
  ignoredUsers(userId: string): Promise<ReadonlySet<string>>;
  users: Pick<UserStore, 'exists'>;
}

export function wireRoomReads(ctx: WiringContext, deps: RoomReadsDeps) {
  const { config, database, db, router } = ctx;
  const { rooms, ignoredUsers } = deps;
  const { reader, stateStore, currentState, writer, eventStore, positions } = rooms;
  const currentPosition = () => positions.current;

  const visibility = new VisibilityFilter({ reader, stateStore, currentState, ignoredUsers });
  // Bundled aggregations (unsigned.m.relations) for every read path, sync included
  const relationStore = new RelationStore(db);
  const aggregations = new RelationAggregator({ relations: relationStore, reader, writer, visibility, ignoredUsers, persister: rooms.persister });

  const reads = new RoomReads({ events: eventStore, reader, stateStore, currentState, writer, visibility, aggregations, currentPosition });
  roomReadRoutes(router, { reads, history: new RoomHistory(reads) });

  // Search and user directory: the full-text index is written with each event (a write hook)
  const searchStore = new SearchStore(db, database.engine);
  rooms.persister.addWriteHook(new SearchIndexer(searchStore));
  const search = new RoomEventSearch({ store: searchStore, rooms: rooms.roomStore, events: eventStore, reader, visibility, reads, currentPosition });
  searchRoutes(router, { search });
  userDirectoryRoutes(router, { directory: new UserDirectory({ store: new UserDirectoryStore(db), serverName: config.server_name }) });

  // Relations and threads: /relations, /threads, and the send-time checks of new relations.
  const relations = new RelationsService({ reads, store: relationStore, reader, visibility, currentPosition });
  relationRoutes(router, { relations });
  rooms.sender.addMessageValidator((roomId, sender, type, content) => relations.checkNewRelation(roomId, sender, type, content));
  rooms.sender.addStateValidator((roomId, sender, type, _stateKey, content) => relations.checkNewRelation(roomId, sender, type, content));

  // Upgrades and reports
  const upgrader = new RoomUpgrader({ db, creator: rooms.creator, writer, currentState, extremities: rooms.extremities, reader, aliases: rooms.aliasStore });
  upgradeRoutes(router, { upgrader });
  const reports = new ReportService({
    serverName: config.server_name,
    store: new ReportStore(db),
    reader,
    currentState,
    writer,
    visibility,
    userExists: (userId) => deps.users.exists(userId),
  });
  reportRoutes(router, { reports });

  return { visibility, aggregations };
}
