// Fewer pages written per message. On SQLite every B-tree a row goes into is a page written to
// the WAL at commit (two write calls each), and the commit was the largest single cost of a send.
//
// 1. Staged full-text index rows. Adding a row to the FTS5 index writes a new index segment
//    at every commit (six to eight pages and a merge step); one search row per message made
//    that a third of the commit of a send. A send now stages its row in event_search_pending
//    (one page, appended) and rows move into `event_search` a few hundred at a time, in one
//    segment: every so many sends, in that send's transaction, and before each search
//    (stores/search.ts). A staged row is durable like the event, and a redaction deletes it
//    like an indexed one. PostgreSQL indexes directly (a GIN insert is cheap); the table
//    exists there too so both engines have the same tables, and stays empty.
// 2. event_edges and event_txns as WITHOUT ROWID tables keyed by their primary key (as
//    migration 0100 did for push actions): a rowid table plus its primary-key index put each
//    row into two trees. event_edges keeps its index by prev event. PostgreSQL is unchanged.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { rebuildWithoutRowid } from '../rebuild-table.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('event_search_pending')
    // On SQLite exactly "integer primary key" makes the key the rowid (no separate index).
    .addColumn('event_nid', engine === 'sqlite' ? 'integer' : 'bigint', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  if (engine !== 'sqlite') return;

  await rebuildWithoutRowid(db, 'event_edges', [['event_nid', 'bigint NOT NULL'], ['prev_event_id', 'text NOT NULL']], ['event_nid', 'prev_event_id']);
  await sql`CREATE INDEX event_edges_prev ON event_edges (prev_event_id)`.execute(db);
  await rebuildWithoutRowid(
    db,
    'event_txns',
    [
      ['user_id', 'text NOT NULL'],
      ['device_id', 'text NOT NULL'],
      ['txn_id', 'text NOT NULL'],
      ['event_id', 'text NOT NULL'],
      ['room_id', 'text NOT NULL'],
      ['created_ts', 'bigint NOT NULL'],
    ],
    ['user_id', 'device_id', 'txn_id'],
  );
}
