// Queries on push actions (/notifications) and on the unread counters kept beside them.
//
// Layout (migrations 0120, 0170): `event_push_actions` is keyed by `rid`, the event's stream
// position × 2^20 + the row's number among the event's rows. Stream positions only grow, so the
// rows of one event are adjacent and land on the last page of the table, whatever the member
// count (keyed by user, as before 0120, each member's row went to another page, and every dirty
// page costs at commit); one integer key makes it a rowid table on SQLite, which appends
// without rebalancing (0170 says how much that saves). The row keeps only what cannot be
// derived: the position is rid / 2^20, the event ID, room and timestamp are read from `events`
// by stream position, and the actions are NULL for the common `["notify"]`. Per-room reads go
// through `events` (index events_room_stream) and read each event's rows by their rid range.
//
// `event_push_counts` holds the unread counts /sync serves, keyed (room, user, thread): one
// event's increments touch the room's few adjacent rows, and a sync reads a room with one
// lookup instead of counting actions since the last receipt.
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';
import { prepare } from '../prepared.ts';
import type { Engine } from '../database.ts';

/** One user's push action for an event written at a stream position. */
export interface PushActionInsert {
  user_id: string;
  thread_id: string;
  notify: number;
  highlight: number;
  /** JSON of the matched rule's actions. */
  actions: string;
}

/** A push action with the event it is for, as /notifications lists it. */
export interface NotificationRow {
  event_stream_pos: number;
  event_id: string;
  room_id: string;
  thread_id: string;
  highlight: number;
  actions: string;
  ts: number;
}

export interface UnreadCounts {
  thread_id: string;
  notifications: number;
  highlights: number;
}

/** rid = stream position × ROWS_PER_POSITION + the row's number among its event's rows. */
export const ROWS_PER_POSITION = 1_048_576;
/** Positions up to here have exact rids in JavaScript numbers (2^33 × 2^20 = 2^53). */
const MAX_POSITION = 2 ** 33;

/** The event's stream position of a push action row (`a`), as SQL. */
export const positionOfRow = sql<number>`a.rid / ${sql.lit(ROWS_PER_POSITION)}`;

type EventAndActions = ExpressionBuilder<DB & { e: DB['events']; a: DB['event_push_actions'] }, 'e' | 'a'>;

/**
 * The push actions (`a`) of the event (`e`): a range of the key, on SQLite of the rowid, on
 * PostgreSQL of the primary key's index. For a WHERE (a cross join) or a join's ON.
 */
function rowsOfEvent(eb: EventAndActions) {
  return eb.and([
    eb('a.rid', '>=', sql<number>`e.stream_pos * ${sql.lit(ROWS_PER_POSITION)}`),
    eb('a.rid', '<', sql<number>`(e.stream_pos + 1) * ${sql.lit(ROWS_PER_POSITION)}`),
  ]);
}

/** Stored as NULL: the actions of the default message rules, by far the most common. */
const DEFAULT_ACTIONS = '["notify"]';
const INSERT_CHUNK = 100;
/** /notifications scans positions newest first in windows that grow by this factor. */
const FIRST_WINDOW = 4096;
const WINDOW_GROWTH = 4;

/**
 * Whether a transaction failed on a PostgreSQL deadlock (SQLSTATE 40P01), which is safe to
 * retry. A message group commit raises the counters of one user in several threads in event
 * order, while a receipt lowers them in its own order: rarely, each waits for a row the other
 * holds, and PostgreSQL aborts one of them. (SQLite has one writer: no deadlock.)
 */
export function isDeadlock(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40P01';
}

