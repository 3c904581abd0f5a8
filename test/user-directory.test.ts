import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const room = (roomId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;

async function createRoom(s: TestServer, user: TestUser, body: Record<string, unknown>): Promise<string> {
  const res = await s.request('POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

async function join(s: TestServer, who: TestUser, roomId: string): Promise<void> {
  const res = await s.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: who.accessToken, body: {} });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function setProfile(s: TestServer, user: TestUser, field: 'displayname' | 'avatar_url', value: string): Promise<void> {
  const res = await s.request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/${field}`, { token: user.accessToken, body: { [field]: value } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function find(s: TestServer, user: TestUser, term: string, limit?: number) {
  const res = await s.request('POST', '/_matrix/client/v3/user_directory/search', { token: user.accessToken, body: { search_term: term, limit } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(typeof res.body.limited, 'boolean');
  return res.body as { results: Array<{ user_id: string; display_name?: string; avatar_url?: string }>; limited: boolean };
}

const userIds = (body: { results: Array<{ user_id: string }> }) => body.results.map((r) => r.user_id);

describeEachDatabase('user directory search', ({ server }) => {
  let searcher: TestUser;
  let friend: TestUser;
  let stranger: TestUser;
  let publicUser: TestUser;
  let readableUser: TestUser;
  const tag = Math.random().toString(36).slice(2, 7);

  it('sets up users sharing rooms, in a public room, in a world-readable room, and alone', async () => {
    searcher = await server().registerUser(`searcher_${tag}`);
    friend = await server().registerUser(`zorro_${tag}`);
    stranger = await server().registerUser(`zorrino_${tag}`);
    publicUser = await server().registerUser(`zorba_${tag}`);
    readableUser = await server().registerUser(`zorglub_${tag}`);
    await setProfile(server(), friend, 'displayname', 'Don Diego Vega');
    await setProfile(server(), friend, 'avatar_url', 'mxc://test.local/zorro');
    await setProfile(server(), stranger, 'displayname', 'Diego the Hermit');

    const shared = await createRoom(server(), searcher, { preset: 'private_chat', invite: [friend.userId] });
    await join(server(), friend, shared);
    // The stranger is only in a private room of their own.
    await createRoom(server(), stranger, { preset: 'private_chat' });
    // A public room the searcher is not in.
    await createRoom(server(), publicUser, { preset: 'public_chat' });
    // A private room with world-readable history.
    const readable = await createRoom(server(), readableUser, { preset: 'private_chat' });
    const hv = await server().request('PUT', `${room(readable)}/state/m.room.history_visibility/`, {
      token: readableUser.accessToken,
      body: { history_visibility: 'world_readable' },
    });
    assert.equal(hv.status, 200, JSON.stringify(hv.body));
  });

  it('finds users sharing a room by localpart prefix, with their profile', async () => {
    const res = await find(server(), searcher, 'ZORR');
    assert.deepEqual(userIds(res), [friend.userId]);
    assert.deepEqual(res.results[0], { user_id: friend.userId, display_name: 'Don Diego Vega', avatar_url: 'mxc://test.local/zorro' });
    assert.equal(res.limited, false);
  });

  it('matches display names by word prefix, case-insensitively, every word required', async () => {
    assert.deepEqual(userIds(await find(server(), searcher, 'diego')), [friend.userId]);
    assert.deepEqual(userIds(await find(server(), searcher, 'VEG')), [friend.userId]);
    assert.deepEqual(userIds(await find(server(), searcher, 'don veg')), [friend.userId]);
    assert.deepEqual(userIds(await find(server(), searcher, 'don hermit')), []);
    // Inside a word is not a prefix.
    assert.deepEqual(userIds(await find(server(), searcher, 'iego')), []);
    // A user ID, or its start.
    assert.deepEqual(userIds(await find(server(), searcher, friend.userId)), [friend.userId]);
    assert.deepEqual(userIds(await find(server(), searcher, `@zorro_${tag}:te`)), [friend.userId]);
  });

  it('includes members of public and world-readable rooms, not users in private rooms only', async () => {
    const res = await find(server(), searcher, 'zor');
    assert.deepEqual(new Set(userIds(res)), new Set([friend.userId, publicUser.userId, readableUser.userId]));
    assert.ok(!userIds(await find(server(), searcher, 'zorrino')).includes(stranger.userId));
    assert.ok(!userIds(await find(server(), searcher, 'hermit')).includes(stranger.userId));
  });

  it('orders better matches first and honours the limit', async () => {
    const exact = await find(server(), searcher, `zorba_${tag}`);
    assert.equal(exact.results[0].user_id, publicUser.userId);
    const one = await find(server(), searcher, 'zor', 1);
    assert.equal(one.results.length, 1);
    assert.equal(one.limited, true);
    // Users with a profile rank before those without, among equal matches.
    assert.equal(one.results[0].user_id, friend.userId);
    const none = await find(server(), searcher, 'zor', 0);
    assert.deepEqual(none.results, []);
    assert.equal(none.limited, true);
  });

  it('finds the stranger once they share a room, and updates names', async () => {
    const res0 = await find(server(), searcher, 'hermit');
    assert.deepEqual(userIds(res0), []);
    const roomId = await createRoom(server(), stranger, { preset: 'public_chat' });
    await join(server(), searcher, roomId);
    assert.deepEqual(userIds(await find(server(), searcher, 'hermit')), [stranger.userId]);
    await setProfile(server(), stranger, 'displayname', 'Diego the Sailor');
    assert.deepEqual(userIds(await find(server(), searcher, 'sailor')), [stranger.userId]);
    assert.deepEqual(userIds(await find(server(), searcher, 'hermit')), []);
  });

  it('leaves out deactivated users', async () => {
    const res = await server().request('POST', '/_matrix/client/v3/account/deactivate', {
      token: publicUser.accessToken,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: publicUser.localpart }, password: publicUser.password } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(!userIds(await find(server(), searcher, 'zorba')).includes(publicUser.userId));
  });

  it('rejects bad requests', async () => {
    let res = await server().request('POST', '/_matrix/client/v3/user_directory/search', { token: searcher.accessToken, body: {} });
    assert.equal(res.status, 400);
    assert.ok(['M_MISSING_PARAM', 'M_BAD_JSON'].includes(res.body.errcode), res.body.errcode);
    res = await server().request('POST', '/_matrix/client/v3/user_directory/search', { token: searcher.accessToken, body: { search_term: 'x', limit: 'ten' } });
    assert.equal(res.status, 400);
    res = await server().request('POST', '/_matrix/client/v3/user_directory/search', { body: { search_term: 'x' } });
    assert.equal(res.status, 401);
    // Nothing searchable in the term: no results.
    assert.deepEqual((await find(server(), searcher, ' ... ')).results, []);
  });
});
