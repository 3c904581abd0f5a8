// Power level helpers and the m.room.power_levels rules (10.1–10.10).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError } from './check-auth.ts';
import { parsePowerLevel, requiredPowerLevel, roomCreators, userPowerLevel } from './power-levels.ts';
import { validatePowerLevelsContent } from './power-levels-event.ts';
import { roomVersion } from '../room-versions.ts';
import { stateKeyOf } from '../pdu.ts';
import { ALL_VERSIONS, TestRoom } from './test-room.ts';

const ALICE = '@alice:a.example';
const BOB = '@bob:b.example';
const CAROL = '@carol:c.example';

const pl = (sender: string, content: Record<string, unknown>) => ({ type: 'm.room.power_levels', sender, state_key: '', content });

/** Alice creator; Bob at 50 and Carol at 10 joined. `extra` merges into the power levels. */
function setup(v: string, extra: Record<string, unknown> = {}): TestRoom {
  const room = TestRoom.withDefaults(v);
  room.join(BOB);
  room.join(CAROL);
  const users = room.version.privilegedCreators ? {} : { [ALICE]: 100 };
  room.forcePowerLevels({ ...extra, users: { ...users, [BOB]: 50, [CAROL]: 10, ...((extra.users as object) ?? {}) } });
  return room;
}

function currentPl(room: TestRoom): Record<string, unknown> {
  return structuredClone(room.state.get(stateKeyOf('m.room.power_levels', ''))!.pdu.content);
}

describe('power level helpers', () => {
  it('parsePowerLevel reads integers, truncated floats and integer strings', () => {
    assert.equal(parsePowerLevel(50), 50);
    assert.equal(parsePowerLevel(-3), -3);
    assert.equal(parsePowerLevel(50.57), 50);
    assert.equal(parsePowerLevel(-0.5), 0);
    assert.equal(parsePowerLevel('100'), 100);
    assert.equal(parsePowerLevel('000100'), 100);
    assert.equal(parsePowerLevel(' +100 '), 100);
    assert.equal(parsePowerLevel('-100'), -100);
    for (const bad of ['1.5', '1e3', '', ' ', '+-1', '0x10', 'abc', null, true, {}, [], Infinity, NaN]) {
      assert.equal(parsePowerLevel(bad), undefined, JSON.stringify(bad));
    }
  });

  for (const v of ALL_VERSIONS) {
    it(`userPowerLevel and roomCreators, room version ${v}`, () => {
      const room = new TestRoom(v, ALICE, { additional_creators: [BOB] });
      const version = room.version;
      // No power levels event: creator 100 (∞ in v12), everyone else 0; v12 also counts additional creators.
      assert.equal(userPowerLevel(ALICE, room.state, version), version.privilegedCreators ? Infinity : 100);
      assert.equal(userPowerLevel(BOB, room.state, version), version.privilegedCreators ? Infinity : 0);
      assert.equal(userPowerLevel(CAROL, room.state, version), 0);
      assert.deepEqual([...roomCreators(room.state, version)].sort(), version.privilegedCreators ? [ALICE, BOB] : [ALICE]);

      room.forcePowerLevels({ users: { [CAROL]: 30 }, users_default: 5 });
      assert.equal(userPowerLevel(ALICE, room.state, version), version.privilegedCreators ? Infinity : 5, 'with power levels the creator is not special before v12');
      assert.equal(userPowerLevel(CAROL, room.state, version), 30);
      assert.equal(userPowerLevel('@x:y.example', room.state, version), 5);
      room.forcePowerLevels({ users: { [CAROL]: '30' } });
      assert.equal(userPowerLevel(CAROL, room.state, version), 30, 'stored strings are read in any version');
      assert.equal(userPowerLevel('@x:y.example', room.state, version), 0);
    });
  }

  it('v1–v10 take the creator from content.creator, v11 from the sender', () => {
    const v10 = new TestRoom('10', ALICE, { creator: BOB });
    assert.deepEqual([...roomCreators(v10.state, v10.version)], [BOB]);
    assert.equal(userPowerLevel(BOB, v10.state, v10.version), 100);
    assert.equal(userPowerLevel(ALICE, v10.state, v10.version), 0);
    const v11 = new TestRoom('11', ALICE, { creator: BOB });
    assert.deepEqual([...roomCreators(v11.state, v11.version)], [ALICE]);
  });

  it('requiredPowerLevel applies defaults with and without a power levels event', () => {
    const room = new TestRoom('11');
    const s = room.state;
    assert.equal(requiredPowerLevel('invite', s), 0);
    assert.equal(requiredPowerLevel('kick', s), 50);
    assert.equal(requiredPowerLevel('ban', s), 50);
    assert.equal(requiredPowerLevel('redact', s), 50);
    assert.equal(requiredPowerLevel({ eventType: 'm.room.name', isState: true }, s), 50);
    assert.equal(requiredPowerLevel({ eventType: 'm.room.message', isState: false }, s), 0);
    room.forcePowerLevels({ invite: 5, kick: 0, ban: 70, redact: 20, state_default: 30, events_default: 10, events: { 'm.room.name': 90, 'm.reaction': 0 } });
    assert.equal(requiredPowerLevel('invite', s), 5);
    assert.equal(requiredPowerLevel('kick', s), 0);
    assert.equal(requiredPowerLevel('ban', s), 70);
    assert.equal(requiredPowerLevel('redact', s), 20);
    assert.equal(requiredPowerLevel({ eventType: 'm.room.name', isState: true }, s), 90);
    assert.equal(requiredPowerLevel({ eventType: 'm.room.topic', isState: true }, s), 30);
    assert.equal(requiredPowerLevel({ eventType: 'm.reaction', isState: false }, s), 0);
    assert.equal(requiredPowerLevel({ eventType: 'm.room.message', isState: false }, s), 10);
    assert.equal(requiredPowerLevel({ eventType: 'constructor', isState: false }, s), 10, 'prototype keys are not levels');
    room.forcePowerLevels({ kick: null });
    assert.equal(requiredPowerLevel('kick', s), 50, 'null reads as absent');
    room.forcePowerLevels({ kick: 'lots' });
    assert.throws(() => requiredPowerLevel('kick', s), AuthError);
  });

  it('the helpers throw AuthError without a create event', () => {
    const room = new TestRoom('12');
    const empty = new Map();
    assert.throws(() => userPowerLevel(ALICE, empty, room.version), AuthError);
    assert.throws(() => roomCreators(empty, room.version), AuthError);
  });
});

