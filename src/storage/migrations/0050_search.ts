// Full-text search over room events (POST /search). The index differs by engine (see
// ../schema/search.ts): an FTS5 table on SQLite, a table with a GIN tsvector index on
// PostgreSQL. Events already stored are indexed here, once.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { backfillSearchIndex } from '../stores/search.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  if (engine === 'sqlite') {
    // rowid = events.event_nid. remove_diacritics 2 lets "cafe" find "café".
    await sql`CREATE VIRTUAL TABLE event_search USING fts5(
      event_id UNINDEXED, room_id UNINDEXED, key UNINDEXED, value,
      tokenize = 'unicode61 remove_diacritics 2'
    )`.execute(db);
  } else {
    await db.schema
      .createTable('event_search')
      .addColumn('event_nid', 'bigint', (c) => c.primaryKey())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('room_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    // 'simple': no stemming or stop words, so every language is searched alike. Queries must
    // use this exact expression for the index to serve them.
    await sql`CREATE INDEX event_search_vector ON event_search USING gin (to_tsvector('simple'::regconfig, value))`.execute(db);
  }
  await backfillSearchIndex(db, engine);
}
