// /sync: one provider per stream (DESIGN §5), in the order their sections depend on each other.
import { SyncService } from '../services/sync/sync-service.ts';
import { RoomsSyncProvider } from '../services/sync/rooms-provider.ts';
import { AccountDataSyncProvider } from '../services/sync/account-data-provider.ts';
import { EphemeralSyncProvider } from '../services/sync/ephemeral-provider.ts';
import { PresenceSyncProvider } from '../services/sync/presence-provider.ts';
import { PushRulesSyncProvider } from '../services/sync/push-rules-provider.ts';
import { DeviceListsSyncProvider } from '../services/sync/device-lists-provider.ts';
import { ToDeviceSyncProvider } from '../services/sync/to-device-provider.ts';
import { UnreadCountsSyncProvider } from '../services/sync/unread-provider.ts';
import { syncRoutes } from '../api/client/sync.ts';
import { loadFilter } from '../api/client/account-data.ts';
import type { RoomsWiring } from './rooms.ts';
import type { PersonalWiring } from './personal.ts';
import type { E2eeWiring } from './e2ee.ts';
import type { RelationAggregator } from '../services/rooms/aggregations.ts';
import type { VisibilityFilter } from '../services/rooms/visibility.ts';
import type { WiringContext } from './context.ts';

export interface SyncDeps {
  rooms: RoomsWiring;
  personal: PersonalWiring;
  e2ee: E2eeWiring;
  visibility: VisibilityFilter;
  aggregations: RelationAggregator;
}

export function wireSync(ctx: WiringContext, deps: SyncDeps): void {
  const { rooms, personal, e2ee } = deps;
  const sync = new SyncService({
    positions: rooms.positions,
    notifier: rooms.notifier,
    providers: [
      new RoomsSyncProvider({
        events: rooms.eventStore,
        reader: rooms.reader,
        stateStore: rooms.stateStore,
        currentState: rooms.currentState,
        writer: rooms.writer,
        isForgotten: (userId, roomId) => rooms.roomStore.isForgotten(userId, roomId),
        visibility: deps.visibility,
        ignoredUsers: personal.ignoredUsers,
        cachedIgnoredUsers: (userId) => personal.accountData.cachedIgnoredUsers(userId),
        aggregations: deps.aggregations,
        persister: rooms.persister,
      }),
      // After rooms: room account data of left rooms goes into their leave sections.
      new AccountDataSyncProvider(personal.accountDataStore, personal.accountData.changes),
      new EphemeralSyncProvider({ typing: personal.typing, receipts: personal.receiptStore, receiptChanges: personal.receipts.changes }),
      new PresenceSyncProvider({ store: personal.presenceStore, presence: personal.presence, usersSharingRoomWith: rooms.usersSharingRoomWith }),
      new PushRulesSyncProvider(personal.pushRules),
      new DeviceListsSyncProvider({ deviceLists: e2ee.deviceLists, keyCounts: e2ee.keyUpload }),
      new ToDeviceSyncProvider(e2ee.toDevice),
      // Last: counts for the joined rooms the other providers put in the response.
      new UnreadCountsSyncProvider({ actions: personal.pushActionStore }),
    ],
    memberships: (userId) => rooms.userMemberships.of(userId),
  });
  syncRoutes(ctx.router, {
    sync,
    loadFilter: (userId, filterId) => loadFilter(personal.accountDataStore, userId, filterId),
    setPresence: (userId, state) => personal.presence.touchFromSync(userId, state),
  });
}
