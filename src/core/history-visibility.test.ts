import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allowedAt, canSeeEvent, visibilityOf, type HistoryVisibility, type VisibilityPoint } from './history-visibility.ts';

const at = (visibility: HistoryVisibility, membership?: string): VisibilityPoint => ({ visibility, membership });
const message = (point: VisibilityPoint, joinedLater = false) =>
  canSeeEvent({ type: 'm.room.message', stateKey: undefined, userId: '@u:x', before: point, after: point, joinedLater });

describe('history visibility: the value in force', () => {
  it('defaults to shared when missing or not understood', () => {
    assert.equal(visibilityOf(undefined), 'shared');
    assert.equal(visibilityOf({}), 'shared');
    assert.equal(visibilityOf({ history_visibility: 'everyone' }), 'shared');
    assert.equal(visibilityOf({ history_visibility: 7 }), 'shared');
    assert.equal(visibilityOf({ history_visibility: 'joined' }), 'joined');
    assert.equal(visibilityOf({ history_visibility: 'world_readable' }), 'world_readable');
  });
});

describe('history visibility: the five steps', () => {
  it('world_readable lets anyone see, member or not', () => {
    assert.equal(message(at('world_readable')), true);
    assert.equal(message(at('world_readable', 'leave')), true);
    assert.equal(message(at('world_readable', 'ban')), true);
  });

  it('members at the time see everything whatever the setting', () => {
    for (const v of ['shared', 'invited', 'joined'] as const) assert.equal(message(at(v, 'join')), true, v);
  });

  it('shared: only users who joined at some point after the event', () => {
    assert.equal(message(at('shared')), false, 'never joined');
    assert.equal(message(at('shared'), true), true, 'joined later');
    assert.equal(message(at('shared', 'leave'), false), false, 'sent after they left, no rejoin');
    assert.equal(message(at('shared', 'invite'), false), false, 'invited but has not joined');
    assert.equal(message(at('shared', 'invite'), true), true, 'invited, then joined');
  });

  it('invited: invitees see events from the invite on; joined: only members', () => {
    assert.equal(message(at('invited', 'invite')), true);
    assert.equal(message(at('invited'), true), false, 'before the invite, even if joined later');
    assert.equal(message(at('invited', 'leave'), true), false);
    assert.equal(message(at('joined', 'invite'), true), false, 'joined does not show invitees');
    assert.equal(message(at('joined'), true), false, 'joined does not show earlier history');
  });

  it('allowedAt ignores joinedLater outside shared', () => {
    assert.equal(allowedAt(at('joined', 'leave'), true), false);
    assert.equal(allowedAt(at('shared', 'leave'), true), true);
  });
});

describe('history visibility: events that change the answer', () => {
  it('a history_visibility change is visible if either side allows it', () => {
    const facts = (before: HistoryVisibility, after: HistoryVisibility) =>
      canSeeEvent({ type: 'm.room.history_visibility', stateKey: '', userId: '@u:x', before: at(before), after: at(after), joinedLater: false });
    assert.equal(facts('world_readable', 'joined'), true, 'world_readable → joined');
    assert.equal(facts('joined', 'world_readable'), true, 'joined → world_readable');
    assert.equal(facts('joined', 'shared'), false, 'neither side allows a non-member');
  });

  it("the user's own membership events are visible if either side allows them", () => {
    const own = (before: string | undefined, after: string, stateKey = '@u:x') =>
      canSeeEvent({ type: 'm.room.member', stateKey, userId: '@u:x', before: at('joined', before), after: at('joined', after), joinedLater: false });
    assert.equal(own(undefined, 'join'), true, 'own join');
    assert.equal(own('join', 'leave'), true, 'own leave');
    assert.equal(own('join', 'ban'), true, 'own ban');
    assert.equal(own('invite', 'leave'), false, 'rejecting an invite under joined');
    assert.equal(own('join', 'leave', '@other:x'), false, "someone else's membership uses the state after only");
  });

  it('other state events do not get the either-side rule', () => {
    const r = canSeeEvent({ type: 'm.room.name', stateKey: '', userId: '@u:x', before: at('joined', 'join'), after: at('joined', 'leave'), joinedLater: false });
    assert.equal(r, false);
  });
});
