// Rule 1: m.room.create, in every room version.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAuth, AuthError } from './check-auth.ts';
import { validateAdditionalCreators } from './create.ts';
import { ALL_VERSIONS, TestRoom, type EventFields } from './test-room.ts';

function createFields(room: TestRoom, overrides: Partial<EventFields> = {}): EventFields {
  const content: Record<string, unknown> = { room_version: room.version.id };
  if (!room.version.implicitRoomCreator) content.creator = '@alice:a.example';
  return {
    type: 'm.room.create',
    sender: '@alice:a.example',
    state_key: '',
    content,
    prev_events: [],
    room_id: room.version.roomIdIsCreateEventHash ? null : '!new:a.example',
    ...overrides,
  };
}

function allowed(room: TestRoom, fields: EventFields): boolean {
  try {
    // The create event is checked without state.
    checkAuth(room.event(fields), new Map(), room.version);
    return true;
  } catch (err) {
    if (err instanceof AuthError) return false;
    throw err;
  }
}

describe('m.room.create', () => {
  for (const v of ALL_VERSIONS) {
    describe(`room version ${v}`, () => {
      const room = new TestRoom(v);

      it('allows a well-formed create event', () => {
        assert.equal(allowed(room, createFields(room)), true);
      });

      it('allows a create event without content.room_version', () => {
        const fields = createFields(room);
        delete fields.content!.room_version;
        assert.equal(allowed(room, fields), true);
      });

      it('rejects prev_events (1.1)', () => {
        assert.equal(allowed(room, createFields(room, { prev_events: ['$other'] })), false);
      });

      it('rejects an unknown content.room_version (1.3)', () => {
        const base = createFields(room);
        assert.equal(allowed(room, { ...base, content: { ...base.content, room_version: '99' } }), false);
        assert.equal(allowed(room, { ...base, content: { ...base.content, room_version: 12 } }), false);
        assert.equal(allowed(room, { ...base, content: { ...base.content, room_version: null } }), false);
      });

      if (room.version.roomIdIsCreateEventHash) {
        it('rejects a create event that has a room_id (1.2, v12)', () => {
          assert.equal(allowed(room, createFields(room, { room_id: '!new:a.example' })), false);
        });
      } else {
        it("rejects a room ID whose domain is not the sender's (1.2)", () => {
          assert.equal(allowed(room, createFields(room, { room_id: '!new:b.example' })), false);
          assert.equal(allowed(room, createFields(room, { room_id: null })), false);
        });
      }

      if (room.version.implicitRoomCreator) {
        it('does not need content.creator (v11+)', () => {
          const fields = createFields(room);
          assert.equal('creator' in fields.content!, false);
          assert.equal(allowed(room, fields), true);
        });
      } else {
        it('rejects a create event without content.creator (1.4, v1–v10)', () => {
          const fields = createFields(room);
          delete fields.content!.creator;
          assert.equal(allowed(room, fields), false);
        });
      }

      if (room.version.privilegedCreators) {
        it('accepts additional_creators that are user IDs (v12)', () => {
          const base = createFields(room);
          const content = { ...base.content, additional_creators: ['@bob:b.example', '@carol:c.example'] };
          assert.equal(allowed(room, { ...base, content }), true);
          assert.equal(allowed(room, { ...base, content: { ...base.content, additional_creators: [] } }), true);
        });
        it('rejects malformed additional_creators (1.4, v12)', () => {
          const base = createFields(room);
          for (const bad of ['@bob:b.example', [42], ['bob'], ['@bob'], [null], { '@bob:b.example': true }, ['@' + 'x'.repeat(260) + ':b.example']]) {
            assert.equal(allowed(room, { ...base, content: { ...base.content, additional_creators: bad } }), false, JSON.stringify(bad));
          }
        });
      } else {
        it('ignores additional_creators before v12', () => {
          const base = createFields(room);
          assert.equal(allowed(room, { ...base, content: { ...base.content, additional_creators: 'junk' } }), true);
        });
      }
    });
  }

  it('validateAdditionalCreators throws AuthError for non-arrays and non-user-IDs', () => {
    assert.doesNotThrow(() => validateAdditionalCreators(['@a:b.c']));
    assert.throws(() => validateAdditionalCreators('@a:b.c'), AuthError);
    assert.throws(() => validateAdditionalCreators(['#a:b.c']), AuthError);
  });
});
