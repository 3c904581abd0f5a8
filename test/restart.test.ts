import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';

describeEachDatabase('restarts keep sync tokens valid', ({ server }) => {
  it('delivers events sent after a restart to a client holding a token from before it', async () => {
    const alice = await server().registerUser();
    const bob = await server().registerUser();
    const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    await server().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.accessToken, body: {} });
    // Typing takes stream positions without writing rows; bob's token ends up past every row.
    for (let i = 0; i < 5; i++) {
      await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: i % 2 === 0, timeout: 30000 } });
    }
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;

    await server().restart();

    const sent = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/after-restart`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body: 'after the restart' },
    });
    assert.equal(sent.status, 200);
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since } });
    const bodies = (s.body.rooms.join[roomId]?.timeline.events ?? []).map((e: any) => e.content.body);
    assert.deepEqual(bodies, ['after the restart']);
  });
});
