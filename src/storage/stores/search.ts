// Queries on the full-text index of room events (`event_search`). This is the one store whose
// SQL differs by engine, so the difference is kept here rather than in ../dialect.ts (which
// holds only the small DDL helpers shared by all migrations):
// - SQLite: FTS5. `event_search MATCH '"tok"* "tok2"*'`, rank = -bm25() (bm25 is lower-better);
//   the FTS rowid is the event's nid, so joining with `events` is a primary-key lookup.
// - PostgreSQL: to_tsvector('simple', value) @@ to_tsquery('simple', 'tok:* & tok2:*'), served
//   by the GIN expression index of migration 0050; rank = ts_rank().
// Both match every search token as a word prefix (all tokens must match). Callers pass tokens
// already reduced to letters, digits and marks; they are re-checked here so no token can carry
// query syntax into either engine's parser.
//
// Writing differs too. PostgreSQL inserts each event's row at once (a GIN insert is cheap). On
// SQLite an FTS5 insert writes a new index segment at every commit (six to eight pages and a
// merge step), so events reach the index in batches, one segment each (migrations 0130, 0160):
// - a send marks its event row (`events.searchable` = 1; the row's page is written anyway);
// - server_meta "search_indexed_through" holds the watermark: every event with a nid at or
//   below it is indexed if it is meant to be (so every FTS rowid is at or below it);
// - a flush indexes the marked, unredacted events above the watermark, with the text
//   `searchValueOf` takes from their JSON, and raises the watermark to the newest event. It runs
//   in a write transaction, and SQLite has one writer: no event can commit in between;
// - a redaction sets `redacted_by` on its target in its own transaction, so a target above the
//   watermark never reaches the index; one below it has its FTS row deleted.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../schema/index.ts';
import type { Engine } from '../database.ts';
import { prepare } from '../prepared.ts';
import type { EventRow } from './events.ts';

/** The searchable key and text of an event, or null when it has nothing to index. */
export interface SearchValue {
  key: 'content.body' | 'content.name' | 'content.topic';
  value: string;
}

/**
 * Which text of an event is searchable (spec "Server Side Search" → room_events): the body of
 * m.room.message, the name of m.room.name, and for m.room.topic the topic together with the
 * text/plain representation in content["m.topic"] when it says something else.
 */
export function searchValueOf(type: string, content: Record<string, unknown>): SearchValue | null {
  if (type === 'm.room.message') {
    return typeof content.body === 'string' && content.body.trim() !== '' ? { key: 'content.body', value: content.body } : null;
  }
  if (type === 'm.room.name') {
    return typeof content.name === 'string' && content.name.trim() !== '' ? { key: 'content.name', value: content.name } : null;
  }
  if (type === 'm.room.topic') {
    const parts: string[] = [];
    if (typeof content.topic === 'string' && content.topic.trim() !== '') parts.push(content.topic);
    const rich = content['m.topic'];
    const reps = rich && typeof rich === 'object' && Array.isArray((rich as { 'm.text'?: unknown })['m.text']) ? (rich as { 'm.text': unknown[] })['m.text'] : [];
    for (const rep of reps) {
      if (!rep || typeof rep !== 'object') continue;
      const { body, mimetype } = rep as { body?: unknown; mimetype?: unknown };
      if (typeof body === 'string' && (mimetype === undefined || mimetype === 'text/plain') && !parts.includes(body)) parts.push(body);
    }
    return parts.length > 0 ? { key: 'content.topic', value: parts.join('\n') } : null;
  }
  return null;
}

export const SEARCHABLE_TYPES = ['m.room.message', 'm.room.name', 'm.room.topic'] as const;

export interface SearchQuery {
  /** Word prefixes that must all match. */
  tokens: string[];
  keys: readonly string[];
  /** Rooms to search, each up to a stream position (a departed user sees nothing later). */
  rooms: ReadonlyArray<{ roomId: string; maxPos: number }>;
  senders?: readonly string[];
  notSenders?: readonly string[];
  /** Exact event types (wildcard patterns are applied by the caller). */
  types?: readonly string[];
  notTypes?: readonly string[];
  order: 'rank' | 'recent';
  /** `recent`: only events with a stream position below this one. */
  beforePos?: number;
  /** `rank`: rows to skip. */
  offset?: number;
  limit: number;
}

