// Reading a room's timeline (client-server "Getting events for a room": /messages, /context,
// /timestamp_to_event), ordered by stream position, with history visibility applied.
//
// Tokens are stream positions "sN", meaning "between position N and N+1" — the same tokens
// /sync hands out as next_batch and prev_batch, so clients can mix them freely.
import { MatrixError } from '../../core/errors.ts';
import { eventMatchesFilter, type RoomEventFilter } from '../../core/filter.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import { positionToken } from '../sync/rooms-provider.ts';
import type { StoredEvent } from './event-reader.ts';
import type { ClientEvent } from './client-event.ts';
import type { Reader, RoomReads, StateEvents } from './room-reads.ts';

export const MAX_LIMIT = 1000;
/** Rows /messages may scan for one answer; past that it returns what it has and an `end`. */
const MAX_SCAN = 2000;

export function parsePositionToken(token: string, name: string): number {
  const m = /^s(\d{1,15})$/.exec(token);
  if (!m) throw new MatrixError('M_INVALID_PARAM', `Invalid ${name} token`);
  return Number(m[1]);
}

export interface MessagesRequest {
  dir: 'b' | 'f';
  from?: string;
  to?: string;
  limit: number;
  filter?: RoomEventFilter;
}

export interface MessagesResponse {
  start: string;
  end?: string;
  chunk: ClientEvent[];
  state?: ClientEvent[];
}

export interface ContextResponse {
  start: string;
  end: string;
  events_before: ClientEvent[];
  event: ClientEvent;
  events_after: ClientEvent[];
  state: ClientEvent[];
}

export class RoomHistory {
  constructor(private readonly reads: RoomReads) {}

  private get deps() {
    return this.reads.deps;
  }

  // GET /rooms/{roomId}/messages
  async queryMessages(reader: Reader, roomId: string, req: MessagesRequest): Promise<MessagesResponse> {
    const access = await this.reads.accessOf(roomId, reader.userId);
    const upper = this.reads.upperBound(access);
    const limit = Math.min(req.limit, MAX_LIMIT);
    const fromPos = req.from !== undefined ? parsePositionToken(req.from, 'from') : req.dir === 'b' ? upper : 0;
    const toPos = req.to !== undefined ? parsePositionToken(req.to, 'to') : undefined;
    const start = req.from ?? positionToken(fromPos);

    const chunk: StoredEvent[] = [];
    let cursor = req.dir === 'b' ? Math.min(fromPos, upper) : fromPos;
    // Where this direction ends: the client's `to`, else the start of the room or what the user may see.
    const bound = req.dir === 'b' ? Math.max(toPos ?? 0, 0) : Math.min(toPos ?? upper, upper);
    let exhausted = false;
    let scanned = 0;
    while (chunk.length < limit) {
      if (req.dir === 'b' ? cursor <= bound : cursor >= bound) {
        exhausted = true;
        break;
      }
      const batchSize = Math.min(Math.max(2 * (limit - chunk.length), 20), 500);
      const rows =
        req.dir === 'b'
          ? await this.deps.events.roomTimelineDesc(roomId, bound, cursor, batchSize)
          : await this.deps.events.roomTimelineAsc(roomId, cursor, bound, batchSize);
      const batch = this.deps.reader.fromRows(rows);
      const visible = new Set((await this.deps.visibility.filterEventsForUser(reader.userId, batch)).map((e) => e.eventId));
      for (const ev of batch) {
        cursor = req.dir === 'b' ? ev.streamPos! - 1 : ev.streamPos!;
        if (visible.has(ev.eventId) && matches(req.filter, ev)) chunk.push(ev);
        if (chunk.length === limit) break;
      }
      scanned += rows.length;
      if (rows.length < batchSize && chunk.length < limit) {
        exhausted = true;
        break;
      }
      if (scanned >= MAX_SCAN) break;
    }
    // Reaching the client's own `to` is not the end of the room: hand back a token there.
    const reachedRoomEdge = exhausted && (req.dir === 'b' ? toPos === undefined || toPos <= 0 : toPos === undefined || toPos >= upper);
    const response: MessagesResponse = { start, chunk: await this.reads.serialize(reader, roomId, chunk) };
    if (!reachedRoomEdge) response.end = positionToken(exhausted ? bound : cursor);
    if (req.filter?.lazy_load_members && chunk.length > 0) {
      const newest = req.dir === 'b' ? chunk[0] : chunk[chunk.length - 1];
      const members = membersOfSenders(await this.reads.stateAfter(newest), chunk);
      response.state = await this.reads.serialize(reader, roomId, members);
    }
    return response;
  }

