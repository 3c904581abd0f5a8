import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';
import { createRoom, invite, join, say, setState } from './support/room-actions.ts';

// Spelled out here (not imported) so the spec-coverage scanner can read the paths tests use.
const room = (roomId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;

/** Pages /messages until `end` is omitted; returns every event seen, in page order. */
async function paginateAll(s: TestServer, user: TestUser, roomId: string, dir: 'b' | 'f', limit: number): Promise<any[]> {
  const all: any[] = [];
  let from: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const res = await s.request('GET', `${room(roomId)}/messages`, { token: user.accessToken, query: { dir, limit, from } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.chunk.length <= limit);
    all.push(...res.body.chunk);
    if (res.body.end === undefined) return all;
    from = res.body.end;
  }
  throw new Error('pagination did not end');
}

const bodies = (events: any[]) => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

describeEachDatabase('room reads: events, state, members', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  let first: string;

  it('sets up a room with messages', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomId = await createRoom(server(), alice, { name: 'Reads', topic: 'all about reading' });
    first = await say(server(), alice, roomId, 'one');
    await say(server(), alice, roomId, 'two');
    await invite(server(), alice, roomId, bob);
    await join(server(), bob, roomId);
  });

  it('GET /event returns one event, 404 for unknown, other-room or hidden events', async () => {
    const ok = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(first)}`, { token: alice.accessToken });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.event_id, first);
    assert.equal(ok.body.room_id, roomId);
    assert.equal(ok.body.content.body, 'one');
    assert.equal(typeof ok.body.unsigned.age, 'number');

    const unknown = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent('$nope')}`, { token: alice.accessToken });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');

    const other = await createRoom(server(), alice);
    const wrongRoom = await server().request('GET', `${room(other)}/event/${encodeURIComponent(first)}`, { token: alice.accessToken });
    assert.equal(wrongRoom.status, 404);

    const noRoom = await server().request('GET', `${room('!missing:test.local')}/event/${encodeURIComponent(first)}`, { token: alice.accessToken });
    assert.equal(noRoom.status, 404);
    assert.equal(noRoom.body.errcode, 'M_NOT_FOUND');

    const outsider = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(first)}`, { token: carol.accessToken });
    assert.equal(outsider.status, 404, 'a shared room hides events from users who never joined');

    const badRoom = await server().request('GET', `${room('not-a-room')}/event/${encodeURIComponent(first)}`, { token: alice.accessToken });
    assert.equal(badRoom.status, 400);
    assert.equal(badRoom.body.errcode, 'M_INVALID_PARAM');

    const anon = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(first)}`);
    assert.equal(anon.status, 401);
  });

  it('GET /state returns the current state; 403 for non-members; 404 for unknown rooms', async () => {
    const res = await server().request('GET', `${room(roomId)}/state`, { token: bob.accessToken });
    assert.equal(res.status, 200);
    const types = new Set(res.body.map((e: any) => e.type));
    for (const t of ['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.name', 'm.room.topic']) {
      assert.ok(types.has(t), t);
    }
    const bobMember = res.body.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(bobMember.content.membership, 'join');
    assert.equal(bobMember.unsigned.prev_content.membership, 'invite');

    const outsider = await server().request('GET', `${room(roomId)}/state`, { token: carol.accessToken });
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.errcode, 'M_FORBIDDEN');

    const unknown = await server().request('GET', `${room('!missing:test.local')}/state`, { token: alice.accessToken });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
  });

  it('GET /state/{type}/{key}: content by default, the event with format=event, empty key with or without slash', async () => {
    const noSlash = await server().request('GET', `${room(roomId)}/state/m.room.name`, { token: alice.accessToken });
    assert.equal(noSlash.status, 200);
    assert.deepEqual(noSlash.body, { name: 'Reads' });
    const slash = await server().request('GET', `${room(roomId)}/state/m.room.name/`, { token: alice.accessToken });
    assert.equal(slash.status, 200);
    assert.deepEqual(slash.body, { name: 'Reads' });

    const asEvent = await server().request('GET', `${room(roomId)}/state/m.room.topic/`, { token: alice.accessToken, query: { format: 'event' } });
    assert.equal(asEvent.status, 200);
    assert.equal(asEvent.body.type, 'm.room.topic');
    assert.equal(asEvent.body.state_key, '');
    assert.equal(asEvent.body.sender, alice.userId);
    assert.match(asEvent.body.event_id, /^\$/);
    assert.equal(asEvent.body.content.topic, 'all about reading');

    const member = await server().request('GET', `${room(roomId)}/state/m.room.member/${encodeURIComponent(bob.userId)}`, { token: alice.accessToken });
    assert.equal(member.status, 200);
    assert.equal(member.body.membership, 'join');

    const missing = await server().request('GET', `${room(roomId)}/state/m.room.avatar/`, { token: alice.accessToken });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errcode, 'M_NOT_FOUND');

    const badFormat = await server().request('GET', `${room(roomId)}/state/m.room.name`, { token: alice.accessToken, query: { format: 'xml' } });
    assert.equal(badFormat.status, 400);
    assert.equal(badFormat.body.errcode, 'M_INVALID_PARAM');

    const outsider = await server().request('GET', `${room(roomId)}/state/m.room.name`, { token: carol.accessToken });
    assert.equal(outsider.status, 403);
  });

  it('GET /members filters by membership / not_membership and reads members at a token', async () => {
    const before = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    const at = before.body.next_batch;
    await invite(server(), alice, roomId, carol);

    const all = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken });
    assert.equal(all.status, 200);
    const byUser = Object.fromEntries(all.body.chunk.map((e: any) => [e.state_key, e.content.membership]));
    assert.deepEqual(byUser, { [alice.userId]: 'join', [bob.userId]: 'join', [carol.userId]: 'invite' });

    const joined = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken, query: { membership: 'join' } });
    assert.deepEqual(joined.body.chunk.map((e: any) => e.state_key).sort(), [alice.userId, bob.userId].sort());
    const notJoined = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken, query: { not_membership: 'join' } });
    assert.deepEqual(notJoined.body.chunk.map((e: any) => e.state_key), [carol.userId]);
    // Both: "is invite OR is not join" → carol only; "is join OR is not invite" → alice and bob.
    const both = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken, query: { membership: 'join', not_membership: 'invite' } });
    assert.deepEqual(both.body.chunk.map((e: any) => e.state_key).sort(), [alice.userId, bob.userId].sort());

    const past = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken, query: { at } });
    assert.equal(past.status, 200, JSON.stringify(past.body));
    assert.ok(!past.body.chunk.some((e: any) => e.state_key === carol.userId), 'carol was not invited yet at the token');

    const badAt = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken, query: { at: 'yesterday' } });
    assert.equal(badAt.status, 400);
    assert.equal(badAt.body.errcode, 'M_INVALID_PARAM');
    const badMembership = await server().request('GET', `${room(roomId)}/members`, { token: alice.accessToken, query: { membership: 'friend' } });
    assert.equal(badMembership.status, 400);
    // carol is only invited: not a member, and the room is not world readable.
    const invited = await server().request('GET', `${room(roomId)}/members`, { token: carol.accessToken });
    assert.equal(invited.status, 403);
  });

  it('GET /joined_members maps joined users to their profile', async () => {
    await setState(server(), bob, roomId, 'm.room.member', { membership: 'join', displayname: 'Bobby', avatar_url: 'mxc://test.local/bob' }, bob.userId);
    const res = await server().request('GET', `${room(roomId)}/joined_members`, { token: alice.accessToken });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body.joined).sort(), [alice.userId, bob.userId].sort());
    assert.deepEqual(res.body.joined[bob.userId], { display_name: 'Bobby', avatar_url: 'mxc://test.local/bob' });
    const outsider = await server().request('GET', `${room(roomId)}/joined_members`, { token: carol.accessToken });
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.errcode, 'M_FORBIDDEN');
  });
});