export type SearchRow = EventRow & { search_rank: number };

const TOKEN = /^[\p{L}\p{N}\p{M}]+$/u;

export class SearchStore {
  private readonly q: ReturnType<typeof preparedQueries>;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly engine: Engine,
  ) {
    this.q = preparedQueries(db);
  }

  /**
   * Indexes a served event; runs inside the event's own transaction. On SQLite this only marks
   * the event's row: it reaches the FTS index with the next `flushPending`, which takes the text
   * from the row's JSON again (`searchValueOf`, as `entry` was made).
   */
  async insert(event: { nid: number; eventId: string; roomId: string }, entry: SearchValue, trx: Kysely<DB>): Promise<void> {
    if (this.engine === 'sqlite') await this.q.mark.run({ nid: event.nid }, trx);
    else await this.q.insert.run({ nid: event.nid, eventId: event.eventId, roomId: event.roomId, key: entry.key, value: entry.value }, trx);
  }

  /**
   * Moves the marked events above the watermark into the FTS index, in one segment, and raises
   * the watermark; SQLite only (PostgreSQL indexes at once). Runs in `trx`, or in a transaction
   * of its own when any event was written since the last flush.
   */
  async flushPending(trx?: Kysely<DB>): Promise<void> {
    if (this.engine !== 'sqlite') return;
    if (!trx) {
      // A read (a rowid range probe) needs no write transaction when nothing is new. Any new
      // event counts, marked or not, so the watermark also moves past runs of events that are
      // not indexed (an encrypted room's) and no later flush scans them again.
      if (!(await this.q.anyAboveWatermark.executeTakeFirst({}))) return;
      await this.db.transaction().execute((t) => this.flushPending(t));
      return;
    }
    const through = Number((await this.q.watermark.executeTakeFirst({}, trx))?.value ?? 0);
    const top = Number((await this.q.newest.executeTakeFirst({}, trx))?.nid ?? 0);
    if (top <= through) return;
    for (const row of await this.q.marked.execute({ after: through }, trx)) {
      const entry = searchEntryOfJson(row.type, row.json);
      if (entry) await this.q.index.run({ nid: Number(row.event_nid), eventId: row.event_id, roomId: row.room_id, key: entry.key, value: entry.value }, trx);
    }
    await this.q.setWatermark.run({ value: String(top) }, trx);
  }

  /** Drops the index row of an event (it was redacted), if it has one. */
  async deleteEvent(eventId: string, roomId: string, trx: Kysely<DB>): Promise<void> {
    if (this.engine === 'sqlite') {
      // Above the watermark the event has no FTS row, and redacted_by (set by this same
      // transaction) keeps the next flush from making one: the FTS table is not touched.
      await sql`DELETE FROM event_search WHERE rowid IN (
        SELECT event_nid FROM events WHERE event_id = ${eventId} AND room_id = ${roomId} AND event_nid <= ${WATERMARK})`.execute(trx);
      return;
    }
    await sql`DELETE FROM event_search WHERE event_nid IN (SELECT event_nid FROM events WHERE event_id = ${eventId} AND room_id = ${roomId})`.execute(trx);
  }

  /** Matching served events, in the requested order, with their rank. */
  async search(q: SearchQuery): Promise<SearchRow[]> {
    const match = this.matchExpression(q.tokens);
    if (!match || q.rooms.length === 0 || q.limit <= 0) return [];
    const rank = this.engine === 'sqlite' ? sql`-bm25(event_search)` : sql`ts_rank(to_tsvector('simple'::regconfig, s.value), ${match})`;
    const order =
      q.order === 'recent'
        ? sql`e.stream_pos DESC`
        : sql`search_rank DESC, e.stream_pos DESC`;
    const page = q.order === 'rank' && q.offset ? sql`LIMIT ${q.limit} OFFSET ${q.offset}` : sql`LIMIT ${q.limit}`;
    const result = await sql<SearchRow>`
      WITH allowed(room_id, max_pos) AS (${this.allowedRooms(q.rooms)})
      SELECT e.*, ${rank} AS search_rank
      FROM ${this.from()}
      WHERE ${this.conditions(q, match)}
      ORDER BY ${order}
      ${page}`.execute(this.db);
    return result.rows.map((r) => ({ ...r, search_rank: Number(r.search_rank) }));
  }

  /** How many served events match, before visibility checks (the response's approximate `count`). */
  async count(q: SearchQuery): Promise<number> {
    const match = this.matchExpression(q.tokens);
    if (!match || q.rooms.length === 0) return 0;
    const result = await sql<{ n: number | string }>`
      WITH allowed(room_id, max_pos) AS (${this.allowedRooms(q.rooms)})
      SELECT count(*) AS n
      FROM ${this.from()}
      WHERE ${this.conditions({ ...q, beforePos: undefined }, match)}`.execute(this.db);
    return Number(result.rows[0]?.n ?? 0);
  }

  private from(): RawBuilder<unknown> {
    return this.engine === 'sqlite'
      ? sql`event_search JOIN events e ON e.event_nid = event_search.rowid JOIN allowed a ON a.room_id = e.room_id`
      : sql`event_search s JOIN events e ON e.event_nid = s.event_nid JOIN allowed a ON a.room_id = e.room_id`;
  }

  /** The rooms as a VALUES list; casts make PostgreSQL type the columns. */
  private allowedRooms(rooms: SearchQuery['rooms']): RawBuilder<unknown> {
    return sql`VALUES ${sql.join(rooms.map((r) => sql`(CAST(${r.roomId} AS TEXT), CAST(${r.maxPos} AS BIGINT))`))}`;
  }

  private matchExpression(tokens: readonly string[]): RawBuilder<unknown> | null {
    const safe = tokens.filter((t) => TOKEN.test(t));
    if (safe.length === 0) return null;
    if (this.engine === 'sqlite') return sql.val(safe.map((t) => `"${t}"*`).join(' '));
    return sql`to_tsquery('simple'::regconfig, ${safe.map((t) => `${t}:*`).join(' & ')})`;
  }

  private conditions(q: SearchQuery, match: RawBuilder<unknown>): RawBuilder<unknown> {
    const where: RawBuilder<unknown>[] = [
      this.engine === 'sqlite' ? sql`event_search MATCH ${match}` : sql`to_tsvector('simple'::regconfig, s.value) @@ ${match}`,
      sql`e.stream_pos IS NOT NULL`,
      sql`e.stream_pos <= a.max_pos`,
      sql`e.soft_failed = 0`,
      sql`e.rejected IS NULL`,
      sql`e.redacted_by IS NULL`,
    ];
    const key = this.engine === 'sqlite' ? sql.raw('event_search.key') : sql.raw('s.key');
    where.push(sql`${key} IN (${sql.join([...q.keys])})`);
    if (q.senders) where.push(q.senders.length > 0 ? sql`e.sender IN (${sql.join([...q.senders])})` : sql`1 = 0`);
    if (q.notSenders && q.notSenders.length > 0) where.push(sql`e.sender NOT IN (${sql.join([...q.notSenders])})`);
    if (q.types) where.push(q.types.length > 0 ? sql`e.type IN (${sql.join([...q.types])})` : sql`1 = 0`);
    if (q.notTypes && q.notTypes.length > 0) where.push(sql`e.type NOT IN (${sql.join([...q.notTypes])})`);
    if (q.order === 'recent' && q.beforePos !== undefined) where.push(sql`e.stream_pos < ${q.beforePos}`);
    return sql.join(where, sql` AND `);
  }
}

