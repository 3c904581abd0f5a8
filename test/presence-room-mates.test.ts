// Presence in /sync follows room membership at once: the room-mates a sync remembered are
// forgotten when someone joins or leaves a room.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('presence in sync after membership changes', ({ server }) => {
  const enc = encodeURIComponent;
  let alice: TestUser;
  let carol: TestUser;
  let roomId: string;
  let since: string;

  const setPresence = async (user: TestUser, presence: string, status_msg: string) => {
    const res = await server().request('PUT', `/_matrix/client/v3/presence/${enc(user.userId)}/status`, { token: user.accessToken, body: { presence, status_msg } });
    assert.equal(res.status, 200);
  };
  /** Alice's presence events from carol since the last call. */
  const carolSeenByAlice = async () => {
    const res = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since, timeout: 0 } });
    assert.equal(res.status, 200);
    since = res.body.next_batch;
    return res.body.presence.events.filter((e: { sender: string }) => e.sender === carol.userId);
  };

  it("shows a new room-mate's presence change, after one from before they shared a room was hidden", async () => {
    alice = await server().registerUser();
    carol = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    since = (await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken })).body.next_batch;
    await setPresence(carol, 'online', 'not here yet');
    assert.deepEqual(await carolSeenByAlice(), []);

    const join = await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: carol.accessToken, body: {} });
    assert.equal(join.status, 200);
    await setPresence(carol, 'unavailable', 'joined');
    const seen = await carolSeenByAlice();
    assert.equal(seen.length, 1);
    assert.equal(seen[0].content.status_msg, 'joined');
  });

  it('stops showing it once they left the room', async () => {
    const leave = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: carol.accessToken, body: {} });
    assert.equal(leave.status, 200);
    await carolSeenByAlice();
    await setPresence(carol, 'online', 'gone');
    assert.deepEqual(await carolSeenByAlice(), []);
  });
});
