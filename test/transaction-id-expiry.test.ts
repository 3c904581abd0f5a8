// Client transaction IDs expire after a day (services/housekeeping/transaction-ids.ts): within
// the day a retried PUT is idempotent, after it the ID may be used again; the sender's device
// keeps seeing unsigned.transaction_id on its old events. Through HTTP, on both databases.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';

const HOUR = 60 * 60 * 1000;

describeEachDatabase('transaction ID expiry', ({ server }) => {
  it('keeps IDs for a day, then lets a repeated ID send again; old events keep their transaction_id', async () => {
    const alice = await server().registerUser();
    const bob = await server().registerUser();
    const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: {} })).body.room_id;
    const send = (txn: string, body: string) =>
      server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, { token: alice.accessToken, body: { msgtype: 'm.text', body } });
    const toDevice = (txn: string, n: number) =>
      server().request('PUT', `/_matrix/client/v3/sendToDevice/org.example.ping/${txn}`, { token: alice.accessToken, body: { messages: { [bob.userId]: { [bob.deviceId]: { n } } } } });
    const bobSince = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;

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
});
