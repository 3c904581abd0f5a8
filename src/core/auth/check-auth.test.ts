// The rules that apply to every non-create event: room/create consistency, m.federate, joined
// sender, third-party invite events, required power level, user-keyed state, aliases (v1–v5),
// redactions (v1–v2), and v12's room ID rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAuth, isAuthorised, AuthError } from './check-auth.ts';
import { stateKeyOf } from '../pdu.ts';
import { roomVersion } from '../room-versions.ts';
import { ALL_VERSIONS, TestRoom } from './test-room.ts';

const ALICE = '@alice:a.example';
const BOB = '@bob:b.example';
const CAROL = '@carol:c.example';

describe('checkAuth: rules for every event', () => {
  for (const v of ALL_VERSIONS) {
    describe(`room version ${v}`, () => {
      it('lets the creator build the usual initial state', () => {
        const room = TestRoom.withDefaults(v);
        room.send({ type: 'm.room.name', sender: ALICE, state_key: '', content: { name: 'x' } });
        room.send({ type: 'm.room.message', sender: ALICE, content: { body: 'hi' } });
      });

      it('rejects any event when the create event is missing from the auth state', () => {
        const room = TestRoom.withDefaults(v);
        const state = new Map(room.state);
        state.delete(stateKeyOf('m.room.create', ''));
        const event = room.event({ type: 'm.room.message', sender: ALICE, content: {} });
        assert.throws(() => checkAuth(event, state, room.version), AuthError);
      });

      it('rejects an event whose room ID is not the create event’s room', () => {
        const room = TestRoom.withDefaults(v);
        const otherRoom = room.version.roomIdIsCreateEventHash ? '!' + 'A'.repeat(43) : '!other:a.example';
        assert.equal(room.allows({ type: 'm.room.message', sender: ALICE, content: {}, room_id: otherRoom }), false);
        assert.equal(room.allows({ type: 'm.room.message', sender: ALICE, content: {}, room_id: null }), false);
      });

      it('rejects events from non-members (6)', () => {
        const room = TestRoom.withDefaults(v);
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, content: {} }), false);
        room.join(BOB);
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, content: {} }), true);
        room.send(room.member(BOB, BOB, 'leave'));
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, content: {} }), false);
        room.send(room.member(ALICE, BOB, 'invite'));
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, content: {} }), false, 'invited is not joined');
      });

      it('m.federate=false keeps out senders of other servers (4)', () => {
        const room = TestRoom.withDefaults(v, 'public', ALICE, { 'm.federate': false });
        assert.equal(room.allows(room.member(BOB, BOB, 'join')), false);
        assert.equal(room.allows(room.member('@dave:a.example', '@dave:a.example', 'join')), true);
        const open = TestRoom.withDefaults(v, 'public', ALICE, { 'm.federate': true });
        assert.equal(open.allows(open.member(BOB, BOB, 'join')), true);
      });

      it('m.room.third_party_invite needs the invite level, not events[] (7)', () => {
        const room = TestRoom.withDefaults(v);
        room.join(BOB);
        const users = room.version.privilegedCreators ? {} : { [ALICE]: 100 };
        room.forcePowerLevels({ users, invite: 10, events: { 'm.room.third_party_invite': 0 } });
        const tpi = { type: 'm.room.third_party_invite', sender: BOB, state_key: 'tok', content: { display_name: 'x' } };
        assert.equal(room.allows(tpi), false);
        room.forcePowerLevels({ users: { ...users, [BOB]: 10 }, invite: 10, events: { 'm.room.third_party_invite': 100 } });
        assert.equal(room.allows(tpi), true, 'events[] does not apply');
        // State keyed by another user's ID would fail rule 9, but rule 7 allows first.
        assert.equal(room.allows({ ...tpi, state_key: CAROL }), true);
      });

      it('required power level: events[type], else state_default / events_default (8)', () => {
        const room = TestRoom.withDefaults(v);
        room.join(BOB);
        const users = room.version.privilegedCreators ? {} : { [ALICE]: 100 };
        room.forcePowerLevels({ users: { ...users, [BOB]: 20 }, state_default: 30, events_default: 10, events: { 'm.room.topic': 20, 'm.reaction': 25 } });
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, content: {} }), true, 'events_default 10 ≤ 20');
        assert.equal(room.allows({ type: 'm.reaction', sender: BOB, content: {} }), false, 'events[] 25 > 20');
        assert.equal(room.allows({ type: 'm.room.name', sender: BOB, state_key: '', content: {} }), false, 'state_default 30 > 20');
        assert.equal(room.allows({ type: 'm.room.topic', sender: BOB, state_key: '', content: {} }), true, 'events[] 20 ≤ 20');
        // A message-type event sent as state uses state_default, and vice versa.
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, state_key: '', content: {} }), false);
        assert.equal(room.allows({ type: 'm.room.name', sender: BOB, content: {} }), true);
      });

      it('defaults with no power levels event: state needs 50, messages 0; the creator has 100 (or ∞)', () => {
        const room = new TestRoom(v);
        room.send(room.member(ALICE, ALICE, 'join'));
        room.send({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: 'public' } });
        room.join(BOB);
        assert.equal(room.allows({ type: 'm.room.message', sender: BOB, content: {} }), true);
        assert.equal(room.allows({ type: 'm.room.topic', sender: BOB, state_key: '', content: {} }), false);
        assert.equal(room.allows({ type: 'm.room.topic', sender: ALICE, state_key: '', content: {} }), true);
      });

      it("rejects state keyed by another user's ID (9)", () => {
        const room = TestRoom.withDefaults(v);
        assert.equal(room.allows({ type: 'org.example.status', sender: ALICE, state_key: ALICE, content: {} }), true);
        assert.equal(room.allows({ type: 'org.example.status', sender: ALICE, state_key: BOB, content: {} }), false);
        assert.equal(room.allows({ type: 'org.example.status', sender: ALICE, state_key: '@anything', content: {} }), false);
        assert.equal(room.allows({ type: 'org.example.status', sender: ALICE, state_key: 'x@y', content: {} }), true);
      });

      it('m.room.redaction is an ordinary event for the rules from v3; v1–v2 check the redact level or domains', () => {
        const room = TestRoom.withDefaults(v);
        room.join(BOB);
        const target = room.send({ type: 'm.room.message', sender: ALICE, content: {}, event_id: '$target:a.example' });
        const redaction = { type: 'm.room.redaction', sender: BOB, content: {}, redacts: target.eventId };
        if (room.version.eventIdFormat === 'v1') {
          // Bob (level 0, redact level 50) may not redact an event from a.example …
          assert.equal(room.allows(redaction), false);
          // … but may redact one whose ID has his own server's domain.
          const own = room.send({ type: 'm.room.message', sender: BOB, content: {}, event_id: '$own:b.example' });
          assert.equal(room.allows({ ...redaction, redacts: own.eventId }), true);
          assert.equal(room.allows({ ...redaction, redacts: undefined }), false);
          // Alice has the redact level.
          assert.equal(room.allows({ ...redaction, sender: ALICE }), true);
        } else {
          assert.equal(room.allows(redaction), true);
        }
        // events[m.room.redaction] applies in every version.
        const users = room.version.privilegedCreators ? {} : { [ALICE]: 100 };
        room.forcePowerLevels({ users, events: { 'm.room.redaction': 10 } });
        assert.equal(room.allows({ ...redaction, redacts: target.eventId }), false);
      });

      if (room(v).specialCaseAliasesAuth) {
        it('m.room.aliases is authorised by the sender’s domain alone (v1–v5)', () => {
          const r = TestRoom.withDefaults(v);
          const aliases = (sender: string, stateKey?: string) => ({ type: 'm.room.aliases', sender, state_key: stateKey, content: { aliases: [] } });
          // Even a non-member may publish their server's aliases.
          assert.equal(r.allows(aliases(BOB, 'b.example')), true);
          assert.equal(r.allows(aliases(BOB, 'a.example')), false);
          assert.equal(r.allows(aliases(BOB)), false);
        });
      } else {
        it('m.room.aliases follows the normal state rules (v6+)', () => {
          const r = TestRoom.withDefaults(v);
          r.join(BOB);
          assert.equal(r.allows({ type: 'm.room.aliases', sender: BOB, state_key: 'b.example', content: { aliases: [] } }), false);
          assert.equal(r.allows({ type: 'm.room.aliases', sender: ALICE, state_key: 'b.example', content: { aliases: [] } }), true);
        });
      }
    });
  }

  it('v12: the room ID must be the create event’s ID with "!" (2)', () => {
    const room = TestRoom.withDefaults('12');
    assert.equal(room.roomId, '!' + room.create.eventId.slice(1));
    assert.match(room.roomId, /^![A-Za-z0-9_-]{43}$/);
    assert.equal(room.allows({ type: 'm.room.message', sender: ALICE, content: {} }), true);
    // A room ID in the old format, or another create event's hash, is refused.
    assert.equal(room.allows({ type: 'm.room.message', sender: ALICE, content: {}, room_id: '!room:a.example' }), false);
    const other = new TestRoom('12', BOB);
    assert.equal(room.allows({ type: 'm.room.message', sender: ALICE, content: {}, room_id: other.roomId }), false);
  });

  it('malformed events and state only ever produce AuthError, never a crash', () => {
    const junk: unknown[] = [null, 0, -1, 1.5, '', 'x', '@', '@x:y', true, [], ['join'], {}, { membership: 'join' }];
    const types = ['m.room.member', 'm.room.power_levels', 'm.room.create', 'm.room.third_party_invite', 'm.room.aliases', 'm.room.redaction', 'm.room.message'];
    for (const [v, corrupt] of ['1', '6', '9', '10', '11', '12'].flatMap((v) => [[v, false], [v, true]] as const)) {
      const room = TestRoom.withDefaults(v);
      if (corrupt) {
        // Corrupt state as well: a power levels event and join rules full of junk.
        room.forcePowerLevels({ users: { [BOB]: 'lots' }, ban: {}, events: [], notifications: 'x' });
        room.force({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: [] } });
      }
      let checked = 0;
      for (const type of types) {
        for (const content of junk) {
          for (const stateKey of [undefined, '', ALICE, BOB]) {
            for (const prev of [undefined, [], [['$a', {}]], [5]]) {
              const event = room.event({ type, sender: ALICE, state_key: stateKey, content: {} });
              (event.pdu as Record<string, unknown>).content = content;
              if (prev !== undefined) (event.pdu as Record<string, unknown>).prev_events = prev;
              try {
                checkAuth(event, room.state, room.version);
              } catch (err) {
                assert.ok(err instanceof AuthError, `${type} ${JSON.stringify(content)}: ${String(err)}`);
              }
              checked++;
            }
          }
        }
      }
      assert.ok(checked > 1000);
    }
  });

  it('isAuthorised answers true/false where checkAuth returns/throws', () => {
    const room = TestRoom.withDefaults('11');
    assert.equal(isAuthorised(room.event({ type: 'm.room.message', sender: ALICE, content: {} }), room.state, room.version), true);
    assert.equal(isAuthorised(room.event({ type: 'm.room.message', sender: BOB, content: {} }), room.state, room.version), false);
  });
});

function room(v: string) {
  return roomVersion(v)!;
}
