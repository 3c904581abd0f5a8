// Reading a room's state and single events (client-server "Getting events for a room": /event,
// /state, /state/{type}/{key}, /members, /joined_members), with history visibility applied.
//
// Who may read what (spec "Room History Visibility" and the endpoints' 403 cases):
// - joined users read the current state;
// - users who are not joined read the current state if the room is world_readable now;
// - users who left or were banned read the state as of their departure, and no events after it;
// - anyone else gets 403 M_FORBIDDEN.
// Single events are judged one by one by the visibility filter instead (404 when hidden).
import { MatrixError } from '../../core/errors.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import { visibilityOf } from '../../core/history-visibility.ts';
import type { EventStore } from '../../storage/stores/events.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';
import type { StateStore } from './state-store.ts';
import type { CurrentStateCache } from './current-state.ts';
import type { RoomWriter } from './room-writer.ts';
import { relatedIdsOf, toClientEvent, type ClientEvent } from './client-event.ts';
import { isServed, type VisibilityFilter } from './visibility.ts';
import type { RelationAggregator } from './aggregations.ts';

export interface RoomReadsDeps {
  events: Pick<EventStore, 'roomTimelineDesc' | 'roomTimelineAsc' | 'roomEventsNearTimestamp'>;
  reader: Pick<EventReader, 'getEvents' | 'getEvent' | 'fromRows'>;
  stateStore: Pick<StateStore, 'stateOfSnapshot'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  writer: Pick<RoomWriter, 'versionOf'>;
  visibility: VisibilityFilter;
  /** Bundled aggregations (unsigned.m.relations) on served events; see aggregations.ts. */
  aggregations?: Pick<RelationAggregator, 'bundleAggregations'>;
  /** The highest stream position readers may see (StreamPositions.current). */
  currentPosition(): number;
}

export interface Reader {
  userId: string;
  deviceId: string;
}

export type RoomAccess =
  | { kind: 'joined' }
  | { kind: 'world_readable' }
  /** Left or banned: reads stop at the departure event. */
  | { kind: 'departed'; departure: StoredEvent };

export type StateEvents = ReadonlyMap<string, StoredEvent>;

const MEMBERSHIPS = new Set(['join', 'invite', 'knock', 'leave', 'ban']);

export class RoomReads {
  constructor(readonly deps: RoomReadsDeps) {}

  /** The room's version ID; 404 for rooms this server does not know. */
  async requireRoom(roomId: string): Promise<string> {
    const version = await this.deps.writer.versionOf(roomId);
    if (!version) throw new MatrixError('M_NOT_FOUND', 'Unknown room');
    return version.id;
  }

  /** What the user may read of the room's state and timeline (403 if nothing). */
  async accessOf(roomId: string, userId: string): Promise<RoomAccess> {
    await this.requireRoom(roomId);
    const state = await this.deps.currentState.get(roomId);
    const own = state.get(stateKeyOf('m.room.member', userId));
    const membership = own?.pdu.content.membership;
    if (membership === 'join') return { kind: 'joined' };
    if (visibilityOf(state.get(stateKeyOf('m.room.history_visibility', ''))?.pdu.content) === 'world_readable') return { kind: 'world_readable' };
    if ((membership === 'leave' || membership === 'ban') && own && isServed(own)) return { kind: 'departed', departure: own };
    throw new MatrixError('M_FORBIDDEN', 'You are not a member of this room and the room is not world readable');
  }

  /** The highest stream position the access lets the user read to. */
  upperBound(access: RoomAccess): number {
    return access.kind === 'departed' ? access.departure.streamPos! : this.deps.currentPosition();
  }

  /** State the access shows: current, or as of the user's departure. */
  async stateFor(roomId: string, access: RoomAccess): Promise<StateEvents> {
    if (access.kind !== 'departed') return this.deps.currentState.get(roomId);
    return this.stateAfter(access.departure);
  }

  /** Room state after an event, as events. */
  async stateAfter(ev: StoredEvent): Promise<StateEvents> {
    if (ev.snapshotNid === null) return new Map();
    const ids = await this.deps.stateStore.stateOfSnapshot(ev.snapshotNid);
    const loaded = await this.deps.reader.getEvents(ids.values());
    const out = new Map<string, StoredEvent>();
    for (const [key, id] of ids) {
      const e = loaded.get(id);
      if (e) out.set(key, e);
    }
    return out;
  }

