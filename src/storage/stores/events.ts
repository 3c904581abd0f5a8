// Queries on room events. Rows hold the PDU as JSON text; parsing happens in services.
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';
import { prepare } from '../prepared.ts';
import type { Engine } from '../database.ts';

export type EventRow = Selectable<DB['events']>;

/** Enough of an event row to find the event in a cache and know the cached copy is current. */
export type EventRef = Pick<EventRow, 'event_id' | 'redacted_by'>;

/**
 * An event row as the persister writes it (redactions arrive later, through markRedacted; the
 * search mark through the search index's write hook, stores/search.ts).
 */
export type NewEventRow = Omit<Insertable<DB['events']>, 'event_nid' | 'redacted_by' | 'searchable'>;

/** The client transaction ID a local event was sent with (`event_txns`, unique per device). */
export type EventTxnRow = {
  user_id: string;
  device_id: string;
  txn_id: string;
  created_ts: number;
};

/** The arguments of the PostgreSQL statement that writes an event with its edges and txn ID. */
type InsertAllArgs = Required<NewEventRow> & { prev: string[]; txnUser?: string; txnDevice?: string; txnTxnId?: string; txnTs?: number };

export class EventStore {
  /** The statements of every send and every woken /sync, compiled once (../prepared.ts). */
  private readonly q: ReturnType<typeof preparedQueries>;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly engine: Engine,
  ) {
    this.q = preparedQueries(db);
  }

  /**
   * Writes an event, its edges to its prev events and, for a client's send, its transaction ID
   * (under a unique key: a repeated ID fails the insert, and with it the transaction). On
   * PostgreSQL this is one statement (data-modifying CTEs), one round trip instead of three;
   * SQLite has no round trips and runs the three statements.
   */
  async insert(row: NewEventRow, prevEventIds: string[], trx: Kysely<DB>, txn?: EventTxnRow): Promise<number> {
    if (this.engine === 'postgres') {
      const inserted = await this.q.insertAll.executeTakeFirst(
        {
          ...(row as Required<NewEventRow>),
          prev: prevEventIds,
          txnUser: txn?.user_id,
          txnDevice: txn?.device_id,
          txnTxnId: txn?.txn_id,
          txnTs: txn?.created_ts,
        },
        trx,
      );
      return Number(inserted!.event_nid);
    }
    const inserted = await this.q.insert.executeTakeFirst(row as Required<NewEventRow>, trx);
    const nid = Number(inserted!.event_nid);
    if (prevEventIds.length > 0) await this.q.insertEdges.run({ nid, prev: prevEventIds }, trx);
    if (txn) await this.q.insertTxn.run({ ...txn, event_id: row.event_id, room_id: row.room_id }, trx);
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

  /**
   * The IDs (and redaction marks) of what `roomTimelineDesc` returns: for callers that parse
   * events through the reader's cache, which a woken /sync nearly always hits, so the JSON
   * text of every row need not be read and copied for each of a room's waiting clients.
   */
  roomTimelineRefsDesc(roomId: string, from: number, to: number, limit: number): Promise<EventRef[]> {
    return this.q.timelineRefs.execute({ roomId, from, to, limit });
  }

  /** Served events of a room with stream positions in (from, to], oldest first. */
  roomTimelineAsc(roomId: string, from: number, to: number, limit: number): Promise<EventRow[]> {
    return this.roomTimeline(roomId, from, to, limit, 'asc');
  }

  private roomTimeline(roomId: string, from: number, to: number, limit: number, order: 'asc' | 'desc'): Promise<EventRow[]> {
    return this.q.timeline[order].execute({ roomId, from, to, limit });
  }

  /** Rooms (among those given) that have served events in (from, to]. */
  async roomsWithEventsBetween(roomIds: readonly string[], from: number, to: number): Promise<Set<string>> {
    if (roomIds.length === 0 || from >= to) return new Set();
    const rows = await this.q.roomsWithEventsBetween.execute({ roomIds, from, to });
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

function preparedQueries(db0: Kysely<DB>) {
  return {
    insert: prepare(db0, (db, row: Required<NewEventRow>) => db.insertInto('events').values({ ...row, redacted_by: null }).returning('event_nid')),
    insertEdges: prepare(db0, (db, a: { nid: number; prev: string[] }) => db.insertInto('event_edges').values(a.prev.map((p) => ({ event_nid: a.nid, prev_event_id: p })))),
    insertTxn: prepare(db0, (db, row: EventTxnRow & { event_id: string; room_id: string }) => db.insertInto('event_txns').values(row)),
    insertAll: prepare(db0, insertAllQuery),
    timeline: {
      asc: prepare(db0, (db, a: { roomId: string; from: number; to: number; limit: number }) => roomTimelineQuery(db, a, 'asc')),
      desc: prepare(db0, (db, a: { roomId: string; from: number; to: number; limit: number }) => roomTimelineQuery(db, a, 'desc')),
    },
    timelineRefs: prepare(db0, (db, a: { roomId: string; from: number; to: number; limit: number }) =>
      roomTimelineQuery(db, a, 'desc').clearSelect().select(['event_id', 'redacted_by']),
    ),
    roomsWithEventsBetween: prepare(db0, (db, a: { roomIds: readonly string[]; from: number; to: number }) =>
      db.selectFrom('events').select('room_id').distinct().where('room_id', 'in', a.roomIds).where('stream_pos', '>', a.from).where('stream_pos', '<=', a.to),
    ),
  };
}

/**
 * PostgreSQL: the event row, its edges (which need the row's new nid) and its transaction ID in
 * one statement. One variant per prev event count, with and without a transaction ID.
 */
function insertAllQuery(db: Kysely<DB>, a: InsertAllArgs) {
  const { prev, txnUser, txnDevice, txnTxnId, txnTs, ...row } = a;
  const withEvent = db.with('e', (d) => d.insertInto('events').values({ ...row, redacted_by: null }).returning('event_nid'));
  // The further CTEs add tables nobody reads: the type stays that of the first.
  let q = withEvent;
  if (prev.length > 0) {
    q = q.with('ed', (d) =>
      d.insertInto('event_edges').values(prev.map((p) => ({ event_nid: d.selectFrom('e').select('e.event_nid'), prev_event_id: p }))),
    ) as unknown as typeof withEvent;
  }
  if (txnUser !== undefined) {
    q = q.with('t', (d) =>
      d.insertInto('event_txns').values({ user_id: txnUser, device_id: txnDevice!, txn_id: txnTxnId!, event_id: row.event_id, room_id: row.room_id, created_ts: txnTs! }),
    ) as unknown as typeof withEvent;
  }
  return q.selectFrom('e').select('e.event_nid');
}

function roomTimelineQuery(db: Kysely<DB>, a: { roomId: string; from: number; to: number; limit: number }, order: 'asc' | 'desc') {
  return db
    .selectFrom('events')
    .selectAll()
    .where('room_id', '=', a.roomId)
    .where('stream_pos', '>', a.from)
    .where('stream_pos', '<=', a.to)
    .where('soft_failed', '=', 0)
    .orderBy('stream_pos', order)
    .limit(a.limit);
}
