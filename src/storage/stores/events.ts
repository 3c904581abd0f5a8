// Queries on room events. Rows hold the PDU as JSON text; parsing happens in services.
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type EventRow = Selectable<DB['events']>;

/** An event row as the persister writes it (redactions arrive later, through markRedacted). */
export type NewEventRow = Omit<Insertable<DB['events']>, 'event_nid' | 'redacted_by'>;

export class EventStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: NewEventRow, prevEventIds: string[], trx: Kysely<DB>): Promise<number> {
    const inserted = await trx.insertInto('events').values({ ...row, redacted_by: null }).returning('event_nid').executeTakeFirstOrThrow();
    const nid = Number(inserted.event_nid);
    if (prevEventIds.length > 0) {
      await trx.insertInto('event_edges').values(prevEventIds.map((p) => ({ event_nid: nid, prev_event_id: p }))).execute();
    }
    return nid;
  }

  byIds(eventIds: readonly string[], trx: Kysely<DB> = this.db): Promise<EventRow[]> {
    if (eventIds.length === 0) return Promise.resolve([]);
    return trx.selectFrom('events').selectAll().where('event_id', 'in', eventIds).execute();
  }

  byNids(nids: readonly number[], trx: Kysely<DB> = this.db): Promise<EventRow[]> {
    if (nids.length === 0) return Promise.resolve([]);
    return trx.selectFrom('events').selectAll().where('event_nid', 'in', nids).execute();
  }

  async nidsOf(eventIds: readonly string[], trx: Kysely<DB> = this.db): Promise<Map<string, number>> {
    if (eventIds.length === 0) return new Map();
    const rows = await trx.selectFrom('events').select(['event_id', 'event_nid']).where('event_id', 'in', eventIds).execute();
    return new Map(rows.map((r) => [r.event_id, Number(r.event_nid)]));
  }

  async setSnapshot(eventNid: number, snapshotNid: number, trx: Kysely<DB>): Promise<void> {
    await trx.updateTable('events').set({ state_snapshot_nid: snapshotNid }).where('event_nid', '=', eventNid).execute();
  }

  async markRedacted(targetEventId: string, redactionEventId: string, trx: Kysely<DB>): Promise<void> {
    await trx.updateTable('events').set({ redacted_by: redactionEventId }).where('event_id', '=', targetEventId).where('redacted_by', 'is', null).execute();
  }

  /** Served events of a room with stream positions in (from, to], newest first. */
  roomTimelineDesc(roomId: string, from: number, to: number, limit: number): Promise<EventRow[]> {
    return this.roomTimeline(roomId, from, to, limit, 'desc');
  }

  /** Served events of a room with stream positions in (from, to], oldest first. */
  roomTimelineAsc(roomId: string, from: number, to: number, limit: number): Promise<EventRow[]> {
    return this.roomTimeline(roomId, from, to, limit, 'asc');
  }

  private roomTimeline(roomId: string, from: number, to: number, limit: number, order: 'asc' | 'desc'): Promise<EventRow[]> {
    return this.db
      .selectFrom('events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .where('soft_failed', '=', 0)
      .orderBy('stream_pos', order)
      .limit(limit)
      .execute();
  }

  /** Rooms (among those given) that have served events in (from, to]. */
  async roomsWithEventsBetween(roomIds: readonly string[], from: number, to: number): Promise<Set<string>> {
    if (roomIds.length === 0 || from >= to) return new Set();
    const rows = await this.db
      .selectFrom('events')
      .select('room_id')
      .distinct()
      .where('room_id', 'in', roomIds)
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .execute();
    return new Set(rows.map((r) => r.room_id));
  }

  /**
   * Served events of a room nearest to a timestamp: the earliest at or after `ts` (dir "f") or
   * the latest at or before it (dir "b"), closest first (/timestamp_to_event).
   */
  roomEventsNearTimestamp(roomId: string, ts: number, dir: 'f' | 'b', limit: number): Promise<EventRow[]> {
    return this.db
      .selectFrom('events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('origin_server_ts', dir === 'f' ? '>=' : '<=', ts)
      .where('stream_pos', 'is not', null)
      .where('soft_failed', '=', 0)
      .orderBy('origin_server_ts', dir === 'f' ? 'asc' : 'desc')
      .orderBy('stream_pos', dir === 'f' ? 'asc' : 'desc')
      .limit(limit)
      .execute();
  }
}
