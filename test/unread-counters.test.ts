// Unread counters (event_push_counts) against read receipts: public and private, threaded and
// unthreaded, in a 100-member room, and across migration 0120 from the old push-action layout.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
const THREADED = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });

async function createRoom(server: TestServer, owner: TestUser, members: TestUser[]): Promise<string> {
  const roomId = (await server.request('POST', '/_matrix/client/v3/createRoom', { token: owner.accessToken, body: { preset: 'public_chat' } })).body.room_id;
  for (const m of members) {
    const res = await server.request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: m.accessToken, body: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  return roomId;
}

describeEachDatabase('unread counters and receipts', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let txn = 0;
  const send = async (body: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/c${txn++}`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body, ...extra },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.event_id;
  };
  const inThread = (root: string) => ({ 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
  const receipt = async (type: string, eventId: string, threadId?: string) => {
    const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`, {
      token: bob.accessToken,
      body: threadId === undefined ? {} : { thread_id: threadId },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const counts = async (threaded = false) => {
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: threaded ? { filter: THREADED } : {} });
    const room = s.body.rooms.join[roomId];
    return threaded ? { room: room.unread_notifications, threads: room.unread_thread_notifications } : room.unread_notifications;
  };
  const n = (notification_count: number, highlight_count = 0) => ({ notification_count, highlight_count });

  it('follows public and private receipts, which only move forward', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    const carol = await server().registerUser();
    roomId = await createRoom(server(), alice, [bob, carol]);
    const m1 = await send('one');
    const m2 = await send('two, bob', { 'm.mentions': { user_ids: [bob.userId] } });
    const m3 = await send('three');
    assert.deepEqual(await counts(), n(3, 1));
    await receipt('m.read', m2);
    assert.deepEqual(await counts(), n(1));
    // An older receipt of the other kind, and the same kind going backwards, change nothing.
    await receipt('m.read.private', m1);
    await receipt('m.read', m1);
    assert.deepEqual(await counts(), n(1));
    await send('four');
    assert.deepEqual(await counts(), n(2));
    await receipt('m.read.private', m3);
    assert.deepEqual(await counts(), n(1));
    // m.read catching up to the private receipt changes nothing either.
    await receipt('m.read', m3);
    assert.deepEqual(await counts(), n(1));
  });

  it('applies threaded receipts to their own thread only', async () => {
    const root = await send('root');
    const t1 = await send('t1', inThread(root));
    const m1 = await send('main after t1');
    const t2 = await send('t2', inThread(root));
    // Unread before: "four" from the previous test, root, m1 in the main timeline; t1, t2 in the thread.
    assert.deepEqual(await counts(true), { room: n(3), threads: { [root]: n(2) } });
    assert.deepEqual(await counts(), n(5));
    await receipt('m.read', m1, 'main');
    assert.deepEqual(await counts(true), { room: n(0), threads: { [root]: n(2) } });
    await receipt('m.read', t1, root);
    assert.deepEqual(await counts(true), { room: n(0), threads: { [root]: n(1) } });
    // An unthreaded receipt behind both threaded ones covers nothing new.
    await receipt('m.read.private', root);
    assert.deepEqual(await counts(true), { room: n(0), threads: { [root]: n(1) } });
    // One past them covers the rest of every thread.
    await receipt('m.read.private', t2);
    assert.deepEqual(await counts(true), { room: n(0), threads: {} });
    const t3 = await send('t3', inThread(root));
    await send('main again');
    assert.deepEqual(await counts(true), { room: n(1), threads: { [root]: n(1) } });
    // A threaded receipt older than the unthreaded one is stored but covers nothing.
    await receipt('m.read', t2, root);
    assert.deepEqual(await counts(true), { room: n(1), threads: { [root]: n(1) } });
    await receipt('m.read', t3, root);
    assert.deepEqual(await counts(), n(1));
  });

  it('keeps counts and /notifications across the migration from the old layout', async () => {
    const before = await counts(true);
    const list = async (query: Record<string, string | number>) =>
      (await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken, query })).body;
    // What must survive the migration (unsigned.age of the events moves on).
    const summary = (ns: any[]) => ns.map((x) => ({ id: x.event.event_id, actions: x.actions, read: x.read, room_id: x.room_id, ts: x.ts }));
    const all = (await list({ limit: 100 })).notifications;
    // Back to the layout of migration 0100 (actions keyed by user, room, position; no counters),
    // then a restart runs 0120 and 0170 again over it.
    const db = server().app.database.db;
    await sql`CREATE TABLE old_push_actions (user_id text NOT NULL, room_id text NOT NULL, event_id text NOT NULL, event_stream_pos bigint NOT NULL,
      thread_id text NOT NULL, notify integer NOT NULL, highlight integer NOT NULL, actions text NOT NULL, ts bigint NOT NULL,
      CONSTRAINT old_push_actions_pk PRIMARY KEY (user_id, room_id, event_stream_pos))`.execute(db);
    await sql`INSERT INTO old_push_actions SELECT a.user_id, e.room_id, e.event_id, e.stream_pos, a.thread_id, a.notify, a.highlight,
      coalesce(a.actions, '["notify"]'), e.origin_server_ts FROM event_push_actions a JOIN events e ON e.stream_pos = a.rid / 1048576`.execute(db);
    await sql`DROP TABLE event_push_actions`.execute(db);
    await sql`DROP TABLE event_push_counts`.execute(db);
    await sql`ALTER TABLE old_push_actions RENAME TO event_push_actions`.execute(db);
    await sql`DELETE FROM kysely_migration WHERE name IN ('0120_push_actions_by_position', '0170_push_actions_by_row_number')`.execute(db);
    await server().restart();

    assert.deepEqual(await counts(true), before);
    assert.deepEqual(summary((await list({ limit: 100 })).notifications), summary(all));
    assert.equal(all.length, 10);
    assert.deepEqual(
      all.map((x: any) => x.read),
      // Newest first: "main again" is after every receipt of the main timeline; t3 is covered
      // by the thread's receipt; the rest by the unthreaded one.
      [false, ...Array(9).fill(true)],
    );
    // Page by page, newest first.
    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await list(from === undefined ? { limit: 5 } : { limit: 5, from });
      seen.push(...res.notifications.map((x: any) => x.event.event_id));
      from = res.next_token;
      if (from === undefined) break;
    }
    assert.deepEqual(seen, all.map((x: any) => x.event.event_id));
    const highlights = (await list({ only: 'highlight' })).notifications;
    assert.deepEqual(highlights.map((x: any) => x.event.content.body), ['two, bob']);
    assert.ok(highlights[0].actions.some((a: any) => a?.set_tweak === 'highlight'));
    assert.deepEqual(all[0].actions, ['notify']);
  });

  it('counts exactly in a 100-member room', async () => {
    const members: TestUser[] = [];
    for (let i = 0; i < 99; i += 11) members.push(...(await Promise.all(Array.from({ length: 11 }, () => server().registerUser()))));
    roomId = await createRoom(server(), alice, members);
    const mentioned = members.slice(0, 3);
    await send('hello everyone');
    const eventId = await send('you three', { 'm.mentions': { user_ids: mentioned.map((m) => m.userId) } });
    const db = server().app.database.db;
    const rows = await db.selectFrom('event_push_counts').select(['user_id', 'notifications', 'highlights']).where('room_id', '=', roomId).execute();
    assert.equal(rows.length, 99);
    for (const r of rows) {
      const isMentioned = mentioned.some((m) => m.userId === r.user_id);
      assert.deepEqual([Number(r.notifications), Number(r.highlights)], [2, isMentioned ? 1 : 0], r.user_id);
    }
    // One member reading changes only their own counts.
    bob = members[0];
    await receipt('m.read', eventId);
    assert.deepEqual(await counts(), n(0));
    bob = members[1];
    assert.deepEqual(await counts(), n(2, 1));
    bob = members[50];
    assert.deepEqual(await counts(), n(2));
  });

  it('stays equal to a recount when sends and receipts run at the same time', async () => {
    const readers = (await Promise.all(Array.from({ length: 4 }, () => server().registerUser()))) as TestUser[];
    roomId = await createRoom(server(), alice, readers);
    const root = await send('root');
    const sent: Array<{ id: string; thread?: string }> = [{ id: root }];
    const readAt = (user: TestUser, i: number) => {
      const target = sent[(i * 7) % sent.length];
      const threadId = i % 3 === 0 ? undefined : target.thread ?? (i % 3 === 1 ? 'main' : undefined);
      const type = i % 2 === 0 ? 'm.read' : 'm.read.private';
      return server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(target.id)}`, {
        token: user.accessToken,
        body: threadId === undefined ? {} : { thread_id: threadId },
      });
    };
    for (let round = 0; round < 6; round++) {
      const sends = Array.from({ length: 4 }, (_, k) =>
        k % 2 === 0 ? send(`r${round}k${k}`).then((id) => sent.push({ id })) : send(`r${round}k${k}`, inThread(root)).then((id) => sent.push({ id, thread: root })),
      );
      const reads = readers.map((u, i) => readAt(u, round * 4 + i));
      for (const res of await Promise.all(reads)) assert.equal(res.status, 200, JSON.stringify(res.body));
      await Promise.all(sends);
    }
    // The counters against the actions counted from scratch with the same rule.
    const db = server().app.database.db;
    const counters = await db
      .selectFrom('event_push_counts')
      .select(['user_id', 'thread_id', 'notifications', 'highlights'])
      .where('room_id', '=', roomId)
      .orderBy('user_id')
      .orderBy('thread_id')
      .execute();
    const recount = await sql<{ user_id: string; thread_id: string; notifications: number; highlights: number }>`
      SELECT a.user_id, a.thread_id, sum(a.notify) AS notifications, sum(a.highlight) AS highlights
      FROM event_push_actions a JOIN events e ON e.stream_pos = a.rid / 1048576
      WHERE e.room_id = ${roomId} AND e.stream_pos > coalesce((
        SELECT max(r.event_stream_pos) FROM receipts r
        WHERE r.room_id = e.room_id AND r.user_id = a.user_id AND r.receipt_type IN ('m.read', 'm.read.private')
          AND (r.thread_id = '' OR r.thread_id = CASE WHEN a.thread_id = '' THEN 'main' ELSE a.thread_id END)), 0)
      GROUP BY a.user_id, a.thread_id
      ORDER BY a.user_id, a.thread_id`.execute(db);
    const norm = (rows: Array<{ user_id: string; thread_id: string; notifications: unknown; highlights: unknown }>) =>
      rows.map((r) => [r.user_id, r.thread_id, Number(r.notifications), Number(r.highlights)]);
    assert.ok(recount.rows.length > 0);
    assert.deepEqual(norm(counters), norm(recount.rows));
  });
});
