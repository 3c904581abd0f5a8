// Fewer B-trees written per send on SQLite. Each B-tree a commit touches is at least one page
// appended to the WAL (two write calls), and the commit is the largest single cost of a send.
//
// 1. `events` without AUTOINCREMENT. With it, every insert also updates the table's row in
//    sqlite_sequence: one more page per commit, for a guarantee nothing needs. AUTOINCREMENT
//    only differs from a plain INTEGER PRIMARY KEY (next nid = highest nid + 1) after the
//    highest row is deleted, and events are never deleted (a redaction rewrites the row;
//    purging history is not implemented), so the nids handed out are the same. Were a purge
//    added, it must not let a nid be reused while other tables (event_search rowids, state
//    snapshots, current state, edges) still refer to it.
//    SQLite cannot drop AUTOINCREMENT in place: the table is rebuilt from its stored definition
//    (so columns added by any migration are kept), rows copied with their nids, and its indexes
//    recreated from their stored definitions.
// 2. room_forward_extremities and room_current_state as WITHOUT ROWID tables keyed by their
//    primary key (as 0100 and 0130 did for other tables): a rowid table plus its primary-key
//    index put each row into two trees. Every send replaces its room's extremity; every state
//    event replaces a current-state row.
// 3. No index of event_edges by prev event: no query reads edges that way (nothing reads the
//    table yet; federation's backfill and missing-events walks will, by event_nid, the key),
//    and it was a second tree per message. Whatever later needs "the events citing X" adds
//    the index back in its own migration. Both engines.
// Otherwise PostgreSQL is unchanged (bigserial has no sqlite_sequence, and its tables are heaps).
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { rebuildWithoutRowid } from '../rebuild-table.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await db.schema.dropIndex('event_edges_prev').execute();
  if (engine !== 'sqlite') return;
  await rebuildEventsWithoutAutoincrement(db);

  await rebuildWithoutRowid(db, 'room_forward_extremities', [['room_id', 'text NOT NULL'], ['event_id', 'text NOT NULL']], ['room_id', 'event_id']);
  await rebuildWithoutRowid(
    db,
    'room_current_state',
    [
      ['room_id', 'text NOT NULL'],
      ['type', 'text NOT NULL'],
      ['state_key', 'text NOT NULL'],
      ['event_nid', 'bigint NOT NULL'],
      ['event_id', 'text NOT NULL'],
      ['membership', 'text'],
      ['stream_pos', 'bigint NOT NULL'],
    ],
    ['room_id', 'type', 'state_key'],
  );
  await sql`CREATE INDEX room_current_state_member ON room_current_state (state_key, type)`.execute(db);
}

async function rebuildEventsWithoutAutoincrement(db: Kysely<any>): Promise<void> {
  const master = await sql<{ type: string; sql: string | null }>`
    SELECT type, sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('table', 'index')`.execute(db);
  const table = master.rows.find((r) => r.type === 'table')?.sql;
  if (!table) throw new Error('table events not found');
  const rebuilt = table.replace(/^CREATE TABLE "?events"?/i, 'CREATE TABLE events_rebuilt').replace(/\s+autoincrement\b/i, '');
  if (rebuilt === table || !rebuilt.startsWith('CREATE TABLE events_rebuilt')) throw new Error(`unexpected definition of events: ${table}`);
  // Unique constraints come back with the table; named indexes are recreated from their SQL.
  const indexes = master.rows.filter((r) => r.type === 'index' && r.sql !== null).map((r) => r.sql!);

  await sql.raw(rebuilt).execute(db);
  await sql`INSERT INTO events_rebuilt SELECT * FROM events`.execute(db);
  await sql`DROP TABLE events`.execute(db);
  await sql`ALTER TABLE events_rebuilt RENAME TO events`.execute(db);
  for (const index of indexes) await sql.raw(index).execute(db);
}