export class PushActionStore {
  /** Written with every message and read by every /sync (../prepared.ts). */
  private readonly q: ReturnType<typeof preparedQueries>;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly engine: Engine,
  ) {
    this.q = preparedQueries(db);
  }

  /**
   * An event's push actions and the unread counters they raise (each row counts its notify and
   * highlight for its user and thread). On PostgreSQL one statement — the counters are raised
   * from the rows the actions insert returns — instead of two round trips; SQLite (no round
   * trips) runs `insert` and `addCounts`.
   */
  async write(roomId: string, streamPos: number, rows: readonly PushActionInsert[], trx: Kysely<DB>): Promise<void> {
    if (rows.length === 0) return;
    if (this.engine === 'postgres' && rows.length <= INSERT_CHUNK) {
      await this.q.insertCounting.run({ roomId, ...this.columns(streamPos, rows) }, trx);
      return;
    }
    await this.insert(streamPos, rows, trx);
    await this.addCounts(
      roomId,
      rows.map((r) => ({ user_id: r.user_id, thread_id: r.thread_id, notifications: r.notify, highlights: r.highlight })),
      trx,
    );
  }

  async insert(streamPos: number, rows: readonly PushActionInsert[], trx: Kysely<DB>): Promise<void> {
    // One statement per chunk of rows: compiled once per distinct row count.
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await this.q.insert.run(this.columns(streamPos, rows.slice(i, i + INSERT_CHUNK), i), trx);
    }
  }

  /** The rows column by column (the arguments of the insert statements); `first`: the number of the first among its event's rows. */
  private columns(pos: number, rows: readonly PushActionInsert[], first = 0): ActionColumns {
    if (first + rows.length > ROWS_PER_POSITION) throw new Error(`an event notifies more than ${ROWS_PER_POSITION} members`);
    if (pos >= MAX_POSITION) throw new Error(`stream position ${pos} is past what push action keys can hold`);
    const base = pos * ROWS_PER_POSITION + first;
    return {
      rid: rows.map((_, i) => base + i),
      user_id: rows.map((r) => r.user_id),
      thread_id: rows.map((r) => r.thread_id),
      notify: rows.map((r) => r.notify),
      highlight: rows.map((r) => r.highlight),
      actions: rows.map((r) => (r.actions === DEFAULT_ACTIONS ? null : r.actions)),
    };
  }

  /** Adds to the unread counters of a room (rows are created at the first unread action). */
  async addCounts(roomId: string, counts: ReadonlyArray<{ user_id: string } & UnreadCounts>, trx: Kysely<DB>): Promise<void> {
    for (let i = 0; i < counts.length; i += INSERT_CHUNK) {
      const chunk = counts.slice(i, i + INSERT_CHUNK);
      await this.q.addCounts.run(
        {
          roomId,
          user_id: chunk.map((c) => c.user_id),
          thread_id: chunk.map((c) => c.thread_id),
          notifications: chunk.map((c) => c.notifications),
          highlights: chunk.map((c) => c.highlights),
        },
        trx,
      );
    }
  }

  /**
   * Subtracts from a user's counters in a room (actions that became read). Relative updates,
   * so a concurrent event's increment is never lost; counters that reach zero are deleted.
   */
  async subtractCounts(userId: string, roomId: string, counts: readonly UnreadCounts[], trx: Kysely<DB>): Promise<void> {
    if (counts.length === 0) return;
    for (const c of counts) {
      await this.q.subtract.run({ userId, roomId, threadId: c.thread_id, notifications: c.notifications, highlights: c.highlights }, trx);
    }
    await this.q.deleteZero.run({ userId, roomId }, trx);
  }

  /**
   * What expired unread (migration 0180) that a read receipt at `upToPos` now covers: the
   * user's rows in the room whose newest position is at or before it, in every thread
   * (`threadId` undefined, an unthreaded receipt) or in one ('' = main timeline). Deletes them and
   * returns their counts, to be taken off the counters in the same transaction.
   */
  async takeExpiredCoveredBy(userId: string, roomId: string, threadId: string | undefined, upToPos: number, trx: Kysely<DB>): Promise<UnreadCounts[]> {
    let covered = trx
      .deleteFrom('event_push_expired')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('through_pos', '<=', upToPos);
    if (threadId !== undefined) covered = covered.where('thread_id', '=', threadId);
    const rows = await covered.returning(['thread_id', 'notifications', 'highlights']).execute();
    return rows.map((r) => ({ thread_id: r.thread_id, notifications: Number(r.notifications), highlights: Number(r.highlights) }));
  }

  /** The user's unread counters in a room, per thread. */
  async counts(userId: string, roomId: string): Promise<UnreadCounts[]> {
    const rows = await this.q.counts.execute({ userId, roomId });
    return rows.map((r) => ({ thread_id: r.thread_id, notifications: Number(r.notifications), highlights: Number(r.highlights) }));
  }

  /**
   * Every user's unread counters in a room, at most `limit` rows (the /sync fan-out reads a room
   * once for all its woken members: services/sync/unread-memo.ts).
   */
  async roomCounts(roomId: string, limit: number): Promise<Array<UnreadCounts & { user_id: string }>> {
    const rows = await this.q.roomCounts.execute({ roomId, limit });
    return rows.map((r) => ({ user_id: r.user_id, thread_id: r.thread_id, notifications: Number(r.notifications), highlights: Number(r.highlights) }));
  }

  /** The user's actions in a room at positions in (afterPos, upToPos]. */
  async actionsBetween(
    userId: string,
    roomId: string,
    afterPos: number,
    upToPos: number,
    trx: Kysely<DB> = this.db,
  ): Promise<Array<{ event_stream_pos: number; thread_id: string; notify: number; highlight: number }>> {
    const rows = await this.q.between.execute({ userId, roomId, afterPos, upToPos }, trx);
    return rows.map((r) => ({ event_stream_pos: Number(r.event_stream_pos), thread_id: r.thread_id, notify: Number(r.notify), highlight: Number(r.highlight) }));
  }

  /**
   * Newest first, before `beforePos` (exclusive), in the rooms the user has a membership in
   * (the only rooms with actions for them). Positions are scanned in windows growing from the
   * newest, each window reading the events of those rooms by the index events_room_stream: the
   * cost follows the activity of the user's rooms since the oldest notification returned, not
   * the size of the whole table (rows are keyed by position, not by user).
   */
  async list(userId: string, beforePos: number, limit: number, onlyHighlight: boolean): Promise<NotificationRow[]> {
    let newestQuery = this.db.selectFrom('event_push_actions as a').select(positionOfRow.as('pos'));
    // A bound past every possible position (no `from` token) is no bound; as a rid it would
    // not even fit PostgreSQL's bigint.
    if (beforePos <= MAX_POSITION) newestQuery = newestQuery.where('a.rid', '<', beforePos * ROWS_PER_POSITION);
    const newest = await newestQuery.orderBy('a.rid', 'desc').limit(1).executeTakeFirst();
    if (!newest) return [];
    // A cross join with the conditions in WHERE: SQLite then reads the events first and each
    // event's rows by their rid range. As an inner join it built a temporary index of the whole
    // table by user for every query, and `|| ''` keeps it from doing that here too. PostgreSQL
    // plans the plain comparison well (an index range per event); with `|| ''` it read the
    // whole table once per query.
    const userOfRow = this.engine === 'sqlite' ? sql<string>`a.user_id || ''` : sql<string>`a.user_id`;
    const out: NotificationRow[] = [];
    let hi = Number(newest.pos) + 1;
    let window = FIRST_WINDOW;
    while (out.length < limit && hi > 0) {
      const lo = Math.max(0, hi - window);
      let q = this.db
        .selectFrom('events as e')
        .crossJoin('event_push_actions as a')
        .select(['e.stream_pos as event_stream_pos', 'a.thread_id', 'a.highlight', 'a.actions', 'e.event_id', 'e.room_id', 'e.origin_server_ts as ts'])
        .where(rowsOfEvent)
        .where('e.room_id', 'in', (sub) =>
          sub.selectFrom('room_current_state').select('room_id').where('state_key', '=', userId).where('type', '=', 'm.room.member'),
        )
        .where('e.stream_pos', '>=', lo)
        .where('e.stream_pos', '<', hi)
        .where(userOfRow, '=', userId);
      if (onlyHighlight) q = q.where('a.highlight', '=', 1);
      const rows = await q.orderBy('e.stream_pos', 'desc').limit(limit - out.length).execute();
      for (const r of rows) {
        out.push({
          event_stream_pos: Number(r.event_stream_pos),
          event_id: r.event_id,
          room_id: r.room_id,
          thread_id: r.thread_id,
          highlight: Number(r.highlight),
          actions: r.actions ?? DEFAULT_ACTIONS,
          ts: Number(r.ts),
        });
      }
      hi = lo;
      window *= WINDOW_GROWTH;
    }
    return out;
  }
}

