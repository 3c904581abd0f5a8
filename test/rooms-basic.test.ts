import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('rooms: create, invite, join, send, sync', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  it('creates a room with name and topic', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    const res = await server().request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.accessToken,
      body: { name: 'Staff room', topic: 'Coffee', preset: 'private_chat' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    roomId = res.body.room_id;
    assert.match(roomId, /^!.+:test\.local$/);
    const joined = await server().request('GET', '/_matrix/client/v3/joined_rooms', { token: alice.accessToken });
    assert.deepEqual(joined.body.joined_rooms, [roomId]);
  });

  it('shows the room with its state in an initial sync', async () => {
    const res = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    assert.equal(res.status, 200);
    const room = res.body.rooms.join[roomId];
    assert.ok(room, 'room in join section');
    const all = [...room.state.events, ...room.timeline.events];
    const name = all.find((e: any) => e.type === 'm.room.name');
    assert.equal(name.content.name, 'Staff room');
    assert.ok(all.some((e: any) => e.type === 'm.room.create'));
    assert.match(res.body.next_batch, /^s\d+$/);
  });

  it('rejects sending into a room the user is not in', async () => {
    const res = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, {
      token: bob.accessToken,
      body: { msgtype: 'm.text', body: 'hi' },
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  it('invites bob; bob sees the invite, joins, and receives a message through a long-poll', async () => {
    const inv = await server().request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
      token: alice.accessToken,
      body: { user_id: bob.userId },
    });
    assert.equal(inv.status, 200, JSON.stringify(inv.body));
    const s1 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken });
    assert.ok(s1.body.rooms.invite[roomId], 'invite section');
    const inviteState = s1.body.rooms.invite[roomId].invite_state.events;
    assert.ok(inviteState.some((e: any) => e.type === 'm.room.name'));

    const join = await server().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.accessToken, body: {} });
    assert.equal(join.status, 200, JSON.stringify(join.body));
    const s2 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: s1.body.next_batch } });
    assert.ok(s2.body.rooms.join[roomId], 'joined room appears');

    const started = Date.now();
    const poll = server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: s2.body.next_batch, timeout: 10000 } });
    await new Promise((r) => setTimeout(r, 100));
    const send = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body: 'hello bob' },
    });
    assert.equal(send.status, 200);
    const s3 = await poll;
    assert.ok(Date.now() - started < 5000, 'long-poll woke before its timeout');
    const timeline = s3.body.rooms.join[roomId].timeline.events;
    assert.equal(timeline.length, 1);
    assert.equal(timeline[0].event_id, send.body.event_id);
    assert.equal(timeline[0].content.body, 'hello bob');
    assert.equal(timeline[0].unsigned.transaction_id, undefined, 'transaction_id only for the sending device');
  });

  it('is idempotent per transaction ID', async () => {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/same-txn`;
    const a = await server().request('PUT', path, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'once' } });
    const b = await server().request('PUT', path, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'once' } });
    assert.equal(a.status, 200);
    assert.equal(a.body.event_id, b.body.event_id);
  });

  it('redacts a message and serves it redacted', async () => {
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken })).body.next_batch;
    const sent = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/r1`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body: 'oops' },
    });
    const red = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(sent.body.event_id)}/r2`, {
      token: alice.accessToken,
      body: { reason: 'typo' },
    });
    assert.equal(red.status, 200, JSON.stringify(red.body));
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since } });
    const events = s.body.rooms.join[roomId].timeline.events;
    const original = events.find((e: any) => e.event_id === sent.body.event_id);
    assert.deepEqual(original.content, {});
    assert.equal(original.unsigned.redacted_because.event_id, red.body.event_id);
    const redaction = events.find((e: any) => e.event_id === red.body.event_id);
    assert.equal(redaction.redacts, sent.body.event_id);
  });

  it('rejects bad room IDs and float content', async () => {
    const bad = await server().request('PUT', '/_matrix/client/v3/rooms/notaroom/send/m.room.message/x', { token: alice.accessToken, body: {} });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
    const float = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/f1`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body: 'x', n: 1.5 },
    });
    assert.equal(float.status, 400);
    assert.equal(float.body.errcode, 'M_BAD_JSON');
    const notJson = await server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/f2`, {
      token: alice.accessToken,
      rawBody: '{not json',
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.errcode, 'M_NOT_JSON');
  });

  it('enforces power levels: bob cannot rename the room or redact alice\'s message', async () => {
    const room = encodeURIComponent(roomId);
    const rename = await server().request('PUT', `/_matrix/client/v3/rooms/${room}/state/m.room.name/`, { token: bob.accessToken, body: { name: 'Mine now' } });
    assert.equal(rename.status, 403);
    assert.equal(rename.body.errcode, 'M_FORBIDDEN');
    const msg = await server().request('PUT', `/_matrix/client/v3/rooms/${room}/send/m.room.message/pl1`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'keep' } });
    const redact = await server().request('PUT', `/_matrix/client/v3/rooms/${room}/redact/${encodeURIComponent(msg.body.event_id)}/pl2`, { token: bob.accessToken, body: {} });
    assert.equal(redact.status, 403);
    const own = await server().request('PUT', `/_matrix/client/v3/rooms/${room}/send/m.room.message/pl3`, { token: bob.accessToken, body: { msgtype: 'm.text', body: 'mine' } });
    const redactOwn = await server().request('PUT', `/_matrix/client/v3/rooms/${room}/redact/${encodeURIComponent(own.body.event_id)}/pl4`, { token: bob.accessToken, body: {} });
    assert.equal(redactOwn.status, 200);
    const topic = await server().request('PUT', `/_matrix/client/v3/rooms/${room}/state/m.room.topic`, { token: alice.accessToken, body: { topic: 'Tea' } });
    assert.equal(topic.status, 200);
  });

  it('bob leaves and the room moves to the leave section', async () => {
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;
    const leave = await server().request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, { token: bob.accessToken, body: {} });
    assert.equal(leave.status, 200);
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since } });
    assert.ok(s.body.rooms.leave[roomId], 'leave section');
    assert.equal(s.body.rooms.join[roomId], undefined);
  });
});
