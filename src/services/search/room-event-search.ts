// POST /search, category room_events (client-server "Server Side Search").
//
// Which events: those of rooms the user is in or has been in (not forgotten), up to their
// departure for rooms they left, and then only what history visibility lets them see. The
// index query narrows by room, position, sender and exact type in SQL; wildcard types,
// contains_url and visibility are applied here, batch by batch, until a page is full.
//
// Pagination: `recent` pages by stream position, `rank` by offset into the ranked list. The
// cursor records how far the scan got (not how many results were returned), so events hidden
// by visibility are never re-read and never counted twice.
import { MatrixError } from '../../core/errors.ts';
import { eventMatchesFilter, type RoomEventFilter } from '../../core/filter.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import type { EventStore } from '../../storage/stores/events.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { searchValueOf, type SearchQuery, type SearchStore } from '../../storage/stores/search.ts';
import type { EventReader, StoredEvent } from '../rooms/event-reader.ts';
import type { ClientEvent } from '../rooms/client-event.ts';
import type { Reader, RoomReads } from '../rooms/room-reads.ts';
import type { VisibilityFilter } from '../rooms/visibility.ts';
import { positionToken } from '../sync/rooms-provider.ts';
import { decodeCursor, encodeCursor, highlightsFor, searchTokens, type GroupScope, type SearchCursor, type SearchOrder } from './search-terms.ts';

export const SEARCH_KEYS = ['content.body', 'content.name', 'content.topic'] as const;
export type SearchKey = (typeof SEARCH_KEYS)[number];

export interface RoomEventsCriteria {
  search_term: string;
  keys?: SearchKey[];
  filter?: RoomEventFilter;
  order_by?: SearchOrder;
  event_context?: { before_limit?: number; after_limit?: number; include_profile?: boolean };
  include_state?: boolean;
  groupings?: { group_by?: Array<{ key?: 'room_id' | 'sender' }> };
}

export interface SearchResult {
  rank: number;
  result: ClientEvent;
  context?: {
    start: string;
    end: string;
    events_before: ClientEvent[];
    events_after: ClientEvent[];
    profile_info?: Record<string, { displayname?: string; avatar_url?: string }>;
  };
}

export interface RoomEventsResults {
  count: number;
  highlights: string[];
  results: SearchResult[];
  next_batch?: string;
  state?: Record<string, ClientEvent[]>;
  groups?: Record<string, Record<string, { results: string[]; order: number; next_batch?: string }>>;
}

export interface RoomEventSearchDeps {
  store: Pick<SearchStore, 'search' | 'count' | 'flushPending'>;
  rooms: Pick<RoomStore, 'roomsOfUser' | 'isForgotten'>;
  events: Pick<EventStore, 'roomTimelineDesc' | 'roomTimelineAsc'>;
  reader: Pick<EventReader, 'getEvents' | 'fromRows'>;
  visibility: Pick<VisibilityFilter, 'filterEventsForUser'>;
  reads: Pick<RoomReads, 'serialize' | 'stateAfter' | 'stateFor' | 'accessOf'>;
  currentPosition(): number;
}

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
const DEFAULT_CONTEXT = 5;
const MAX_CONTEXT = 100;
/** Index rows one request may scan past visibility checks before it answers with what it has. */
const MAX_SCAN = 2000;
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

export class RoomEventSearch {
  constructor(private readonly deps: RoomEventSearchDeps) {}

