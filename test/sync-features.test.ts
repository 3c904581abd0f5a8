import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('sync: limited timelines, full_state, lazy loading, summaries, thread counts', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  const enc = encodeURIComponent;
  const send = (user: TestUser, txn: string, content: Record<string, unknown>) =>
    server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { token: user.accessToken, body: content });
  const sync = (user: TestUser, query: Record<string, string | number | boolean | undefined> = {}) =>
    server().request('GET', '/_matrix/client/v3/sync', { token: user.accessToken, query });

  it('gives a limited timeline with a prev_batch that /messages continues from', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat', name: 'Sync room' } })).body.room_id;
    for (const u of [bob, carol]) await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: u.accessToken, body: {} });
    const since = (await sync(bob)).body.next_batch;
    for (let i = 0; i < 6; i++) await send(alice, `m${i}`, { msgtype: 'm.text', body: `message ${i}` });
    const s = await sync(bob, { since, filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) });
    const room = s.body.rooms.join[roomId];
    assert.equal(room.timeline.limited, true);
    assert.deepEqual(room.timeline.events.map((e: any) => e.content.body), ['message 3', 'message 4', 'message 5']);
    const older = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, { token: bob.accessToken, query: { dir: 'b', from: room.timeline.prev_batch, limit: 3 } });
    assert.deepEqual(older.body.chunk.map((e: any) => e.content.body), ['message 2', 'message 1', 'message 0']);
  });

  it('rejects a malformed since token', async () => {
    const bad = await sync(bob, { since: 'garbage' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
    const badFilter = await sync(bob, { filter: '{not json' });
    assert.equal(badFilter.status, 400);
  });

  it('sends the whole state with full_state even when nothing is new', async () => {
    const since = (await sync(bob)).body.next_batch;
    const s = await sync(bob, { since, full_state: true });
    const state = s.body.rooms.join[roomId].state.events;
    assert.ok(state.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Sync room'));
    assert.ok(state.some((e: any) => e.type === 'm.room.create'));
  });

  it('lazy-loads only the members who sent timeline events, and reports a summary', async () => {
    const since = (await sync(bob)).body.next_batch;
    await send(carol, 'c1', { msgtype: 'm.text', body: 'from carol' });
    const filter = JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 1 } } });
    const initial = await sync(bob, { filter });
    const room = initial.body.rooms.join[roomId];
    const members = room.state.events.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
    assert.deepEqual(members, [bob.userId, carol.userId].sort());
    assert.equal(room.summary['m.joined_member_count'], 3);
    assert.deepEqual([...room.summary['m.heroes']].sort(), [alice.userId, carol.userId].sort());
    const inc = await sync(bob, { since, filter });
    assert.deepEqual(inc.body.rooms.join[roomId].timeline.events.map((e: any) => e.content.body), ['from carol']);
  });

  it('counts thread notifications separately when the filter asks for it', async () => {
    const root = await send(alice, 'root', { msgtype: 'm.text', body: 'thread root' });
    await send(alice, 't1', { msgtype: 'm.text', body: 'in thread', 'm.relates_to': { rel_type: 'm.thread', event_id: root.body.event_id } });
    await send(alice, 't2', { msgtype: 'm.text', body: 'in thread 2', 'm.relates_to': { rel_type: 'm.thread', event_id: root.body.event_id } });
    const last = await send(alice, 'main', { msgtype: 'm.text', body: 'main timeline' });
    // Carol read the main timeline up to the latest message: only the thread stays unread.
    await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(last.body.event_id)}`, { token: carol.accessToken, body: { thread_id: 'main' } });
    const s = await sync(carol, { filter: JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }) });
    const room = s.body.rooms.join[roomId];
    assert.deepEqual(room.unread_thread_notifications[root.body.event_id], { notification_count: 2, highlight_count: 0 });
    assert.equal(room.unread_notifications.notification_count, 0);
    // Without the option, everything is counted in the room.
    const plain = await sync(carol);
    assert.ok(plain.body.rooms.join[roomId].unread_notifications.notification_count >= 2);
  });
});
