import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('unread counts and /notifications', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const enc = encodeURIComponent;
  const send = (user: TestUser, txn: string, content: Record<string, unknown>) =>
    server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { token: user.accessToken, body: content });

  it('counts notifications and highlights (mentions) in sync, per room', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat', name: 'Team' } })).body.room_id;
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    // A third member so the room is not one-to-one.
    const carol = await server().registerUser();
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: carol.accessToken, body: {} });

    await send(alice, 'a1', { msgtype: 'm.text', body: 'hello all' });
    await send(alice, 'a2', { msgtype: 'm.text', body: 'bob, look', 'm.mentions': { user_ids: [bob.userId] } });
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken });
    assert.deepEqual(s.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 1 });
    // The sender's own messages never count for them.
    const own = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    assert.deepEqual(own.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
  });

  it('lists notifications, newest first, with read flags', async () => {
    const res = await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.notifications.length, 2);
    assert.equal(res.body.notifications[0].event.content.body, 'bob, look');
    assert.equal(res.body.notifications[0].read, false);
    assert.ok(res.body.notifications[0].actions.some((a: any) => a === 'notify'));
    const hl = await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken, query: { only: 'highlight' } });
    assert.equal(hl.body.notifications.length, 1);
    const page = await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken, query: { limit: 1 } });
    assert.equal(page.body.notifications.length, 1);
    const next = await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken, query: { limit: 1, from: page.body.next_token } });
    assert.equal(next.body.notifications[0].event.content.body, 'hello all');
    const bad = await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken, query: { from: 'x' } });
    assert.equal(bad.status, 400);
  });

  it('resets counts when bob reads, and the room shows up in his incremental sync', async () => {
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;
    const last = await send(alice, 'a3', { msgtype: 'm.text', body: 'one more' });
    const s1 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since } });
    assert.deepEqual(s1.body.rooms.join[roomId].unread_notifications, { notification_count: 3, highlight_count: 1 });
    await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read.private/${enc(last.body.event_id)}`, { token: bob.accessToken, body: {} });
    const s2 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: s1.body.next_batch } });
    assert.deepEqual(s2.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
    const list = await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken });
    assert.ok(list.body.notifications.every((n: any) => n.read === true));
  });

  it('delivers the push rules in the initial sync and changes incrementally', async () => {
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken });
    const rules = s.body.account_data.events.find((e: any) => e.type === 'm.push_rules');
    assert.ok(rules.content.global.override.some((r: any) => r.rule_id === '.m.rule.master'));
    const put = await server().request('PUT', '/_matrix/client/v3/pushrules/global/room/' + enc(roomId), { token: bob.accessToken, body: { actions: [] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const s2 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: s.body.next_batch, timeout: 3000 } });
    const changed = s2.body.account_data.events.find((e: any) => e.type === 'm.push_rules');
    assert.ok(changed.content.global.room.some((r: any) => r.rule_id === roomId));
    // The room rule silences the room: new messages no longer count.
    await send(alice, 'a4', { msgtype: 'm.text', body: 'muted' });
    const s3 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: s2.body.next_batch } });
    assert.deepEqual(s3.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
  });
});
