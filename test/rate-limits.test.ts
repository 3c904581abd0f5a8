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
