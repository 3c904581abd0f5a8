// POST /createRoom refuses a request whose implied state the auth rules would refuse, or whose
// events would be too large, or that invites an unknown user — and then leaves nothing behind:
// no room, no membership, no alias. Before, such a request failed half-way (the room had been
// written up to the failing step) while the client was told it had failed. Spec: "Creation"
// (400 M_INVALID_ROOM_STATE for state the rules refuse). Through HTTP, on both databases.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('createRoom: refused whole, nothing written', ({ server }) => {
  let alice: TestUser;

  const roomCount = async () => Number((await server().app.database.db.selectFrom('rooms').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const joinedRooms = async () => (await server().request('GET', '/_matrix/client/v3/joined_rooms', { token: alice.accessToken })).body.joined_rooms as string[];

  const refused = async (body: Record<string, unknown>, status: number, errcode: string, message?: RegExp) => {
    const rooms = await roomCount();
    const joined = await joinedRooms();
    const res = await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body });
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.errcode, errcode);
    if (message) assert.match(res.body.error, message);
    assert.equal(await roomCount(), rooms, 'no room written');
    assert.deepEqual(await joinedRooms(), joined, 'no membership');
  };

  it('refuses power levels the auth rules refuse, from the override or initial_state', async () => {
    alice = await server().registerUser();
    await refused({ power_level_content_override: { users_default: 'fifty' } }, 400, 'M_INVALID_ROOM_STATE', /m\.room\.power_levels/);
    await refused(
      { initial_state: [{ type: 'm.room.power_levels', state_key: '', content: { users: { [alice.userId]: '100' } } }] },
      400,
      'M_INVALID_ROOM_STATE',
    );
  });

  it('refuses state the creator would lack the power to send (the spec’s example)', async () => {
    // v10: the creator's power comes from power levels, which the override lowers.
    await refused({ room_version: '10', name: 'Too late', power_level_content_override: { users: { [alice.userId]: 0 }, state_default: 50 } }, 400, 'M_INVALID_ROOM_STATE', /needs power level 50/);
  });

  it('refuses an initial_state event over the size limit', async () => {
    await refused({ initial_state: [{ type: 'org.example.big', state_key: '', content: { data: 'x'.repeat(65_000) } }] }, 413, 'M_TOO_LARGE');
  });

  it('refuses invites to unknown users, to itself, and keeps the alias free', async () => {
    await refused({ room_alias_name: 'kept-free', invite: [`@ghost:${server().serverName}`] }, 404, 'M_NOT_FOUND', /ghost/);
    await refused({ room_alias_name: 'kept-free', invite: ['@someone:elsewhere.example'] }, 404, 'M_NOT_FOUND');
    await refused({ room_alias_name: 'kept-free', invite: [alice.userId] }, 403, 'M_FORBIDDEN');
    const alias = await server().request('GET', `/_matrix/client/v3/directory/room/${encodeURIComponent(`#kept-free:${server().serverName}`)}`);
    assert.equal(alias.status, 404, 'the alias was never taken');
  });

  it('still creates the room when everything checks out, with invites and initial state', async () => {
    const bob = await server().registerUser();
    const res = await server().request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.accessToken,
      body: {
        room_alias_name: 'kept-free',
        name: 'Fine',
        invite: [bob.userId],
        initial_state: [{ type: 'org.example.big', state_key: '', content: { data: 'x'.repeat(60_000) } }],
        power_level_content_override: { users_default: 10 },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const state = await server().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(res.body.room_id)}/state`, { token: alice.accessToken });
    const member = state.body.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(member.content.membership, 'invite');
    assert.equal(state.body.find((e: any) => e.type === 'm.room.power_levels').content.users_default, 10);
    assert.equal(state.body.find((e: any) => e.type === 'org.example.big').content.data.length, 60_000);
  });
});
