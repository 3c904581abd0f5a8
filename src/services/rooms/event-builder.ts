// Builds local events as full PDUs of the room's version: prev_events from the forward
// extremities, depth, auth_events chosen by the auth rules, content hash, signature, and the
// event ID (reference hash). Must run inside the room's write queue so prev_events are current.
import type { SigningKey } from '../../core/signing.ts';
import { signEventWithId } from '../../core/event-signing.ts';
import { computeContentHash, roomIdFromCreateEvent } from '../../core/hashes.ts';
import type { PDU, RoomEvent } from '../../core/pdu.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import type { RoomVersion } from '../../core/room-versions.ts';
import { authEventKeys } from '../../core/auth/auth-events.ts';
import type { ForwardExtremities } from './extremities.ts';
import type { CurrentStateCache } from './current-state.ts';
import type { EventReader } from './event-reader.ts';

export interface EventDraft {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  state_key?: string;
  /** Room versions < 11 put redacts at the top level; v11+ in content (the builder handles both). */
  redacts?: string;
  /** Appservices may set the timestamp; otherwise now. */
  origin_server_ts?: number;
}

const MAX_PREV_EVENTS = 10;
const MAX_DEPTH = Number.MAX_SAFE_INTEGER;

export interface EventBuilderDeps {
  serverName: string;
  signingKey: SigningKey;
  extremities: Pick<ForwardExtremities, 'get'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  reader: Pick<EventReader, 'getEvents'>;
  now?: () => number;
}

export class EventBuilder {
  constructor(private readonly deps: EventBuilderDeps) {}

  /** Signs and hashes an unsigned PDU skeleton, returning the finished event. */
  finish(skeleton: Omit<PDU, 'hashes' | 'signatures'>, version: RoomVersion, roomId?: string): RoomEvent {
    const withHash = { ...skeleton, hashes: { sha256: computeContentHash(skeleton) } } as PDU;
    const { signed, eventId } = signEventWithId(withHash, version, this.deps.serverName, this.deps.signingKey);
    const rid = roomId ?? signed.room_id ?? (version.roomIdIsCreateEventHash ? roomIdFromCreateEvent(signed, version) : undefined);
    if (!rid) throw new Error('event has no room ID');
    return { eventId, roomId: rid, pdu: signed };
  }

  /** The create event of a new room. For v12 the room ID is derived from it. */
  buildCreate(version: RoomVersion, sender: string, content: Record<string, unknown>, roomId?: string): RoomEvent {
    const skeleton: Omit<PDU, 'hashes' | 'signatures'> = {
      type: 'm.room.create',
      state_key: '',
      sender,
      content,
      origin_server_ts: this.now(),
      prev_events: [],
      auth_events: [],
      depth: 1,
    };
    if (!version.roomIdIsCreateEventHash) {
      if (!roomId) throw new Error('room versions before 12 need a room ID for the create event');
      skeleton.room_id = roomId;
    }
    return this.finish(skeleton, version, roomId);
  }

  /**
   * `after`: an event built but not written yet (the previous one of a group commit, see
   * RoomWriter) to build on instead of the room's forward extremities.
   */
  async build(roomId: string, version: RoomVersion, draft: EventDraft, after?: RoomEvent): Promise<RoomEvent> {
    let prevEvents: string[];
    let depth = 0;
    if (after) {
      prevEvents = [after.eventId];
      depth = after.pdu.depth;
    } else {
      prevEvents = (await this.deps.extremities.get(roomId)).slice(0, MAX_PREV_EVENTS);
      const prev = await this.deps.reader.getEvents(prevEvents);
      for (const ev of prev.values()) depth = Math.max(depth, ev.pdu.depth);
    }
    const state = await this.deps.currentState.get(roomId);
    const authEvents: string[] = [];
    for (const [type, stateKey] of authEventKeys(draft, version)) {
      const ev = state.get(stateKeyOf(type, stateKey));
      if (ev && !authEvents.includes(ev.eventId)) authEvents.push(ev.eventId);
    }
    const content = { ...draft.content };
    // Keys in code point order, so that canonical JSON (content hash, signature, event ID)
    // finds them sorted; a state_key added below is the exception.
    const skeleton: Omit<PDU, 'hashes' | 'signatures'> = {
      auth_events: authEvents,
      content,
      depth: Math.min(depth + 1, MAX_DEPTH),
      origin_server_ts: draft.origin_server_ts ?? this.now(),
      prev_events: prevEvents,
      room_id: roomId,
      sender: draft.sender,
      type: draft.type,
    };
    if (draft.state_key !== undefined) skeleton.state_key = draft.state_key;
    if (draft.redacts !== undefined) {
      if (version.updatedRedactionRules) content.redacts = draft.redacts;
      else skeleton.redacts = draft.redacts;
    }
    return this.finish(skeleton, version, roomId);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
