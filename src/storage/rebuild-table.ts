// SQLite cannot change how a table is stored in place. Migrations that turn a rowid table into
// a WITHOUT ROWID one keyed by its primary key (so each row lives in one B-tree, not a table
// plus a primary-key index: one page fewer written per commit) rebuild it: create the new
// table, copy the rows, drop the old one, take its name. Indexes are the caller's to recreate.
import { sql, type Kysely } from 'kysely';

/** `columns`: [name, type and constraints] pairs; `primaryKey`: the key's column names in order. */
export async function rebuildWithoutRowid(db: Kysely<any>, table: string, columns: ReadonlyArray<readonly [string, string]>, primaryKey: readonly string[]): Promise<void> {
  const rebuilt = `${table}_by_key`;
  const names = columns.map(([name]) => name).join(', ');
  const definitions = columns.map(([name, type]) => `${name} ${type}`).join(', ');
  await sql.raw(`CREATE TABLE ${rebuilt} (${definitions}, PRIMARY KEY (${primaryKey.join(', ')})) WITHOUT ROWID`).execute(db);
  await sql.raw(`INSERT INTO ${rebuilt} (${names}) SELECT ${names} FROM ${table}`).execute(db);
  await sql.raw(`DROP TABLE ${table}`).execute(db);
  await sql.raw(`ALTER TABLE ${rebuilt} RENAME TO ${table}`).execute(db);
}
