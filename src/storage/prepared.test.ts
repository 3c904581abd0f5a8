// Compile-once queries (prepared.ts) must run exactly what the same Kysely builder would run
// with the values inlined: every argument bound where the builder put it, constants kept, one
// compiled variant per shape (array lengths, undefined arguments), inside transactions too —
// on SQLite and on PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, type Database } from './database.ts';
import { POSTGRES_URL, postgresReachable } from './postgres-for-tests.ts';
import { prepare } from './prepared.ts';



for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`prepared queries [${engine}]`, async () => {
    const reachable = engine === 'sqlite' || (await postgresReachable());
    const schema = `prep_${randomBytes(6).toString('hex')}`;
    let database: Database;

    before(async () => {
      if (!reachable) return;
      database = await openDatabase(engine === 'sqlite' ? { url: 'sqlite::memory:' } : { url: POSTGRES_URL, schema });
      // A table of the real schema, so the builders type-check against DB.
      await sql`CREATE TABLE receipts (room_id text, receipt_type text, user_id text, thread_id text, event_id text, event_stream_pos bigint, ts bigint, stream_pos bigint)`.execute(database.db);
    });
    after(async () => {
      if (!reachable) return;
      if (engine === 'postgres') await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
      await database.close();
    });

    const row = (user: string, pos: number, thread = '') => ({
      room_id: '!r:x',
      receipt_type: 'm.read',
      user_id: user,
      thread_id: thread,
      event_id: `$e${pos}`,
      event_stream_pos: pos,
      ts: 1000 + pos,
      stream_pos: pos,
    });

    it('binds each argument where the builder used it, and keeps constants', { skip: !reachable }, async () => {
      const insert = prepare(database.db, (db, r: ReturnType<typeof row>) => db.insertInto('receipts').values(r));
      for (const [user, pos] of [['@a:x', 1], ['@b:x', 2], ['@c:x', 3], ['@a:x', 4]] as const) await insert.run(row(user, pos));
      const byUser = prepare(database.db, (db, a: { user: string; after: number }) =>
        db.selectFrom('receipts').select(['user_id', 'event_stream_pos']).where('user_id', '=', a.user).where('event_stream_pos', '>', a.after).where('receipt_type', '=', 'm.read').orderBy('event_stream_pos'),
      );
      assert.deepEqual(
        (await byUser.execute({ user: '@a:x', after: 0 })).map((r) => Number(r.event_stream_pos)),
        [1, 4],
      );
      assert.deepEqual(
        (await byUser.execute({ user: '@a:x', after: 1 })).map((r) => Number(r.event_stream_pos)),
        [4],
      );
      assert.deepEqual(await byUser.execute({ user: '@nobody:x', after: 0 }), []);
    });

    it('compiles one variant per array length and per undefined argument', { skip: !reachable }, async () => {
      const users = prepare(database.db, (db, a: { users: readonly string[]; excluded: readonly string[]; before?: number }) => {
        let q = db.selectFrom('receipts').select('event_stream_pos').where('user_id', 'in', a.users);
        if (a.excluded.length > 0) q = q.where('thread_id', 'not in', a.excluded);
        if (a.before !== undefined) q = q.where('event_stream_pos', '<', a.before);
        return q.orderBy('event_stream_pos');
      });
      const positions = async (a: Parameters<typeof users.execute>[0]) => (await users.execute(a)).map((r) => Number(r.event_stream_pos));
      assert.deepEqual(await positions({ users: ['@a:x'], excluded: [] }), [1, 4]);
      assert.deepEqual(await positions({ users: ['@a:x', '@b:x'], excluded: [] }), [1, 2, 4]);
      assert.deepEqual(await positions({ users: ['@b:x', '@c:x', '@a:x'], excluded: [], before: 4 }), [1, 2, 3]);
      assert.deepEqual(await positions({ users: ['@a:x'], excluded: [''] }), []);
      // The first shape again, after the others: its own compiled query, not a neighbour's.
      assert.deepEqual(await positions({ users: ['@c:x'], excluded: [] }), [3]);
    });

    it('runs inside a transaction, and rolls back with it', { skip: !reachable }, async () => {
      const insert = prepare(database.db, (db, r: ReturnType<typeof row>) => db.insertInto('receipts').values(r));
      const count = prepare(database.db, (db, a: { user: string }) => db.selectFrom('receipts').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', a.user));
      await assert.rejects(
        database.db.transaction().execute(async (trx) => {
          await insert.run(row('@t:x', 10), trx);
          assert.equal(Number((await count.executeTakeFirst({ user: '@t:x' }, trx))!.n), 1);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(Number((await count.executeTakeFirst({ user: '@t:x' }))!.n), 0);
      assert.equal(await insert.run(row('@t:x', 11)), 1);
    });

    it('outside a transaction, waits for one that is open instead of reading its uncommitted rows', { skip: !reachable }, async () => {
      // On SQLite prepared queries run directly on the one connection; while another task's
      // transaction is open on it (awaiting between statements) they must not join it.
      const insert = prepare(database.db, (db, r: ReturnType<typeof row>) => db.insertInto('receipts').values(r));
      const count = prepare(database.db, (db, a: { user: string }) => db.selectFrom('receipts').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', a.user));
      let inserted!: () => void;
      const insertedInTrx = new Promise<void>((resolve) => (inserted = resolve));
      let finish!: () => void;
      const mayFinish = new Promise<void>((resolve) => (finish = resolve));
      const trx = database.db.transaction().execute(async (t) => {
        await insert.run(row('@w:x', 20), t);
        inserted();
        await mayFinish;
        throw new Error('roll back');
      });
      await insertedInTrx;
      const outside = count.executeTakeFirst({ user: '@w:x' });
      const outsideWrite = insert.run(row('@w2:x', 21));
      finish();
      await assert.rejects(trx, /roll back/);
      assert.equal(Number((await outside)!.n), 0);
      assert.equal(await outsideWrite, 1);
      assert.equal(Number((await count.executeTakeFirst({ user: '@w2:x' }))!.n), 1);
    });

    it('refuses a builder that consumes an argument instead of binding it', { skip: !reachable }, async () => {
      const wrong = prepare(database.db, (db, a: { limit: number; user: string }) =>
        // The user is turned into SQL text here, so a second call would reuse the first user.
        db.selectFrom('receipts').select('user_id').where(sql.raw(`user_id = '${a.user.replace(/'/g, "''")}'`) as never).limit(a.limit),
      );
      await assert.rejects(wrong.execute({ limit: 1, user: '@a:x' }), /argument "user" is not a bound parameter/);
    });
  });
}
