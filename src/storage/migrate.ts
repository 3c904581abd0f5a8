// Numbered, up-only migrations. Every file in ./migrations named NNNN_name.ts exports
// `up(db, engine)`; pending ones run in name order inside one transaction and are recorded in
// the `kysely_migration` table (the name and shape Kysely's Migrator used, so databases created
// by earlier builds carry on).
//
// Why not Kysely's Migrator: before migrating it introspects every table of every schema of the
// PostgreSQL database (pg_get_serial_sequence on each column). When other schemas in the same
// database are being dropped at that moment — test servers, or several Foyer instances sharing
// one database — that query fails with "relation … does not exist" for a table that is not even
// ours. It also takes one lock for the whole database. This runner touches only its own schema
// and locks per schema.
import { sql, type Kysely, type Transaction } from 'kysely';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { Database, Engine } from './database.ts';
import { schemaChanged } from './prepared.ts';

export interface FoyerMigration {
  up(db: Kysely<any>, engine: Engine): Promise<void>;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.(ts|js)$/;

async function loadMigrations(): Promise<Array<{ name: string; module: FoyerMigration }>> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => MIGRATION_FILE.test(f)).sort();
  const out: Array<{ name: string; module: FoyerMigration }> = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(MIGRATIONS_DIR, file)).href)) as FoyerMigration;
    out.push({ name: file.replace(/\.(ts|js)$/, ''), module });
  }
  return out;
}

async function appliedMigrations(trx: Transaction<any>): Promise<Set<string>> {
  await sql`CREATE TABLE IF NOT EXISTS kysely_migration (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL)`.execute(trx);
  const rows = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(trx);
  return new Set(rows.rows.map((r) => r.name));
}

export async function migrateToLatest(database: Database): Promise<void> {
  const migrations = await loadMigrations();
  let ran = 0;
  await database.db.transaction().execute(async (trx) => {
    if (database.engine === 'postgres') {
      // Two servers starting on the same schema must not both run a migration.
      await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema()))`.execute(trx);
    }
    const applied = await appliedMigrations(trx);
    for (const { name, module } of migrations) {
      if (applied.has(name)) continue;
      try {
        await module.up(trx, database.engine);
      } catch (error) {
        throw new Error(`database migration ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sql`INSERT INTO kysely_migration (name, timestamp) VALUES (${name}, ${new Date().toISOString()})`.execute(trx);
      ran++;
    }
  });
  // Statements prepared on the pool's connections before (e.g. by a migration) may not fit the
  // new schema: the next executions prepare them again under new names.
  if (ran > 0) schemaChanged(database.db);
}
