// Auth events selection, the rules about an event's auth_events list, and required signers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, checkAuth } from './check-auth.ts';
import { authEventKeys, authStateFromAuthEvents, checkAuthEvents, requiredSigningServers } from './auth-events.ts';
import { roomVersion } from '../room-versions.ts';
import { stateKeyOf, type RoomEvent } from '../pdu.ts';
import { TestRoom } from './test-room.ts';

const ALICE = '@alice:a.example';
const BOB = '@bob:b.example';
const CAROL = '@carol:c.example';
const v11 = roomVersion('11')!;
const v12 = roomVersion('12')!;
const v7 = roomVersion('7')!;

const keys = (list: Array<[string, string]>) => list.map(([t, s]) => `${t}|${s}`).sort();

describe('authEventKeys', () => {
  it('is empty for m.room.create', () => {
    assert.deepEqual(authEventKeys({ type: 'm.room.create', sender: ALICE, state_key: '', content: {} }, v11), []);
  });

  it('selects create, power levels and the sender’s membership for ordinary events', () => {
    assert.deepEqual(keys(authEventKeys({ type: 'm.room.message', sender: ALICE, content: {} }, v11)), [
      'm.room.create|',
      `m.room.member|${ALICE}`,
      'm.room.power_levels|',
    ]);
  });

  it('never selects the create event in v12', () => {
    assert.deepEqual(keys(authEventKeys({ type: 'm.room.message', sender: ALICE, content: {} }, v12)), [
      `m.room.member|${ALICE}`,
      'm.room.power_levels|',
    ]);
  });

  it('adds target membership and join rules for joins, invites and knocks', () => {
    for (const membership of ['join', 'invite', 'knock']) {
      const got = keys(authEventKeys({ type: 'm.room.member', sender: ALICE, state_key: BOB, content: { membership } }, v11));
      assert.deepEqual(got, ['m.room.create|', 'm.room.join_rules|', `m.room.member|${ALICE}`, `m.room.member|${BOB}`, 'm.room.power_levels|'], membership);
    }
    for (const membership of ['leave', 'ban']) {
      const got = keys(authEventKeys({ type: 'm.room.member', sender: ALICE, state_key: BOB, content: { membership } }, v11));
      assert.deepEqual(got, ['m.room.create|', `m.room.member|${ALICE}`, `m.room.member|${BOB}`, 'm.room.power_levels|'], membership);
    }
  });

  it('lists a self-targeted membership once', () => {
    const got = authEventKeys({ type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'join' } }, v11);
    assert.equal(got.filter(([t]) => t === 'm.room.member').length, 1);
  });

  it('adds the third-party invite for its token', () => {
    const content = { membership: 'invite', third_party_invite: { signed: { token: 'tok', mxid: BOB } } };
    assert.ok(keys(authEventKeys({ type: 'm.room.member', sender: ALICE, state_key: BOB, content }, v11)).includes('m.room.third_party_invite|tok'));
    const broken = { membership: 'invite', third_party_invite: 'nope' };
    assert.ok(!keys(authEventKeys({ type: 'm.room.member', sender: ALICE, state_key: BOB, content: broken }, v11)).some((k) => k.startsWith('m.room.third_party_invite')));
  });

  it('adds the authorising user’s membership for restricted joins, from v8', () => {
    const content = { membership: 'join', join_authorised_via_users_server: CAROL };
    assert.ok(keys(authEventKeys({ type: 'm.room.member', sender: BOB, state_key: BOB, content }, v11)).includes(`m.room.member|${CAROL}`));
    assert.ok(!keys(authEventKeys({ type: 'm.room.member', sender: BOB, state_key: BOB, content }, v7)).includes(`m.room.member|${CAROL}`));
  });
});

/** A v11 or v12 room with Alice, Bob joined; returns the events by name for citing. */
function populated(v: string) {
  const room = TestRoom.withDefaults(v, 'invite');
  room.send(room.member(ALICE, BOB, 'invite'));
  room.join(BOB);
  const s = (type: string, key = '') => room.state.get(stateKeyOf(type, key))!;
  return {
    room,
    create: room.create,
    pl: s('m.room.power_levels'),
    joinRules: s('m.room.join_rules'),
    alice: s('m.room.member', ALICE),
    bob: s('m.room.member', BOB),
  };
}

