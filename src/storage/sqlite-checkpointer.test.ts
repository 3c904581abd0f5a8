// The checkpointing thread starts when commits keep coming, copies the WAL back into the
// database file, and goes away once writes stop — an idle server carries no extra isolate.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}

it('starts under sustained writes, checkpoints, and exits when idle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-ckpt-'));
  const path = join(dir, 'test.db');
  const db = new SqliteDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
  const checkpointer = new SqliteCheckpointer(path, { intervalMs: 20, idleExitMs: 300, startAfterMs: 60_000, lookEveryMs: 50 });
  try {
    // The constructor saw a fresh WAL (the CREATE TABLE) but waits startAfterMs for a lone change.
    await sleep(200);
    assert.equal(checkpointer.running, false);

    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    const mainFileBefore = statSync(path).size;
    const writing = setInterval(() => insert.run('x'.repeat(2000)), 10);
    await until('the worker to start under sustained writes', () => checkpointer.running);
    await sleep(300);
    clearInterval(writing);
    // The worker copied pages back into the main file (without it nothing would: autocheckpoint is 0).
    await until('pages to reach the database file', () => statSync(path).size > mainFileBefore);
    await until('the worker to exit once writes stopped', () => !checkpointer.running);
    assert.ok((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n > 0);

    // A lone write after the worker left starts it again once startAfterMs elapses; here the
    // limit is a minute, so only a second burst does.
    insert.run('lone');
    await sleep(200);
    assert.equal(checkpointer.running, false);
  } finally {
    await checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a lone write is checkpointed after startAfterMs; stop() truncates the WAL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-ckpt-'));
  const path = join(dir, 'test.db');
  const db = new SqliteDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  const checkpointer = new SqliteCheckpointer(path, { intervalMs: 20, idleExitMs: 60_000, startAfterMs: 150, lookEveryMs: 50 });
  try {
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
    db.prepare('INSERT INTO t (body) VALUES (?)').run('once');
    await until('the worker to start for a lone write', () => checkpointer.running);
    assert.ok(statSync(`${path}-wal`).size > 0);
    await checkpointer.stop();
    assert.equal(checkpointer.running, false);
    assert.equal(statSync(`${path}-wal`).size, 0);
  } finally {
    await checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
