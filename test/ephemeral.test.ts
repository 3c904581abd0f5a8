import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('typing, receipts and read markers', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let messageId: string;
  const enc = encodeURIComponent;

  it('delivers typing notifications to room members through a long-poll', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    messageId = (await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/m1`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'hi' } })).body.event_id;
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;

    const poll = server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since, timeout: 5000 } });
    await new Promise((r) => setTimeout(r, 50));
    const typing = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 20000 } });
    assert.equal(typing.status, 200);
    const s = await poll;
    const ephemeral = s.body.rooms.join[roomId].ephemeral.events;
    assert.deepEqual(ephemeral, [{ type: 'm.typing', content: { user_ids: [alice.userId] } }]);

    const stop = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: alice.accessToken, body: { typing: false } });
    assert.equal(stop.status, 200);
    const s2 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: s.body.next_batch } });
    assert.deepEqual(s2.body.rooms.join[roomId].ephemeral.events, [{ type: 'm.typing', content: { user_ids: [] } }]);
  });

  it('refuses typing for someone else or outside the room', async () => {
    const other = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: bob.accessToken, body: { typing: true } });
    assert.equal(other.status, 403);
    const carol = await server().registerUser();
    const outside = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(carol.userId)}`, { token: carol.accessToken, body: { typing: true } });
    assert.equal(outside.status, 403);
    const bad = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, { token: bob.accessToken, body: { typing: 'yes' } });
    assert.equal(bad.status, 400);
  });

  it('shares public receipts and keeps private ones private', async () => {
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken })).body.next_batch;
    const pub = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(messageId)}`, { token: bob.accessToken, body: {} });
    assert.equal(pub.status, 200);
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since, timeout: 3000 } });
    const receipt = s.body.rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt');
    assert.ok(receipt.content[messageId]['m.read'][bob.userId].ts > 0);

    const aliceSince = s.body.next_batch;
    const priv = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read.private/${enc(messageId)}`, { token: alice.accessToken, body: {} });
    assert.equal(priv.status, 200);
    const own = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since: aliceSince } });
    const ownReceipt = own.body.rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt');
    assert.ok(ownReceipt.content[messageId]['m.read.private'][alice.userId]);
    const bobView = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken });
    const bobReceipts = bobView.body.rooms.join[roomId].ephemeral.events.filter((e: any) => e.type === 'm.receipt');
    for (const r of bobReceipts) assert.equal(r.content[messageId]['m.read.private'], undefined);
  });

  it('sets the fully-read marker through read_markers and rejects bad receipts', async () => {
    const rm = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/read_markers`, { token: bob.accessToken, body: { 'm.fully_read': messageId, 'm.read': messageId } });
    assert.equal(rm.status, 200);
    const marker = await server().request('GET', `/_matrix/client/v3/user/${enc(bob.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`, { token: bob.accessToken });
    assert.deepEqual(marker.body, { event_id: messageId });
    const badType = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.weird/${enc(messageId)}`, { token: bob.accessToken, body: {} });
    assert.equal(badType.status, 400);
    const unknown = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc('$nope')}`, { token: bob.accessToken, body: {} });
    assert.equal(unknown.status, 404);
    const badThread = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(messageId)}`, { token: bob.accessToken, body: { thread_id: '$other' } });
    assert.equal(badThread.status, 400);
  });
});
