// The rooms part of /sync: joined rooms (timeline, state, summary), invites and leaves.
// Timelines are read by stream position; the state block is the state at the start of the
// timeline (from the first timeline event's snapshot), so clients can rebuild room state
// exactly as the spec's "state + timeline" model expects.
import { stateKeyOf, type PDU } from '../../core/pdu.ts';
import type { EventStore } from '../../storage/stores/events.ts';
import type { EventReader, StoredEvent } from '../rooms/event-reader.ts';
import type { StateStore, StateMap } from '../rooms/state-store.ts';
import type { CurrentStateCache } from '../rooms/current-state.ts';
import type { RoomWriter } from '../rooms/room-writer.ts';
import { relatedIdsOf, toClientEvent, type ClientEvent } from '../rooms/client-event.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';
import type { VisibilityFilter } from '../rooms/visibility.ts';
import type { RelationAggregator } from '../rooms/aggregations.ts';
import type { EventPersister } from '../rooms/persist.ts';
import { TimelineMemo, type RoomTimelineSlice } from './timeline-memo.ts';

export interface RoomsProviderDeps {
  events: Pick<EventStore, 'roomTimelineDesc' | 'roomTimelineRefsDesc' | 'roomsWithEventsBetween'>;
  reader: EventReader;
  stateStore: Pick<StateStore, 'stateOfSnapshot'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  writer: Pick<RoomWriter, 'versionOf'>;
  isForgotten(userId: string, roomId: string): Promise<boolean>;
  visibility: Pick<VisibilityFilter, 'filterEventsForUser'>;
  ignoredUsers(userId: string): Promise<ReadonlySet<string>>;
  /** `ignoredUsers` when it is in memory (a woken sync then awaits nothing for it). */
  cachedIgnoredUsers?(userId: string): ReadonlySet<string> | undefined;
  aggregations?: Pick<RelationAggregator, 'bundleAggregations' | 'knownChildless'>;
  /** The write path: each served event's position tells which rooms have news (no query). */
  persister?: Pick<EventPersister, 'onPersisted'>;
}

const STRIPPED_STATE_TYPES = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];

export const positionToken = (pos: number): string => `s${pos}`;

// Shared empty results of a woken sync's room (never mutated).
const NO_ROOMS: ReadonlySet<string> = new Set();
const NO_STATE: StateMap = new Map();
const NO_EVENTS = Object.freeze([]) as unknown as StoredEvent[];
const NO_RELATED: ReadonlyMap<string, StoredEvent> = new Map();
/** Rooms whose version ID is remembered (cleared when full: a miss is one cached lookup). */
const MAX_VERSIONS = 10_000;

export class RoomsSyncProvider implements SyncProvider {
  readonly name = 'rooms';
  private readonly memo = new TimelineMemo((roomId, from, to, limit) => this.readTimeline(roomId, from, to, limit));
  /** Per room: the position of its newest served event persisted by this process. */
  private readonly lastEventAt = new Map<string, number>();
  private readonly versions = new Map<string, string>();
  /**
   * Events at or below this position may predate the subscription (set by the first sync: every
   * event it can see was persisted before it ran). Unset without a persister: always query.
   */
  private trackedAfter: number | undefined;

  constructor(private readonly deps: RoomsProviderDeps) {
    // Listeners run right after the positions are released, before any other code: a sync that
    // sees a position also sees its room here.
    deps.persister?.onPersisted((event) => {
      if (event.streamPos !== null && event.streamPos !== undefined && (this.lastEventAt.get(event.roomId) ?? 0) < event.streamPos) {
        this.lastEventAt.set(event.roomId, event.streamPos);
      }
    });
  }

  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | undefined {
    if (from !== null && this.contributeWoken(ctx, from, to)) return undefined;
    return this.contributeAll(ctx, from, to, response);
  }

