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

// SQLite indexes in batches: a send marks its event row, a flush moves marked events above a
// watermark into the FTS index (stores/search.ts). These read that state directly.
const WATERMARK = sql<number>`(SELECT CAST(value AS INTEGER) FROM server_meta WHERE key = 'search_indexed_through')`;

async function watermark(s: TestServer): Promise<number> {
  return Number((await sql<{ w: number }>`SELECT ${WATERMARK} AS w`.execute(s.app.database.db)).rows[0].w);
}

async function eventRow(s: TestServer, eventId: string): Promise<{ nid: number; searchable: number | null }> {
  const row = await s.app.database.db.selectFrom('events').select(['event_nid', 'searchable']).where('event_id', '=', eventId).executeTakeFirstOrThrow();
  return { nid: Number(row.event_nid), searchable: row.searchable === null ? null : Number(row.searchable) };
}

/** Rows of the FTS index (or PostgreSQL's search table) for these events. */
async function indexRows(s: TestServer, eventIds: string[]): Promise<number> {
  const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM event_search WHERE event_id IN (${sql.join(eventIds)})`.execute(s.app.database.db);
  return Number(rows.rows[0].n);
}

async function tableExists(s: TestServer, name: string): Promise<boolean> {
  const { db, engine } = s.app.database;
  const found =
    engine === 'sqlite'
      ? await sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ${name}`.execute(db)
      : await sql`SELECT to_regclass(${name}) AS t`.execute(db).then((r) => ({ rows: r.rows.filter((x: any) => x.t !== null) }));
  return found.rows.length > 0;
}

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

  it('finds a message right after it is sent: a search flushes first', async () => {
    const sqlite = server().app.database.engine === 'sqlite';
    const id = await say(server(), alice, roomA, 'instant pangolin bulletin');
    if (sqlite) {
      // Marked and above the watermark: not in the FTS index yet.
      const row = await eventRow(server(), id);
      assert.equal(row.searchable, 1);
      assert.ok(row.nid > (await watermark(server())));
      assert.equal(await indexRows(server(), [id]), 0);
    } else {
      assert.equal(await indexRows(server(), [id]), 1);
    }
    assert.deepEqual(ids((await search(server(), bob, { search_term: 'pangolin' })).results), [id]);
    assert.equal(await indexRows(server(), [id]), 1);
    if (sqlite) assert.ok((await watermark(server())) >= (await eventRow(server(), id)).nid);
    // A second search has nothing to flush and finds it once.
    assert.deepEqual(ids((await search(server(), bob, { search_term: 'pangolin' })).results), [id]);
  });

  it('stages nothing in a table of its own: a send only marks its event row', async () => {
    assert.equal(await tableExists(server(), 'event_search_pending'), false);
    if (server().app.database.engine !== 'sqlite') return;
    await search(server(), bob, { search_term: 'anything' }); // flushed: the watermark is at the newest event
    const { db } = server().app.database;
    const total = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM event_search`.execute(db)).rows[0].n);
    const [indexedBefore, markBefore] = [await total(), await watermark(server())];
    const id = await say(server(), alice, roomA, 'unflushed tapir note');
    assert.equal((await eventRow(server(), id)).searchable, 1);
    assert.equal(await total(), indexedBefore);
    assert.equal(await watermark(server()), markBefore);
    // Events with nothing to index are not marked (a membership event here; encrypted rooms below).
    const member = await setState(server(), alice, roomA, 'm.room.member', { membership: 'join', displayname: 'Alice A' }, alice.userId);
    assert.equal((await eventRow(server(), member)).searchable, null);
  });

  it('forgets a message redacted before any search moved it into the index', async () => {
    const sqlite = server().app.database.engine === 'sqlite';
    const id = await say(server(), alice, roomA, 'fleeting narwhal remark');
    // On SQLite the event is not in the FTS index yet; the redaction marks its row redacted,
    // and the next flush passes over it.
    if (sqlite) assert.ok((await eventRow(server(), id)).nid > (await watermark(server())));
    const red = await server().request('PUT', `${room(roomA)}/redact/${encodeURIComponent(id)}/narwhal-redaction`, { token: alice.accessToken, body: {} });
    assert.equal(red.status, 200, JSON.stringify(red.body));
    const res = await search(server(), bob, { search_term: 'narwhal' });
    assert.deepEqual(res.results, []);
    assert.equal(res.count, 0);
    assert.equal(await indexRows(server(), [id]), 0);
    if (sqlite) assert.ok((await watermark(server())) >= (await eventRow(server(), id)).nid);
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
    const id = await say(server(), alice, roomE, 'plaintext walrus in an encrypted room');
    const res = await search(server(), alice, { search_term: 'walrus' });
    assert.deepEqual(res.results, []);
    assert.equal((await eventRow(server(), id)).searchable, null);
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

  it('finds each of more than FLUSH_EVERY (256) messages exactly once', async () => {
    const roomQ = await createRoom(server(), alice);
    const sent: string[] = [];
    for (let i = 0; i < 300; i++) sent.push(await say(server(), alice, roomQ, `quokka census ${i}`));
    // On SQLite a send flushed on the way (every 256 marked events), inside its transaction.
    if (server().app.database.engine === 'sqlite') assert.ok((await indexRows(server(), sent)) > 0);
    const found = ids(await searchAll(server(), alice, { search_term: 'quokka', order_by: 'recent', filter: { limit: 100 } }));
    assert.equal(found.length, 300);
    assert.deepEqual([...found].reverse(), sent);
    assert.equal(await indexRows(server(), sent), 300);
    assert.equal((await search(server(), alice, { search_term: 'quokka census' })).count, 300);
  });

  it('migration 0160 indexes the rows the old layout had staged and drops the staging table', async () => {
    const { db, engine } = server().app.database;
    const staged = [
      await say(server(), alice, roomA, 'staged okapi one'),
      await say(server(), alice, roomA, 'staged okapi two'),
      await say(server(), bob, roomA, 'staged okapi three'),
    ];
    await search(server(), alice, { search_term: 'okapi' });
    // Back to the layout of migration 0130: no mark, no watermark, rows staged in
    // event_search_pending (on SQLite; PostgreSQL's stayed empty), then a restart runs 0160.
    if (engine === 'sqlite') {
      await sql`CREATE TABLE event_search_pending (event_nid integer PRIMARY KEY, key text NOT NULL, value text NOT NULL)`.execute(db);
      await sql`INSERT INTO event_search_pending SELECT rowid, key, value FROM event_search WHERE event_id IN (${sql.join(staged)})`.execute(db);
      await sql`DELETE FROM event_search WHERE event_id IN (${sql.join(staged)})`.execute(db);
      await sql`DELETE FROM server_meta WHERE key = 'search_indexed_through'`.execute(db);
    } else {
      await sql`CREATE TABLE event_search_pending (event_nid bigint PRIMARY KEY, key text NOT NULL, value text NOT NULL)`.execute(db);
    }
    await sql`ALTER TABLE events DROP COLUMN searchable`.execute(db);
    await sql`DELETE FROM kysely_migration WHERE name = '0160_search_watermark'`.execute(db);
    if (engine === 'sqlite') assert.equal(await indexRows(server(), staged), 0);
    await server().restart();

    const { db: db2 } = server().app.database;
    assert.equal(await tableExists(server(), 'event_search_pending'), false);
    assert.equal(await indexRows(server(), staged), 3);
    if (engine === 'sqlite') {
      const newest = await db2.selectFrom('events').select((eb) => eb.fn.max('event_nid').as('nid')).executeTakeFirstOrThrow();
      assert.equal(await watermark(server()), Number(newest.nid));
    }
    const res = await search(server(), bob, { search_term: 'okapi', order_by: 'recent' });
    assert.deepEqual(ids(res.results), [...staged].reverse());
    assert.equal(await indexRows(server(), staged), 3);
    // And new sends index as before.
    const next = await say(server(), alice, roomA, 'fresh okapi');
    assert.deepEqual(ids((await search(server(), bob, { search_term: 'fresh okapi' })).results), [next]);
    assert.equal((await eventRow(server(), next)).searchable, engine === 'sqlite' ? 1 : null);
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
