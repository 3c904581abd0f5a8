// `events` on SQLite without AUTOINCREMENT. With it, every insert also updates the table's row in
// sqlite_sequence: one more B-tree page written to the WAL at the commit of every send, for a
// guarantee nothing needs. AUTOINCREMENT only differs from a plain INTEGER PRIMARY KEY (next
// nid = highest nid + 1) after the highest row is deleted, and events are never deleted (a
// redaction rewrites the row; purging history is not implemented), so the nids handed out are
// the same. Were a purge added, it must not let a nid be reused while other tables
// (event_search rowids, state snapshots, current state, edges) still refer to it.
//
// SQLite cannot drop AUTOINCREMENT in place: the table is rebuilt from its stored definition
// (so columns added by any migration are kept), rows copied with their nids, and its indexes
// recreated from their stored definitions. PostgreSQL's bigserial has no such cost.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  if (engine !== 'sqlite') return;
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
