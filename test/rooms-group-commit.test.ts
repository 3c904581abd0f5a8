// Concurrent sends into one room: RoomWriter writes queued messages as a chain in one
// transaction (group commit). Whatever the batching, every send must be stored exactly once,
// in one order that stream positions, depth and prev_events all agree on, and reach sync.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('rooms: concurrent sends (group commit)', ({ server }) => {
  let users: TestUser[];
  let outsider: TestUser;
  let roomId: string;
  let since: string;

  const send = (user: TestUser, txnId: string, body: string) =>
    server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`, {
      token: user.accessToken,
      body: { msgtype: 'm.text', body },
    });

  /** The room's served events in stream order, as stored. */
  const storedEvents = async () => {
    const { db } = server().app.database;
    const rows = await db
      .selectFrom('events')
      .select(['event_id', 'stream_pos', 'depth', 'json'])
      .where('room_id', '=', roomId)
      .where('stream_pos', 'is not', null)
      .orderBy('stream_pos')
      .execute();
    return rows.map((r) => ({ eventId: r.event_id, streamPos: Number(r.stream_pos), depth: Number(r.depth), pdu: JSON.parse(r.json) }));
  };

  it('sets up a room with five members', async () => {
    users = [];
    for (let i = 0; i < 5; i++) users.push(await server().registerUser());
    outsider = await server().registerUser();
    const created = await server().request('POST', '/_matrix/client/v3/createRoom', { token: users[0].accessToken, body: { preset: 'public_chat' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    roomId = created.body.room_id;
    for (const u of users.slice(1)) {
      const join = await server().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: u.accessToken, body: {} });
      assert.equal(join.status, 200, JSON.stringify(join.body));
    }
    const sync = await server().request('GET', '/_matrix/client/v3/sync', { token: users[1].accessToken });
    since = sync.body.next_batch;
  });

  it('stores 50 concurrent sends from five users exactly once, as a linear chain, and syncs them all', async () => {
    const before = await storedEvents();
    const head = before[before.length - 1];
    // Among them, sends that must fail or collapse without harming the batch they share:
    // a non-member (403) and a repeated transaction ID (answered with the same event).
    const requests = Array.from({ length: 50 }, (_, i) => send(users[i % 5], `gc${i}`, `message ${i}`));
    const refused = send(outsider, 'gc-outsider', 'let me in');
    const repeats = [0, 5, 10, 45].map((i) => send(users[0], `gc${i}`, `message ${i}`));
    const responses = await Promise.all(requests);
    for (const res of responses) assert.equal(res.status, 200, JSON.stringify(res.body));
    const ids = responses.map((r) => r.body.event_id as string);
    assert.equal(new Set(ids).size, 50, 'distinct event IDs');
    const refusedRes = await refused;
    assert.equal(refusedRes.status, 403);
    assert.equal(refusedRes.body.errcode, 'M_FORBIDDEN');
    const repeated = await Promise.all(repeats);
    for (const res of repeated) assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(repeated.map((r) => r.body.event_id), [ids[0], ids[5], ids[10], ids[45]], 'same transaction ID, same event');

    const after = await storedEvents();
    const added = after.slice(before.length);
    assert.deepEqual(after.slice(0, before.length).map((e) => e.eventId), before.map((e) => e.eventId));
    assert.equal(added.length, 50, 'exactly the 50 sends were stored');
    assert.deepEqual(new Set(added.map((e) => e.eventId)), new Set(ids));
    // Linear DAG in stream order: each event's only prev event is the one before it.
    let previous = head;
    for (const ev of added) {
      assert.deepEqual(ev.pdu.prev_events, [previous.eventId], `prev_events of ${ev.eventId}`);
      assert.equal(ev.depth, previous.depth + 1);
      previous = ev;
    }
    // The sends were all concurrent, so no order per user is promised: only that all are there.
    for (let u = 0; u < 5; u++) {
      const bodies = added.filter((e) => e.pdu.sender === users[u].userId).map((e) => e.pdu.content.body);
      assert.equal(bodies.length, 10);
    }
    const { db } = server().app.database;
    const extremities = await db.selectFrom('room_forward_extremities').select('event_id').where('room_id', '=', roomId).execute();
    assert.deepEqual(extremities.map((r) => r.event_id), [previous.eventId], 'one forward extremity: the last event');
    const txns = await db.selectFrom('event_txns').select(['txn_id', 'event_id']).where('room_id', '=', roomId).where('txn_id', 'like', 'gc%').execute();
    assert.equal(txns.length, 50);
    for (const t of txns) assert.equal(t.event_id, ids[Number(t.txn_id.slice(2))]);

    // Incremental sync delivers all of them, in the same order.
    const seen: string[] = [];
    let token = since;
    for (let round = 0; round < 10 && seen.length < 50; round++) {
      const res = await server().request('GET', '/_matrix/client/v3/sync', { token: users[1].accessToken, query: { since: token, timeout: 0 } });
      assert.equal(res.status, 200);
      const room = res.body.rooms?.join?.[roomId];
      if (room) {
        // A limited timeline would skip events; fetch the gap through /messages instead.
        if (room.timeline.limited) {
          const page = await server().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`, {
            token: users[1].accessToken,
            query: { from: token, to: room.timeline.prev_batch, dir: 'f', limit: 100 },
          });
          assert.equal(page.status, 200);
          for (const e of page.body.chunk) if (e.type === 'm.room.message') seen.push(e.event_id);
        }
        for (const e of room.timeline.events) if (e.type === 'm.room.message') seen.push(e.event_id);
      }
      token = res.body.next_batch;
    }
    assert.deepEqual(seen, added.map((e) => e.eventId), 'sync delivers every send once, in stream order');
  });

  it('answers retried transaction IDs with their first event, in a batch with new sends and after leaving', async () => {
    // Repeats are detected by the transaction's unique key, not by a lookup before the send:
    // a repeat fails its batch, the batch is retried one event at a time, and only the repeat
    // is answered from the first send.
    const first = await Promise.all([0, 1, 2].map((i) => send(users[2], `retry${i}`, `retry ${i}`)));
    for (const res of first) assert.equal(res.status, 200, JSON.stringify(res.body));
    const before = (await storedEvents()).length;
    const mixed = await Promise.all([
      send(users[3], 'fresh0', 'fresh 0'),
      send(users[2], 'retry1', 'retry 1'),
      send(users[4], 'fresh1', 'fresh 1'),
      send(users[2], 'retry2', 'retry 2'),
      send(users[3], 'fresh2', 'fresh 2'),
    ]);
    for (const res of mixed) assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(mixed[1].body.event_id, first[1].body.event_id);
    assert.equal(mixed[3].body.event_id, first[2].body.event_id);
    const added = (await storedEvents()).slice(before);
    assert.deepEqual(new Set(added.map((e) => e.eventId)), new Set([mixed[0], mixed[2], mixed[4]].map((r) => r.body.event_id)));

    // A retry after its sender left the room still gets the event it created, not a 403.
    const leave = await server().request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, { token: users[2].accessToken, body: {} });
    assert.equal(leave.status, 200, JSON.stringify(leave.body));
    const late = await send(users[2], 'retry0', 'retry 0');
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal(late.body.event_id, first[0].body.event_id);
    const rejoin = await server().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: users[2].accessToken, body: {} });
    assert.equal(rejoin.status, 200, JSON.stringify(rejoin.body));
  });

  it('keeps state events and messages in order when they are sent together', async () => {
    const before = (await storedEvents()).length;
    const topic = server().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.topic`, {
      token: users[0].accessToken,
      body: { topic: 'busy' },
    });
    const messages = Array.from({ length: 10 }, (_, i) => send(users[(i % 4) + 1], `mixed${i}`, `mixed ${i}`));
    const results = await Promise.all([topic, ...messages]);
    for (const res of results) assert.equal(res.status, 200, JSON.stringify(res.body));
    const added = (await storedEvents()).slice(before - 1);
    assert.equal(added.length, 12);
    for (let i = 1; i < added.length; i++) assert.deepEqual(added[i].pdu.prev_events, [added[i - 1].eventId]);
    const state = await server().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.topic`, { token: users[2].accessToken });
    assert.equal(state.body.topic, 'busy');
  });
});
