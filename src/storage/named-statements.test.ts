// PostgreSQL: prepared queries (prepared.ts) run as named statements (database.ts's pool), each
// connection preparing a text once. They must return what an unnamed statement would: on every
// connection of the pool, with new values each time, and after the schema changed under them.
// The pool also writes a transaction's BEGIN together with its first statement: that statement
// must be inside the transaction, and a failing one must leave the connection usable. Pipelined
// writes are answered before PostgreSQL has: their failure must still fail the transaction.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { openDatabase, type Database } from './database.ts';
import { POSTGRES_URL, postgresReachable } from './postgres-for-tests.ts';
import { prepare, schemaChanged } from './prepared.ts';
import type { DB } from './schema/index.ts';

const POOL = 3;


/** Runs `fn` once on each connection of the pool: POOL transactions open at the same time. */
async function onEveryConnection<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>, i: number) => Promise<T>): Promise<T[]> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return Promise.all(
    Array.from({ length: POOL }, (_, i) =>
      db.transaction().execute(async (trx) => {
        if (++arrived === POOL) release();
        await all;
        return fn(trx, i);
      }),
    ),
  );
}

describe('named statements [postgres]', async () => {
  const reachable = await postgresReachable();
  const schema = `named_${randomBytes(6).toString('hex')}`;
  let database: Database;

  before(async () => {
    if (!reachable) return;
    database = await openDatabase({ url: POSTGRES_URL, schema, poolSize: POOL });
    await sql`CREATE TABLE receipts (room_id text, receipt_type text, user_id text, thread_id text, event_id text, event_stream_pos bigint, ts bigint, stream_pos bigint)`.execute(database.db);
    for (let i = 1; i <= 30; i++) {
      await sql`INSERT INTO receipts VALUES ('!r:x', 'm.read', ${`@u${i % 3}:x`}, '', ${`$e${i}`}, ${i}, ${1000 + i}, ${i})`.execute(database.db);
    }
  });
  after(async () => {
    if (!reachable) return;
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    await database.close();
  });

  it('prepares a prepared query once per connection and runs it with each call’s values', { skip: !reachable }, async () => {
    const byUser = prepare(database.db, (db, a: { user: string; after: number }) =>
      db.selectFrom('receipts').select(['event_id', 'event_stream_pos']).where('user_id', '=', a.user).where('event_stream_pos', '>', a.after).orderBy('event_stream_pos'),
    );
    const expected = (user: number, afterPos: number) => {
      const out: number[] = [];
      for (let i = afterPos + 1; i <= 30; i++) if (i % 3 === user) out.push(i);
      return out;
    };
    // Many runs on every connection (PostgreSQL switches a named statement to a generic plan
    // after five executions: the results must not change with it).
    for (let round = 0; round < 8; round++) {
      const results = await onEveryConnection(database.db, async (trx, i) => {
        const rows = await byUser.execute({ user: `@u${(round + i) % 3}:x`, after: round }, trx);
        // The statement on this connection: prepared under a name, with the query's text.
        const prepared = await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements`.execute(trx);
        return { rows, prepared: prepared.rows };
      });
      results.forEach(({ rows, prepared }, i) => {
        assert.deepEqual(
          rows.map((r) => Number(r.event_stream_pos)),
          expected((round + i) % 3, round),
        );
        assert.deepEqual(rows.map((r) => r.event_id), expected((round + i) % 3, round).map((n) => `$e${n}`));
        const mine = prepared.filter((p) => p.statement.includes('"receipts"') && p.statement.includes('"user_id" = $1'));
        assert.equal(mine.length, 1, 'the query is one named statement on each connection');
        assert.match(mine[0].name, /^foyer_/);
      });
    }
  });

  it('after a schema change, prepares the statements again instead of failing', { skip: !reachable }, async () => {
    const all = prepare(database.db, (db, a: { pos: number }) => db.selectFrom('receipts').selectAll().where('event_stream_pos', '=', a.pos));
    const before = await onEveryConnection(database.db, (trx, i) => all.execute({ pos: i + 1 }, trx));
    before.forEach((rows, i) => assert.deepEqual(Object.keys(rows[0]).sort(), ['event_id', 'event_stream_pos', 'receipt_type', 'room_id', 'stream_pos', 'thread_id', 'ts', 'user_id'].sort(), `connection ${i}`));

    await sql`ALTER TABLE receipts ADD COLUMN extra text DEFAULT 'x'`.execute(database.db);
    // What a migration would run into without a new name: PostgreSQL refuses the old plan.
    await assert.rejects(
      onEveryConnection(database.db, (trx) => all.execute({ pos: 1 }, trx)),
      /cached plan must not change result type/,
    );
    schemaChanged(database.db); // migrateToLatest calls this after running migrations
    const after = await onEveryConnection(database.db, (trx, i) => all.execute({ pos: i + 4 }, trx));
    after.forEach((rows, i) => {
      assert.equal(rows.length, 1);
      assert.equal(Number(rows[0].event_stream_pos), i + 4);
      assert.equal((rows[0] as Record<string, unknown>).extra, 'x');
    });
  });

  it('runs a transaction’s first statement inside it, whether it succeeds or fails', { skip: !reachable }, async () => {
    const insert = prepare(database.db, (db, a: { pos: number; user: string }) =>
      db.insertInto('receipts').values({ room_id: '!t:x', receipt_type: 'm.read', user_id: a.user, thread_id: '', event_id: `$t`, event_stream_pos: a.pos, ts: 0, stream_pos: a.pos }),
    );
    const count = async (user: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM receipts WHERE user_id = ${user}`.execute(database.db)).rows[0].n);
    await sql`CREATE UNIQUE INDEX receipts_pos ON receipts (stream_pos)`.execute(database.db);
    // More transactions than connections, at once: each connection serves several.
    const outcomes = await Promise.allSettled(
      Array.from({ length: POOL * 3 }, (_, i) =>
        database.db.transaction().execute(async (trx) => {
          // Even: the first statement writes, then the transaction fails: the write must go.
          // Odd: the first statement itself fails (a position taken by the rows above).
          await insert.run({ pos: i % 2 === 0 ? 100 + i : 1, user: `@t${i}:x` }, trx);
          throw new Error(`roll back ${i}`);
        }),
      ),
    );
    outcomes.forEach((o, i) => {
      assert.equal(o.status, 'rejected');
      assert.match(String((o as PromiseRejectedResult).reason), i % 2 === 0 ? new RegExp(`roll back ${i}`) : /duplicate key/);
    });
    for (let i = 0; i < POOL * 3; i++) assert.equal(await count(`@t${i}:x`), 0, `transaction ${i} left nothing`);
    // Every connection still works, and commits.
    await onEveryConnection(database.db, (trx, i) => insert.run({ pos: 200 + i, user: '@after:x' }, trx));
    assert.equal(await count('@after:x'), POOL);
  });

  it('sends pipelined writes without waiting, and fails the transaction with the first that failed', { skip: !reachable }, async () => {
    const pipelined = prepare(
      database.db,
      (db, a: { pos: number; user: string }) =>
        db.insertInto('receipts').values({ room_id: '!p:x', receipt_type: 'm.read', user_id: a.user, thread_id: '', event_id: '$p', event_stream_pos: a.pos, ts: 0, stream_pos: a.pos }),
      { pipelined: true },
    );
    const read = prepare(database.db, (db, a: { user: string }) => db.selectFrom('receipts').select('stream_pos').where('user_id', '=', a.user).orderBy('stream_pos'));
    const count = async (user: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM receipts WHERE user_id = ${user}`.execute(database.db)).rows[0].n);

    // All succeed: later statements of the transaction see them; the commit keeps them.
    await database.db.transaction().execute(async (trx) => {
      await read.execute({ user: '@warm:x' }, trx); // the held BEGIN goes out with this one
      for (let i = 0; i < 3; i++) assert.equal(await pipelined.run({ pos: 300 + i, user: '@ok:x' }, trx), 0, 'answered before PostgreSQL has');
      assert.deepEqual((await read.execute({ user: '@ok:x' }, trx)).map((r) => Number(r.stream_pos)), [300, 301, 302]);
      await pipelined.run({ pos: 303, user: '@ok:x' }, trx);
    });
    assert.equal(await count('@ok:x'), 4);

    // One fails (a position taken): the COMMIT after it fails with its error, nothing stays,
    // whether the failure is the last statement or followed by more pipelined writes.
    for (const after of [0, 2]) {
      await assert.rejects(
        database.db.transaction().execute(async (trx) => {
          await read.execute({ user: '@warm:x' }, trx);
          await pipelined.run({ pos: 400 + after, user: `@bad${after}:x` }, trx);
          await pipelined.run({ pos: 300, user: `@bad${after}:x` }, trx); // taken by '@ok:x'
          for (let i = 1; i <= after; i++) await pipelined.run({ pos: 410 + after + i, user: `@bad${after}:x` }, trx);
        }),
        /duplicate key/,
      );
      assert.equal(await count(`@bad${after}:x`), 0, 'the transaction left nothing');
    }

    // A failure followed by an ordinary statement: that statement reports the failure.
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        await read.execute({ user: '@warm:x' }, trx);
        await pipelined.run({ pos: 301, user: '@bad-read:x' }, trx);
        await read.execute({ user: '@ok:x' }, trx);
        assert.fail('the read after a failed pipelined write must fail');
      }),
      /duplicate key/,
    );
    assert.equal(await count('@bad-read:x'), 0);

    // Outside a transaction a pipelined write is an ordinary one.
    await assert.rejects(pipelined.run({ pos: 300, user: '@alone:x' }), /duplicate key/);
    await pipelined.run({ pos: 500, user: '@alone:x' });
    assert.equal(await count('@alone:x'), 1);
    // Every connection still works after all that.
    await onEveryConnection(database.db, (trx, i) => pipelined.run({ pos: 600 + i, user: '@after-pipelined:x' }, trx));
    assert.equal(await count('@after-pipelined:x'), POOL);
  });
});
