import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';

describeEachDatabase(
  'rate limits on sending',
  ({ server }) => {
    it('answers 429 M_LIMIT_EXCEEDED with retry_after_ms once the burst is used, and stores nothing', async () => {
      const alice = await server().registerUser();
      const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: {} })).body.room_id;
      const path = (txn: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`;
      const statuses: number[] = [];
      let limited: any;
      for (let i = 0; i < 5; i++) {
        const res = await server().request('PUT', path(`r${i}`), { token: alice.accessToken, body: { msgtype: 'm.text', body: `n${i}` } });
        statuses.push(res.status);
        if (res.status === 429) limited = res.body;
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.equal(limited.errcode, 'M_LIMIT_EXCEEDED');
      assert.ok(limited.retry_after_ms > 0);
      const msgs = await server().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b', limit: 50 } });
      const bodies = msgs.body.chunk.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body);
      assert.deepEqual(bodies, ['n2', 'n1', 'n0']);
    });
  },
  // createRoom is not a message; only the three sends fit in the burst.
  { rate_limits: { enabled: true, message: { per_second: 0.001, burst_count: 3 }, login: { per_second: 10, burst_count: 100 }, registration: { per_second: 10, burst_count: 100 } } },
);

describeEachDatabase(
  'rate limits on send-to-device',
  ({ server }) => {
    it('answers 429 M_LIMIT_EXCEEDED once the burst is used, delivers only what was accepted, and limits each sender apart', async () => {
      const alice = await server().registerUser();
      const carol = await server().registerUser();
      const bob = await server().registerUser();
      const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;
      const send = (from: typeof alice, n: number) =>
        server().request('PUT', `/_matrix/client/v3/sendToDevice/org.example.ping/t${n}`, {
          token: from.accessToken,
          body: { messages: { [bob.userId]: { [bob.deviceId]: { n } } } },
        });
      const statuses: number[] = [];
      let limited: any;
      for (let n = 0; n < 4; n++) {
        const res = await send(alice, n);
        statuses.push(res.status);
        if (res.status === 429) limited = res.body;
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      assert.equal(limited.errcode, 'M_LIMIT_EXCEEDED');
      assert.ok(limited.retry_after_ms > 0);
      // Another sender has its own bucket.
      assert.equal((await send(carol, 10)).status, 200);
      const sync = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since } });
      assert.deepEqual(
        sync.body.to_device.events.map((e: any) => [e.sender, e.content.n]),
        [
          [alice.userId, 0],
          [alice.userId, 1],
          [carol.userId, 10],
        ],
      );
    });
  },
  { rate_limits: { enabled: true, to_device: { per_second: 0.001, burst_count: 2 }, login: { per_second: 10, burst_count: 100 }, registration: { per_second: 10, burst_count: 100 } } },
);