describeEachDatabase('room reads: /messages, /context, /timestamp_to_event', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const sent: string[] = [];
  const times: number[] = [];

  it('sets up a room with 25 messages', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    roomId = await createRoom(server(), alice, { name: 'History' });
    await invite(server(), alice, roomId, bob);
    await join(server(), bob, roomId);
    for (let i = 0; i < 25; i++) {
      sent.push(await say(server(), i % 2 === 0 ? alice : bob, roomId, `m${i}`));
      const ev = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(sent[i])}`, { token: alice.accessToken });
      times.push(ev.body.origin_server_ts);
    }
  });

  it('pages backwards from the end without a from token, newest first, until end is omitted', async () => {
    const first = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b' } });
    assert.equal(first.status, 200);
    assert.equal(first.body.chunk.length, 10, 'default limit');
    assert.match(first.body.start, /^s\d+$/);
    assert.match(first.body.end, /^s\d+$/);
    assert.deepEqual(bodies(first.body.chunk), ['m24', 'm23', 'm22', 'm21', 'm20', 'm19', 'm18', 'm17', 'm16', 'm15']);

    const all = await paginateAll(server(), alice, roomId, 'b', 7);
    assert.deepEqual(bodies(all), Array.from({ length: 25 }, (_, i) => `m${24 - i}`));
    assert.equal(all[all.length - 1].type, 'm.room.create', 'the history ends with the create event');
    assert.equal(new Set(all.map((e) => e.event_id)).size, all.length, 'no event twice');
  });

  it('pages forwards from the start without a from token, oldest first', async () => {
    const all = await paginateAll(server(), alice, roomId, 'f', 9);
    assert.equal(all[0].type, 'm.room.create');
    assert.deepEqual(bodies(all), Array.from({ length: 25 }, (_, i) => `m${i}`));
  });

  it('continues from a sync prev_batch and stops at a to token', async () => {
    const sync = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) } });
    const timeline = sync.body.rooms.join[roomId].timeline;
    assert.deepEqual(bodies(timeline.events), ['m22', 'm23', 'm24']);
    const older = await server().request('GET', `${room(roomId)}/messages`, { token: bob.accessToken, query: { dir: 'b', from: timeline.prev_batch, limit: 2 } });
    assert.deepEqual(bodies(older.body.chunk), ['m21', 'm20']);
    assert.equal(older.body.start, timeline.prev_batch);

    // Forward from that end token up to the sync's prev_batch: exactly m20..m21 again, and an end token at `to`.
    const forward = await server().request('GET', `${room(roomId)}/messages`, { token: bob.accessToken, query: { dir: 'f', from: older.body.end, to: timeline.prev_batch, limit: 50 } });
    assert.deepEqual(bodies(forward.body.chunk), ['m20', 'm21']);
    assert.equal(forward.body.end, timeline.prev_batch);
  });

  it('applies a RoomEventFilter and lazy-loads the senders’ members', async () => {
    const filter = JSON.stringify({ types: ['m.room.message'], senders: [bob.userId], lazy_load_members: true });
    const res = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b', limit: 4, filter } });
    assert.equal(res.status, 200);
    assert.deepEqual(bodies(res.body.chunk), ['m23', 'm21', 'm19', 'm17']);
    assert.ok(res.body.chunk.every((e: any) => e.sender === bob.userId));
    assert.deepEqual(res.body.state.map((e: any) => [e.type, e.state_key]), [['m.room.member', bob.userId]]);

    const noState = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b', limit: 2 } });
    assert.equal(noState.body.state, undefined);

    const limitInFilter = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b', filter: JSON.stringify({ limit: 3 }) } });
    assert.equal(limitInFilter.body.chunk.length, 3);
  });

  it('rejects bad dir, tokens, limits and filters with 400', async () => {
    const cases: Array<[Record<string, string | number>, string]> = [
      [{ dir: 'x' }, 'M_INVALID_PARAM'],
      [{}, 'M_MISSING_PARAM'],
      [{ dir: 'b', from: 'garbage' }, 'M_INVALID_PARAM'],
      [{ dir: 'b', to: 't123' }, 'M_INVALID_PARAM'],
      [{ dir: 'b', limit: 'ten' }, 'M_INVALID_PARAM'],
      [{ dir: 'b', limit: -1 }, 'M_INVALID_PARAM'],
      [{ dir: 'b', filter: '{not json' }, 'M_INVALID_PARAM'],
      [{ dir: 'b', filter: '[1]' }, 'M_INVALID_PARAM'],
      [{ dir: 'b', filter: JSON.stringify({ types: 'm.room.message' }) }, 'M_INVALID_PARAM'],
    ];
    for (const [query, errcode] of cases) {
      const res = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query });
      assert.equal(res.status, 400, JSON.stringify(query));
      assert.equal(res.body.errcode, errcode, JSON.stringify(query));
    }
    const huge = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b', limit: 100000 } });
    assert.equal(huge.status, 200, 'a limit above the cap is capped, not refused');
    const unknown = await server().request('GET', `${room('!missing:test.local')}/messages`, { token: alice.accessToken, query: { dir: 'b' } });
    assert.equal(unknown.status, 404);
  });

  it('GET /context splits the limit around the event, with state and usable tokens', async () => {
    const target = sent[12];
    const res = await server().request('GET', `${room(roomId)}/context/${encodeURIComponent(target)}`, { token: alice.accessToken, query: { limit: 5 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.event.event_id, target);
    assert.deepEqual(bodies(res.body.events_before), ['m11', 'm10'], 'floor(5/2) before, reverse-chronological');
    assert.deepEqual(bodies(res.body.events_after), ['m13', 'm14', 'm15']);
    const types = new Set(res.body.state.map((e: any) => e.type));
    assert.ok(types.has('m.room.create') && types.has('m.room.name') && types.has('m.room.member'));

    const back = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'b', from: res.body.start, limit: 2 } });
    assert.deepEqual(bodies(back.body.chunk), ['m9', 'm8']);
    const fwd = await server().request('GET', `${room(roomId)}/messages`, { token: alice.accessToken, query: { dir: 'f', from: res.body.end, limit: 2 } });
    assert.deepEqual(bodies(fwd.body.chunk), ['m16', 'm17']);

    const zero = await server().request('GET', `${room(roomId)}/context/${encodeURIComponent(target)}`, { token: alice.accessToken, query: { limit: 0 } });
    assert.equal(zero.body.event.event_id, target);
    assert.deepEqual([zero.body.events_before.length, zero.body.events_after.length], [0, 0]);

    const lazy = await server().request('GET', `${room(roomId)}/context/${encodeURIComponent(target)}`, {
      token: alice.accessToken,
      query: { limit: 2, filter: JSON.stringify({ lazy_load_members: true, senders: [alice.userId] }) },
    });
    assert.deepEqual(bodies(lazy.body.events_before), [], 'm11 is bob’s');
    assert.deepEqual(bodies(lazy.body.events_after), [], 'm13 is bob’s');
    const lazyMembers = lazy.body.state.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key);
    assert.deepEqual(lazyMembers, [alice.userId], 'only the sender of the event');

    const missing = await server().request('GET', `${room(roomId)}/context/${encodeURIComponent('$missing')}`, { token: alice.accessToken });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errcode, 'M_NOT_FOUND');
  });

  it('GET /timestamp_to_event finds the nearest event in either direction', async () => {
    const path = `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event`;
    const fwd = await server().request('GET', path, { token: alice.accessToken, query: { ts: times[10], dir: 'f' } });
    assert.equal(fwd.status, 200, JSON.stringify(fwd.body));
    assert.ok(fwd.body.origin_server_ts >= times[10]);
    assert.ok(sent.indexOf(fwd.body.event_id) <= 10 && sent.indexOf(fwd.body.event_id) >= 0, 'the earliest event at or after ts');

    const back = await server().request('GET', path, { token: alice.accessToken, query: { ts: times[10], dir: 'b' } });
    assert.equal(back.status, 200);
    assert.ok(back.body.origin_server_ts <= times[10]);
    assert.ok(sent.indexOf(back.body.event_id) >= 10, 'the latest event at or before ts');

    const future = await server().request('GET', path, { token: alice.accessToken, query: { ts: times[24] + 10_000_000, dir: 'f' } });
    assert.equal(future.status, 404);
    assert.equal(future.body.errcode, 'M_NOT_FOUND');
    const past = await server().request('GET', path, { token: alice.accessToken, query: { ts: times[24] + 10_000_000, dir: 'b' } });
    assert.equal(past.body.event_id, sent[24]);

    const badDir = await server().request('GET', path, { token: alice.accessToken, query: { ts: 1, dir: 'sideways' } });
    assert.equal(badDir.status, 400);
    const noTs = await server().request('GET', path, { token: alice.accessToken, query: { dir: 'f' } });
    assert.equal(noTs.status, 400);
    assert.equal(noTs.body.errcode, 'M_MISSING_PARAM');
  });
});

describeEachDatabase('room reads: history visibility', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;

  it('joined: a new member sees from their join; after leaving, up to their leave and the state then', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    dave = await server().registerUser();
    const roomId = await createRoom(server(), alice, { name: 'Old name', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    const hidden = await say(server(), alice, roomId, 'before bob');
    await invite(server(), alice, roomId, bob);
    await say(server(), alice, roomId, 'while bob is invited');
    await join(server(), bob, roomId);
    const seen = await say(server(), alice, roomId, 'after bob joined');

    const msgs = await paginateAll(server(), bob, roomId, 'b', 3);
    assert.deepEqual(bodies(msgs), ['after bob joined']);
    assert.ok(msgs.some((e) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'join'), 'bob sees his own join');
    assert.ok(!msgs.some((e) => e.type === 'm.room.member' && e.content.membership === 'invite'), 'not even his invite');
    // Events before history_visibility was first set fall under the default, shared.
    assert.ok(msgs.some((e) => e.type === 'm.room.create'), 'the create event predates the joined setting');
    assert.ok(msgs.some((e) => e.type === 'm.room.history_visibility'), 'the change itself: shared before it allows it');
    assert.ok(!msgs.some((e) => e.type === 'm.room.name'), 'state sent under joined before his join is hidden');

    const hiddenEvent = await server().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(hidden)}`, { token: bob.accessToken });
    assert.equal(hiddenEvent.status, 404);
    const ctx = await server().request('GET', `${room(roomId)}/context/${encodeURIComponent(seen)}`, { token: bob.accessToken, query: { limit: 10 } });
    assert.equal(ctx.status, 200);
    assert.deepEqual(bodies(ctx.body.events_before), [], 'context hides history before the join');
    const hiddenCtx = await server().request('GET', `${room(roomId)}/context/${encodeURIComponent(hidden)}`, { token: bob.accessToken });
    assert.equal(hiddenCtx.status, 404);

    // Bob leaves; the room moves on without him.
    const left = await server().request('POST', `${room(roomId)}/leave`, { token: bob.accessToken, body: {} });
    assert.equal(left.status, 200);
    const afterLeave = await say(server(), alice, roomId, 'after bob left');
    await setState(server(), alice, roomId, 'm.room.name', { name: 'New name' });

    const msgsAfter = await paginateAll(server(), bob, roomId, 'b', 50);
    assert.deepEqual(bodies(msgsAfter), ['after bob joined']);
    assert.equal(msgsAfter[0].type, 'm.room.member', 'his own leave is the newest event he sees');
    assert.equal(msgsAfter[0].content.membership, 'leave');
    const fwd = await paginateAll(server(), bob, roomId, 'f', 50);
    assert.deepEqual(bodies(fwd), ['after bob joined']);

    const gone = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(afterLeave)}`, { token: bob.accessToken });
    assert.equal(gone.status, 404);
    const name = await server().request('GET', `${room(roomId)}/state/m.room.name`, { token: bob.accessToken });
    assert.equal(name.status, 200);
    assert.deepEqual(name.body, { name: 'Old name' }, 'state as of leaving');
    const state = await server().request('GET', `${room(roomId)}/state`, { token: bob.accessToken });
    assert.equal(state.body.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId).content.membership, 'leave');
    const members = await server().request('GET', `${room(roomId)}/members`, { token: bob.accessToken });
    assert.equal(members.status, 200);
    assert.equal(members.body.chunk.find((e: any) => e.state_key === bob.userId).content.membership, 'leave');
    const joined = await server().request('GET', `${room(roomId)}/joined_members`, { token: bob.accessToken });
    assert.equal(joined.status, 403);

    // Never a member: no state, no members, no messages, no events.
    for (const path of ['/state', '/members', '/state/m.room.name']) {
      const res = await server().request('GET', `${room(roomId)}${path}`, { token: dave.accessToken });
      assert.equal(res.status, 403, path);
      assert.equal(res.body.errcode, 'M_FORBIDDEN', path);
    }
    const daveMsgs = await server().request('GET', `${room(roomId)}/messages`, { token: dave.accessToken, query: { dir: 'b' } });
    assert.equal(daveMsgs.status, 403);
    const daveTs = await server().request('GET', `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event`, { token: dave.accessToken, query: { ts: 0, dir: 'f' } });
    assert.equal(daveTs.status, 403);
  });

  it('shared: history before the join is visible once joined, but not what came after leaving', async () => {
    const roomId = await createRoom(server(), alice);
    await say(server(), alice, roomId, 'early');
    const early = await server().request('GET', `${room(roomId)}/messages`, { token: carol.accessToken, query: { dir: 'b' } });
    assert.equal(early.status, 403, 'not yet a member');
    await invite(server(), alice, roomId, carol);
    await join(server(), carol, roomId);
    assert.deepEqual(bodies(await paginateAll(server(), carol, roomId, 'b', 5)), ['early']);
    const create = (await paginateAll(server(), carol, roomId, 'b', 50)).find((e) => e.type === 'm.room.create');
    assert.ok(create, 'everything from the start of the room');

    await server().request('POST', `${room(roomId)}/leave`, { token: carol.accessToken, body: {} });
    await say(server(), alice, roomId, 'late');
    assert.deepEqual(bodies(await paginateAll(server(), carol, roomId, 'b', 5)), ['early']);
  });

  it('invited: an invitee sees events from the invite on, not before', async () => {
    const roomId = await createRoom(server(), alice, { initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'invited' } }] });
    const before = await say(server(), alice, roomId, 'before invite');
    await invite(server(), alice, roomId, dave);
    const after = await say(server(), alice, roomId, 'after invite');
    const a = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(after)}`, { token: dave.accessToken });
    assert.equal(a.status, 200);
    const b = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(before)}`, { token: dave.accessToken });
    assert.equal(b.status, 404);
    await join(server(), dave, roomId);
    assert.deepEqual(bodies(await paginateAll(server(), dave, roomId, 'b', 5)), ['after invite']);
  });

  it('world_readable: anyone may read, and a change away from it is visible to non-members', async () => {
    const roomId = await createRoom(server(), alice, { name: 'Public notes', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } }] });
    const open = await say(server(), alice, roomId, 'for everyone');
    const outsider = await server().registerUser();
    const state = await server().request('GET', `${room(roomId)}/state/m.room.name`, { token: outsider.accessToken });
    assert.equal(state.status, 200);
    assert.deepEqual(state.body, { name: 'Public notes' });
    const ev = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(open)}`, { token: outsider.accessToken });
    assert.equal(ev.status, 200);
    const ts = await server().request('GET', `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event`, { token: outsider.accessToken, query: { ts: 0, dir: 'f' } });
    assert.equal(ts.status, 200);

    const hv = await setState(server(), alice, roomId, 'm.room.history_visibility', { history_visibility: 'joined' });
    await say(server(), alice, roomId, 'members only');
    // Now the room is not world readable: the gate closes, single events are judged one by one.
    const msgs = await server().request('GET', `${room(roomId)}/messages`, { token: outsider.accessToken, query: { dir: 'b' } });
    assert.equal(msgs.status, 403);
    const change = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(hv)}`, { token: outsider.accessToken });
    assert.equal(change.status, 200, 'the change from world_readable is visible (either side)');
    const stillOpen = await server().request('GET', `${room(roomId)}/event/${encodeURIComponent(open)}`, { token: outsider.accessToken });
    assert.equal(stillOpen.status, 200, 'events sent while world_readable stay readable');
  });
});
