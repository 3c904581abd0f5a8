// POST /rooms/{roomId}/upgrade through HTTP: permission and version checks, the new room's create
// event and copied state, aliases and directory listing moved, tombstone and restricted power
// levels in the old room, v12 targets with additional creators.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const enc = encodeURIComponent;

async function stateOf(server: TestServer, user: TestUser, roomId: string): Promise<Map<string, any>> {
  const res = await server.request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state`, { token: user.accessToken });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return new Map(res.body.map((e: any) => [`${e.type}|${e.state_key}`, e]));
}

async function upgrade(server: TestServer, user: TestUser, roomId: string, body: unknown) {
  return server.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/upgrade`, { token: user.accessToken, body });
}

describeEachDatabase('room upgrades', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let oldRoom: string;
  let newRoom: string;
  let alias: string;

  it('sets up a public room with alias, state, a member and a ban', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    const res = await server().request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.accessToken,
      body: {
        preset: 'public_chat',
        visibility: 'public',
        room_alias_name: `upg${Date.now()}`,
        name: 'Old name',
        topic: 'Old topic',
        room_version: '10',
        initial_state: [{ type: 'm.room.guest_access', content: { guest_access: 'forbidden' } }],
        power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 10 } },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    oldRoom = res.body.room_id;
    alias = res.body.room_alias;
    for (const [user, path, body] of [
      [bob, `/_matrix/client/v3/join/${enc(oldRoom)}`, {}],
      [alice, `/_matrix/client/v3/rooms/${enc(oldRoom)}/ban`, { user_id: carol.userId, reason: 'spam' }],
    ] as const) {
      const r = await server().request('POST', path, { token: user.accessToken, body });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });

  it('refuses unknown or unsupported versions with M_UNSUPPORTED_ROOM_VERSION', async () => {
    for (const v of ['9', 'nope', '1']) {
      const res = await upgrade(server(), alice, oldRoom, { new_version: v });
      assert.equal(res.status, 400, v);
      assert.equal(res.body.errcode, 'M_UNSUPPORTED_ROOM_VERSION');
    }
  });

  it('refuses a malformed request', async () => {
    const res = await upgrade(server(), alice, oldRoom, {});
    assert.equal(res.status, 400);
    assert.match(res.body.errcode, /^M_(MISSING_PARAM|BAD_JSON)$/);
    const bad = await upgrade(server(), alice, oldRoom, { new_version: 11 });
    assert.equal(bad.status, 400);
  });

  it('refuses users without power to send m.room.tombstone (403), outsiders (403) and unknown rooms (404)', async () => {
    const member = await upgrade(server(), bob, oldRoom, { new_version: '11' });
    assert.equal(member.status, 403);
    assert.equal(member.body.errcode, 'M_FORBIDDEN');
    const outsider = await upgrade(server(), carol, oldRoom, { new_version: '11' });
    assert.equal(outsider.status, 403);
    const unknown = await upgrade(server(), alice, '!doesnotexist:test.local', { new_version: '11' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    // Nothing happened to the room.
    assert.equal((await stateOf(server(), alice, oldRoom)).get('m.room.tombstone|'), undefined);
  });

  it('upgrades: new room with predecessor and copied state', async () => {
    const res = await upgrade(server(), alice, oldRoom, { new_version: '11' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    newRoom = res.body.replacement_room;
    assert.match(newRoom, /^!.+:test\.local$/);
    assert.notEqual(newRoom, oldRoom);

    const state = await stateOf(server(), alice, newRoom);
    const create = state.get('m.room.create|');
    assert.equal(create.content.room_version, '11');
    assert.equal(create.content.predecessor.room_id, oldRoom);
    assert.match(create.content.predecessor.event_id, /^\$/);
    assert.equal(create.content.creator, undefined, 'v11 has no creator field');
    assert.equal(state.get('m.room.name|').content.name, 'Old name');
    assert.equal(state.get('m.room.topic|').content.topic, 'Old topic');
    assert.equal(state.get('m.room.join_rules|').content.join_rule, 'public');
    assert.equal(state.get('m.room.guest_access|').content.guest_access, 'forbidden');
    assert.equal(state.get('m.room.history_visibility|').content.history_visibility, 'shared');
    assert.equal(state.get('m.room.encryption|'), undefined, 'no encryption added to an unencrypted room');

    // Power levels are the old room's, exactly (the temporary grant was undone).
    const oldPl = (await stateOf(server(), alice, oldRoom)).get('m.room.power_levels|').content;
    const newPl = state.get('m.room.power_levels|').content;
    assert.deepEqual(newPl.users, { [alice.userId]: 100, [bob.userId]: 10 });
    assert.deepEqual(newPl.events, oldPl.events);
    assert.equal(newPl.state_default, oldPl.state_default);

    // Memberships: only the upgrader joined, nobody invited, the ban carried over.
    assert.equal(state.get(`m.room.member|${alice.userId}`).content.membership, 'join');
    assert.equal(state.get(`m.room.member|${bob.userId}`), undefined);
    const ban = state.get(`m.room.member|${carol.userId}`);
    assert.equal(ban.content.membership, 'ban');
    assert.equal(ban.content.reason, 'spam');
    assert.equal(state.get('m.room.canonical_alias|').content.alias, alias);
  });

  it('tombstones and quietens the old room', async () => {
    const state = await stateOf(server(), alice, oldRoom);
    const tombstone = state.get('m.room.tombstone|');
    assert.equal(tombstone.content.replacement_room, newRoom);
    assert.equal(typeof tombstone.content.body, 'string');
    const pl = state.get('m.room.power_levels|').content;
    assert.equal(pl.events_default, 50);
    assert.equal(pl.invite, 50);
    assert.equal(state.get('m.room.canonical_alias|').content.alias, undefined, 'canonical alias removed from the old room');
    // Bob (level 10) can no longer talk there.
    const send = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(oldRoom)}/send/m.room.message/t1`, {
      token: bob.accessToken,
      body: { msgtype: 'm.text', body: 'still here?' },
    });
    assert.equal(send.status, 403);
  });

  it('moves the alias and the directory listing', async () => {
    const resolved = await server().request('GET', `/_matrix/client/v3/directory/room/${enc(alias)}`);
    assert.equal(resolved.status, 200);
    assert.equal(resolved.body.room_id, newRoom);
    const aliases = await server().request('GET', `/_matrix/client/v3/rooms/${enc(newRoom)}/aliases`, { token: alice.accessToken });
    assert.deepEqual(aliases.body.aliases, [alias]);
    const vNew = await server().request('GET', `/_matrix/client/v3/directory/list/room/${enc(newRoom)}`);
    const vOld = await server().request('GET', `/_matrix/client/v3/directory/list/room/${enc(oldRoom)}`);
    assert.equal(vNew.body.visibility, 'public');
    assert.equal(vOld.body.visibility, 'private');
  });

  it('lets members follow: bob joins the new room by alias, carol stays banned', async () => {
    const join = await server().request('POST', `/_matrix/client/v3/join/${enc(alias)}`, { token: bob.accessToken, body: {} });
    assert.equal(join.status, 200, JSON.stringify(join.body));
    assert.equal(join.body.room_id, newRoom);
    const banned = await server().request('POST', `/_matrix/client/v3/join/${enc(newRoom)}`, { token: carol.accessToken, body: {} });
    assert.equal(banned.status, 403);
  });

  it('upgrades to v12 with additional_creators, copying the room type', async () => {
    const created = await server().request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.accessToken,
      body: {
        room_version: '11',
        preset: 'private_chat',
        creation_content: { type: 'org.example.kind' },
        power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 50 } },
        initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const from = created.body.room_id;
    const invalid = await upgrade(server(), alice, from, { new_version: '12', additional_creators: ['not-a-user'] });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.errcode, 'M_INVALID_PARAM');

    const res = await upgrade(server(), alice, from, { new_version: '12', additional_creators: [bob.userId] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const to = res.body.replacement_room;
    const state = await stateOf(server(), alice, to);
    const create = state.get('m.room.create|');
    assert.equal(create.content.room_version, '12');
    assert.equal(create.content.type, 'org.example.kind');
    assert.deepEqual(create.content.additional_creators, [bob.userId]);
    assert.equal(create.content.predecessor.room_id, from);
    // Creators have infinite power in v12 and are not listed.
    assert.deepEqual(state.get('m.room.power_levels|').content.users, {});
    assert.equal(state.get('m.room.encryption|').content.algorithm, 'm.megolm.v1.aes-sha2');
    assert.equal(state.get('m.room.join_rules|').content.join_rule, 'invite');
    assert.equal((await stateOf(server(), alice, from)).get('m.room.tombstone|').content.replacement_room, to);

    // additional_creators is ignored for targets without privileged creators.
    const created2 = await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { room_version: '10' } });
    const res2 = await upgrade(server(), alice, created2.body.room_id, { new_version: '11', additional_creators: [bob.userId] });
    assert.equal(res2.status, 200, JSON.stringify(res2.body));
    const create2 = (await stateOf(server(), alice, res2.body.replacement_room)).get('m.room.create|');
    assert.equal(create2.content.additional_creators, undefined);
  });

  it('downgrading out of v12 gives the old creators level 100', async () => {
    const created = await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { room_version: '12' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const res = await upgrade(server(), alice, created.body.room_id, { new_version: '11' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const pl = (await stateOf(server(), alice, res.body.replacement_room)).get('m.room.power_levels|').content;
    assert.equal(pl.users[alice.userId], 100);
  });
});
