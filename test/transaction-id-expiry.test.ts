// Client transaction IDs expire after a day (services/housekeeping/transaction-ids.ts): within
// the day a retried PUT is idempotent, after it the ID may be used again; the sender's device
// keeps seeing unsigned.transaction_id on its old events. Through HTTP, on both databases.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDatabase } from './harness.ts';

const HOUR = 60 * 60 * 1000;

describeEachDatabase('transaction ID expiry', ({ server }) => {
  /** Alice, who sends room messages and to-device messages with the transaction IDs given; Bob, who receives. */
  async function senderAndReceiver() {
    const alice = await server().registerUser();
    const bob = await server().registerUser();
    const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: {} })).body.room_id;
    const send = (txn: string, body: string) =>
      server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, { token: alice.accessToken, body: { msgtype: 'm.text', body } });
    const toDevice = (txn: string, n: number) =>
      server().request('PUT', `/_matrix/client/v3/sendToDevice/org.example.ping/${txn}`, { token: alice.accessToken, body: { messages: { [bob.userId]: { [bob.deviceId]: { n } } } } });
    const bobSince = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;
    return { alice, bob, roomId, send, toDevice, bobSince };
  }

  it('keeps IDs for a day, then lets a repeated ID send again; old events keep their transaction_id', async () => {
    const { alice, bob, roomId, send, toDevice, bobSince } = await senderAndReceiver();

    const first = (await send('t1', 'one')).body.event_id;
    assert.equal((await toDevice('d1', 1)).status, 200);

    // An hour later: nothing has expired, retries are still idempotent.
    assert.deepEqual(await server().app.expireTransactionIds(Date.now() + HOUR), { events: 0, toDevice: 0 });
    assert.equal((await send('t1', 'one again')).body.event_id, first);
    assert.equal((await toDevice('d1', 2)).status, 200);

    // A day and an hour later: both IDs are gone and can be used again.
    const expired = await server().app.expireTransactionIds(Date.now() + 25 * HOUR);
    assert.ok(expired.events >= 1 && expired.toDevice >= 1, JSON.stringify(expired));
    const second = (await send('t1', 'two')).body.event_id;
    assert.notEqual(second, first);
    assert.equal((await toDevice('d1', 3)).status, 200);

    const bobSync = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: bobSince } });
    assert.deepEqual(
      bobSync.body.to_device.events.map((e: any) => e.content.n),
      [1, 3],
    );
    const aliceSync = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    const timeline = aliceSync.body.rooms.join[roomId].timeline.events.filter((e: any) => e.type === 'm.room.message');
    assert.deepEqual(
      timeline.map((e: any) => [e.event_id, e.content.body, e.unsigned?.transaction_id]),
      [
        [first, 'one', 't1'],
        [second, 'two', 't1'],
      ],
    );
  });

  it('walks the table in batches and deletes exactly the expired rows', async () => {
    const db = server().app.database.db;
    const now = Date.now();
    const rows = Array.from({ length: 1_203 }, (_, i) => ({
      user_id: `@walker${i % 7}:example.org`,
      device_id: `DEV${i % 3}`,
      txn_id: `w${i}`,
      // Every third row is older than a day.
      created_ts: i % 3 === 0 ? now - 25 * HOUR : now - HOUR,
    }));
    for (let i = 0; i < rows.length; i += 300) await db.insertInto('to_device_txns').values(rows.slice(i, i + 300)).execute();
    const result = await server().app.expireTransactionIds(now);
    assert.equal(result.toDevice, 401);
    const left = await db.selectFrom('to_device_txns').select('txn_id').where('user_id', 'like', '@walker%').execute();
    assert.deepEqual(
      left.map((r) => r.txn_id).sort(),
      rows.filter((_, i) => i % 3 !== 0).map((r) => r.txn_id).sort(),
    );
  });

  it('keeps every ID across migration 0150 (keyed by txn_id first)', async () => {
    const { alice, bob, roomId, send, toDevice, bobSince } = await senderAndReceiver();
    const sent = [];
    for (let i = 0; i < 5; i++) {
      sent.push((await send(`m${1_700_000_000_000 + i}.${i}`, `message ${i}`)).body.event_id);
      assert.equal((await toDevice(`d${i}`, i)).status, 200);
    }

    // Back to the layout before 0150 (keyed by user_id, device_id, txn_id; on SQLite
    // to_device_txns a rowid table with a primary-key index), then a restart runs 0150 again.
    const db = server().app.database.db;
    const engine = server().app.database.engine;
    const oldKey = 'user_id, device_id, txn_id';
    for (const [table, columns] of [
      ['event_txns', 'user_id text NOT NULL, device_id text NOT NULL, txn_id text NOT NULL, event_id text NOT NULL, room_id text NOT NULL, created_ts bigint NOT NULL'],
      ['to_device_txns', 'user_id text NOT NULL, device_id text NOT NULL, txn_id text NOT NULL, created_ts bigint NOT NULL'],
    ] as const) {
      const rowid = engine === 'sqlite' && table === 'event_txns' ? ' WITHOUT ROWID' : '';
      await sql.raw(`CREATE TABLE old_${table} (${columns}, CONSTRAINT old_${table}_pk PRIMARY KEY (${oldKey}))${rowid}`).execute(db);
      await sql.raw(`INSERT INTO old_${table} SELECT ${columns.split(', ').map((c) => c.split(' ')[0]).join(', ')} FROM ${table}`).execute(db);
      await sql.raw(`DROP TABLE ${table}`).execute(db);
      await sql.raw(`ALTER TABLE old_${table} RENAME TO ${table}`).execute(db);
      if (engine === 'postgres') await sql.raw(`ALTER TABLE ${table} RENAME CONSTRAINT old_${table}_pk TO ${table}_pk`).execute(db);
    }
    await sql`DELETE FROM kysely_migration WHERE name = '0150_txn_ids_keyed_by_txn_first'`.execute(db);
    await server().restart();

    // Every ID is still known: the retries change nothing.
    for (let i = 0; i < 5; i++) {
      assert.equal((await send(`m${1_700_000_000_000 + i}.${i}`, 'retry')).body.event_id, sent[i]);
      assert.equal((await toDevice(`d${i}`, 100 + i)).status, 200);
    }
    assert.notEqual((await send('m1700000000099.99', 'new')).body.event_id, sent[0]);
    assert.equal((await toDevice('d99', 99)).status, 200);
    const bobSync = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: bobSince } });
    assert.deepEqual(bobSync.body.to_device.events.map((e: any) => e.content.n), [0, 1, 2, 3, 4, 99]);
    const db2 = server().app.database.db;
    const count = async (table: 'event_txns' | 'to_device_txns') =>
      Number((await db2.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', alice.userId).executeTakeFirstOrThrow()).n);
    assert.equal(await count('event_txns'), 6);
    assert.equal(await count('to_device_txns'), 6);
    for (const table of ['event_txns', 'to_device_txns']) {
      const key =
        engine === 'sqlite'
          ? await sql<{ name: string }>`SELECT name FROM pragma_index_info((SELECT name FROM pragma_index_list(${table}) WHERE origin = 'pk')) ORDER BY seqno`.execute(db2)
          : await sql<{ name: string }>`SELECT a.attname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
              WHERE c.relname = ${table} AND i.indisprimary AND c.relnamespace = current_schema()::regnamespace
              ORDER BY array_position(i.indkey::int2[], a.attnum)`.execute(db2);
      assert.deepEqual(key.rows.map((r) => r.name), ['txn_id', 'user_id', 'device_id'], table);
    }
    if (engine === 'sqlite') {
      // Each table is one tree now: no rowid table beside a primary-key index.
      const indexes = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('event_txns', 'to_device_txns')`.execute(db2);
      assert.deepEqual(indexes.rows, []);
    }
  });
});