  // GET /rooms/{roomId}/context/{eventId}
  async queryContext(reader: Reader, roomId: string, eventId: string, limit: number, filter?: RoomEventFilter): Promise<ContextResponse> {
    await this.reads.requireRoom(roomId);
    const ev = await this.deps.reader.getEvent(eventId);
    if (!ev || ev.roomId !== roomId || !(await this.deps.visibility.canSee(reader.userId, ev))) {
      throw new MatrixError('M_NOT_FOUND', 'Event not found');
    }
    const pos = ev.streamPos!;
    const beforeLimit = Math.floor(Math.min(limit, MAX_LIMIT) / 2);
    const afterLimit = Math.min(limit, MAX_LIMIT) - beforeLimit;
    const beforeRows = beforeLimit > 0 ? await this.deps.events.roomTimelineDesc(roomId, 0, pos - 1, beforeLimit) : [];
    const afterRows = afterLimit > 0 ? await this.deps.events.roomTimelineAsc(roomId, pos, this.deps.currentPosition(), afterLimit) : [];
    const keep = async (rows: typeof beforeRows) =>
      (await this.deps.visibility.filterEventsForUser(reader.userId, this.deps.reader.fromRows(rows))).filter((e) => matches(filter, e));
    const before = await keep(beforeRows);
    const after = await keep(afterRows);

    // Tokens bracket what was scanned, so /messages continues past hidden events rather than re-reading them.
    const start = positionToken((beforeRows.length > 0 ? Number(beforeRows[beforeRows.length - 1].stream_pos) : pos) - 1);
    const end = positionToken(afterRows.length > 0 ? Number(afterRows[afterRows.length - 1].stream_pos) : pos);

    // "The state of the room at the last event returned."
    const state = await this.reads.stateAfter(after.length > 0 ? after[after.length - 1] : ev);
    let stateEvents: StoredEvent[];
    if (filter?.lazy_load_members) {
      const others = [...state.values()].filter((e) => e.pdu.type !== 'm.room.member' && matches(filter, e));
      stateEvents = [...others, ...membersOfSenders(state, [...before, ev, ...after])];
    } else {
      stateEvents = [...state.values()].filter((e) => matches(filter, e));
    }

    return {
      start,
      end,
      events_before: await this.reads.serialize(reader, roomId, before),
      event: (await this.reads.serialize(reader, roomId, [ev]))[0],
      events_after: await this.reads.serialize(reader, roomId, after),
      state: await this.reads.serialize(reader, roomId, stateEvents),
    };
  }

  // GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event
  async queryTimestampToEvent(reader: Reader, roomId: string, ts: number, dir: 'f' | 'b'): Promise<{ event_id: string; origin_server_ts: number }> {
    await this.reads.accessOf(roomId, reader.userId);
    // The nearest candidates; the first the user may see wins.
    const rows = await this.deps.events.roomEventsNearTimestamp(roomId, ts, dir, 200);
    const [found] = await this.deps.visibility.filterEventsForUser(reader.userId, this.deps.reader.fromRows(rows));
    if (found) return { event_id: found.eventId, origin_server_ts: found.pdu.origin_server_ts };
    throw new MatrixError('M_NOT_FOUND', 'No event found in that direction');
  }
}

function matches(filter: RoomEventFilter | undefined, ev: StoredEvent): boolean {
  return eventMatchesFilter(filter, { type: ev.pdu.type, sender: ev.pdu.sender, room_id: ev.roomId, content: ev.pdu.content });
}

/** Lazy-loading members: the membership events of the senders of `events`, from `state`. */
function membersOfSenders(state: StateEvents, events: readonly StoredEvent[]): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const sender of new Set(events.map((e) => e.pdu.sender))) {
    const member = state.get(stateKeyOf('m.room.member', sender));
    if (member) out.push(member);
  }
  return out;
}
