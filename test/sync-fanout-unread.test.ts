// Unread counts in woken long-polls: the syncs of one wake-up share one read of the room's
// counters (services/sync/unread-memo.ts), yet each member sees their own counts, and what a
// receipt or a later message changes is seen by the very next wake-up — in the room itself and
// after news in another room.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('sync fan-out: unread counts of woken long-polls', ({ server }) => {
  const enc = encodeURIComponent;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  let room: string;
  let other: string;
  const since = new Map<string, string>();
  let txn = 0;

  const send = async (roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/u${txn++}`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body, ...extra },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.event_id;
  };
  const sync = (u: TestUser, query: Record<string, string | number> = {}) => server().request('GET', '/_matrix/client/v3/sync', { token: u.accessToken, query });
  /** Long-polls for `users` from their last tokens, runs `act`, and returns each answer's rooms. */
  const wake = async (users: TestUser[], act: () => Promise<unknown>): Promise<Array<Record<string, any>>> => {
    const polls = users.map((u) => sync(u, { since: since.get(u.userId)!, timeout: 5000 }));
    // Let the polls park first, so that the act wakes them all at once.
    await new Promise((r) => setTimeout(r, 100));
    await act();
    const answers = await Promise.all(polls);
    return answers.map((a, i) => {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      since.set(users[i].userId, a.body.next_batch);
      return a.body.rooms?.join ?? {};
    });
  };
  const n = (notification_count: number, highlight_count = 0) => ({ notification_count, highlight_count });

  it('gives every woken member their own counts for the same event', async () => {
    [alice, bob, carol, dave] = await Promise.all([1, 2, 3, 4].map(() => server().registerUser()));
    room = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    other = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    for (const u of [bob, carol, dave]) await server().request('POST', `/_matrix/client/v3/join/${enc(room)}`, { token: u.accessToken, body: {} });
    for (const u of [bob, carol]) await server().request('POST', `/_matrix/client/v3/join/${enc(other)}`, { token: u.accessToken, body: {} });
    const first = await send(room, 'before anyone polls');
    const read = await server().request('POST', `/_matrix/client/v3/rooms/${enc(room)}/receipt/m.read/${enc(first)}`, { token: bob.accessToken, body: {} });
    assert.equal(read.status, 200);
    for (const u of [bob, carol, dave]) since.set(u.userId, (await sync(u)).body.next_batch);

    const [b, c, d] = await wake([bob, carol, dave], () => send(room, 'dave, look', { 'm.mentions': { user_ids: [dave.userId] } }));
    assert.deepEqual(b[room].unread_notifications, n(1));
    assert.deepEqual(c[room].unread_notifications, n(2));
    assert.deepEqual(d[room].unread_notifications, n(2, 1));
  });

  it('shows the counts a receipt lowered to the members it wakes', async () => {
    const last = (await sync(bob, { since: since.get(bob.userId)! })).body.rooms.join[room];
    assert.equal(last, undefined); // nothing new since the last wake-up
    const events = (await server().request('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages`, { token: bob.accessToken, query: { dir: 'b', limit: 1 } })).body.chunk;
    const [b, c, d] = await wake([bob, carol, dave], () =>
      server().request('POST', `/_matrix/client/v3/rooms/${enc(room)}/receipt/m.read/${enc(events[0].event_id)}`, { token: bob.accessToken, body: {} }),
    );
    for (const r of [b, c, d]) assert.ok(r[room].ephemeral.events.some((e: any) => e.type === 'm.receipt'));
    assert.deepEqual(b[room].unread_notifications, n(0));
    assert.deepEqual(c[room].unread_notifications, n(2));
    assert.deepEqual(d[room].unread_notifications, n(2, 1));
  });

  it('counts a message in another room, then again in the first room', async () => {
    const [b, c] = await wake([bob, carol], () => send(other, 'elsewhere'));
    for (const r of [b, c]) {
      assert.deepEqual(Object.keys(r), [other]);
      assert.deepEqual(r[other].unread_notifications, n(1));
    }
    const [b2, c2, d2] = await wake([bob, carol, dave], () => send(room, 'back here'));
    assert.deepEqual(b2[room].unread_notifications, n(1));
    assert.deepEqual(c2[room].unread_notifications, n(3));
    assert.deepEqual(d2[room].unread_notifications, n(3, 1));
  });
});
