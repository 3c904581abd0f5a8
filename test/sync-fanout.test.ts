// Many members long-polling one room: the woken syncs share the room's timeline read
// (services/sync/timeline-memo.ts), yet each answer stays the user's own — transaction IDs only
// for the sender's device, ignored senders hidden, the user's timeline limit — and a redaction
// that arrives after a shared read is never hidden by it. A re-poll with nothing new after its
// token waits instead of answering at once. The in-memory trackers behind this (rooms with news,
// key counts) know nothing from before a restart: older tokens are answered from the database.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';
import { TestDevice } from './support/e2ee-keys.ts';

describeEachDatabase('sync fan-out: woken long-polls of one room', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  const enc = encodeURIComponent;
  const send = (user: TestUser, txn: string, body: string) =>
    server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { token: user.accessToken, body: { msgtype: 'm.text', body } });
  const sync = (user: TestUser, query: Record<string, string | number | undefined> = {}) => server().request('GET', '/_matrix/client/v3/sync', { token: user.accessToken, query });
  const timeline = (body: any): any[] => body.rooms?.join?.[roomId]?.timeline?.events ?? [];

  it('wakes every member with the new event, each seeing their own view of it', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    for (const u of [bob, carol]) await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: u.accessToken, body: {} });
    await server().request('PUT', `/_matrix/client/v3/user/${enc(carol.userId)}/account_data/m.ignored_user_list`, {
      token: carol.accessToken,
      body: { ignored_users: { [alice.userId]: {} } },
    });
    const tokens = await Promise.all([alice, bob, carol].map(async (u) => (await sync(u)).body.next_batch as string));
    // All three from the same position: alice and bob are woken; carol ignores alice.
    const polls = [alice, bob, carol].map((u, i) => sync(u, { since: tokens[i], timeout: 1500 }));
    const sent = await send(alice, 'fan1', 'hello everyone');
    const [a, b, c] = await Promise.all(polls);
    const mine = timeline(a.body).find((e) => e.event_id === sent.body.event_id);
    const theirs = timeline(b.body).find((e) => e.event_id === sent.body.event_id);
    assert.equal(mine?.unsigned?.transaction_id, 'fan1');
    assert.equal(theirs?.content.body, 'hello everyone');
    assert.equal(theirs.unsigned.transaction_id, undefined);
    assert.ok(!timeline(c.body).some((e) => e.event_id === sent.body.event_id));
  });

  it('answers every woken long-poll when more wake at once than are built at a time', async () => {
    // Several devices' worth of polls per user: more waiters than the woken-build slots (8).
    const users = [alice, bob, bob, bob, bob, bob, alice, alice, alice, alice, bob, bob];
    const since = (await sync(bob)).body.next_batch;
    const polls = users.map((u) => sync(u, { since, timeout: 5000 }));
    const sent = await send(alice, 'many', 'to all of you');
    for (const res of await Promise.all(polls)) assert.ok(timeline(res.body).some((e) => e.event_id === sent.body.event_id));
  });

  it('gives each filter its own answer from the same token', async () => {
    const since = (await sync(bob)).body.next_batch;
    for (let i = 0; i < 3; i++) await send(alice, `lim${i}`, `burst ${i}`);
    const [short, long] = await Promise.all([
      sync(bob, { since, filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) }),
      sync(carol, { since, filter: JSON.stringify({ room: { timeline: { limit: 10 } } }) }),
      sync(alice, { since, filter: JSON.stringify({ room: { timeline: { limit: 10 } } }) }),
    ]);
    assert.equal(short.body.rooms.join[roomId].timeline.limited, true);
    assert.deepEqual(timeline(short.body).map((e) => e.content.body), ['burst 2']);
    // Carol ignores alice: a shared read must not leak alice's messages into her answer.
    assert.deepEqual(timeline(long.body).filter((e) => e.type === 'm.room.message'), []);
  });

  it('applies a stored filter by ID on every sync, its own user\'s only, and refuses unknown IDs', async () => {
    const created = await server().request('POST', `/_matrix/client/v3/user/${enc(bob.userId)}/filter`, { token: bob.accessToken, body: { room: { timeline: { limit: 1 } } } });
    const filterId = created.body.filter_id as string;
    for (let round = 0; round < 2; round++) {
      const since = (await sync(bob)).body.next_batch;
      await send(alice, `byid${round}a`, `first ${round}`);
      await send(alice, `byid${round}b`, `second ${round}`);
      const s = await sync(bob, { since, filter: filterId });
      assert.deepEqual(timeline(s.body).map((e) => e.content.body), [`second ${round}`]);
    }
    // The same ID means nothing for another user (a filter is per user).
    const other = await sync(carol, { filter: filterId });
    assert.equal(other.body.errcode, 'M_NOT_FOUND');
    for (let i = 0; i < 2; i++) assert.equal((await sync(bob, { filter: '987654' })).status, 404);
  });

  it('shows an event redacted to a sync from before the redaction, after others read it unredacted', async () => {
    const since = (await sync(bob)).body.next_batch;
    const sent = await send(alice, 'red-me', 'soon gone');
    const before = await Promise.all([sync(alice, { since }), sync(bob, { since })]);
    for (const r of before) assert.equal(timeline(r.body).find((e) => e.event_id === sent.body.event_id)?.content.body, 'soon gone');
    const red = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(sent.body.event_id)}/red1`, { token: alice.accessToken, body: {} });
    assert.equal(red.status, 200);
    const after = await sync(bob, { since });
    assert.deepEqual(timeline(after.body).find((e) => e.event_id === sent.body.event_id)?.content, {});
    assert.ok(timeline(after.body).some((e) => e.event_id === red.body.event_id));
  });

  it('keeps a re-poll with nothing new waiting until something happens, then answers with it', async () => {
    const since = (await sync(bob)).body.next_batch;
    const quiet = await sync(bob, { since, timeout: 100 });
    assert.equal(quiet.status, 200);
    assert.equal(quiet.body.next_batch, since);
    assert.deepEqual(quiet.body.rooms.join, {});
    assert.deepEqual(quiet.body.device_one_time_keys_count, { signed_curve25519: 0 });
    const waiting = sync(bob, { since, timeout: 5000 });
    await send(alice, 'late', 'worth the wait');
    const woken = await waiting;
    assert.deepEqual(timeline(woken.body).map((e) => e.content.body), ['worth the wait']);
    assert.notEqual(woken.body.next_batch, since);
  });

  it('counts an event exactly at the token as seen, and one just after it as new', async () => {
    const since = (await sync(bob)).body.next_batch;
    await send(alice, 'edge', 'on the edge');
    const first = await sync(bob, { since });
    const events = timeline(first.body);
    assert.deepEqual(events.map((e) => e.content.body), ['on the edge']);
    const at = await sync(bob, { since: first.body.next_batch });
    assert.deepEqual(at.body.rooms.join, {});
    const justBefore = await sync(bob, { since: first.body.rooms.join[roomId].timeline.prev_batch });
    assert.deepEqual(timeline(justBefore.body).map((e) => e.content.body), ['on the edge']);
  });

  it('answers a token from before a restart from the database: events and key counts', async () => {
    const device = new TestDevice(bob);
    const since = (await sync(bob)).body.next_batch;
    await send(alice, 'pre-restart', 'sent before the restart');
    await device.upload(server(), { device_keys: device.deviceKeys(), one_time_keys: device.oneTimeKeys(3) });
    await server().restart();
    const after = await sync(bob, { since });
    assert.deepEqual(timeline(after.body).map((e) => e.content.body), ['sent before the restart']);
    assert.deepEqual(after.body.device_one_time_keys_count, { signed_curve25519: 3 });
    // And from the new position on, a woken long-poll still finds the room's news.
    const waiting = sync(bob, { since: after.body.next_batch, timeout: 5000 });
    await send(alice, 'post-restart', 'sent after the restart');
    assert.deepEqual(timeline((await waiting).body).map((e) => e.content.body), ['sent after the restart']);
  });
});
