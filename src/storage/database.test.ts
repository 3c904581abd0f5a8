// SQLite transactions take the write lock at BEGIN (database.ts says why: a deferred one that
// read first could fail outright when the checkpointer restarts the WAL under it).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase } from './database.ts';

it('SQLite transactions hold the write lock from their first statement, even a read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-db-'));
  const path = join(dir, 'test.db');
  const database = await openDatabase({ url: `sqlite:${path}` });
  const other = new SqliteDatabase(path);
  other.pragma('busy_timeout = 0');
  try {
    await sql`CREATE TABLE t (id INTEGER PRIMARY KEY)`.execute(database.db);
    await database.db.transaction().execute(async (trx) => {
      await sql`SELECT count(*) FROM t`.execute(trx);
      assert.throws(() => other.exec('BEGIN IMMEDIATE'), /locked|busy/i);
    });
    other.exec('BEGIN IMMEDIATE');
    other.exec('COMMIT');
  } finally {
    other.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a SQLite transaction whose callback throws writes nothing, and the next one commits', async () => {
  const database = await openDatabase({ url: 'sqlite::memory:' });
  try {
    await sql`CREATE TABLE t (id INTEGER PRIMARY KEY)`.execute(database.db);
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        await sql`INSERT INTO t (id) VALUES (1)`.execute(trx);
        throw new Error('boom');
      }),
      /boom/,
    );
    // A failing statement inside (a duplicate key) rolls back the rows written before it too.
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        await sql`INSERT INTO t (id) VALUES (2)`.execute(trx);
        await sql`INSERT INTO t (id) VALUES (2)`.execute(trx);
      }),
      /UNIQUE/,
    );
    await database.db.transaction().execute(async (trx) => {
      await sql`INSERT INTO t (id) VALUES (3)`.execute(trx);
    });
    const { rows } = await sql<{ id: number }>`SELECT id FROM t ORDER BY id`.execute(database.db);
    assert.deepEqual(
      rows.map((r) => r.id),
      [3],
    );
  } finally {
    await database.close();
  }
});
