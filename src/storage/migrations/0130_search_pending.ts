// Staged full-text index rows (SQLite). Adding a row to the FTS5 index writes a new index
// segment at every commit (six to eight pages and a merge step); one search row per message
// made that a third of the commit of a send. A send now stages its row here (one page,
// appended) and rows move into `event_search` a few hundred at a time, in one segment: every
// so many sends, in that send's transaction, and before each search (stores/search.ts). A
// staged row is durable like the event, and a redaction deletes it like an indexed one.
// PostgreSQL indexes directly (a GIN insert is cheap); the table exists there too so both
// engines have the same tables, and stays empty.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('event_search_pending')
    // On SQLite exactly "integer primary key" makes the key the rowid (no separate index).
    .addColumn('event_nid', engine === 'sqlite' ? 'integer' : 'bigint', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}