/**
 * Indexes the events written before the index existed (run once, by migration 0050). Skips
 * what clients could never find: unserved or redacted events and rooms that are encrypted now.
 */
export async function backfillSearchIndex(db: Kysely<any>, engine: Engine): Promise<void> {
  const encrypted = new Set(
    (await db.selectFrom('room_current_state').select('room_id').where('type', '=', 'm.room.encryption').where('state_key', '=', '').execute()).map(
      (r: { room_id: string }) => r.room_id,
    ),
  );
  let after = 0;
  for (;;) {
    const rows: Array<{ event_nid: number | string; event_id: string; room_id: string; type: string; json: string }> = await db
      .selectFrom('events')
      .select(['event_nid', 'event_id', 'room_id', 'type', 'json'])
      .where('event_nid', '>', after)
      .where('type', 'in', [...SEARCHABLE_TYPES])
      .where('stream_pos', 'is not', null)
      .where('soft_failed', '=', 0)
      .where('rejected', 'is', null)
      .where('redacted_by', 'is', null)
      .orderBy('event_nid')
      .limit(500)
      .execute();
    if (rows.length === 0) return;
    for (const row of rows) {
      if (encrypted.has(row.room_id)) continue;
      const entry = searchEntryOfJson(row.type, row.json);
      if (!entry) continue;
      const nidColumn = engine === 'sqlite' ? sql.raw('rowid') : sql.raw('event_nid');
      await sql`INSERT INTO event_search (${nidColumn}, event_id, room_id, key, value)
        VALUES (${Number(row.event_nid)}, ${row.event_id}, ${row.room_id}, ${entry.key}, ${entry.value})`.execute(db);
    }
    after = Number(rows[rows.length - 1].event_nid);
  }
}

