import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';
import { createRoom, inviteAndJoin, say, setState } from './support/room-actions.ts';

// Spelled out here (not imported) so the spec-coverage scanner can read the paths tests use.
const room = (roomId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
import { backfillSearchIndex } from '../src/storage/stores/search.ts';

async function search(s: TestServer, user: TestUser, criteria: Record<string, unknown>, nextBatch?: string) {
  const res = await s.request('POST', '/_matrix/client/v3/search', {
    token: user.accessToken,
    body: { search_categories: { room_events: criteria } },
    query: { next_batch: nextBatch },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.search_categories.room_events;
}

/** Follows next_batch to the end; returns every result in page order. */
async function searchAll(s: TestServer, user: TestUser, criteria: Record<string, unknown>): Promise<any[]> {
  const all: any[] = [];
  let next: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = await search(s, user, criteria, next);
    all.push(...page.results);
    if (page.next_batch === undefined) return all;
    next = page.next_batch;
  }
  throw new Error('pagination did not end');
}

const ids = (results: any[]) => results.map((r) => r.result.event_id);

describeEachDatabase('search: room events', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomA: string;
  let roomB: string;
  const msgs: Record<string, string> = {};

  it('sets up rooms with messages, a name and a topic', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomA = await createRoom(server(), alice, { name: 'Red Planet Club', topic: 'All about Martians' });
    await inviteAndJoin(server(), alice, roomA, bob);
    msgs.coming = await say(server(), alice, roomA, 'The martians are coming');
    msgs.invasion = await say(server(), bob, roomA, 'Martian invasion postponed until Tuesday');
    msgs.nothing = await say(server(), alice, roomA, 'nothing to see here');
    msgs.cafe = await say(server(), bob, roomA, 'Meet at the café, martians welcome');
    roomB = await createRoom(server(), alice);
    msgs.roomB = await say(server(), alice, roomB, 'martians in the other room');
  });

  it('finds messages by word prefix, case-insensitively, only in the searcher\'s rooms', async () => {
    const res = await search(server(), bob, { search_term: 'MARTIAN', keys: ['content.body'] });
    assert.deepEqual(new Set(ids(res.results)), new Set([msgs.coming, msgs.invasion, msgs.cafe]));
    assert.equal(res.count, 3);
    for (const r of res.results) {
      assert.equal(typeof r.rank, 'number');
      assert.equal(r.result.room_id, roomA);
      assert.equal(r.result.type, 'm.room.message');
      assert.equal(typeof r.result.content.body, 'string');
    }
    // Highlights name the words as they appear, so clients can mark them.
    assert.ok(res.highlights.includes('martians'), JSON.stringify(res.highlights));
    assert.ok(res.highlights.includes('Martian'), JSON.stringify(res.highlights));
    assert.equal(res.next_batch, undefined);

    const alices = await search(server(), alice, { search_term: 'martians', keys: ['content.body'] });
    assert.ok(ids(alices.results).includes(msgs.roomB));
  });

  it('requires every word to match, and matches prefixes and accents', async () => {
    const both = await search(server(), bob, { search_term: 'martian invasion' });
    assert.deepEqual(ids(both.results), [msgs.invasion]);
    const prefix = await search(server(), bob, { search_term: 'postp tues' });
    assert.deepEqual(ids(prefix.results), [msgs.invasion]);
    const none = await search(server(), bob, { search_term: 'martian zebra' });
    assert.deepEqual(none.results, []);
    assert.equal(none.count, 0);
    const cafe = await search(server(), bob, { search_term: 'café' });
    assert.deepEqual(ids(cafe.results), [msgs.cafe]);
    // Punctuation is not query syntax.
    const odd = await search(server(), bob, { search_term: '"martian* (invasion) -:' });
    assert.deepEqual(ids(odd.results), [msgs.invasion]);
    const nothing = await search(server(), bob, { search_term: '  !!  ' });
    assert.deepEqual(nothing.results, []);
  });

  it('searches room names and topics by key', async () => {
    const names = await search(server(), bob, { search_term: 'planet', keys: ['content.name'] });
    assert.equal(names.results.length, 1);
    assert.equal(names.results[0].result.type, 'm.room.name');
    const topics = await search(server(), bob, { search_term: 'martians', keys: ['content.topic'] });
    assert.equal(topics.results.length, 1);
    assert.equal(topics.results[0].result.type, 'm.room.topic');
    // Default keys: all of them.
    const all = await search(server(), bob, { search_term: 'martians' });
    assert.equal(all.results.length, 3); // topic, "martians are coming", café
  });

  it('orders by recency and pages with next_batch without gaps or repeats', async () => {
    const recent = await search(server(), bob, { search_term: 'martian', keys: ['content.body'], order_by: 'recent' });
    assert.deepEqual(ids(recent.results), [msgs.cafe, msgs.invasion, msgs.coming]);
    const paged = await searchAll(server(), bob, { search_term: 'martian', keys: ['content.body'], order_by: 'recent', filter: { limit: 1 } });
    assert.deepEqual(ids(paged), [msgs.cafe, msgs.invasion, msgs.coming]);
    const first = await search(server(), bob, { search_term: 'martian', keys: ['content.body'], order_by: 'recent', filter: { limit: 1 } });
    assert.equal(first.results.length, 1);
    assert.equal(typeof first.next_batch, 'string');
    assert.equal(first.count, 3);
  });

  it('pages ranked results with next_batch', async () => {
    const ranked = await search(server(), bob, { search_term: 'martian' });
    const ranks = ranked.results.map((r: any) => r.rank);
    assert.deepEqual(ranks, [...ranks].sort((a: number, b: number) => b - a));
    const paged = await searchAll(server(), bob, { search_term: 'martian', filter: { limit: 2 } });
    assert.deepEqual(ids(paged), ids(ranked.results));
    assert.equal(new Set(ids(paged)).size, paged.length);
  });

  it('applies the filter: senders, types, rooms', async () => {
    const fromBob = await search(server(), bob, { search_term: 'martian', filter: { senders: [bob.userId] } });
    assert.deepEqual(new Set(ids(fromBob.results)), new Set([msgs.invasion, msgs.cafe]));
    const notBob = await search(server(), bob, { search_term: 'martian', keys: ['content.body'], filter: { not_senders: [bob.userId] } });
    assert.deepEqual(ids(notBob.results), [msgs.coming]);
    const wildcard = await search(server(), bob, { search_term: 'martians', filter: { types: ['m.room.t*'] } });
    assert.deepEqual(wildcard.results.map((r: any) => r.result.type), ['m.room.topic']);
    const notTopic = await search(server(), bob, { search_term: 'martians', filter: { not_types: ['m.room.topic'] } });
    assert.ok(notTopic.results.every((r: any) => r.result.type === 'm.room.message'));
    const onlyB = await search(server(), alice, { search_term: 'martians', filter: { rooms: [roomB] } });
    assert.deepEqual(ids(onlyB.results), [msgs.roomB]);
    const notA = await search(server(), alice, { search_term: 'martians', filter: { not_rooms: [roomA] } });
    assert.deepEqual(ids(notA.results), [msgs.roomB]);
    // A room the searcher is not in gives nothing, even when named.
    const foreign = await search(server(), bob, { search_term: 'martians', filter: { rooms: [roomB] } });
    assert.deepEqual(foreign.results, []);
  });

  it('groups results by room and by sender, and pages inside a group', async () => {
    const res = await search(server(), alice, {
      search_term: 'martians',
      keys: ['content.body'],
      order_by: 'recent',
      groupings: { group_by: [{ key: 'room_id' }, { key: 'sender' }] },
    });
    assert.deepEqual(new Set(res.groups.room_id[roomA].results), new Set([msgs.coming, msgs.cafe]));
    assert.deepEqual(res.groups.room_id[roomB].results, [msgs.roomB]);
    assert.deepEqual(new Set(Object.values(res.groups.room_id).map((g: any) => g.order)), new Set([1, 2]));
    assert.deepEqual(new Set(res.groups.sender[alice.userId].results), new Set([msgs.coming, msgs.roomB]));
    assert.deepEqual(res.groups.sender[bob.userId].results, [msgs.cafe]);

    const firstPage = await search(server(), alice, {
      search_term: 'martians',
      keys: ['content.body'],
      filter: { limit: 1 },
      groupings: { group_by: [{ key: 'room_id' }] },
    });
    const [roomOfFirst] = Object.keys(firstPage.groups.room_id);
    const token = firstPage.groups.room_id[roomOfFirst].next_batch;
    assert.equal(typeof token, 'string');
    const rest = await searchAll(server(), alice, { search_term: 'martians', keys: ['content.body'], filter: { limit: 1 }, groupings: { group_by: [{ key: 'room_id' }] } });
    assert.equal(rest.length, 3);
    // Inside the group: only that room's results.
    const inGroup = await search(
      server(),
      alice,
      { search_term: 'martians', keys: ['content.body'], filter: { limit: 10 }, groupings: { group_by: [{ key: 'room_id' }] } },
      token,
    );
    assert.ok(inGroup.results.every((r: any) => r.result.room_id === roomOfFirst));
    const expected = roomOfFirst === roomA ? 1 : 0; // room A has 2 matches, room B 1
    assert.equal(inGroup.results.length, expected);
  });

  it('returns event context with profiles, and room state', async () => {
    const res = await search(server(), bob, {
      search_term: 'invasion',
      event_context: { before_limit: 1, after_limit: 2, include_profile: true },
      include_state: true,
    });
    assert.equal(res.results.length, 1);
    const ctx = res.results[0].context;
    assert.deepEqual(ctx.events_before.map((e: any) => e.event_id), [msgs.coming]);
    assert.deepEqual(ctx.events_after.map((e: any) => e.event_id), [msgs.nothing, msgs.cafe]);
    assert.match(ctx.start, /^s\d+$/);
    assert.match(ctx.end, /^s\d+$/);
    assert.ok(bob.userId in ctx.profile_info);
    assert.ok(alice.userId in ctx.profile_info);
    // /messages continues from the context's tokens.
    const more = await server().request('GET', `${room(roomA)}/messages`, { token: bob.accessToken, query: { dir: 'b', from: ctx.start, limit: 50 } });
    assert.equal(more.status, 200);
    assert.ok(!more.body.chunk.some((e: any) => e.event_id === msgs.coming));
    const state = res.state[roomA];
    assert.ok(Array.isArray(state));
    assert.ok(state.some((e: any) => e.type === 'm.room.create'));
    assert.ok(state.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId));
  });

  it('stops finding a message once it is redacted', async () => {
    const id = await say(server(), alice, roomA, 'ephemeral unicorn sighting');
    assert.deepEqual(ids((await search(server(), bob, { search_term: 'unicorn' })).results), [id]);
    const red = await server().request('PUT', `${room(roomA)}/redact/${encodeURIComponent(id)}/unicorn-redaction`, { token: alice.accessToken, body: {} });
    assert.equal(red.status, 200, JSON.stringify(red.body));
    const after = await search(server(), bob, { search_term: 'unicorn' });
    assert.deepEqual(after.results, []);
    // The index row went with the redaction's transaction.
    const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM event_search WHERE event_id = ${id}`.execute(server().app.database.db);
    assert.equal(Number(rows.rows[0].n), 0);
    assert.equal(after.count, 0);
  });

  it('forgets a message redacted before any search moved it into the index', async () => {
    // On SQLite a send stages its index row (migration 0130); the redaction must drop it there.
    const id = await say(server(), alice, roomA, 'fleeting narwhal remark');
    const red = await server().request('PUT', `${room(roomA)}/redact/${encodeURIComponent(id)}/narwhal-redaction`, { token: alice.accessToken, body: {} });
    assert.equal(red.status, 200, JSON.stringify(red.body));
    const res = await search(server(), bob, { search_term: 'narwhal' });
    assert.deepEqual(res.results, []);
    assert.equal(res.count, 0);
    const staged = await sql<{ n: number }>`SELECT count(*) AS n FROM event_search_pending`.execute(server().app.database.db);
    assert.equal(Number(staged.rows[0].n), 0);
  });

  it('applies history visibility: nothing before joining a "joined" room, nothing after leaving', async () => {
    const roomC = await createRoom(server(), alice);
    await setState(server(), alice, roomC, 'm.room.history_visibility', { history_visibility: 'joined' });
    const before = await say(server(), alice, roomC, 'secret zeppelin plans');
    await inviteAndJoin(server(), alice, roomC, carol);
    const during = await say(server(), alice, roomC, 'public zeppelin news');
    let res = await search(server(), carol, { search_term: 'zeppelin' });
    assert.deepEqual(ids(res.results), [during]);
    assert.ok(!ids(res.results).includes(before));

    const leave = await server().request('POST', `${room(roomC)}/leave`, { token: carol.accessToken, body: {} });
    assert.equal(leave.status, 200);
    await say(server(), alice, roomC, 'later zeppelin gossip');
    res = await search(server(), carol, { search_term: 'zeppelin' });
    assert.deepEqual(ids(res.results), [during]);
    assert.equal(res.count, 2); // an estimate over the rooms' searchable span, before visibility

    // Forgotten rooms are not searched.
    const forget = await server().request('POST', `${room(roomC)}/forget`, { token: carol.accessToken, body: {} });
    assert.equal(forget.status, 200, JSON.stringify(forget.body));
    res = await search(server(), carol, { search_term: 'zeppelin' });
    assert.deepEqual(res.results, []);
  });

  it('does not index encrypted rooms', async () => {
    const roomE = await createRoom(server(), alice, { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
    await say(server(), alice, roomE, 'plaintext walrus in an encrypted room');
    const res = await search(server(), alice, { search_term: 'walrus' });
    assert.deepEqual(res.results, []);
  });

  it('migration backfill indexes events stored before the index existed', async () => {
    const { db, engine } = server().app.database;
    const before = await search(server(), alice, { search_term: 'martians', order_by: 'recent' });
    await sql`DELETE FROM event_search`.execute(db);
    assert.deepEqual((await search(server(), alice, { search_term: 'martians' })).results, []);
    await backfillSearchIndex(db, engine);
    const after = await search(server(), alice, { search_term: 'martians', order_by: 'recent' });
    assert.deepEqual(ids(after.results), ids(before.results));
    // Still not indexed: redacted events and encrypted rooms.
    assert.deepEqual((await search(server(), bob, { search_term: 'unicorn' })).results, []);
    assert.deepEqual((await search(server(), alice, { search_term: 'walrus' })).results, []);
  });

  it('rejects bad requests with the spec errors', async () => {
    const bad = async (body: unknown, query?: Record<string, string>, token: string | null = alice.accessToken) =>
      server().request('POST', '/_matrix/client/v3/search', { token: token ?? undefined, body, query });
    let res = await bad({ search_categories: { room_events: { search_term: 'x' } } }, { next_batch: 'garbage!!' });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    res = await bad({ search_categories: { room_events: {} } });
    assert.equal(res.status, 400);
    assert.ok(['M_MISSING_PARAM', 'M_BAD_JSON'].includes(res.body.errcode), res.body.errcode);
    res = await bad({ search_categories: { room_events: { search_term: 'x', order_by: 'sideways' } } });
    assert.equal(res.status, 400);
    res = await bad({ search_categories: { room_events: { search_term: 'x', keys: ['content.secret'] } } });
    assert.equal(res.status, 400);
    res = await bad({});
    assert.equal(res.status, 400);
    res = await bad({ search_categories: { room_events: { search_term: 'x' } } }, undefined, null);
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
    // A token for one ordering is not valid for the other.
    const page = await search(server(), bob, { search_term: 'martian', order_by: 'recent', filter: { limit: 1 } });
    res = await bad({ search_categories: { room_events: { search_term: 'martian', order_by: 'rank' } } }, { next_batch: page.next_batch });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    // No category: nothing to search.
    res = await bad({ search_categories: {} });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { search_categories: {} });
  });
});
