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
import { evaluatePushRules, type PushEvent } from '../../core/push/evaluate.ts';
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

export class PushEvaluator implements WriteHook<PreparedPushActions> {
  private readonly serverSuffix: string;

  constructor(
    private readonly deps: {
      serverName: string;
      store: Pick<PushActionStore, 'insert' | 'addCounts'>;
      pushRules: Pick<PushRulesService, 'queryCompiledRules'>;
      /** Users whose events are ignored by userId (m.ignored_user_list). */
      ignores?(userId: string, senderId: string): Promise<boolean>;
    },
  ) {
    this.serverSuffix = `:${deps.serverName}`;
  }

  async prepare(event: RoomEvent, state: ReadonlyMap<string, StoredEvent>): Promise<PreparedPushActions> {
    const pdu = event.pdu;
    // Redactions and most state are not notifications; invites are (invite_for_me) and are
    // evaluated for the invitee below.
    if (pdu.type === 'm.room.redaction') return NONE;
    const create = state.get(stateKeyOf('m.room.create', ''));
    const version = roomVersion(String(create?.pdu.content.room_version ?? '1')) ?? roomVersion('10')!;
    const joined = joinedMembersOf(state);
    const members: LocalMember[] = [];
    for (const userId of joined) {
      if (userId === pdu.sender || !userId.endsWith(this.serverSuffix)) continue;
      const displayName = state.get(stateKeyOf('m.room.member', userId))?.pdu.content.displayname;
      members.push({ userId, displayName: typeof displayName === 'string' ? displayName : null });
    }
    if (pdu.type === 'm.room.member' && pdu.content.membership === 'invite' && pdu.state_key?.endsWith(this.serverSuffix)) {
      members.push({ userId: pdu.state_key, displayName: null });
    }
    if (members.length === 0) return NONE;

    const powerLevels = state.get(stateKeyOf('m.room.power_levels', ''))?.pdu.content;
    const notificationPowerLevels = (powerLevels?.notifications as Record<string, number> | undefined) ?? {};
    const senderPowerLevel = userPowerLevel(pdu.sender, state, version);
    const pushEvent: PushEvent = { ...pdu, room_id: event.roomId, event_id: event.eventId } as PushEvent;
    const rel = pdu.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
    const threadId = rel?.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : '';
    const rows: PushActionInsert[] = [];
    for (const member of members) {
      if (this.deps.ignores && (await this.deps.ignores(member.userId, pdu.sender))) continue;
      const rules = await this.deps.pushRules.queryCompiledRules(member.userId);
      const decision = evaluatePushRules(rules, pushEvent, {
        userId: member.userId,
        displayName: member.displayName,
        roomMemberCount: joined.length,
        senderPowerLevel: Number.isFinite(senderPowerLevel) ? senderPowerLevel : Number.MAX_SAFE_INTEGER,
        notificationPowerLevels,
      });
      if (!decision || (!decision.notify && !decision.highlight)) continue;
      rows.push({
        user_id: member.userId,
        thread_id: threadId,
        notify: decision.notify ? 1 : 0,
        highlight: decision.highlight ? 1 : 0,
        actions: JSON.stringify(decision.actions),
      });
    }
    return { roomId: event.roomId, rows };
  }

  async write(prepared: PreparedPushActions, trx: Kysely<DB>, streamPos: number): Promise<void> {
    const { roomId, rows } = prepared;
    if (rows.length === 0) return;
    await this.deps.store.insert(streamPos, rows, trx);
    await this.deps.store.addCounts(
      roomId,
      rows.map((r) => ({ user_id: r.user_id, thread_id: r.thread_id, notifications: r.notify, highlights: r.highlight })),
      trx,
    );
  }
}
