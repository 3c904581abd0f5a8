import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('profile changes and deactivation reach rooms', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const enc = encodeURIComponent;

  it('sends a new member event with the new display name to every joined room', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    const join = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/join`, { token: bob.accessToken, body: {} });
    assert.equal(join.status, 200);
    assert.equal(join.body.room_id, roomId);
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken })).body.next_batch;
    const put = await server().request('PUT', `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: 'Bob B.' } });
    assert.equal(put.status, 200);
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since, timeout: 3000 } });
    const member = s.body.rooms.join[roomId].timeline.events.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(member.content.displayname, 'Bob B.');
    assert.equal(member.content.membership, 'join');
    assert.equal(member.unsigned.prev_content.membership, 'join');
  });

  it('leaves every room when the account is deactivated', async () => {
    const deactivate = await server().request('POST', '/_matrix/client/v3/account/deactivate', {
      token: bob.accessToken,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: bob.userId }, password: bob.password } },
    });
    assert.equal(deactivate.status, 200, JSON.stringify(deactivate.body));
    const members = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { token: alice.accessToken });
    assert.deepEqual(Object.keys(members.body.joined), [alice.userId]);
  });

  it('stores room account data through the room-scoped endpoint', async () => {
    const put = await server().request('PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/org.example.room`, { token: alice.accessToken, body: { pinned: true } });
    assert.equal(put.status, 200);
    const get = await server().request('GET', `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/org.example.room`, { token: alice.accessToken });
    assert.deepEqual(get.body, { pinned: true });
    const badRoom = await server().request('PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/nope/account_data/x`, { token: alice.accessToken, body: {} });
    assert.equal(badRoom.status, 400);
  });
});

describeEachDatabase(
  'well-known client discovery',
  ({ server }) => {
    it('serves the configured base URL', async () => {
      const res = await server().request('GET', '/.well-known/matrix/client');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { 'm.homeserver': { base_url: 'https://matrix.example.org' } });
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
    });
  },
  { public_baseurl: 'https://matrix.example.org' },
);
