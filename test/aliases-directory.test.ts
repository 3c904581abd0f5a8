import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
const aliasPath = (alias: string) => `/_matrix/client/v3/directory/room/${enc(alias)}`;

async function createRoom(server: TestServer, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await server.request('POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

async function join(server: TestServer, user: TestUser, roomIdOrAlias: string): Promise<void> {
  const res = await server.request('POST', `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, { token: user.accessToken, body: {} });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function sendState(server: TestServer, user: TestUser, roomId: string, type: string, content: Record<string, unknown>) {
  return server.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${type}`, { token: user.accessToken, body: content });
}

/** The room's current m.room.canonical_alias content, as an initial sync shows it. */
async function canonicalAliasOf(server: TestServer, user: TestUser, roomId: string): Promise<Record<string, unknown> | undefined> {
  const res = await server.request('GET', '/_matrix/client/v3/sync', { token: user.accessToken });
  const room = res.body.rooms.join[roomId];
  const events = [...room.state.events, ...room.timeline.events].filter((e: any) => e.type === 'm.room.canonical_alias');
  return events.at(-1)?.content;
}

function assertError(res: { status: number; body: any }, status: number, errcode: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.errcode, errcode, JSON.stringify(res.body));
}

describeEachDatabase('room aliases', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  let otherRoomId: string;

  it('creates, resolves and refuses duplicate or malformed aliases', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomId = await createRoom(server(), alice, { preset: 'public_chat' });
    otherRoomId = await createRoom(server(), alice, { preset: 'public_chat' });

    const put = await server().request('PUT', aliasPath('#coffee:test.local'), { token: alice.accessToken, body: { room_id: roomId } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body, {});

    // Resolving needs no access token.
    const get = await server().request('GET', aliasPath('#coffee:test.local'));
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, { room_id: roomId, servers: ['test.local'] });

    assertError(await server().request('PUT', aliasPath('#coffee:test.local'), { token: alice.accessToken, body: { room_id: otherRoomId } }), 409, 'M_UNKNOWN');
    assertError(await server().request('PUT', aliasPath('coffee:test.local'), { token: alice.accessToken, body: { room_id: roomId } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('PUT', aliasPath('#nocolon'), { token: alice.accessToken, body: { room_id: roomId } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('PUT', aliasPath(`#${'x'.repeat(260)}:test.local`), { token: alice.accessToken, body: { room_id: roomId } }), 400, 'M_INVALID_PARAM');
    // Only this server's aliases can be created here.
    assertError(await server().request('PUT', aliasPath('#coffee:elsewhere.org'), { token: alice.accessToken, body: { room_id: roomId } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('PUT', aliasPath('#tea:test.local'), { token: alice.accessToken, body: { room_id: 'not-a-room' } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('PUT', aliasPath('#tea:test.local'), { token: alice.accessToken, body: {} }), 400, 'M_MISSING_PARAM');
    assertError(await server().request('PUT', aliasPath('#tea:test.local'), { token: alice.accessToken, body: { room_id: '!nope:test.local' } }), 404, 'M_NOT_FOUND');
    assertError(await server().request('PUT', aliasPath('#tea:test.local'), { body: { room_id: roomId } }), 401, 'M_MISSING_TOKEN');
    // Users outside the room cannot point aliases at it.
    assertError(await server().request('PUT', aliasPath('#tea:test.local'), { token: bob.accessToken, body: { room_id: roomId } }), 403, 'M_FORBIDDEN');

    assertError(await server().request('GET', aliasPath('#unknown:test.local')), 404, 'M_NOT_FOUND');
    assertError(await server().request('GET', aliasPath('#unknown:elsewhere.org')), 404, 'M_NOT_FOUND');
    assertError(await server().request('GET', aliasPath('not an alias')), 400, 'M_INVALID_PARAM');
    // The failed attempts left nothing behind.
    assertError(await server().request('GET', aliasPath('#tea:test.local')), 404, 'M_NOT_FOUND');
  });

  it('joins a room by alias and lists servers of joined members', async () => {
    await join(server(), bob, '#coffee:test.local');
    const joined = await server().request('GET', '/_matrix/client/v3/joined_rooms', { token: bob.accessToken });
    assert.ok(joined.body.joined_rooms.includes(roomId));
    const res = await server().request('POST', `/_matrix/client/v3/join/${enc('#missing:test.local')}`, { token: bob.accessToken, body: {} });
    assertError(res, 404, 'M_NOT_FOUND');
  });

  it('lists local aliases to members, and to anyone once the room is world-readable', async () => {
    const bobs = await server().request('PUT', aliasPath('#bobs-corner:test.local'), { token: bob.accessToken, body: { room_id: roomId } });
    assert.equal(bobs.status, 200, JSON.stringify(bobs.body));
    const list = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`, { token: bob.accessToken });
    assert.equal(list.status, 200);
    assert.deepEqual([...list.body.aliases].sort(), ['#bobs-corner:test.local', '#coffee:test.local']);

    assertError(await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`, { token: carol.accessToken }), 403, 'M_FORBIDDEN');
    assertError(await server().request('GET', `/_matrix/client/v3/rooms/${enc('!unknown:test.local')}/aliases`, { token: carol.accessToken }), 403, 'M_FORBIDDEN');
    assertError(await server().request('GET', `/_matrix/client/v3/rooms/${enc('bad')}/aliases`, { token: carol.accessToken }), 400, 'M_INVALID_PARAM');

    const hv = await sendState(server(), alice, roomId, 'm.room.history_visibility', { history_visibility: 'world_readable' });
    assert.equal(hv.status, 200, JSON.stringify(hv.body));
    const open = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`, { token: carol.accessToken });
    assert.equal(open.status, 200);
    assert.equal(open.body.aliases.length, 2);
  });

  it('validates m.room.canonical_alias against the aliases that point to the room', async () => {
    const other = await server().request('PUT', aliasPath('#elsewhere:test.local'), { token: alice.accessToken, body: { room_id: otherRoomId } });
    assert.equal(other.status, 200);

    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: '#nowhere:test.local' }), 400, 'M_BAD_ALIAS');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: '#elsewhere:test.local' }), 400, 'M_BAD_ALIAS');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: '#coffee:test.local', alt_aliases: ['#elsewhere:test.local'] }), 400, 'M_BAD_ALIAS');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: '#remote:elsewhere.org' }), 400, 'M_BAD_ALIAS');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: 'coffee' }), 400, 'M_INVALID_PARAM');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: 42 }), 400, 'M_INVALID_PARAM');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alt_aliases: '#coffee:test.local' }), 400, 'M_INVALID_PARAM');
    assertError(await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alt_aliases: [7] }), 400, 'M_INVALID_PARAM');

    const ok = await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: '#coffee:test.local', alt_aliases: ['#bobs-corner:test.local'] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // An empty alias means "no canonical alias" and needs no check.
    const empty = await sendState(server(), alice, otherRoomId, 'm.room.canonical_alias', { alias: '' });
    assert.equal(empty.status, 200, JSON.stringify(empty.body));
  });

  it('lets the creator, a room admin or a server admin delete an alias, not other members', async () => {
    // Alice (power 100) did not create #bobs-corner, Bob (power 0) did not create #coffee.
    assertError(await server().request('DELETE', aliasPath('#coffee:test.local'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
    assertError(await server().request('DELETE', aliasPath('#coffee:test.local'), { token: carol.accessToken }), 403, 'M_FORBIDDEN');
    assertError(await server().request('DELETE', aliasPath('#missing:test.local'), { token: alice.accessToken }), 404, 'M_NOT_FOUND');

    // Bob deletes his own alias; he lacks power to edit m.room.canonical_alias, so its stale
    // alt_aliases entry stays (advisory only) and the deletion still succeeds.
    const del = await server().request('DELETE', aliasPath('#bobs-corner:test.local'), { token: bob.accessToken });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assertError(await server().request('GET', aliasPath('#bobs-corner:test.local')), 404, 'M_NOT_FOUND');
    assert.deepEqual(await canonicalAliasOf(server(), alice, roomId), { alias: '#coffee:test.local', alt_aliases: ['#bobs-corner:test.local'] });

    // Aliases already in the event are not re-checked: they drift, and editing must stay possible.
    const edit = await sendState(server(), alice, roomId, 'm.room.canonical_alias', { alias: '#coffee:test.local', alt_aliases: ['#bobs-corner:test.local'], note: 1 });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));

    // Bob recreates it; Alice, with power over the canonical alias, deletes it and the server
    // removes it from alt_aliases on her behalf.
    assert.equal((await server().request('PUT', aliasPath('#bobs-corner:test.local'), { token: bob.accessToken, body: { room_id: roomId } })).status, 200);
    const adminDel = await server().request('DELETE', aliasPath('#bobs-corner:test.local'), { token: alice.accessToken });
    assert.equal(adminDel.status, 200, JSON.stringify(adminDel.body));
    assert.deepEqual(await canonicalAliasOf(server(), alice, roomId), { alias: '#coffee:test.local', alt_aliases: [], note: 1 });

    // A server admin outside the room may delete any local alias.
    const admin = await server().registerUser();
    await server().app.database.db.updateTable('users').set({ is_admin: 1 }).where('user_id', '=', admin.userId).execute();
    const byAdmin = await server().request('DELETE', aliasPath('#elsewhere:test.local'), { token: admin.accessToken });
    assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
    assertError(await server().request('GET', aliasPath('#elsewhere:test.local')), 404, 'M_NOT_FOUND');
  });

  it('reserves room_alias_name on createRoom and sets the canonical alias', async () => {
    const res = await server().request('POST', '/_matrix/client/v3/createRoom', { token: carol.accessToken, body: { room_alias_name: 'book-club', name: 'Books' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.room_alias, '#book-club:test.local');
    const resolved = await server().request('GET', aliasPath('#book-club:test.local'));
    assert.equal(resolved.body.room_id, res.body.room_id);
    assert.deepEqual(await canonicalAliasOf(server(), carol, res.body.room_id), { alias: '#book-club:test.local' });

    assertError(
      await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { room_alias_name: 'book-club' } }),
      400,
      'M_ROOM_IN_USE',
    );
    assertError(await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { room_alias_name: 'a:b' } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { room_alias_name: 'two words' } }), 400, 'M_INVALID_PARAM');
    // The refused requests created no rooms.
    const rooms = await server().request('GET', '/_matrix/client/v3/joined_rooms', { token: alice.accessToken });
    assert.deepEqual([...rooms.body.joined_rooms].sort(), [roomId, otherRoomId].sort());
  });
});

describeEachDatabase('published room directory', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let big: string;
  let space: string;
  let quiet: string;
  let hidden: string;

  it('publishes rooms created with visibility=public and reports visibility', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    big = await createRoom(server(), alice, {
      visibility: 'public',
      preset: 'public_chat',
      name: 'Gardening club',
      topic: 'Tomatoes and roses',
      room_alias_name: 'garden',
      initial_state: [
        { type: 'm.room.avatar', content: { url: 'mxc://test.local/leaf' } },
        { type: 'm.room.guest_access', content: { guest_access: 'can_join' } },
        { type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } },
      ],
    });
    space = await createRoom(server(), alice, { visibility: 'public', preset: 'public_chat', name: 'Club space', creation_content: { type: 'm.space' } });
    quiet = await createRoom(server(), alice, { visibility: 'public', preset: 'public_chat', name: 'Reading' });
    hidden = await createRoom(server(), alice, { preset: 'public_chat', name: 'Not listed' });
    await join(server(), bob, big);

    const vis = await server().request('GET', `/_matrix/client/v3/directory/list/room/${enc(big)}`);
    assert.equal(vis.status, 200);
    assert.deepEqual(vis.body, { visibility: 'public' });
    const priv = await server().request('GET', `/_matrix/client/v3/directory/list/room/${enc(hidden)}`);
    assert.deepEqual(priv.body, { visibility: 'private' });
    assertError(await server().request('GET', `/_matrix/client/v3/directory/list/room/${enc('!nope:test.local')}`), 404, 'M_NOT_FOUND');
  });

  it('lists published rooms with their current state, most members first', async () => {
    const res = await server().request('GET', '/_matrix/client/v3/publicRooms');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.total_room_count_estimate, 3);
    assert.equal(res.body.next_batch, undefined);
    assert.equal(res.body.prev_batch, undefined);
    assert.deepEqual(
      res.body.chunk.map((c: any) => c.room_id),
      [big, ...[space, quiet].sort()],
    );
    assert.deepEqual(res.body.chunk[0], {
      room_id: big,
      num_joined_members: 2,
      world_readable: true,
      guest_can_join: true,
      name: 'Gardening club',
      topic: 'Tomatoes and roses',
      canonical_alias: '#garden:test.local',
      avatar_url: 'mxc://test.local/leaf',
      join_rule: 'public',
    });
    const spaceEntry = res.body.chunk.find((c: any) => c.room_id === space);
    assert.equal(spaceEntry.room_type, 'm.space');
    assert.equal(spaceEntry.world_readable, false);
    assert.equal(spaceEntry.guest_can_join, false);

    // State changes show up at once.
    await sendState(server(), alice, quiet, 'm.room.name', { name: 'Reading circle' });
    const again = await server().request('GET', '/_matrix/client/v3/publicRooms');
    assert.equal(again.body.chunk.find((c: any) => c.room_id === quiet).name, 'Reading circle');
  });

  it('paginates forwards and backwards with since tokens', async () => {
    const seen: string[] = [];
    let since: string | undefined;
    const tokens: Array<string | undefined> = [];
    for (let page = 0; page < 3; page++) {
      const res = await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { limit: 1, since } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.chunk.length, 1);
      assert.equal(res.body.total_room_count_estimate, 3);
      assert.equal(res.body.prev_batch === undefined, page === 0, 'prev_batch on every page but the first');
      assert.equal(res.body.next_batch === undefined, page === 2, 'next_batch on every page but the last');
      seen.push(res.body.chunk[0].room_id);
      tokens.push(res.body.prev_batch);
      since = res.body.next_batch;
    }
    assert.deepEqual(seen, [big, ...[space, quiet].sort()]);

    // The last page's prev_batch leads back to the middle page, whose prev_batch leads to the first.
    const back = await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { limit: 1, since: tokens[2] } });
    assert.deepEqual(back.body.chunk.map((c: any) => c.room_id), [seen[1]]);
    const first = await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { limit: 1, since: back.body.prev_batch } });
    assert.deepEqual(first.body.chunk.map((c: any) => c.room_id), [seen[0]]);
    assert.equal(first.body.prev_batch, undefined);

    assertError(await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { since: 'garbage' } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { limit: -1 } }), 400, 'M_INVALID_PARAM');
    assertError(await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { server: 'elsewhere.org' } }), 400, 'M_INVALID_PARAM');
    const own = await server().request('GET', '/_matrix/client/v3/publicRooms', { query: { server: 'test.local' } });
    assert.equal(own.body.chunk.length, 3);
  });

  it('filters by search term and room type (POST)', async () => {
    const post = (body: Record<string, unknown>, token = bob.accessToken) => server().request('POST', '/_matrix/client/v3/publicRooms', { token, body });

    const byTopic = await post({ filter: { generic_search_term: 'TOMATO' } });
    assert.equal(byTopic.status, 200, JSON.stringify(byTopic.body));
    assert.deepEqual(byTopic.body.chunk.map((c: any) => c.room_id), [big]);
    assert.equal(byTopic.body.total_room_count_estimate, 1);
    assert.deepEqual((await post({ filter: { generic_search_term: '#garden' } })).body.chunk.map((c: any) => c.room_id), [big]);
    assert.deepEqual((await post({ filter: { generic_search_term: 'circle' } })).body.chunk.map((c: any) => c.room_id), [quiet]);
    assert.deepEqual((await post({ filter: { generic_search_term: 'Not listed' } })).body.chunk, []);

    assert.deepEqual((await post({ filter: { room_types: ['m.space'] } })).body.chunk.map((c: any) => c.room_id), [space]);
    assert.deepEqual((await post({ filter: { room_types: [null] } })).body.chunk.map((c: any) => c.room_id).sort(), [big, quiet].sort());
    assert.equal((await post({ filter: { room_types: [null, 'm.space'] } })).body.chunk.length, 3);

    const paged = await post({ limit: 2, filter: { room_types: [null, 'm.space'] } });
    assert.equal(paged.body.chunk.length, 2);
    const rest = await post({ limit: 2, since: paged.body.next_batch, filter: { room_types: [null, 'm.space'] } });
    assert.equal(rest.body.chunk.length, 1);
    assert.equal(rest.body.next_batch, undefined);

    assertError(await post({ filter: { room_types: [5] } }), 400, 'M_BAD_JSON');
    assertError(await post({ limit: 'ten' }), 400, 'M_BAD_JSON');
    const unauth = await server().request('POST', '/_matrix/client/v3/publicRooms', { body: {} });
    assertError(unauth, 401, 'M_MISSING_TOKEN');
  });

  it('changes visibility for room admins and server admins only', async () => {
    const path = (roomId: string) => `/_matrix/client/v3/directory/list/room/${enc(roomId)}`;
    // Bob is joined to big with power 0.
    assertError(await server().request('PUT', path(big), { token: bob.accessToken, body: { visibility: 'private' } }), 403, 'M_FORBIDDEN');
    assertError(await server().request('PUT', path(hidden), { token: bob.accessToken, body: { visibility: 'public' } }), 403, 'M_FORBIDDEN');
    assertError(await server().request('PUT', path('!nope:test.local'), { token: alice.accessToken, body: { visibility: 'public' } }), 404, 'M_NOT_FOUND');
    assertError(await server().request('PUT', path(hidden), { token: alice.accessToken, body: { visibility: 'secret' } }), 400, 'M_BAD_JSON');

    // Visibility defaults to public.
    const pub = await server().request('PUT', path(hidden), { token: alice.accessToken, body: {} });
    assert.equal(pub.status, 200, JSON.stringify(pub.body));
    assert.deepEqual((await server().request('GET', path(hidden))).body, { visibility: 'public' });
    assert.equal((await server().request('GET', '/_matrix/client/v3/publicRooms')).body.chunk.length, 4);

    const admin = await server().registerUser();
    await server().app.database.db.updateTable('users').set({ is_admin: 1 }).where('user_id', '=', admin.userId).execute();
    const unlist = await server().request('PUT', path(big), { token: admin.accessToken, body: { visibility: 'private' } });
    assert.equal(unlist.status, 200, JSON.stringify(unlist.body));
    const list = await server().request('GET', '/_matrix/client/v3/publicRooms');
    assert.equal(list.body.chunk.some((c: any) => c.room_id === big), false);
    assert.equal(list.body.total_room_count_estimate, 3);
  });

  it('leaves out published rooms that everyone has left', async () => {
    const leave = await server().request('POST', `/_matrix/client/v3/rooms/${enc(quiet)}/leave`, { token: alice.accessToken, body: {} });
    assert.equal(leave.status, 200);
    const list = await server().request('GET', '/_matrix/client/v3/publicRooms');
    assert.equal(list.body.chunk.some((c: any) => c.room_id === quiet), false);
  });
});