  /** Serialises events for a client, with redacted_because / prev_content looked up in one batch. */
  async serialize(reader: Reader, roomId: string, events: readonly StoredEvent[]): Promise<ClientEvent[]> {
    if (events.length === 0) return [];
    const versionId = (await this.deps.writer.versionOf(roomId))?.id;
    const related = await this.deps.reader.getEvents(relatedIdsOf(events));
    const out = events.map((e) => toClientEvent(e, { related, requester: reader, roomVersionId: versionId }));
    // Spec "Aggregations of child events": bundled on /event, /messages, /context (state events get none).
    if (this.deps.aggregations) await this.deps.aggregations.bundleAggregations(out, reader.userId, { deviceId: reader.deviceId });
    return out;
  }

  // GET /rooms/{roomId}/event/{eventId}
  async queryEvent(reader: Reader, roomId: string, eventId: string): Promise<ClientEvent> {
    await this.requireRoom(roomId);
    const ev = await this.deps.reader.getEvent(eventId);
    if (!ev || ev.roomId !== roomId || !(await this.deps.visibility.canSee(reader.userId, ev))) {
      throw new MatrixError('M_NOT_FOUND', 'Event not found');
    }
    return (await this.serialize(reader, roomId, [ev]))[0];
  }

  // GET /rooms/{roomId}/state
  async queryState(reader: Reader, roomId: string): Promise<ClientEvent[]> {
    const state = await this.stateFor(roomId, await this.accessOf(roomId, reader.userId));
    return this.serialize(reader, roomId, [...state.values()]);
  }

  // GET /rooms/{roomId}/state/{eventType}/{stateKey}
  async queryStateEvent(reader: Reader, roomId: string, type: string, stateKey: string, format: 'content' | 'event'): Promise<Record<string, unknown>> {
    const state = await this.stateFor(roomId, await this.accessOf(roomId, reader.userId));
    const ev = state.get(stateKeyOf(type, stateKey));
    if (!ev) throw new MatrixError('M_NOT_FOUND', 'The room has no state with this type and key');
    const [client] = await this.serialize(reader, roomId, [ev]);
    return format === 'event' ? (client as unknown as Record<string, unknown>) : client.content;
  }

  // GET /rooms/{roomId}/members
  async queryMembers(
    reader: Reader,
    roomId: string,
    opts: { at?: number; membership?: string; notMembership?: string },
  ): Promise<ClientEvent[]> {
    const access = await this.accessOf(roomId, reader.userId);
    const state = opts.at === undefined ? await this.stateFor(roomId, access) : await this.stateAtPosition(reader, roomId, Math.min(opts.at, this.upperBound(access)));
    const members: StoredEvent[] = [];
    for (const [key, ev] of state) {
      if (!key.startsWith('m.room.member\u0000')) continue;
      const m = String(ev.pdu.content.membership);
      // Both given: the spec's "or" (is `membership`, or is not `not_membership`).
      const wanted =
        opts.membership !== undefined && opts.notMembership !== undefined
          ? m === opts.membership || m !== opts.notMembership
          : (opts.membership === undefined || m === opts.membership) && (opts.notMembership === undefined || m !== opts.notMembership);
      if (wanted && MEMBERSHIPS.has(m)) members.push(ev);
    }
    return this.serialize(reader, roomId, members);
  }

  /** State after the last event at or before `pos`, if the user may see that event. */
  private async stateAtPosition(reader: Reader, roomId: string, pos: number): Promise<StateEvents> {
    const [row] = await this.deps.events.roomTimelineDesc(roomId, 0, pos, 1);
    if (!row) throw new MatrixError('M_NOT_FOUND', 'No room state at this token');
    const [ev] = this.deps.reader.fromRows([row]);
    if (!(await this.deps.visibility.canSee(reader.userId, ev))) throw new MatrixError('M_FORBIDDEN', 'You may not see the room at this point');
    return this.stateAfter(ev);
  }

  // GET /rooms/{roomId}/joined_members
  async queryJoinedMembers(reader: Reader, roomId: string): Promise<Record<string, { display_name?: string; avatar_url?: string }>> {
    const access = await this.accessOf(roomId, reader.userId);
    // "The current user must be in the room": a departed user gets no current member list.
    if (access.kind === 'departed') throw new MatrixError('M_FORBIDDEN', 'You are not a member of this room');
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const [key, ev] of await this.deps.currentState.get(roomId)) {
      if (!key.startsWith('m.room.member\u0000') || ev.pdu.content.membership !== 'join') continue;
      const info: { display_name?: string; avatar_url?: string } = {};
      const { displayname, avatar_url } = ev.pdu.content;
      if (typeof displayname === 'string') info.display_name = displayname;
      if (typeof avatar_url === 'string') info.avatar_url = avatar_url;
      joined[ev.pdu.state_key!] = info;
    }
    return joined;
  }
}