  /**
   * The common woken sync (new events in rooms the user was already in, read by the shared
   * timeline read that has answered, nothing to look up per event) written without a promise:
   * at a hundred syncs per event, the async frames and awaits of the general path were a good
   * part of its garbage. Returns false, having written nothing, when anything needs the general
   * path, which then does all of it.
   */
  private contributeWoken(ctx: SyncContext, from: number, to: number): boolean {
    if (ctx.fullState || ctx.filter.lazyLoadMembers) return false;
    const ignored = this.deps.cachedIgnoredUsers?.(ctx.userId);
    if (!ignored) return false;
    const memberships = ctx.memberships;
    const joined: SyncContext['memberships'][number][] = [];
    for (let i = 0; i < memberships.length; i++) {
      const m = memberships[i];
      if (m.membership === 'join') {
        if (ctx.filter.roomAllowed(m.room_id)) joined.push(m);
        // Joined in the batch: the room goes in whole (state and all).
        if (m.stream_pos > from && m.stream_pos <= to) return false;
      } else if (m.stream_pos > from && m.stream_pos <= to) {
        return false; // an invite, knock or leave to write
      }
    }
    const withEvents = this.knownRoomsWithEvents(ctx, joined, from, to);
    if (!withEvents) return false;
    if (withEvents.size === 0) return true;
    // Checked for every room before any is written: all or nothing.
    for (let i = 0; i < joined.length; i++) {
      const m = joined[i];
      if (m.stream_pos <= to && withEvents.has(m.room_id) && !this.wokenTimeline(ctx, m.room_id, from, to, m.stream_pos, ignored)) return false;
    }
    for (let i = 0; i < joined.length; i++) {
      const m = joined[i];
      if (m.stream_pos > to || !withEvents.has(m.room_id)) continue;
      const timeline = this.wokenTimeline(ctx, m.room_id, from, to, m.stream_pos, ignored)!;
      const opts = { omitRoomId: true, requester: { userId: ctx.userId, deviceId: ctx.deviceId }, related: NO_RELATED, roomVersionId: this.versions.get(m.room_id) };
      const events: ClientEvent[] = [];
      for (let j = 0; j < timeline.length; j++) events.push(toClientEvent(timeline[j], opts));
      // As joinedRoom writes it: the section exists even when the user's filter left no event.
      ctx.joinedRoom(m.room_id).timeline = { events, limited: false, prev_batch: positionToken(timeline.length > 0 ? timeline[0].streamPos! - 1 : to) };
    }
    return true;
  }

  /**
   * The room's timeline for a woken sync when `joinedRoom` would write exactly that and nothing
   * else: the shared read has answered and is not limited (no state block), every event is
   * visible by membership, and no event needs a lookup (redaction, replaced state, bundle, room
   * summary for a member event). Else undefined.
   */
  private wokenTimeline(ctx: SyncContext, roomId: string, from: number, to: number, joinedAt: number, ignored: ReadonlySet<string>): readonly StoredEvent[] | undefined {
    if (!this.versions.has(roomId)) return undefined;
    const slice = this.memo.peek(roomId, from, to, ctx.filter.timelineLimit, ctx.current);
    if (!slice || slice.limited) return undefined;
    const events = slice.events;
    if (events.length > 0 && events[0].streamPos! < joinedAt) return undefined;
    const timeline = this.visibleTo(ctx, roomId, events, ignored);
    const aggregations = this.deps.aggregations;
    for (let i = 0; i < timeline.length; i++) {
      const e = timeline[i];
      if (e.redactedBy || e.pdu.type === 'm.room.member' || typeof e.pdu.unsigned?.replaces_state === 'string') return undefined;
      if (aggregations && e.pdu.state_key === undefined && !aggregations.knownChildless(e.eventId)) return undefined;
    }
    return timeline;
  }