type Columns<T> = { [K in keyof T]: Array<T[K]> };
type ActionColumns = { rid: number[] } & Columns<Omit<PushActionInsert, 'actions'>> & { actions: Array<string | null> };

function insertActions(db: Kysely<DB>, c: ActionColumns) {
  return db.insertInto('event_push_actions').values(
    c.user_id.map((user_id, i) => ({
      rid: c.rid[i],
      user_id,
      thread_id: c.thread_id[i],
      notify: c.notify[i],
      highlight: c.highlight[i],
      actions: c.actions[i],
    })),
  );
}

/** Adds each row's counts to its counter, creating the counters at their first unread action. */
const ADD_TO_COUNTERS = {
  notifications: sql<number>`event_push_counts.notifications + excluded.notifications`,
  highlights: sql<number>`event_push_counts.highlights + excluded.highlights`,
};

function preparedQueries(db0: Kysely<DB>) {
  return {
    /** Rows given column by column, so that each column is one array argument. */
    insert: prepare(db0, insertActions),
    /**
     * PostgreSQL: the actions, and the counters raised from the rows inserted (see `write`).
     * Pipelined (prepared.ts): the send's next statement does not wait for it.
     */
    insertCounting: prepare(db0, (db, c: ActionColumns & { roomId: string }) => {
      const { roomId, ...columns } = c;
      return db
        .with('a', (d) => insertActions(d as Kysely<DB>, columns).returning(['user_id', 'thread_id', 'notify', 'highlight']))
        .insertInto('event_push_counts')
        .columns(['room_id', 'user_id', 'thread_id', 'notifications', 'highlights'])
        .expression((eb) => eb.selectFrom('a').select((s) => [s.val(roomId).as('room_id'), 'a.user_id', 'a.thread_id', 'a.notify', 'a.highlight']))
        .onConflict((oc) => oc.columns(['room_id', 'user_id', 'thread_id']).doUpdateSet(ADD_TO_COUNTERS));
    }, { pipelined: true }),
    addCounts: prepare(db0, (db, c: { roomId: string } & Columns<{ user_id: string } & UnreadCounts>) =>
      db
        .insertInto('event_push_counts')
        .values(
          c.user_id.map((user_id, i) => ({
            room_id: c.roomId,
            user_id,
            thread_id: c.thread_id[i],
            notifications: c.notifications[i],
            highlights: c.highlights[i],
          })),
        )
        .onConflict((oc) => oc.columns(['room_id', 'user_id', 'thread_id']).doUpdateSet(ADD_TO_COUNTERS)),
    ),
    subtract: prepare(db0, (db, a: { userId: string; roomId: string; threadId: string; notifications: number; highlights: number }) =>
      db
        .updateTable('event_push_counts')
        .set((eb) => ({
          notifications: eb('notifications', '-', a.notifications),
          highlights: eb('highlights', '-', a.highlights),
        }))
        .where('room_id', '=', a.roomId)
        .where('user_id', '=', a.userId)
        .where('thread_id', '=', a.threadId),
    ),
    deleteZero: prepare(db0, (db, a: { userId: string; roomId: string }) =>
      db
        .deleteFrom('event_push_counts')
        .where('room_id', '=', a.roomId)
        .where('user_id', '=', a.userId)
        .where('notifications', '<=', 0)
        .where('highlights', '<=', 0),
    ),
    counts: prepare(db0, (db, a: { userId: string; roomId: string }) =>
      db
        .selectFrom('event_push_counts')
        .select(['thread_id', 'notifications', 'highlights'])
        .where('room_id', '=', a.roomId)
        .where('user_id', '=', a.userId),
    ),
    roomCounts: prepare(db0, (db, a: { roomId: string; limit: number }) =>
      db.selectFrom('event_push_counts').select(['user_id', 'thread_id', 'notifications', 'highlights']).where('room_id', '=', a.roomId).limit(a.limit),
    ),
    between: prepare(db0, (db, a: { userId: string; roomId: string; afterPos: number; upToPos: number }) =>
      db
        .selectFrom('events as e')
        .innerJoin('event_push_actions as a', (join) => join.on(rowsOfEvent))
        .select(['e.stream_pos as event_stream_pos', 'a.thread_id', 'a.notify', 'a.highlight'])
        .where('e.room_id', '=', a.roomId)
        .where('e.stream_pos', '>', a.afterPos)
        .where('e.stream_pos', '<=', a.upToPos)
        .where('a.user_id', '=', a.userId),
    ),
  };
}