  async searchRoomEvents(reader: Reader, criteria: RoomEventsCriteria, nextBatch?: string): Promise<RoomEventsResults> {
    const order: SearchOrder = criteria.order_by ?? 'rank';
    const cursor: SearchCursor = nextBatch !== undefined ? decodeCursor(nextBatch) : { order, position: order === 'rank' ? 0 : UNBOUNDED };
    if (cursor.order !== order) throw new MatrixError('M_INVALID_PARAM', 'next_batch belongs to a search with another order_by');
    const filter = criteria.filter;
    const limit = Math.min(filter?.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    const tokens = searchTokens(criteria.search_term);
    const empty: RoomEventsResults = { count: 0, highlights: [], results: [] };
    if (tokens.length === 0) return empty;

    const query = await this.baseQuery(reader.userId, criteria, tokens, cursor.group);
    if (query.rooms.length === 0) return empty;
    // Events marked by recent sends join the index first (SQLite; see the indexer).
    await this.deps.store.flushPending();
    const count = await this.deps.store.count(query);

    // Scan the index in batches until the page is full or the matches run out.
    const found: Array<{ ev: StoredEvent; rank: number }> = [];
    let position = cursor.position;
    let exhausted = limit === 0;
    let scanned = 0;
    // Rows consumed per group value, for ranked groups' next_batch offsets (see groupsOf).
    const consumedIn = { room_id: new Map<string, number>(), sender: new Map<string, number>() };
    while (found.length < limit) {
      const batchSize = Math.min(Math.max(2 * (limit - found.length), 20), 200);
      const rows = await this.deps.store.search({
        ...query,
        beforePos: order === 'recent' ? position : undefined,
        offset: order === 'rank' ? position : undefined,
        limit: batchSize,
      });
      const batch = this.deps.reader.fromRows(rows);
      const candidates = batch.filter((ev) => !ev.redactedBy && matchesFilter(filter, ev));
      const visible = new Set((await this.deps.visibility.filterEventsForUser(reader.userId, candidates)).map((e) => e.eventId));
      let consumed = 0;
      for (let i = 0; i < batch.length && found.length < limit; i++, consumed++) {
        const ev = batch[i];
        position = order === 'recent' ? ev.streamPos! : position + 1;
        consumedIn.room_id.set(ev.roomId, (consumedIn.room_id.get(ev.roomId) ?? 0) + 1);
        consumedIn.sender.set(ev.pdu.sender, (consumedIn.sender.get(ev.pdu.sender) ?? 0) + 1);
        if (visible.has(ev.eventId)) found.push({ ev, rank: rows[i].search_rank });
      }
      scanned += rows.length;
      if (rows.length < batchSize && consumed === batch.length) {
        exhausted = true;
        break;
      }
      if (scanned >= MAX_SCAN) break;
    }

    const response: RoomEventsResults = { count, highlights: [], results: [] };
    const next = exhausted ? undefined : encodeCursor({ order, position, group: cursor.group });
    if (next !== undefined) response.next_batch = next;

    for (const { ev, rank } of found) {
      const [result] = await this.deps.reads.serialize(reader, ev.roomId, [ev]);
      const item: SearchResult = { rank, result };
      if (criteria.event_context) item.context = await this.contextOf(reader, ev, criteria.event_context);
      response.results.push(item);
    }
    response.highlights = highlightsFor(
      tokens,
      found.map(({ ev }) => searchValueOf(ev.pdu.type, ev.pdu.content)?.value ?? ''),
    );
    if (criteria.include_state) response.state = await this.stateOfRooms(reader, found.map(({ ev }) => ev.roomId));
    const groupBy = criteria.groupings?.group_by?.map((g) => g.key).filter((k): k is GroupScope['key'] => k === 'room_id' || k === 'sender') ?? [];
    if (groupBy.length > 0) {
      const nextInGroup = (scope: GroupScope): string | undefined => {
        if (exhausted) return undefined;
        // By recency a stream position means the same inside and outside a group.
        if (order === 'recent') return encodeCursor({ order, position, group: scope });
        // By rank the cursor is an offset into one list: the group's own list starts over, so
        // its offset is known only if this scan started at the top of the ranked list, or
        // was already inside that very group.
        if (cursor.group) return cursor.group.key === scope.key && cursor.group.value === scope.value ? next : undefined;
        return cursor.position === 0 ? encodeCursor({ order, position: consumedIn[scope.key].get(scope.value) ?? 0, group: scope }) : undefined;
      };
      response.groups = this.groupsOf(groupBy, found.map(({ ev }) => ev), nextInGroup);
    }
    return response;
  }

  /** The index query without pagination: rooms and their bounds, senders, exact types. */
  private async baseQuery(userId: string, criteria: RoomEventsCriteria, tokens: string[], group: GroupScope | undefined): Promise<SearchQuery> {
    const filter = criteria.filter;
    const memberships = await this.deps.rooms.roomsOfUser(userId, ['join', 'leave', 'ban']);
    const departures = await this.deps.reader.getEvents(memberships.filter((m) => m.membership !== 'join').map((m) => m.event_id));
    const rooms: Array<{ roomId: string; maxPos: number }> = [];
    for (const m of memberships) {
      if (filter?.rooms && !filter.rooms.includes(m.room_id)) continue;
      if (filter?.not_rooms?.includes(m.room_id)) continue;
      if (group?.key === 'room_id' && group.value !== m.room_id) continue;
      if (m.membership === 'join') {
        rooms.push({ roomId: m.room_id, maxPos: UNBOUNDED });
        continue;
      }
      const departure = departures.get(m.event_id);
      if (!departure || departure.streamPos === null) continue;
      if (await this.deps.rooms.isForgotten(userId, m.room_id)) continue;
      rooms.push({ roomId: m.room_id, maxPos: departure.streamPos });
    }
    const exactTypes = filter?.types && !filter.types.some((t) => t.includes('*')) ? filter.types : undefined;
    let senders = filter?.senders;
    if (group?.key === 'sender') senders = senders ? senders.filter((s) => s === group.value) : [group.value];
    return {
      tokens,
      keys: criteria.keys && criteria.keys.length > 0 ? criteria.keys : SEARCH_KEYS,
      rooms,
      senders,
      notSenders: filter?.not_senders,
      types: exactTypes,
      notTypes: filter?.not_types?.filter((t) => !t.includes('*')),
      order: criteria.order_by ?? 'rank',
      limit: 0,
    };
  }

  /** Events around a result, oldest first on both sides, with history visibility applied. */
  private async contextOf(reader: Reader, ev: StoredEvent, opts: NonNullable<RoomEventsCriteria['event_context']>): Promise<NonNullable<SearchResult['context']>> {
    const beforeLimit = Math.min(opts.before_limit ?? DEFAULT_CONTEXT, MAX_CONTEXT);
    const afterLimit = Math.min(opts.after_limit ?? DEFAULT_CONTEXT, MAX_CONTEXT);
    const pos = ev.streamPos!;
    const beforeRows = beforeLimit > 0 ? await this.deps.events.roomTimelineDesc(ev.roomId, 0, pos - 1, beforeLimit) : [];
    const afterRows = afterLimit > 0 ? await this.deps.events.roomTimelineAsc(ev.roomId, pos, this.deps.currentPosition(), afterLimit) : [];
    const before = (await this.deps.visibility.filterEventsForUser(reader.userId, this.deps.reader.fromRows(beforeRows))).reverse();
    const after = await this.deps.visibility.filterEventsForUser(reader.userId, this.deps.reader.fromRows(afterRows));
    const context: NonNullable<SearchResult['context']> = {
      // Same tokens as /context: they bracket what was scanned, for /messages to continue from.
      start: positionToken((beforeRows.length > 0 ? Number(beforeRows[beforeRows.length - 1].stream_pos) : pos) - 1),
      end: positionToken(afterRows.length > 0 ? Number(afterRows[afterRows.length - 1].stream_pos) : pos),
      events_before: await this.deps.reads.serialize(reader, ev.roomId, before),
      events_after: await this.deps.reads.serialize(reader, ev.roomId, after),
    };
    if (opts.include_profile) {
      // "Historic" profiles: the senders' membership events in the state at the result.
      const state = await this.deps.reads.stateAfter(ev);
      const profiles: Record<string, { displayname?: string; avatar_url?: string }> = {};
      for (const sender of new Set([ev, ...before, ...after].map((e) => e.pdu.sender))) {
        const content = state.get(stateKeyOf('m.room.member', sender))?.pdu.content;
        const profile: { displayname?: string; avatar_url?: string } = {};
        if (typeof content?.displayname === 'string') profile.displayname = content.displayname;
        if (typeof content?.avatar_url === 'string') profile.avatar_url = content.avatar_url;
        profiles[sender] = profile;
      }
      context.profile_info = profiles;
    }
    return context;
  }

  /** State of each room in the results: current, or as of the user's departure. */
  private async stateOfRooms(reader: Reader, roomIds: string[]): Promise<Record<string, ClientEvent[]>> {
    const out: Record<string, ClientEvent[]> = {};
    for (const roomId of new Set(roomIds)) {
      try {
        const state = await this.deps.reads.stateFor(roomId, await this.deps.reads.accessOf(roomId, reader.userId));
        out[roomId] = await this.deps.reads.serialize(reader, roomId, [...state.values()]);
      } catch {
        // No longer readable (e.g. membership changed since the results were read): no state.
      }
    }
    return out;
  }

  /** Groups in order of first appearance; a group's next_batch continues within that group. */
  private groupsOf(
    keys: Array<GroupScope['key']>,
    events: StoredEvent[],
    nextInGroup: (scope: GroupScope) => string | undefined,
  ): NonNullable<RoomEventsResults['groups']> {
    const groups: NonNullable<RoomEventsResults['groups']> = {};
    for (const key of keys) {
      const byValue: Record<string, { results: string[]; order: number; next_batch?: string }> = {};
      let order = 0;
      for (const ev of events) {
        const value = key === 'room_id' ? ev.roomId : ev.pdu.sender;
        let group = byValue[value];
        if (!group) {
          group = byValue[value] = { results: [], order: ++order };
          const next = nextInGroup({ key, value });
          if (next !== undefined) group.next_batch = next;
        }
        group.results.push(ev.eventId);
      }
      groups[key] = byValue;
    }
    return groups;
  }
}

function matchesFilter(filter: RoomEventFilter | undefined, ev: StoredEvent): boolean {
  return eventMatchesFilter(filter, { type: ev.pdu.type, sender: ev.pdu.sender, room_id: ev.roomId, content: ev.pdu.content });
}
