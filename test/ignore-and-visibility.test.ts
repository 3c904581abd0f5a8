import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('ignored users and history visibility in sync', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  const enc = encodeURIComponent;
  const send = (user: TestUser, txn: string, body: string) =>
    server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { token: user.accessToken, body: { msgtype: 'm.text', body } });
  const timelineOf = async (user: TestUser, since?: string) => {
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: user.accessToken, query: { since, filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) } });
    return { body: s.body, events: (s.body.rooms.join[roomId]?.timeline.events ?? []) as any[] };
  };

  it('hides messages and invites from ignored users, but keeps their state events', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    await server().request('PUT', `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.ignored_user_list`, {
      token: bob.accessToken,
      body: { ignored_users: { [alice.userId]: {} } },
    });
    await send(alice, 'i1', 'you should not see this');
    await send(carol, 'c0', 'not joined yet'); // refused: carol is not in the room
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: carol.accessToken, body: {} });
    await send(carol, 'c1', 'visible');
    const { events } = await timelineOf(bob);
    const bodies = events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
    assert.deepEqual(bodies, ['visible']);
    // State events of ignored users still arrive: clients need them to know the room.
    assert.ok(events.some((e) => e.type === 'm.room.member' && e.state_key === alice.userId));
    // /messages hides them too.
    const msgs = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, { token: bob.accessToken, query: { dir: 'b', limit: 50 } });
    assert.ok(!msgs.body.chunk.some((e: any) => e.content.body === 'you should not see this'));

    // An invite from an ignored user does not show up.
    const other = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { invite: [bob.userId] } })).body.room_id;
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken });
    assert.equal(s.body.rooms.invite[other], undefined);
    // Nor does it count as a notification.
    assert.deepEqual(s.body.rooms.join[roomId].unread_notifications, { notification_count: 1, highlight_count: 0 });
  });

  it('does not show history from before a join when history_visibility is "joined"', async () => {
    const dave = await server().registerUser();
    const room = (await server().request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.accessToken,
      body: { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] },
    })).body.room_id;
    await server().request('PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/secret`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'before dave' } });
    await server().request('POST', `/_matrix/client/v3/join/${enc(room)}`, { token: dave.accessToken, body: {} });
    await server().request('PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/after`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'after dave' } });
    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: dave.accessToken, query: { filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) } });
    const bodies = s.body.rooms.join[room].timeline.events.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body);
    assert.deepEqual(bodies, ['after dave']);
  });
});