/** server_meta key of the SQLite watermark (migration 0160 writes it first). */
const WATERMARK_KEY = 'search_indexed_through';

/** The watermark as an integer, for a rowid comparison (0 before any flush). */
const WATERMARK = sql<number>`coalesce((SELECT CAST(value AS INTEGER) FROM server_meta WHERE key = ${WATERMARK_KEY}), 0)`;

/** What `searchValueOf` indexes of an event stored as JSON text, or null. */
function searchEntryOfJson(type: string, json: string): SearchValue | null {
  let content: unknown;
  try {
    content = (JSON.parse(json) as { content?: unknown }).content;
  } catch {
    return null;
  }
  return content && typeof content === 'object' ? searchValueOf(type, content as Record<string, unknown>) : null;
}

/** The statements of every send and every search, and of a flush (../prepared.ts). */
function preparedQueries(db0: Kysely<DB>) {
  return {
    // SQLite: the row was inserted by this transaction a moment ago; its page is dirty already.
    mark: prepare(db0, (db, a: { nid: number }) => db.updateTable('events').set({ searchable: 1 }).where('event_nid', '=', a.nid)),
    // PostgreSQL's table: the nid is a plain column there. Pipelined (prepared.ts): the send's
    // COMMIT does not wait for its answer first.
    insert: prepare(
      db0,
      (db, a: { nid: number; eventId: string; roomId: string; key: string; value: string }) =>
        (db as unknown as Kysely<{ event_search: DB['event_search'] & { event_nid: number } }>)
          .insertInto('event_search')
          .values({ event_nid: a.nid, event_id: a.eventId, room_id: a.roomId, key: a.key, value: a.value }),
      { pipelined: true },
    ),
    // SQLite: a seek in the rowid B-tree past the watermark.
    anyAboveWatermark: prepare(db0, (db, _a: Record<string, never>) => db.selectFrom('events').select('event_nid').where('event_nid', '>', WATERMARK).limit(1)),
    watermark: prepare(db0, (db, _a: Record<string, never>) => db.selectFrom('server_meta').select('value').where('key', '=', WATERMARK_KEY)),
    newest: prepare(db0, (db, _a: Record<string, never>) => db.selectFrom('events').select((eb) => eb.fn.max('event_nid').as('nid'))),
    // Every event since the last flush is read (no index by the mark: that would be a B-tree
    // more per send); the JSON is only read for the marked ones.
    marked: prepare(db0, (db, a: { after: number }) =>
      db
        .selectFrom('events')
        .select(['event_nid', 'event_id', 'room_id', 'type', 'json'])
        .where('event_nid', '>', a.after)
        .where('searchable', '=', 1)
        .where('redacted_by', 'is', null)
        .orderBy('event_nid'),
    ),
    index: prepare(db0, (db, a: { nid: number; eventId: string; roomId: string; key: string; value: string }) =>
      (db as unknown as Kysely<{ event_search: DB['event_search'] & { rowid: number } }>)
        .insertInto('event_search')
        .values({ rowid: a.nid, event_id: a.eventId, room_id: a.roomId, key: a.key, value: a.value }),
    ),
    setWatermark: prepare(db0, (db, a: { value: string }) =>
      db
        .insertInto('server_meta')
        .values({ key: WATERMARK_KEY, value: a.value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: a.value })),
    ),
  };
}
