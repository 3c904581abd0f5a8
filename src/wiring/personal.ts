// Per-user data and ephemeral streams: account data (tags, filters), push rules evaluated when
// events are written (unread counts, /notifications), typing, receipts and read markers,
// presence, with their routes.
import { AccountDataStore } from '../storage/stores/account-data.ts';
import { PushRuleStore } from '../storage/stores/push-rules.ts';
import { PushActionStore } from '../storage/stores/push-actions.ts';
import { ReceiptStore } from '../storage/stores/receipts.ts';
import { PresenceStore } from '../storage/stores/presence.ts';
import type { UserStore } from '../storage/stores/users.ts';
import { AccountDataService } from '../services/account-data/account-data-service.ts';
import { PushRulesService } from '../services/push/push-rules-service.ts';
import { PushEvaluator } from '../services/push/push-evaluator.ts';
import { UnreadCounter } from '../services/push/unread-counts.ts';
import { TypingService } from '../services/ephemeral/typing.ts';
import { ReceiptService } from '../services/ephemeral/receipts.ts';
import { PresenceService } from '../services/ephemeral/presence.ts';
import { joinedMembersOf } from '../services/rooms/current-state.ts';
import { KeyedQueue } from '../util/keyed-queue.ts';
import { accountDataRoutes } from '../api/client/account-data.ts';
import { pushRuleRoutes } from '../api/client/push-rules.ts';
import { notificationRoutes } from '../api/client/notifications.ts';
import { ephemeralRoutes } from '../api/client/ephemeral.ts';
import { presenceRoutes } from '../api/client/presence.ts';
import type { RoomsWiring } from './rooms.ts';
import type { WiringContext } from './context.ts';

export interface PersonalDeps {
  rooms: RoomsWiring;
  users: Pick<UserStore, 'get'>;
  /** Typing changed in a room: appservices that receive ephemeral events hear of it. */
  onTyping(roomId: string): void;
}

export function wirePersonal(ctx: WiringContext, deps: PersonalDeps) {
  const { config, db, router } = ctx;
  const { positions, notifier, persister, currentState, reader, writer, usersSharingRoomWith } = deps.rooms;

  // Account data, tags and filters
  const accountDataStore = new AccountDataStore(db);
  const accountData = new AccountDataService({ store: accountDataStore, positions, notifier });
  accountDataRoutes(router, { accountData, store: accountDataStore });
  const ignoredUsers = (userId: string) => accountData.ignoredUsers(userId);

  // Push rules, evaluated when events are written (unread counts, /notifications)
  const pushRules = new PushRulesService(db, new PushRuleStore(db));
  pushRuleRoutes(router, { pushRules });
  const pushActionStore = new PushActionStore(db, ctx.database.engine);
  persister.addWriteHook(
    new PushEvaluator({
      serverName: config.server_name,
      store: pushActionStore,
      pushRules,
      ignoredUsers,
      cachedIgnoredUsers: (userId) => accountData.cachedIgnoredUsers(userId),
    }),
  );
  // Clients learn of rule changes through m.push_rules account data, written in order per user.
  const pushRulesQueue = new KeyedQueue();
  pushRules.onRulesChanged = (userId) => {
    void pushRulesQueue.run(userId, async () => accountData.set(userId, '', 'm.push_rules', await pushRules.queryAccountDataContent(userId)));
  };

  // Typing, receipts and read markers
  const receiptStore = new ReceiptStore(db);
  const typing = new TypingService({
    positions,
    notifyRoom: (roomId, position) => {
      void currentState.get(roomId).then((state) => notifier.notifyUsers(joinedMembersOf(state), position));
      deps.onTyping(roomId);
    },
  });
  const unreadCounter = new UnreadCounter({ db, actions: pushActionStore, receipts: receiptStore });
  const receipts = new ReceiptService({
    store: receiptStore,
    positions,
    reader,
    currentState,
    accountData,
    notifyUsers: (userIds, position) => notifier.notifyUsers(userIds, position),
    writeHook: unreadCounter,
  });
  ephemeralRoutes(router, { typing, receipts, currentState });
  notificationRoutes(router, { actions: pushActionStore, receipts: receiptStore, reader, writer });

  // Presence
  const presenceStore = new PresenceStore(db);
  const presence = new PresenceService({
    store: presenceStore,
    positions,
    usersSharingRoomWith,
    notifyUsers: (userIds, position) => notifier.notifyUsers(userIds, position),
    userExists: async (userId) => !!(await deps.users.get(userId)),
  });
  presenceRoutes(router, { presence });

  return { accountDataStore, accountData, ignoredUsers, pushRules, pushActionStore, receiptStore, unreadCounter, typing, receipts, presenceStore, presence };
}

export type PersonalWiring = ReturnType<typeof wirePersonal>;