describe('m.room.power_levels', () => {
  for (const v of ALL_VERSIONS) {
    describe(`room version ${v}`, () => {
      const version = roomVersion(v)!;

      it('the first power levels event may say anything well-formed (10.5)', () => {
        const room = new TestRoom(v);
        room.send(room.member(ALICE, ALICE, 'join'));
        assert.equal(room.allows(pl(ALICE, { users: { [BOB]: 1000 }, ban: 1000, events: { x: 1000 } })), true);
      });

      it('senders need the required level for m.room.power_levels (8)', () => {
        const room = setup(v, { events: { 'm.room.power_levels': 60 } });
        const content = currentPl(room);
        content.users_default = 1;
        assert.equal(room.allows(pl(BOB, content)), false);
        assert.equal(room.allows(pl(ALICE, content)), true);
      });

      it('users must map valid user IDs to integers (10.3)', () => {
        const room = setup(v);
        const content = currentPl(room);
        assert.equal(room.allows(pl(ALICE, { ...content, users: { ...(content.users as object), 'not-a-user': 1 } })), false);
        assert.equal(room.allows(pl(ALICE, { ...content, users: { ...(content.users as object), '@x:y.example': 'x' } })), false);
        assert.equal(room.allows(pl(ALICE, { ...content, users: { ...(content.users as object), '@x:y.example': null } })), false);
        assert.equal(room.allows(pl(ALICE, { ...content, users: [] })), false);
        assert.equal(room.allows(pl(ALICE, { ...content, users: { ...(content.users as object), '@x:y.example': '5' } })), !version.enforceIntPowerLevels);
      });

      if (version.enforceIntPowerLevels) {
        it('v10+: every level must be an integer (10.1, 10.2)', () => {
          const room = setup(v);
          const content = currentPl(room);
          for (const key of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: '50' })), false, key);
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: 50.5 })), false, key);
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: null })), false, key);
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: 40 })), true, key);
          }
          for (const key of ['events', 'notifications']) {
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: { x: '1' } })), false, key);
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: [] })), false, key);
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: 5 })), false, key);
            assert.equal(room.allows(pl(ALICE, { ...content, [key]: { x: 1 } })), true, key);
          }
          // Even the first power levels event.
          const fresh = new TestRoom(v);
          fresh.send(fresh.member(ALICE, ALICE, 'join'));
          assert.equal(fresh.allows(pl(ALICE, { ban: '50' })), false);
        });
      } else {
        it('v1–v9: integer strings are accepted and compared by value', () => {
          const room = setup(v);
          const content = currentPl(room);
          assert.equal(room.allows(pl(ALICE, { ...content, ban: '40', events: { x: '7' } })), true);
          // Bob (50) may rewrite Carol's 10 as "010": same value, so not a change above anyone.
          room.forcePowerLevels({ ...content, users: { ...(content.users as object), [ALICE]: 100 }, kick: '060' });
          const now = currentPl(room);
          assert.equal(room.allows(pl(BOB, { ...now, kick: 60 })), true, '"060" → 60 is no change');
          assert.equal(room.allows(pl(BOB, { ...now, kick: 40 })), false, 'changing a level above his own');
          // A garbage value in a key being changed cannot be compared: reject.
          assert.equal(room.allows(pl(ALICE, { ...now, ban: 'lots' })), false);
        });
      }

      it('top-level levels: no change from or to above the sender’s level (10.6)', () => {
        const room = setup(v, { kick: 40, ban: 60 });
        const content = currentPl(room);
        assert.equal(room.allows(pl(BOB, { ...content, kick: 50 })), true, '40 → 50, both ≤ 50');
        assert.equal(room.allows(pl(BOB, { ...content, kick: 51 })), false, 'new value above');
        assert.equal(room.allows(pl(BOB, { ...content, ban: 50 })), false, 'current value above');
        const { ban: _ban, ...withoutBan } = content;
        assert.equal(room.allows(pl(BOB, withoutBan)), false, 'removing a value above');
        assert.equal(room.allows(pl(BOB, { ...content, redact: 50 })), true, 'adding at own level');
        assert.equal(room.allows(pl(BOB, { ...content, redact: 70 })), false, 'adding above');
        assert.equal(room.allows(pl(BOB, { ...content, state_default: 0, events_default: 0, invite: 0, users_default: 0 })), true);
        const { kick: _kick, ...withoutKick } = content;
        assert.equal(room.allows(pl(BOB, withoutKick)), true, 'removing a value at or below');
      });

      it('events and notifications entries: no change from or to above (10.7, 10.8)', () => {
        const room = setup(v, { events: { 'm.room.name': 40, 'm.room.tombstone': 100 }, notifications: { room: 80 } });
        const content = currentPl(room);
        const events = content.events as Record<string, number>;
        assert.equal(room.allows(pl(BOB, { ...content, events: { ...events, 'm.room.name': 50 } })), true);
        assert.equal(room.allows(pl(BOB, { ...content, events: { ...events, 'm.room.name': 51 } })), false);
        assert.equal(room.allows(pl(BOB, { ...content, events: { ...events, 'm.room.tombstone': 50 } })), false);
        assert.equal(room.allows(pl(BOB, { ...content, events: { 'm.room.name': 40 } })), false, 'removing an entry above');
        assert.equal(room.allows(pl(BOB, { ...content, events: { ...events, 'm.room.topic': 50 } })), true, 'adding at own level');
        assert.equal(room.allows(pl(BOB, { ...content, events: { ...events, 'm.room.topic': 99 } })), false, 'adding above');
        // notifications is checked from v6 (limitNotificationsPowerLevels).
        const checked = version.limitNotificationsPowerLevels;
        assert.equal(room.allows(pl(BOB, { ...content, notifications: { room: 10 } })), !checked, 'changing @room from 80');
        assert.equal(room.allows(pl(BOB, { ...content, notifications: { room: 80, x: 99 } })), !checked, 'adding above');
        const { notifications: _n, ...withoutNotifications } = content;
        assert.equal(room.allows(pl(BOB, withoutNotifications)), !checked, 'removing an entry above');
      });

      it('users: no change to anyone at or above, no grant above (10.9, 10.10)', () => {
        const room = setup(v);
        room.join('@dave:d.example');
        const content = currentPl(room);
        const users = content.users as Record<string, number>;
        assert.equal(room.allows(pl(BOB, { ...content, users: { ...users, [CAROL]: 50 } })), true, 'raise to own level');
        assert.equal(room.allows(pl(BOB, { ...content, users: { ...users, [CAROL]: 51 } })), false, 'raise above own level');
        assert.equal(room.allows(pl(BOB, { ...content, users: { ...users, '@dave:d.example': 20 } })), true, 'add below');
        assert.equal(room.allows(pl(BOB, { ...content, users: { ...users, '@dave:d.example': 60 } })), false, 'add above');
        const { [CAROL]: _c, ...withoutCarol } = users;
        assert.equal(room.allows(pl(BOB, { ...content, users: withoutCarol })), true, 'remove someone below');
        // Bob may lower himself, but not change a peer at his level.
        assert.equal(room.allows(pl(BOB, { ...content, users: { ...users, [BOB]: 20 } })), true, 'demote self');
        assert.equal(room.allows(pl(BOB, { ...content, users: { ...users, [BOB]: 51 } })), false, 'promote self');
        room.forcePowerLevels({ ...content, users: { ...users, '@dave:d.example': 50 } });
        const peers = currentPl(room);
        const peerUsers = peers.users as Record<string, number>;
        assert.equal(room.allows(pl(BOB, { ...peers, users: { ...peerUsers, '@dave:d.example': 10 } })), false, 'demote a peer');
        const { '@dave:d.example': _d, ...withoutDave } = peerUsers;
        assert.equal(room.allows(pl(BOB, { ...peers, users: withoutDave })), false, 'remove a peer');
        assert.equal(room.allows(pl(BOB, { ...peers, users: { ...peerUsers, '@dave:d.example': 50 } })), true, 'unchanged peer');
        if (!version.privilegedCreators) {
          assert.equal(room.allows(pl(BOB, { ...peers, users: { ...peerUsers, [ALICE]: 0 } })), false, 'demote the admin');
          assert.equal(room.allows(pl(ALICE, { ...peers, users: { ...peerUsers, [BOB]: 0 } })), true, 'admin demotes a moderator');
        }
      });

      it('users_default counts for users not listed', () => {
        const room = setup(v, { users_default: 20 });
        room.join('@dave:d.example');
        assert.equal(room.allows({ type: 'm.room.name', sender: '@dave:d.example', state_key: '', content: {} }), false);
        const content = currentPl(room);
        room.forcePowerLevels({ ...content, users_default: 50 });
        assert.equal(room.allows({ type: 'm.room.name', sender: '@dave:d.example', state_key: '', content: {} }), true);
      });
    });
  }

  describe('v12 creators', () => {
    const DAN = '@dan:d.example';

    it('creators may not be listed in users (10.4), not even in the first power levels event', () => {
      const room = new TestRoom('12', ALICE, { additional_creators: [DAN] });
      room.send(room.member(ALICE, ALICE, 'join'));
      assert.equal(room.allows(pl(ALICE, { users: { [ALICE]: 100 } })), false);
      assert.equal(room.allows(pl(ALICE, { users: { [DAN]: 100 } })), false);
      assert.equal(room.allows(pl(ALICE, { users: { [BOB]: 100 } })), true);
    });

    it('creators may set any level; nobody can touch them', () => {
      const room = TestRoom.withDefaults('12', 'public', ALICE, { additional_creators: [DAN] });
      room.join(BOB);
      room.force(room.member(DAN, DAN, 'join'));
      room.forcePowerLevels({ users: { [BOB]: 100 } });
      assert.equal(room.allows(pl(ALICE, { users: { [BOB]: Number.MAX_SAFE_INTEGER }, ban: 1e9 })), true);
      assert.equal(room.allows(pl(DAN, { users: {} })), true, 'an additional creator demotes an admin');
      assert.equal(room.allows(pl(BOB, { users: { [BOB]: 100, [DAN]: 0 } })), false);
      assert.equal(room.allows(pl(BOB, { users: { [BOB]: 100, [CAROL]: 100 } })), true, 'admins still manage non-creators');
    });

    it('creators are ∞ even when power levels exist, and the v11 rule of "creator 100" is gone', () => {
      const room = TestRoom.withDefaults('12', 'public', ALICE, { additional_creators: [DAN] });
      room.forcePowerLevels({ users_default: 0, state_default: 1e15 });
      assert.equal(room.allows({ type: 'm.room.name', sender: ALICE, state_key: '', content: {} }), true);
      const v11 = TestRoom.withDefaults('11');
      v11.forcePowerLevels({ users: {} });
      assert.equal(v11.allows({ type: 'm.room.name', sender: ALICE, state_key: '', content: {} }), false);
    });
  });

  it('validatePowerLevelsContent is usable on its own', () => {
    assert.doesNotThrow(() => validatePowerLevelsContent({ users: { [ALICE]: 1 }, ban: 5 }, roomVersion('11')!));
    assert.throws(() => validatePowerLevelsContent({ ban: '5' }, roomVersion('11')!), AuthError);
    assert.doesNotThrow(() => validatePowerLevelsContent({ ban: '5' }, roomVersion('9')!));
    assert.throws(() => validatePowerLevelsContent({ users: { bob: 1 } }, roomVersion('1')!), AuthError);
  });
});
