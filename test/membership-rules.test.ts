// The membership auth rules end to end, through HTTP: knocking (and answering a knock), the
// restricted join rules with join_authorised_via_users_server chosen by this server, kick / ban /
// unban with reasons, and leave → forget.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const enc = encodeURIComponent;

async function post(server: TestServer, user: TestUser, path: string, body: unknown = {}) {
  return server.request('POST', path, { token: user.accessToken, body });
}

async function memberEvent(server: TestServer, viewer: TestUser, roomId: string, userId: string): Promise<any> {
  const res = await server.request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state`, { token: viewer.accessToken });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.find((e: any) => e.type === 'm.room.member' && e.state_key === userId);
}

async function createRoom(server: TestServer, user: TestUser, body: Record<string, unknown>): Promise<string> {
  const res = await server.request('POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

const joinRules = (content: Record<string, unknown>) => ({ type: 'm.room.join_rules', state_key: '', content });

describeEachDatabase('membership rules through HTTP', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;

  it('registers users', async () => {
    [alice, bob, carol, dave] = [await server().registerUser(), await server().registerUser(), await server().registerUser(), await server().registerUser()];
  });

  it('knock: the knock reaches the members and the knocker; a member accepts it with an invite', async () => {
    const roomId = await createRoom(server(), alice, { name: 'Knock here', initial_state: [joinRules({ join_rule: 'knock' })] });
    const aliceSync = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    const bobSync = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken });

    // Joining a knock room without an invite is refused; knocking is not.
    const join = await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`);
    assert.equal(join.status, 403);
    const knock = await post(server(), bob, `/_matrix/client/v3/knock/${enc(roomId)}`, { reason: 'let me in' });
    assert.equal(knock.status, 200, JSON.stringify(knock.body));
    assert.equal(knock.body.room_id, roomId);

    const a2 = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since: aliceSync.body.next_batch } });
    const knockEv = a2.body.rooms.join[roomId].timeline.events.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(knockEv.content.membership, 'knock');
    assert.equal(knockEv.content.reason, 'let me in');

    const b2 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: bobSync.body.next_batch } });
    const knockState = b2.body.rooms.knock[roomId].knock_state.events;
    assert.equal(knockState.find((e: any) => e.type === 'm.room.join_rules').content.join_rule, 'knock');
    assert.equal(knockState.find((e: any) => e.type === 'm.room.name').content.name, 'Knock here');
    assert.equal(knockState.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId).content.membership, 'knock');

    // The invite answers the knock.
    const invite = await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
    assert.equal(invite.status, 200, JSON.stringify(invite.body));
    const b3 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since: b2.body.next_batch } });
    assert.ok(b3.body.rooms.invite[roomId], 'the accepted knock arrives as an invite');
    const accepted = await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const again = await post(server(), bob, `/_matrix/client/v3/knock/${enc(roomId)}`);
    assert.equal(again.status, 403, 'no knocking once joined');

    // A knock can also be refused: kicking the knocker.
    assert.equal((await post(server(), carol, `/_matrix/client/v3/knock/${enc(roomId)}`)).status, 200);
    const deny = await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: carol.userId, reason: 'not now' });
    assert.equal(deny.status, 200, JSON.stringify(deny.body));
    const carolEv = await memberEvent(server(), alice, roomId, carol.userId);
    assert.equal(carolEv.content.membership, 'leave');
    assert.equal(carolEv.content.reason, 'not now');
  });

  it('knocks are refused on invite-only and public rooms', async () => {
    const inviteOnly = await createRoom(server(), alice, { preset: 'private_chat' });
    const res = await post(server(), bob, `/_matrix/client/v3/knock/${enc(inviteOnly)}`);
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    const publicRoom = await createRoom(server(), alice, { preset: 'public_chat' });
    assert.equal((await post(server(), bob, `/_matrix/client/v3/knock/${enc(publicRoom)}`)).status, 403);
    const unknown = await post(server(), bob, `/_matrix/client/v3/knock/${enc('!unknown:test.local')}`);
    assert.equal(unknown.status, 404);
  });

  it('restricted: members of an allowed room join, vouched for by a local user with invite power', async () => {
    const space = await createRoom(server(), alice, { preset: 'public_chat' });
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(space)}`)).status, 200);
    const restricted = await createRoom(server(), alice, {
      preset: 'private_chat',
      power_level_content_override: { users: { [alice.userId]: 100, [dave.userId]: 50 } },
      invite: [dave.userId],
      initial_state: [joinRules({ join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] })],
    });
    assert.equal((await post(server(), dave, `/_matrix/client/v3/join/${enc(restricted)}`)).status, 200, 'invited users join as usual');

    const join = await post(server(), bob, `/_matrix/client/v3/join/${enc(restricted)}`);
    assert.equal(join.status, 200, JSON.stringify(join.body));
    const ev = await memberEvent(server(), alice, restricted, bob.userId);
    assert.equal(ev.content.membership, 'join');
    assert.equal(ev.content.join_authorised_via_users_server, alice.userId, 'the most powerful local user vouches');

    const outsider = await post(server(), carol, `/_matrix/client/v3/join/${enc(restricted)}`);
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.errcode, 'M_FORBIDDEN');
    assert.equal(await memberEvent(server(), alice, restricted, carol.userId), undefined);
    // Restricted rooms do not take knocks.
    assert.equal((await post(server(), carol, `/_matrix/client/v3/knock/${enc(restricted)}`)).status, 403);

    // Leaving the allowed room takes the right away.
    assert.equal((await post(server(), bob, `/_matrix/client/v3/rooms/${enc(restricted)}/leave`)).status, 200);
    assert.equal((await post(server(), bob, `/_matrix/client/v3/rooms/${enc(space)}/leave`)).status, 200);
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(restricted)}`)).status, 403);
  });

  it('knock_restricted: members join, others may knock; no one able to invite → M_UNABLE_TO_GRANT_JOIN', async () => {
    const space = await createRoom(server(), alice, { preset: 'public_chat' });
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(space)}`)).status, 200);
    const room = await createRoom(server(), alice, {
      initial_state: [joinRules({ join_rule: 'knock_restricted', allow: [{ type: 'm.room_membership', room_id: space }] })],
    });
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(room)}`)).status, 200);
    assert.equal((await post(server(), carol, `/_matrix/client/v3/join/${enc(room)}`)).status, 403);
    assert.equal((await post(server(), carol, `/_matrix/client/v3/knock/${enc(room)}`)).status, 200);

    // Inviting needs more power than anyone in the room has.
    const locked = await createRoom(server(), alice, {
      power_level_content_override: { invite: 1000 },
      initial_state: [joinRules({ join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] })],
    });
    const res = await post(server(), bob, `/_matrix/client/v3/join/${enc(locked)}`);
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_UNABLE_TO_GRANT_JOIN');
  });

  it('kick, ban and unban carry reasons; a banned user cannot rejoin or be invited', async () => {
    const roomId = await createRoom(server(), alice, { preset: 'public_chat' });
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`)).status, 200);
    assert.equal((await post(server(), carol, `/_matrix/client/v3/join/${enc(roomId)}`)).status, 200);

    // Without power, bob can neither kick nor ban.
    assert.equal((await post(server(), bob, `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: carol.userId })).status, 403);
    assert.equal((await post(server(), bob, `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: alice.userId })).status, 403);

    const kick = await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: bob.userId, reason: 'cool off' });
    assert.equal(kick.status, 200, JSON.stringify(kick.body));
    let ev = await memberEvent(server(), alice, roomId, bob.userId);
    assert.deepEqual([ev.content.membership, ev.content.reason, ev.sender], ['leave', 'cool off', alice.userId]);
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`)).status, 200, 'a kicked user may rejoin a public room');

    const ban = await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId, reason: 'spam' });
    assert.equal(ban.status, 200);
    ev = await memberEvent(server(), alice, roomId, bob.userId);
    assert.deepEqual([ev.content.membership, ev.content.reason], ['ban', 'spam']);
    const rejoin = await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`);
    assert.equal(rejoin.status, 403);
    assert.equal(rejoin.body.errcode, 'M_FORBIDDEN');
    assert.equal((await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId })).status, 403);
    assert.equal((await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: bob.userId })).status, 403, 'kicking a banned user is no unban');
    assert.equal((await post(server(), carol, `/_matrix/client/v3/rooms/${enc(roomId)}/unban`, { user_id: bob.userId })).status, 403);
    assert.equal((await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/unban`, { user_id: carol.userId })).status, 403, 'carol is not banned');

    const unban = await post(server(), alice, `/_matrix/client/v3/rooms/${enc(roomId)}/unban`, { user_id: bob.userId, reason: 'second chance' });
    assert.equal(unban.status, 200);
    ev = await memberEvent(server(), alice, roomId, bob.userId);
    assert.deepEqual([ev.content.membership, ev.content.reason], ['leave', 'second chance']);
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`)).status, 200);
  });

  it('leave, then forget: the room disappears from sync even with include_leave', async () => {
    const roomId = await createRoom(server(), alice, { preset: 'public_chat' });
    assert.equal((await post(server(), bob, `/_matrix/client/v3/join/${enc(roomId)}`)).status, 200);
    const early = await post(server(), bob, `/_matrix/client/v3/rooms/${enc(roomId)}/forget`);
    assert.equal(early.status, 400, 'cannot forget a room one is still in');

    assert.equal((await post(server(), bob, `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { reason: 'bye' })).status, 200);
    const filter = JSON.stringify({ room: { include_leave: true } });
    const s1 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { filter } });
    assert.ok(s1.body.rooms.leave[roomId], 'left room shown with include_leave');
    assert.equal(s1.body.rooms.join[roomId], undefined);

    assert.equal((await post(server(), bob, `/_matrix/client/v3/rooms/${enc(roomId)}/forget`)).status, 200);
    const s2 = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { filter } });
    assert.equal(s2.body.rooms.leave[roomId], undefined, 'forgotten room gone');
    const joined = await server().request('GET', '/_matrix/client/v3/joined_rooms', { token: bob.accessToken });
    assert.ok(!joined.body.joined_rooms.includes(roomId));
  });
});
