// Evaluates push rules for every local member when an event is written (DESIGN §3 step 7), so
// unread counts are exact the moment the event is visible. Runs as a persist WriteHook: rules
// and state are read before the transaction; inside it, the actions are inserted and the
// unread counters of the notified members raised (an event is always after every read
// receipt of its room: receipts point at events already written).
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { PushActionInsert, PushActionStore } from '../../storage/stores/push-actions.ts';
import type { RoomEvent } from '../../core/pdu.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import { roomVersion } from '../../core/room-versions.ts';
import { userPowerLevel } from '../../core/auth/power-levels.ts';
import { evaluatePushRules, type PushContext, type PushDecision, type PushEvent } from '../../core/push/evaluate.ts';
import type { PushRulesService } from './push-rules-service.ts';
import type { StoredEvent } from '../rooms/event-reader.ts';
import { joinedMembersOf } from '../rooms/current-state.ts';
import type { WriteHook } from '../rooms/persist.ts';

/** What `prepare` found for one event: the room and the notified members' actions. */
export interface PreparedPushActions {
  roomId: string;
  rows: PushActionInsert[];
}

const NONE: PreparedPushActions = { roomId: '', rows: [] };

interface LocalMember {
  userId: string;
  displayName: string | null;
}

/**
 * The local joined members of a room with their display names, worked out once per current
 * state map (the map is replaced, never changed, when the room's state changes), so a message
 * in a room whose state stays put costs no member lookups.
 */
const localMembersByState = new WeakMap<ReadonlyMap<string, StoredEvent>, { suffix: string; members: readonly LocalMember[] }>();

function localMembersOf(state: ReadonlyMap<string, StoredEvent>, serverSuffix: string): readonly LocalMember[] {
  const memo = localMembersByState.get(state);
  if (memo && memo.suffix === serverSuffix) return memo.members;
  const members: LocalMember[] = [];
  for (const userId of joinedMembersOf(state)) {
    if (!userId.endsWith(serverSuffix)) continue;
    const displayName = state.get(stateKeyOf('m.room.member', userId))?.pdu.content.displayname;
    members.push({ userId, displayName: typeof displayName === 'string' ? displayName : null });
  }
  localMembersByState.set(state, { suffix: serverSuffix, members });
  return members;
}

export class PushEvaluator implements WriteHook<PreparedPushActions> {
  private readonly serverSuffix: string;

  constructor(
    private readonly deps: {
      serverName: string;
      store: Pick<PushActionStore, 'write'>;
      pushRules: Pick<PushRulesService, 'queryCompiledRules' | 'cachedCompiledRules'>;
      /** Users whose events `userId` ignores (m.ignored_user_list). */
      ignoredUsers?(userId: string): Promise<ReadonlySet<string>>;
      /** The same when cached, without a promise. */
      cachedIgnoredUsers?(userId: string): ReadonlySet<string> | undefined;
    },
  ) {
    this.serverSuffix = `:${deps.serverName}`;
  }

  async prepare(event: RoomEvent, state: ReadonlyMap<string, StoredEvent>): Promise<PreparedPushActions> {
    const pdu = event.pdu;
    // Redactions and most state are not notifications; invites are (invite_for_me) and are
    // evaluated for the invitee below.
    if (pdu.type === 'm.room.redaction') return NONE;
    let members = localMembersOf(state, this.serverSuffix);
    if (pdu.type === 'm.room.member' && pdu.content.membership === 'invite' && pdu.state_key?.endsWith(this.serverSuffix)) {
      members = [...members, { userId: pdu.state_key, displayName: null }];
    }
    if (members.length === 0 || (members.length === 1 && members[0].userId === pdu.sender)) return NONE;

    const create = state.get(stateKeyOf('m.room.create', ''));
    const version = roomVersion(String(create?.pdu.content.room_version ?? '1')) ?? roomVersion('10')!;
    const powerLevels = state.get(stateKeyOf('m.room.power_levels', ''))?.pdu.content;
    const notificationPowerLevels = (powerLevels?.notifications as Record<string, number> | undefined) ?? {};
    const senderPowerLevel = userPowerLevel(pdu.sender, state, version);
    const pushEvent: PushEvent = { ...pdu, room_id: event.roomId, event_id: event.eventId } as PushEvent;
    const rel = pdu.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
    const threadId = rel?.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : '';
    // One context object for every member: only the user's own fields change between them.
    const ctx: PushContext = {
      userId: '',
      displayName: null,
      roomMemberCount: joinedMembersOf(state).length,
      senderPowerLevel: Number.isFinite(senderPowerLevel) ? senderPowerLevel : Number.MAX_SAFE_INTEGER,
      notificationPowerLevels,
    };
    const { pushRules, cachedIgnoredUsers, ignoredUsers } = this.deps;
    const rows: PushActionInsert[] = [];
    for (const member of members) {
      if (member.userId === pdu.sender) continue;
      // Cached answers without a promise; the database only for a member not seen lately.
      if (ignoredUsers) {
        const ignored = cachedIgnoredUsers?.(member.userId) ?? (await ignoredUsers(member.userId));
        if (ignored.has(pdu.sender)) continue;
      }
      const rules = pushRules.cachedCompiledRules(member.userId) ?? (await pushRules.queryCompiledRules(member.userId));
      ctx.userId = member.userId;
      ctx.displayName = member.displayName;
      const decision = evaluatePushRules(rules, pushEvent, ctx);
      if (!decision || (!decision.notify && !decision.highlight)) continue;
      rows.push({
        user_id: member.userId,
        thread_id: threadId,
        notify: decision.notify ? 1 : 0,
        highlight: decision.highlight ? 1 : 0,
        actions: actionsJson(decision),
      });
    }
    return { roomId: event.roomId, rows };
  }

  async write(prepared: PreparedPushActions, trx: Kysely<DB>, streamPos: number): Promise<void> {
    const { roomId, rows } = prepared;
    if (rows.length === 0) return;
    // The actions and the unread counters they raise (one statement on PostgreSQL).
    await this.deps.store.write(roomId, streamPos, rows, trx);
  }
}

/** The actions as stored, serialised once per decision object (a compiled rule's decision is shared). */
const actionsJsonCache = new WeakMap<PushDecision, string>();
function actionsJson(decision: PushDecision): string {
  let json = actionsJsonCache.get(decision);
  if (json === undefined) {
    json = JSON.stringify(decision.actions);
    actionsJsonCache.set(decision, json);
  }
  return json;
}
