import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
let txnCounter = 0;

async function send(server: TestServer, user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message') {
  return server.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/rel${++txnCounter}`, { token: user.accessToken, body: content });
}

async function sendOk(server: TestServer, user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  const res = await send(server, user, roomId, content, type);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

const text = (body: string) => ({ msgtype: 'm.text', body });
const inThread = (root: string, body: string) => ({ ...text(body), 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
const reaction = (target: string, key: string) => ({ 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });
const edit = (target: string, body: string) => ({
  ...text(`* ${body}`),
  'm.new_content': text(body),
  'm.relates_to': { rel_type: 'm.replace', event_id: target },
});

describeEachDatabase('relations and threads', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let eve: TestUser;
  let roomId: string;
  let otherRoomId: string;
  let root: string;

  const relations = (user: TestUser, eventId: string, suffix = '', query: Record<string, string | number | boolean> = {}) =>
    server().request('GET', `/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(eventId)}${suffix}`, { token: user.accessToken, query });
  const getEvent = (user: TestUser, eventId: string) =>
    server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, { token: user.accessToken });
  const threads = (user: TestUser, query: Record<string, string | number> = {}) =>
    server().request('GET', `/_matrix/client/v1/rooms/${enc(roomId)}/threads`, { token: user.accessToken, query });

  it('sets up a room with three members and a root message', async () => {
    [alice, bob, carol, eve] = [await server().registerUser(), await server().registerUser(), await server().registerUser(), await server().registerUser()];
    const created = await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'private_chat' } });
    assert.equal(created.status, 200);
    roomId = created.body.room_id;
    for (const u of [bob, carol]) {
      const inv = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { token: alice.accessToken, body: { user_id: u.userId } });
      assert.equal(inv.status, 200);
      const join = await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: u.accessToken, body: {} });
      assert.equal(join.status, 200);
    }
    const other = await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'private_chat' } });
    otherRoomId = other.body.room_id;
    root = await sendOk(server(), alice, roomId, text('What shall we have for lunch?'));
  });

  it('accepts reactions and refuses a duplicate annotation with M_DUPLICATE_ANNOTATION', async () => {
    await sendOk(server(), bob, roomId, reaction(root, '👍'), 'm.reaction');
    await sendOk(server(), carol, roomId, reaction(root, '👍'), 'm.reaction');
    await sendOk(server(), bob, roomId, reaction(root, '🍕'), 'm.reaction');
    const dup = await send(server(), bob, roomId, reaction(root, '👍'), 'm.reaction');
    assert.equal(dup.status, 400);
    assert.equal(dup.body.errcode, 'M_DUPLICATE_ANNOTATION');
    const noKey = await send(server(), bob, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: root } }, 'm.reaction');
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.errcode, 'M_UNKNOWN');
  });

  it('refuses relations to unknown events and to events of another room', async () => {
    const unknown = await send(server(), bob, roomId, reaction('$doesnotexist', '👍'), 'm.reaction');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errcode, 'M_UNKNOWN');
    const elsewhere = await sendOk(server(), alice, otherRoomId, text('elsewhere'));
    const cross = await send(server(), alice, roomId, inThread(elsewhere, 'cross-room'));
    assert.equal(cross.status, 400);
    assert.equal(cross.body.errcode, 'M_UNKNOWN');
  });

  it('lists children newest first, filtered by relation type and event type', async () => {
    const all = await relations(alice, root);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.chunk.length, 3);
    assert.deepEqual(
      all.body.chunk.map((e: any) => e.content['m.relates_to'].key),
      ['🍕', '👍', '👍'],
    );
    assert.equal(all.body.chunk[0].room_id, roomId);
    assert.equal(all.body.next_batch, undefined);
    assert.equal(all.body.recursion_depth, undefined);

    const annotations = await relations(alice, root, '/m.annotation/m.reaction');
    assert.equal(annotations.body.chunk.length, 3);
    const wrongType = await relations(alice, root, '/m.annotation/m.room.message');
    assert.deepEqual(wrongType.body.chunk, []);
    const threadsOnly = await relations(alice, root, '/m.thread');
    assert.deepEqual(threadsOnly.body.chunk, []);
  });

  it('paginates backwards and forwards with tokens', async () => {
    const p1 = await relations(alice, root, '', { limit: 2 });
    assert.equal(p1.body.chunk.length, 2);
    assert.match(p1.body.next_batch, /^s\d+$/);
    assert.equal(p1.body.prev_batch, undefined);
    const p2 = await relations(alice, root, '', { limit: 2, from: p1.body.next_batch });
    assert.equal(p2.body.chunk.length, 1);
    assert.equal(p2.body.next_batch, undefined);
    assert.equal(p2.body.prev_batch, p1.body.next_batch);
    const backwards = [...p1.body.chunk, ...p2.body.chunk].map((e: any) => e.event_id);

    const f1 = await relations(alice, root, '', { limit: 2, dir: 'f' });
    const f2 = await relations(alice, root, '', { limit: 2, dir: 'f', from: f1.body.next_batch });
    const forwards = [...f1.body.chunk, ...f2.body.chunk].map((e: any) => e.event_id);
    assert.deepEqual(forwards, [...backwards].reverse());

    // `to` from page 1 bounds a walk that starts from the newest again.
    const bounded = await relations(alice, root, '', { to: p1.body.next_batch });
    assert.deepEqual(
      bounded.body.chunk.map((e: any) => e.event_id),
      backwards.slice(0, 2),
    );

    const bad = await relations(alice, root, '', { from: 'garbage' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
  });

  it('drops a redacted reaction from the list, after which it may be sent again', async () => {
    const mine = (await relations(bob, root, '/m.annotation')).body.chunk.find((e: any) => e.sender === bob.userId && e.content['m.relates_to'].key === '🍕');
    const red = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(mine.event_id)}/red1`, { token: bob.accessToken, body: {} });
    assert.equal(red.status, 200);
    const after = await relations(bob, root, '/m.annotation');
    assert.equal(after.body.chunk.length, 2);
    assert.ok(!after.body.chunk.some((e: any) => e.event_id === mine.event_id));
    await sendOk(server(), bob, roomId, reaction(root, '🍕'), 'm.reaction');
  });

  it('answers 404 for unknown events and to users who may not see the event', async () => {
    const unknown = await relations(alice, '$nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    const outsider = await relations(eve, root);
    assert.equal(outsider.status, 404);
    assert.equal(outsider.body.errcode, 'M_NOT_FOUND');
    const wrongRoom = await server().request('GET', `/_matrix/client/v1/rooms/${enc(otherRoomId)}/relations/${enc(root)}`, { token: alice.accessToken });
    assert.equal(wrongRoom.status, 404);
  });

  it('bundles the newest valid edit under m.replace and leaves the content alone', async () => {
    const msg = await sendOk(server(), alice, roomId, text('pizza'));
    const e1 = await sendOk(server(), alice, roomId, edit(msg, 'pasta'));
    await new Promise((r) => setTimeout(r, 5));
    const e2 = await sendOk(server(), alice, roomId, edit(msg, 'salad'));
    // Not valid edits: another sender, and a changed event type. Stored, but never bundled.
    await sendOk(server(), bob, roomId, edit(msg, 'bob was here'));
    await sendOk(server(), alice, roomId, edit(msg, 'a notice'), 'org.example.other');

    const got = await getEvent(bob, msg);
    assert.equal(got.status, 200);
    assert.equal(got.body.content.body, 'pizza', 'content is not replaced');
    const replace = got.body.unsigned['m.relations']['m.replace'];
    assert.equal(replace.event_id, e2);
    assert.equal(replace.sender, alice.userId);
    assert.equal(replace.content['m.new_content'].body, 'salad');
    assert.notEqual(replace.event_id, e1);

    // The edit itself gets no bundle, and appears in /messages with the original bundled.
    const editEvent = await getEvent(bob, e2);
    assert.equal(editEvent.body.unsigned['m.relations'], undefined);
    const messages = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, { token: bob.accessToken, query: { dir: 'b', limit: 10 } });
    const original = messages.body.chunk.find((e: any) => e.event_id === msg);
    assert.equal(original.unsigned['m.relations']['m.replace'].event_id, e2);
    const context = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/context/${enc(msg)}`, { token: bob.accessToken, query: { limit: 2 } });
    assert.equal(context.body.event.unsigned['m.relations']['m.replace'].event_id, e2);

    // Redacting the original removes the m.replace bundle.
    const red = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(msg)}/red2`, { token: alice.accessToken, body: {} });
    assert.equal(red.status, 200);
    const redacted = await getEvent(bob, msg);
    assert.deepEqual(redacted.body.content, {});
    assert.equal(redacted.body.unsigned['m.relations'], undefined);
  });

  it('bundles references', async () => {
    const ref = await sendOk(server(), bob, roomId, { ...text('see above'), 'm.relates_to': { rel_type: 'm.reference', event_id: root } });
    const got = await getEvent(carol, root);
    assert.deepEqual(got.body.unsigned['m.relations']['m.reference'], { chunk: [{ event_id: ref }] });
    // Annotations are not aggregated by the server.
    assert.equal(got.body.unsigned['m.relations']['m.annotation'], undefined);
  });

  let threadRoot: string;
  let olderThreadRoot: string;
  let lastInThread: string;

  it('aggregates a thread on its root: latest_event, count, current_user_participated', async () => {
    olderThreadRoot = await sendOk(server(), carol, roomId, text('older thread'));
    await sendOk(server(), carol, roomId, inThread(olderThreadRoot, 'only reply'));
    threadRoot = await sendOk(server(), alice, roomId, text('Thread about dessert'));
    await sendOk(server(), bob, roomId, inThread(threadRoot, 'cake'));
    lastInThread = await sendOk(server(), bob, roomId, inThread(threadRoot, 'pie'));

    const forBob = await getEvent(bob, threadRoot);
    const summary = forBob.body.unsigned['m.relations']['m.thread'];
    assert.equal(summary.count, 2);
    assert.equal(summary.current_user_participated, true);
    assert.equal(summary.latest_event.event_id, lastInThread);
    assert.equal(summary.latest_event.content.body, 'pie');
    assert.equal(summary.latest_event.room_id, roomId);

    // Alice started the thread: she participated. Carol did neither.
    assert.equal((await getEvent(alice, threadRoot)).body.unsigned['m.relations']['m.thread'].current_user_participated, true);
    assert.equal((await getEvent(carol, threadRoot)).body.unsigned['m.relations']['m.thread'].current_user_participated, false);

    // The latest event carries its own bundle (here: an edit).
    const fix = await sendOk(server(), bob, roomId, edit(lastInThread, 'apple pie'));
    const again = await getEvent(carol, threadRoot);
    assert.equal(again.body.unsigned['m.relations']['m.thread'].latest_event.unsigned['m.relations']['m.replace'].event_id, fix);

    const inThreadList = await relations(carol, threadRoot, '/m.thread');
    assert.deepEqual(
      inThreadList.body.chunk.map((e: any) => e.content.body),
      ['pie', 'cake'],
    );
  });

  it('refuses a thread off an event that is itself a relation (400 M_UNKNOWN)', async () => {
    const nested = await send(server(), carol, roomId, inThread(lastInThread, 'nested'));
    assert.equal(nested.status, 400);
    assert.equal(nested.body.errcode, 'M_UNKNOWN');
    const [aReaction] = (await relations(alice, root, '/m.annotation')).body.chunk;
    const offReaction = await send(server(), carol, roomId, inThread(aReaction.event_id, 'nested'));
    assert.equal(offReaction.status, 400);
    // A rich reply is not a relation (no rel_type): threads may start from it.
    const reply = await sendOk(server(), carol, roomId, { ...text('reply'), 'm.relates_to': { 'm.in_reply_to': { event_id: root } } });
    await sendOk(server(), carol, roomId, inThread(reply, 'thread off a reply'));
  });

  it('follows relations of relations with recurse, and says how deep', async () => {
    const plain = await relations(alice, threadRoot);
    assert.equal(plain.body.chunk.length, 2);
    const deep = await relations(alice, threadRoot, '', { recurse: true });
    assert.equal(deep.status, 200);
    assert.equal(deep.body.recursion_depth, 3);
    const ids = deep.body.chunk.map((e: any) => e.content['m.relates_to'].rel_type);
    assert.deepEqual(ids, ['m.replace', 'm.thread', 'm.thread']);
    const typed = await relations(alice, threadRoot, '/m.thread', { recurse: true });
    assert.equal(typed.body.chunk.length, 2);
    const off = await relations(alice, threadRoot, '', { recurse: false });
    assert.equal(off.body.recursion_depth, 0);
    assert.equal(off.body.chunk.length, 2);
  });

  it('lists threads by latest activity, with participated filter and pagination', async () => {
    const all = await threads(alice, { limit: 10 });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const ids = all.body.chunk.map((e: any) => e.event_id);
    assert.equal(ids[0], ids.find((id: string) => id !== threadRoot && id !== olderThreadRoot), 'the thread off the reply is newest');
    assert.deepEqual(ids.slice(1), [threadRoot, olderThreadRoot]);
    assert.equal(all.body.next_batch, undefined);
    const dessert = all.body.chunk.find((e: any) => e.event_id === threadRoot);
    assert.equal(dessert.unsigned['m.relations']['m.thread'].count, 2);

    // New activity in the older thread moves it to the top.
    await sendOk(server(), alice, roomId, inThread(olderThreadRoot, 'bump'));
    const bumped = await threads(bob, { limit: 1 });
    assert.deepEqual(
      bumped.body.chunk.map((e: any) => e.event_id),
      [olderThreadRoot],
    );
    const page2 = await threads(bob, { limit: 1, from: bumped.body.next_batch });
    const page3 = await threads(bob, { limit: 1, from: page2.body.next_batch });
    assert.equal(page2.body.chunk.length, 1);
    assert.match(page2.body.next_batch, /^s\d+$/);
    assert.equal(page3.body.chunk[0].event_id, threadRoot);
    assert.equal(page3.body.next_batch, undefined, 'the last page has no next_batch');

    // Bob only replied in the dessert thread; Alice started it and bumped the older one.
    const bobs = await threads(bob, { include: 'participated' });
    assert.deepEqual(
      bobs.body.chunk.map((e: any) => e.event_id),
      [threadRoot],
    );
    const alices = await threads(alice, { include: 'participated' });
    assert.deepEqual(
      alices.body.chunk.map((e: any) => e.event_id),
      [olderThreadRoot, threadRoot],
    );
  });

  it('refuses /threads to outsiders, unknown rooms and bad parameters', async () => {
    const outsider = await threads(eve);
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.errcode, 'M_FORBIDDEN');
    const unknown = await server().request('GET', `/_matrix/client/v1/rooms/${enc('!nope:test.local')}/threads`, { token: alice.accessToken });
    assert.equal(unknown.status, 403);
    const zero = await threads(alice, { limit: 0 });
    assert.equal(zero.status, 400);
    assert.equal(zero.body.errcode, 'M_INVALID_PARAM');
    const include = await threads(alice, { include: 'mine' });
    assert.equal(include.status, 400);
    assert.equal(include.body.errcode, 'M_INVALID_PARAM');
    const token = await threads(alice, { from: 'x1' });
    assert.equal(token.status, 400);
    assert.equal(token.body.errcode, 'M_INVALID_PARAM');
    const noAuth = await server().request('GET', `/_matrix/client/v1/rooms/${enc(roomId)}/threads`);
    assert.equal(noAuth.status, 401);
  });

  it('hides thread activity after a member left', async () => {
    const leave = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: carol.accessToken, body: {} });
    assert.equal(leave.status, 200);
    const secret = await sendOk(server(), bob, roomId, inThread(threadRoot, 'after carol left'));
    const forCarol = await getEvent(carol, threadRoot);
    assert.equal(forCarol.status, 200);
    assert.notEqual(forCarol.body.unsigned['m.relations']['m.thread'].latest_event.event_id, secret);
    const list = await relations(carol, threadRoot, '/m.thread');
    assert.ok(!list.body.chunk.some((e: any) => e.event_id === secret));
    const forBob = await getEvent(bob, threadRoot);
    assert.equal(forBob.body.unsigned['m.relations']['m.thread'].latest_event.event_id, secret);
  });
});
