// Rule 5 (m.room.member): join, invite, leave/kick/unban, ban, knock, restricted joins.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_VERSIONS, TestRoom } from './test-room.ts';

const ALICE = '@alice:a.example';
const BOB = '@bob:b.example';
const CAROL = '@carol:c.example';
const MOD = '@mod:a.example';

/** Room with Alice (creator, 100 or ∞), Mod (50) joined; join rule as given. */
function setup(v: string, joinRule = 'public'): TestRoom {
  const room = TestRoom.withDefaults(v, joinRule);
  const users = room.version.privilegedCreators ? {} : { [ALICE]: 100 };
  room.forcePowerLevels({ users: { ...users, [MOD]: 50 } });
  room.force(room.member(MOD, MOD, 'join'));
  return room;
}

describe('m.room.member', () => {
  for (const v of ALL_VERSIONS) {
    describe(`room version ${v}`, () => {
      const version = new TestRoom(v).version;

      it('rejects member events without state_key or membership (5.1) and unknown memberships (5.8)', () => {
        const room = setup(v);
        assert.equal(room.allows({ type: 'm.room.member', sender: BOB, content: { membership: 'join' } }), false);
        assert.equal(room.allows({ type: 'm.room.member', sender: BOB, state_key: BOB, content: {} }), false);
        assert.equal(room.allows({ type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'dance' } }), false);
        assert.equal(room.allows({ type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: ['join'] } }), false);
      });

      describe('join', () => {
        it("allows the creator's first join right after the create event (5.3.1)", () => {
          const room = new TestRoom(v);
          assert.equal(room.allows(room.member(ALICE, ALICE, 'join')), true);
          // Someone else cannot join without a join rule allowing it (no join_rules = invite).
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
        });

        it('the first-join exception needs the create event as the only prev event', () => {
          const room = new TestRoom(v);
          const join = room.member(ALICE, ALICE, 'join');
          assert.equal(room.allows({ ...join, prev_events: [room.create.eventId, '$other:a.example'] }), false);
          assert.equal(room.allows({ ...join, prev_events: ['$other:a.example'] }), false);
        });

        it('v1–v10 take the creator from content.creator, v11+ from the sender', () => {
          // A create event whose content.creator differs from its sender.
          const room = new TestRoom(v, ALICE, version.implicitRoomCreator ? { creator: BOB } : { creator: BOB });
          const creator = version.implicitRoomCreator ? ALICE : BOB;
          const other = creator === ALICE ? BOB : ALICE;
          assert.equal(room.allows(room.member(creator, creator, 'join')), true);
          assert.equal(room.allows(room.member(other, other, 'join')), false);
        });

        it('rejects joining on behalf of someone else (5.3.2)', () => {
          const room = setup(v);
          assert.equal(room.allows(room.member(ALICE, BOB, 'join')), false);
        });

        it('public rooms: anyone not banned may join (5.3.3, 5.3.6)', () => {
          const room = setup(v);
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), true);
          room.send(room.member(ALICE, BOB, 'ban'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
        });

        it('invite rooms: only the invited or joined may join (5.3.4)', () => {
          const room = setup(v, 'invite');
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
          room.send(room.member(ALICE, BOB, 'invite'));
          room.join(BOB);
          // Re-joining (e.g. a profile change) while joined is allowed.
          assert.equal(room.allows(room.member(BOB, BOB, 'join', { displayname: 'B' })), true);
          room.send(room.member(BOB, BOB, 'leave'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
        });

        it('a banned user cannot join even with an invite-era state', () => {
          const room = setup(v, 'invite');
          room.force(room.member(ALICE, BOB, 'ban'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
        });

        it('unknown or mistyped join rules admit nobody new (5.3.7)', () => {
          for (const rule of ['private', 'nonsense']) {
            const room = setup(v, rule);
            assert.equal(room.allows(room.member(BOB, BOB, 'join')), false, rule);
            room.force(room.member(ALICE, BOB, 'invite'));
            assert.equal(room.allows(room.member(BOB, BOB, 'join')), false, `${rule} even when invited`);
          }
          const room = setup(v);
          room.force({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: 5 } });
          room.force(room.member(ALICE, BOB, 'invite'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
        });

        it('with no m.room.join_rules event the room behaves as invite-only', () => {
          const room = new TestRoom(v);
          room.send(room.member(ALICE, ALICE, 'join'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
          room.send(room.member(ALICE, BOB, 'invite'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), true);
        });

        it(`knock join rule ${version.knockJoinRule ? 'admits invited users (v7+)' : 'is unknown before v7'}`, () => {
          const room = setup(v, 'knock');
          room.force(room.member(ALICE, BOB, 'invite'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), version.knockJoinRule);
          assert.equal(room.allows(room.member(CAROL, CAROL, 'join')), false);
        });

        for (const rule of ['restricted', 'knock_restricted']) {
          const supported = rule === 'restricted' ? version.restrictedJoinRule : version.knockRestrictedJoinRule;
          if (!supported) {
            it(`${rule} is an unknown join rule in this version`, () => {
              const room = setup(v, rule);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: MOD })), false);
              room.force(room.member(ALICE, BOB, 'invite'));
              assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
            });
            continue;
          }
          describe(`${rule} join rule (5.3.5)`, () => {
            it('admits invited and joined users without an authoriser', () => {
              const room = setup(v, rule);
              assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
              room.send(room.member(ALICE, BOB, 'invite'));
              room.join(BOB);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { displayname: 'b' })), true);
            });

            it('admits others when a joined user who may invite authorises the join', () => {
              const room = setup(v, rule);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: MOD })), true);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: ALICE })), true);
            });

            it('rejects an authoriser who is not joined', () => {
              const room = setup(v, rule);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: '@nobody:a.example' })), false);
              room.send(room.member(MOD, MOD, 'leave'));
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: MOD })), false);
            });

            it('rejects an authoriser below the invite level', () => {
              const room = setup(v, rule);
              const users = version.privilegedCreators ? {} : { [ALICE]: 100 };
              room.forcePowerLevels({ users: { ...users, [MOD]: 50 }, invite: 60 });
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: MOD })), false);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: ALICE })), true);
            });

            it('rejects a missing or malformed authoriser, and banned users', () => {
              const room = setup(v, rule);
              assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: 42 })), false);
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: 'mod' })), false);
              room.force(room.member(ALICE, BOB, 'ban'));
              assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: MOD })), false);
            });
          });
        }

        if (!version.restrictedJoinRule) {
          it('join_authorised_via_users_server means nothing before v8', () => {
            const room = setup(v);
            assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: 42 })), true);
          });
        }
      });

      describe('invite', () => {
        it('joined users at the invite level may invite (5.4.2–5.4.4)', () => {
          const room = setup(v);
          assert.equal(room.allows(room.member(ALICE, BOB, 'invite')), true);
          room.join(CAROL);
          assert.equal(room.allows(room.member(CAROL, BOB, 'invite')), true, 'invite level defaults to 0');
          const users = version.privilegedCreators ? {} : { [ALICE]: 100 };
          room.forcePowerLevels({ users: { ...users, [MOD]: 50 }, invite: 50 });
          assert.equal(room.allows(room.member(CAROL, BOB, 'invite')), false);
          assert.equal(room.allows(room.member(MOD, BOB, 'invite')), true);
        });

        it('non-members cannot invite', () => {
          const room = setup(v);
          assert.equal(room.allows(room.member(CAROL, BOB, 'invite')), false);
          room.send(room.member(ALICE, CAROL, 'invite'));
          assert.equal(room.allows(room.member(CAROL, BOB, 'invite')), false, 'invited is not joined');
        });

        it('cannot invite users who are joined or banned (5.4.3)', () => {
          const room = setup(v);
          assert.equal(room.allows(room.member(ALICE, MOD, 'invite')), false);
          room.send(room.member(ALICE, BOB, 'ban'));
          assert.equal(room.allows(room.member(ALICE, BOB, 'invite')), false);
          // Re-inviting an invited user, or inviting one who left, is fine.
          room.send(room.member(ALICE, CAROL, 'invite'));
          assert.equal(room.allows(room.member(ALICE, CAROL, 'invite')), true);
        });
      });

      describe('leave', () => {
        it('users may leave when joined or invited (5.5.1)', () => {
          const room = setup(v);
          assert.equal(room.allows(room.member(BOB, BOB, 'leave')), false, 'not in the room');
          room.send(room.member(ALICE, BOB, 'invite'));
          assert.equal(room.allows(room.member(BOB, BOB, 'leave')), true, 'reject the invite');
          room.join(BOB);
          room.send(room.member(BOB, BOB, 'leave'));
          assert.equal(room.allows(room.member(BOB, BOB, 'leave')), false, 'already left');
        });

        it('banned users cannot unban themselves by leaving', () => {
          const room = setup(v);
          room.send(room.member(ALICE, BOB, 'ban'));
          assert.equal(room.allows(room.member(BOB, BOB, 'leave')), false);
        });

        it(`withdrawing a knock ${version.knockJoinRule ? 'is allowed (v7+)' : 'does not exist before v7'}`, () => {
          const room = setup(v);
          room.force(room.member(BOB, BOB, 'knock'));
          assert.equal(room.allows(room.member(BOB, BOB, 'leave')), version.knockJoinRule);
        });

        it('kicking needs the kick level and a higher level than the target (5.5.4)', () => {
          const room = setup(v);
          room.join(BOB);
          room.join(CAROL);
          assert.equal(room.allows(room.member(CAROL, BOB, 'leave')), false, 'level 0 < kick 50');
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), true);
          assert.equal(room.allows(room.member(MOD, ALICE, 'leave')), false, 'target above sender');
          // Equal levels cannot kick each other.
          const users = version.privilegedCreators ? {} : { [ALICE]: 100 };
          room.forcePowerLevels({ users: { ...users, [MOD]: 50, [BOB]: 50 } });
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), false);
          assert.equal(room.allows(room.member(ALICE, BOB, 'leave')), true);
          room.forcePowerLevels({ users: { ...users, [MOD]: 50 }, kick: 60 });
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), false, 'kick level raised');
        });

        it('kicking needs the kicker to be joined (5.5.2)', () => {
          const room = setup(v);
          room.join(BOB);
          room.send(room.member(MOD, MOD, 'leave'));
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), false);
        });

        it('kicking an invited user revokes the invite', () => {
          const room = setup(v);
          room.send(room.member(ALICE, BOB, 'invite'));
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), true);
        });

        it('unbanning needs both the ban and the kick level (5.5.3)', () => {
          const room = setup(v);
          room.send(room.member(ALICE, BOB, 'ban'));
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), true);
          const users = version.privilegedCreators ? {} : { [ALICE]: 100 };
          room.forcePowerLevels({ users: { ...users, [MOD]: 50 }, ban: 60 });
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), false, 'below ban level');
          room.forcePowerLevels({ users: { ...users, [MOD]: 50 }, ban: 10, kick: 60 });
          assert.equal(room.allows(room.member(MOD, BOB, 'leave')), false, 'below kick level');
        });
      });

      describe('ban', () => {
        it('needs a joined sender at the ban level above the target (5.6)', () => {
          const room = setup(v);
          room.join(BOB);
          assert.equal(room.allows(room.member(BOB, CAROL, 'ban')), false, 'level 0 < ban 50');
          assert.equal(room.allows(room.member(MOD, CAROL, 'ban')), true, 'target need not be in the room');
          assert.equal(room.allows(room.member(MOD, BOB, 'ban')), true);
          assert.equal(room.allows(room.member(MOD, ALICE, 'ban')), false);
          assert.equal(room.allows(room.member(MOD, MOD, 'ban')), false, 'not above oneself');
          room.send(room.member(MOD, MOD, 'leave'));
          assert.equal(room.allows(room.member(MOD, BOB, 'ban')), false, 'not joined');
          const users = version.privilegedCreators ? {} : { [ALICE]: 100 };
          room.forcePowerLevels({ users: { ...users, [BOB]: 5 }, ban: 5 });
          assert.equal(room.allows(room.member(BOB, CAROL, 'ban')), true, 'custom ban level');
        });
      });

      describe('knock', () => {
        if (!version.knockJoinRule) {
          it('is an unknown membership before v7', () => {
            const room = setup(v, 'knock');
            assert.equal(room.allows(room.member(BOB, BOB, 'knock')), false);
          });
          return;
        }
        it('is allowed on knock rooms for users with no membership or who left (5.7)', () => {
          const room = setup(v, 'knock');
          assert.equal(room.allows(room.member(BOB, BOB, 'knock')), true);
          room.force(room.member(BOB, BOB, 'leave'));
          assert.equal(room.allows(room.member(BOB, BOB, 'knock')), true);
          room.force(room.member(BOB, BOB, 'knock'));
          assert.equal(room.allows(room.member(BOB, BOB, 'knock')), true, 'knocking again');
        });

        it('is rejected for other join rules', () => {
          for (const rule of ['public', 'invite', 'restricted']) {
            const room = setup(v, rule);
            assert.equal(room.allows(room.member(BOB, BOB, 'knock')), false, rule);
          }
          const room = setup(v, 'knock_restricted');
          assert.equal(room.allows(room.member(BOB, BOB, 'knock')), version.knockRestrictedJoinRule, 'knock_restricted (v10+)');
        });

        it('is rejected on behalf of others, and for joined, invited or banned users', () => {
          const room = setup(v, 'knock');
          assert.equal(room.allows(room.member(ALICE, BOB, 'knock')), false);
          assert.equal(room.allows(room.member(MOD, MOD, 'knock')), false, 'joined');
          room.send(room.member(ALICE, BOB, 'invite'));
          assert.equal(room.allows(room.member(BOB, BOB, 'knock')), false, 'invited');
          room.send(room.member(ALICE, CAROL, 'ban'));
          assert.equal(room.allows(room.member(CAROL, CAROL, 'knock')), false, 'banned');
        });

        it('a knocking user is admitted by an invite, not by joining', () => {
          const room = setup(v, 'knock');
          room.send(room.member(BOB, BOB, 'knock'));
          assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
          assert.equal(room.allows(room.member(ALICE, BOB, 'invite')), true);
          assert.equal(room.allows(room.member(BOB, BOB, 'message')), false);
        });
      });
    });
  }

  describe('v12 creators', () => {
    const ADDITIONAL = '@dan:d.example';

    it('creators outrank everyone: a 100-level admin cannot kick or ban one', () => {
      const room = TestRoom.withDefaults('12', 'public', ALICE, { additional_creators: [ADDITIONAL] });
      room.join(ADDITIONAL);
      room.join(BOB);
      room.forcePowerLevels({ users: { [BOB]: 100 } });
      assert.equal(room.allows(room.member(BOB, ALICE, 'leave')), false);
      assert.equal(room.allows(room.member(BOB, ADDITIONAL, 'ban')), false);
      assert.equal(room.allows(room.member(ALICE, BOB, 'ban')), true);
      assert.equal(room.allows(room.member(ADDITIONAL, BOB, 'leave')), true, 'an additional creator can kick');
      // Creators are equal (both infinite), so they cannot remove each other.
      assert.equal(room.allows(room.member(ALICE, ADDITIONAL, 'leave')), false);
      assert.equal(room.allows(room.member(ADDITIONAL, ALICE, 'ban')), false);
    });

    it('only the create event’s sender gets the first-join exception', () => {
      const room = new TestRoom('12', ALICE, { additional_creators: [ADDITIONAL] });
      assert.equal(room.allows(room.member(ADDITIONAL, ADDITIONAL, 'join')), false);
      assert.equal(room.allows(room.member(ALICE, ALICE, 'join')), true);
    });

    it('an additional creator can authorise restricted joins whatever the invite level', () => {
      const room = TestRoom.withDefaults('12', 'restricted', ALICE, { additional_creators: [ADDITIONAL] });
      room.force(room.member(ADDITIONAL, ADDITIONAL, 'join'));
      room.forcePowerLevels({ users: {}, invite: 1000 });
      assert.equal(room.allows(room.member(BOB, BOB, 'join', { join_authorised_via_users_server: ADDITIONAL })), true);
    });
  });
});
