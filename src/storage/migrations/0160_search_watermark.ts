// One B-tree fewer written per message on SQLite: full-text index rows are no longer staged in
// a table of their own. Migration 0130 staged each send's search row in event_search_pending
// so that rows reach the FTS5 index a few hundred at a time, in one segment; but that table was
// itself one more page in the WAL at every send's commit.
//
// Now a send marks its event row instead (`events.searchable` = 1, an UPDATE of the row it has
// just inserted, whose page the commit writes anyway; the value 1 takes no byte in SQLite's
// record format, so the row does not even grow). A watermark, the highest event_nid whose
// event has been considered for the index, is kept in server_meta ("search_indexed_through").
// A flush indexes the marked, unredacted events above it, taking the text from the event's JSON
// as the send did, and raises it: one page per flush instead of one per send (stores/search.ts).
//
// Here, on SQLite: the rows still staged move into the index (a redaction deleted its target's
// staged row, so all of them are searchable), and the watermark starts at the newest event: every
// event up to it is now either indexed or not meant to be. PostgreSQL indexes each row at once
// and never staged anything; it gets the column too (the schema types are shared; adding a
// nullable column without a default only changes the catalog) and never sets it. The staging
// table goes on both engines.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await db.schema.alterTable('events').addColumn('searchable', 'integer').execute();
  if (engine === 'sqlite') {
    await sql`INSERT INTO event_search (rowid, event_id, room_id, key, value)
      SELECT p.event_nid, e.event_id, e.room_id, p.key, p.value
      FROM event_search_pending p JOIN events e ON e.event_nid = p.event_nid
      WHERE e.redacted_by IS NULL
      ORDER BY p.event_nid`.execute(db);
    // The key is spelled out (not imported from the store) so this migration never changes.
    await sql`INSERT INTO server_meta (key, value)
      VALUES ('search_indexed_through', CAST(coalesce((SELECT max(event_nid) FROM events), 0) AS TEXT))
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(db);
  }
  await db.schema.dropTable('event_search_pending').execute();
}