  private async contributeAll(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> {
    const memberships = ctx.memberships;
    const ignored = this.deps.cachedIgnoredUsers?.(ctx.userId) ?? (await this.deps.ignoredUsers(ctx.userId));
    const joined: SyncContext['memberships'][number][] = [];
    for (let i = 0; i < memberships.length; i++) {
      const m = memberships[i];
      if (m.membership === 'join' && ctx.filter.roomAllowed(m.room_id)) joined.push(m);
    }
    let withEvents: ReadonlySet<string> | null = null;
    if (from !== null) {
      const rooms = this.roomsWithEvents(ctx, joined, from, to);
      withEvents = rooms instanceof Set ? rooms : await rooms;
    }

    for (let i = 0; i < joined.length; i++) {
      const m = joined[i];
      if (m.stream_pos > to) continue;
      const isNew = from === null || m.stream_pos > from;
      if (!isNew && !withEvents!.has(m.room_id) && !ctx.fullState) continue;
      await this.joinedRoom(ctx, m.room_id, isNew ? null : from, to, m.stream_pos, ignored);
    }

    for (const m of memberships) {
      // A woken sync's memberships are old news: only joins go on (handled above).
      if (m.membership === 'join' || m.stream_pos > to) continue;
      if (!ctx.filter.roomAllowed(m.room_id)) continue;
      const changed = from === null || m.stream_pos > from;
      if (m.membership === 'invite' && changed) {
        // Invites from ignored users are not shown (spec "Ignoring Users").
        const invite = await this.deps.reader.getEvent(m.event_id);
        if (invite && ignored.has(invite.pdu.sender)) continue;
        response.rooms.invite[m.room_id] = { invite_state: { events: await this.strippedState(m.room_id, m.event_id) } };
      } else if (m.membership === 'knock' && changed) {
        response.rooms.knock[m.room_id] = { knock_state: { events: await this.strippedState(m.room_id, m.event_id) } };
      } else if ((m.membership === 'leave' || m.membership === 'ban') && (from !== null ? changed : ctx.filter.includeLeave)) {
        if (await this.deps.isForgotten(ctx.userId, m.room_id)) continue;
        await this.leftRoom(ctx, m.room_id, from, m.stream_pos, response, ignored);
      }
    }
  }

  /** `roomsWithEvents` when the write path's positions answer it for every room, else undefined (nothing asked). */
  private knownRoomsWithEvents(ctx: SyncContext, joined: ReadonlyArray<{ room_id: string }>, from: number, to: number): ReadonlySet<string> | undefined {
    if (this.deps.persister && this.trackedAfter === undefined) this.trackedAfter = ctx.current;
    if (this.trackedAfter === undefined || from < this.trackedAfter) return undefined;
    let found: Set<string> | undefined;
    for (let i = 0; i < joined.length; i++) {
      const roomId = joined[i].room_id;
      const last = this.lastEventAt.get(roomId);
      if (last === undefined || last <= from) continue;
      // The newest event is in the range: so is an event. A newer one than `to` says nothing.
      if (last > to) return undefined;
      (found ??= new Set()).add(roomId);
    }
    return found ?? NO_ROOMS;
  }

  /**
   * The rooms among `joined` with events in (from, to]: from the write path's positions when they
   * answer for every room (a woken sync's case, no promise), else by a query.
   */
  private roomsWithEvents(ctx: SyncContext, joined: ReadonlyArray<{ room_id: string }>, from: number, to: number): ReadonlySet<string> | Promise<ReadonlySet<string>> {
    return this.knownRoomsWithEvents(ctx, joined, from, to) ?? this.deps.events.roomsWithEventsBetween(joined.map((m) => m.room_id), from, to);
  }

  private async joinedRoom(ctx: SyncContext, roomId: string, from: number | null, to: number, joinedAt: number, ignored: ReadonlySet<string>): Promise<void> {
    const versionId = this.versions.get(roomId) ?? (await this.versionOf(roomId));
    const { timeline, limited, first } = await this.timeline(ctx, roomId, from, to, joinedAt, ignored);
    // A woken incremental sync (few new events, no lazy loading) needs no state at all.
    const stateAtStart = from === null || ctx.fullState || limited || ctx.filter.lazyLoadMembers ? await this.stateAtStart(roomId, first, to) : NO_STATE;
    let stateEvents: StoredEvent[] = NO_EVENTS;
    if (from === null || ctx.fullState) {
      stateEvents = await this.eventsOf(stateAtStart);
    } else if (limited) {
      const before = await this.stateAt(roomId, from);
      const changed = new Map<string, string>();
      for (const [k, id] of stateAtStart) if (before.get(k) !== id) changed.set(k, id);
      stateEvents = await this.eventsOf(changed);
    }
    if (stateEvents.length > 0) stateEvents = stateEvents.filter((e) => ctx.filter.stateAllows({ type: e.pdu.type, sender: e.pdu.sender, room_id: roomId, content: e.pdu.content }));
    if (ctx.filter.lazyLoadMembers) {
      const wanted = new Set(timeline.map((e) => e.pdu.sender));
      wanted.add(ctx.userId);
      const inTimeline = new Set(timeline.filter((e) => e.pdu.type === 'm.room.member').map((e) => e.pdu.state_key));
      stateEvents = stateEvents.filter((e) => e.pdu.type !== 'm.room.member' || (wanted.has(e.pdu.state_key!) && !inTimeline.has(e.pdu.state_key)));
      if (from !== null && !ctx.fullState) {
        // Incremental lazy loading: add members of timeline senders the state block lacks.
        const have = new Set(stateEvents.filter((e) => e.pdu.type === 'm.room.member').map((e) => e.pdu.state_key));
        const missing = new Map<string, string>();
        for (const sender of wanted) {
          const id = stateAtStart.get(stateKeyOf('m.room.member', sender));
          if (id && !have.has(sender) && !inTimeline.has(sender)) missing.set(stateKeyOf('m.room.member', sender), id);
        }
        if (missing.size > 0 && !limited) {
          // Clients already hold members they saw before; only send senders new to this batch.
          const seen = await this.stateAt(roomId, from);
          for (const [k, id] of [...missing]) if (seen.get(k) === id) missing.delete(k);
        }
        stateEvents.push(...(await this.eventsOf(missing)));
      }
    }

    const section = ctx.joinedRoom(roomId);
    // Redactions and replaced state the events refer to; a woken sync's new message has none.
    const relatedIds = stateEvents.length > 0 ? relatedIdsOf(timeline.concat(stateEvents)) : relatedIdsOf(timeline);
    const related = relatedIds.length > 0 ? await this.deps.reader.getEvents(relatedIds) : NO_RELATED;
    const opts = { omitRoomId: true, requester: { userId: ctx.userId, deviceId: ctx.deviceId }, related, roomVersionId: versionId };
    let hasMember = false;
    if (stateEvents.length > 0) {
      const out: ClientEvent[] = [];
      for (const e of stateEvents) {
        if (e.pdu.type === 'm.room.member') hasMember = true;
        out.push(toClientEvent(e, opts));
      }
      section.state.events = out;
    }
    const timelineEvents: ClientEvent[] = [];
    let mayBundle = false;
    for (const e of timeline) {
      if (e.pdu.type === 'm.room.member') hasMember = true;
      // Events the aggregator knows to have no children get no bundle: skip asking it.
      if (!mayBundle && e.pdu.state_key === undefined && !this.deps.aggregations?.knownChildless(e.eventId)) mayBundle = true;
      timelineEvents.push(toClientEvent(e, opts));
    }
    if (mayBundle) await this.deps.aggregations?.bundleAggregations(timelineEvents, ctx.userId, { deviceId: ctx.deviceId, omitRoomId: true });
    section.timeline = {
      events: timelineEvents,
      limited,
      prev_batch: positionToken(timeline.length > 0 ? timeline[0].streamPos! - 1 : to),
    };
    if (from === null || hasMember) section.summary = await this.summary(roomId, ctx.userId);
  }

  /** The room's version ID (a room's version never changes), remembered per room. */
  private async versionOf(roomId: string): Promise<string | undefined> {
    const id = (await this.deps.writer.versionOf(roomId))?.id;
    if (id !== undefined) {
      if (this.versions.size >= MAX_VERSIONS) this.versions.clear();
      this.versions.set(roomId, id);
    }
    return id;
  }

  private async leftRoom(ctx: SyncContext, roomId: string, from: number | null, leftAt: number, response: SyncResponse, ignored: ReadonlySet<string>): Promise<void> {
    const versionId = (await this.deps.writer.versionOf(roomId))?.id;
    const { timeline, limited, first } = await this.timeline(ctx, roomId, from, leftAt, Number.MAX_SAFE_INTEGER, ignored);
    const stateEvents = from === null || limited ? await this.eventsOf(await this.stateAtStart(roomId, first, leftAt)) : [];
    const related = await this.deps.reader.getEvents(relatedIdsOf([...timeline, ...stateEvents]));
    const opts = { omitRoomId: true, requester: { userId: ctx.userId, deviceId: ctx.deviceId }, related, roomVersionId: versionId };
    response.rooms.leave[roomId] = {
      state: { events: stateEvents.map((e) => toClientEvent(e, opts)) },
      timeline: { events: timeline.map((e) => toClientEvent(e, opts)), limited, prev_batch: positionToken(timeline.length > 0 ? timeline[0].streamPos! - 1 : leftAt) },
      account_data: { events: [] },
    };
  }

  /**
   * Newest `limit` events in (from, to], oldest first, and the state before the first.
   * Events after `visibleFrom` (the user's join) are visible by definition; older ones go
   * through the history visibility rules.
   */
  private async timeline(ctx: SyncContext, roomId: string, from: number | null, to: number, visibleFrom: number, ignored: ReadonlySet<string>) {
    const limit = ctx.filter.timelineLimit;
    // Initial syncs differ per user (join positions); only incremental ones share reads.
    const slice = from === null ? await this.readTimeline(roomId, 0, to, limit) : await this.memo.get(roomId, from, to, limit, ctx.current);
    let events: readonly StoredEvent[] = slice.events;
    if (events.length > 0 && events[0].streamPos! < visibleFrom) events = await this.deps.visibility.filterEventsForUser(ctx.userId, [...events]);
    return { timeline: this.visibleTo(ctx, roomId, events, ignored), limited: slice.limited, first: events[0] as StoredEvent | undefined };
  }

  /** `events` without those the user's ignores or filter drop: the same (shared, never mutated) array when none is. */
  private visibleTo(ctx: SyncContext, roomId: string, events: readonly StoredEvent[], ignored: ReadonlySet<string>): readonly StoredEvent[] {
    for (let i = 0; i < events.length; i++) {
      if (this.shows(ctx, roomId, events[i], ignored)) continue;
      const kept = events.slice(0, i);
      for (let j = i + 1; j < events.length; j++) if (this.shows(ctx, roomId, events[j], ignored)) kept.push(events[j]);
      return kept;
    }
    return events;
  }

  private shows(ctx: SyncContext, roomId: string, e: StoredEvent, ignored: ReadonlySet<string>): boolean {
    return (
      !(ignored.size > 0 && ignored.has(e.pdu.sender) && e.pdu.state_key === undefined) &&
      ctx.filter.timelineAllows({ type: e.pdu.type, sender: e.pdu.sender, room_id: roomId, content: e.pdu.content })
    );
  }

  /** The state before the timeline's first event (`first`), or at `to` for an empty timeline. */
  private stateAtStart(roomId: string, first: StoredEvent | undefined, to: number): Promise<StateMap> {
    return first ? this.stateBefore(first) : this.stateAt(roomId, to);
  }

  private async readTimeline(roomId: string, from: number, to: number, limit: number): Promise<RoomTimelineSlice> {
    const refs = await this.deps.events.roomTimelineRefsDesc(roomId, from, to, limit + 1);
    const events = (await this.deps.reader.fromRefs(refs.slice(0, limit))).reverse();
    return { events, limited: refs.length > limit };
  }

  /** State of the room just before `ev`. */
  private async stateBefore(ev: StoredEvent): Promise<StateMap> {
    if (ev.snapshotNid === null) return new Map();
    const after = await this.deps.stateStore.stateOfSnapshot(ev.snapshotNid);
    if (ev.pdu.state_key === undefined) return after;
    const key = stateKeyOf(ev.pdu.type, ev.pdu.state_key);
    if (after.get(key) !== ev.eventId) return after;
    const before = new Map(after);
    const replaces = ev.pdu.unsigned?.replaces_state;
    if (typeof replaces === 'string') before.set(key, replaces);
    else before.delete(key);
    return before;
  }

  /** State after the last event at or before `pos`. */
  private async stateAt(roomId: string, pos: number): Promise<StateMap> {
    const [row] = await this.deps.events.roomTimelineDesc(roomId, 0, pos, 1);
    if (!row || row.state_snapshot_nid === null) return new Map();
    return this.deps.stateStore.stateOfSnapshot(Number(row.state_snapshot_nid));
  }

  private async eventsOf(state: StateMap): Promise<StoredEvent[]> {
    const events = await this.deps.reader.getEvents(state.values());
    return [...state.values()].map((id) => events.get(id)).filter((e): e is StoredEvent => !!e);
  }

  private async strippedState(roomId: string, membershipEventId: string): Promise<Array<Record<string, unknown>>> {
    const state = await this.deps.currentState.get(roomId);
    const out: Array<Record<string, unknown>> = [];
    const strip = (pdu: PDU) => ({ type: pdu.type, state_key: pdu.state_key, content: pdu.content, sender: pdu.sender });
    for (const type of STRIPPED_STATE_TYPES) {
      const ev = state.get(stateKeyOf(type, ''));
      if (ev) out.push(strip(ev.pdu));
    }
    const own = await this.deps.reader.getEvent(membershipEventId);
    if (own) out.push(strip(own.pdu));
    return out;
  }

  private async summary(roomId: string, userId: string): Promise<Record<string, unknown>> {
    const state = await this.deps.currentState.get(roomId);
    let joined = 0;
    let invited = 0;
    const heroes: string[] = [];
    for (const [key, ev] of state) {
      if (!key.startsWith('m.room.member\u0000')) continue;
      const m = ev.pdu.content.membership;
      if (m === 'join') joined++;
      else if (m === 'invite') invited++;
      if ((m === 'join' || m === 'invite') && ev.pdu.state_key !== userId && heroes.length < 5) heroes.push(ev.pdu.state_key!);
    }
    return { 'm.heroes': heroes.sort(), 'm.joined_member_count': joined, 'm.invited_member_count': invited };
  }
}

export type { ClientEvent };