describe('checkAuthEvents', () => {
  it('accepts the selected events (v11 with create, v12 without)', () => {
    const a = populated('11');
    const message = a.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    checkAuthEvents(message, [a.create, a.pl, a.bob], a.room.version);
    checkAuthEvents(message, [a.create, a.bob], a.room.version); // a subset is fine
    const b = populated('12');
    checkAuthEvents(b.room.event({ type: 'm.room.message', sender: BOB, content: {} }), [b.pl, b.bob], b.room.version);
  });

  it('rejects duplicates (3.1)', () => {
    const a = populated('11');
    const message = a.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    const oldPl = a.room.force({ type: 'm.room.power_levels', sender: ALICE, state_key: '', content: {} });
    assert.throws(() => checkAuthEvents(message, [a.create, a.pl, oldPl, a.bob], a.room.version), AuthError);
  });

  it('rejects events outside the selection (3.2), including the create event in v12', () => {
    const a = populated('11');
    const message = a.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    assert.throws(() => checkAuthEvents(message, [a.create, a.pl, a.bob, a.alice], a.room.version), /may not cite/);
    assert.throws(() => checkAuthEvents(message, [a.create, a.pl, a.bob, a.joinRules], a.room.version), /may not cite/);
    const msg = a.room.force({ type: 'm.room.message', sender: ALICE, content: {} });
    assert.throws(() => checkAuthEvents(message, [a.create, msg], a.room.version), /not a state event/);
    const b = populated('12');
    const message12 = b.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    assert.throws(() => checkAuthEvents(message12, [b.create, b.pl, b.bob], b.room.version), /may not cite/);
  });

  it('requires the create event before v12 (rule 2.4)', () => {
    const a = populated('11');
    const message = a.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    assert.throws(() => checkAuthEvents(message, [a.pl, a.bob], a.room.version), /m\.room\.create/);
  });

  it('rejects auth events from another room (3.5)', () => {
    const a = populated('11');
    const message = a.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    const foreignPl: RoomEvent = { ...a.pl, roomId: '!elsewhere:a.example' };
    assert.throws(() => checkAuthEvents(message, [a.create, foreignPl, a.bob], a.room.version), /another room/);
  });

  it('does nothing for the create event', () => {
    const a = populated('11');
    checkAuthEvents(a.create, [], a.room.version);
  });

  it('authStateFromAuthEvents builds what checkAuth needs, adding the implied v12 create event', () => {
    const b = populated('12');
    const message = b.room.event({ type: 'm.room.message', sender: BOB, content: {} });
    const state = authStateFromAuthEvents([b.pl, b.bob], b.create);
    assert.equal(state.size, 3);
    checkAuth(message, state, b.room.version);
    assert.throws(() => checkAuth(message, authStateFromAuthEvents([b.pl, b.bob]), b.room.version), AuthError);
  });
});

describe('requiredSigningServers', () => {
  it('is the sender’s server', () => {
    const a = populated('11');
    assert.deepEqual(requiredSigningServers(a.room.event({ type: 'm.room.message', sender: BOB, content: {} }), a.room.version), ['b.example']);
  });

  it('adds the event ID’s server in v1–v2', () => {
    const room = TestRoom.withDefaults('2');
    room.join(BOB);
    const event = room.event({ type: 'm.room.message', sender: BOB, content: {}, event_id: '$x:relay.example' });
    assert.deepEqual(requiredSigningServers(event, room.version).sort(), ['b.example', 'relay.example']);
  });

  it('adds the authorising user’s server for restricted joins from v8', () => {
    const room = TestRoom.withDefaults('10', 'restricted');
    const join = room.event(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: ALICE }));
    assert.deepEqual(requiredSigningServers(join, room.version).sort(), ['a.example', 'b.example']);
    const old = TestRoom.withDefaults('7');
    const oldJoin = old.event(old.member(BOB, BOB, 'join', { join_authorised_via_users_server: ALICE }));
    assert.deepEqual(requiredSigningServers(oldJoin, old.version), ['b.example']);
  });
});
