import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePushRules, compilePushRules, type PushContext, type PushEvent } from './evaluate.ts';
import { buildRuleset, type DefaultRuleSetting, type UserPushRule } from './ruleset.ts';
import type { PushRuleset } from './rules.ts';

const ME = '@alice:example.org';
const BOB = '@bob:example.org';
const ROOM = '!room:example.org';

function ctx(overrides: Partial<PushContext> = {}): PushContext {
  return { userId: ME, displayName: 'Lewis Carroll', roomMemberCount: 5, senderPowerLevel: 0, notificationPowerLevels: {}, ...overrides };
}

function message(body: string, extra: Record<string, unknown> = {}, sender = BOB): PushEvent {
  return { type: 'm.room.message', room_id: ROOM, sender, content: { msgtype: 'm.text', body, ...extra } };
}

function rules(userRules: UserPushRule[] = [], settings: DefaultRuleSetting[] = []): PushRuleset {
  return buildRuleset(ME, userRules, settings);
}

const defaults = rules();

function ruleOf(event: PushEvent, c: PushContext = ctx(), set: PushRuleset = defaults): string | null {
  return evaluatePushRules(set, event, c)?.ruleId ?? null;
}

describe('push evaluation: default rules', () => {
  it('notifies for a plain message in a group room without highlight or sound', () => {
    const d = evaluatePushRules(defaults, message('hello everyone'), ctx());
    assert.equal(d?.ruleId, '.m.rule.message');
    assert.equal(d?.kind, 'underride');
    assert.equal(d?.notify, true);
    assert.equal(d?.highlight, false);
    assert.equal(d?.sound, undefined);
  });

  it('uses room_one_to_one (with sound) in a room of exactly two members', () => {
    const d = evaluatePushRules(defaults, message('hi'), ctx({ roomMemberCount: 2 }));
    assert.equal(d?.ruleId, '.m.rule.room_one_to_one');
    assert.equal(d?.sound, 'default');
    assert.equal(ruleOf(message('hi'), ctx({ roomMemberCount: 3 })), '.m.rule.message');
  });

  it('suppresses notices', () => {
    const d = evaluatePushRules(defaults, message('bot says hi', { msgtype: 'm.notice' }), ctx({ roomMemberCount: 2 }));
    assert.equal(d?.ruleId, '.m.rule.suppress_notices');
    assert.equal(d?.notify, false);
    assert.equal(d?.highlight, false);
  });

  it('never notifies for the user’s own events', () => {
    assert.equal(evaluatePushRules(defaults, message('Lewis Carroll', {}, ME), ctx()), null);
  });

  it('highlights a user mention through m.mentions', () => {
    const d = evaluatePushRules(defaults, message('hey', { 'm.mentions': { user_ids: [ME] } }), ctx());
    assert.equal(d?.ruleId, '.m.rule.is_user_mention');
    assert.equal(d?.notify, true);
    assert.equal(d?.highlight, true);
    assert.equal(d?.sound, 'default');
    assert.equal(ruleOf(message('hey', { 'm.mentions': { user_ids: [BOB] } })), '.m.rule.message');
    assert.equal(ruleOf(message('hey', { 'm.mentions': { user_ids: ME } })), '.m.rule.message', 'not an array');
  });

  it('matches the display name on word boundaries, case-insensitively', () => {
    assert.equal(ruleOf(message('hi lewis carroll, how are you?')), '.m.rule.contains_display_name');
    assert.equal(ruleOf(message('LEWIS CARROLL!')), '.m.rule.contains_display_name');
    assert.equal(ruleOf(message('hi lewis carrollx')), '.m.rule.message');
    assert.equal(ruleOf(message('hi lewis')), '.m.rule.message');
    const d = evaluatePushRules(defaults, message('Lewis Carroll'), ctx());
    assert.equal(d?.highlight, true);
  });

  it('treats glob characters in display names literally and ignores absent names', () => {
    const starry = ctx({ displayName: 'st*r' });
    assert.equal(ruleOf(message('st*r'), starry), '.m.rule.contains_display_name');
    assert.equal(ruleOf(message('stuffr'), starry), '.m.rule.message');
    assert.equal(ruleOf(message('Lewis Carroll'), ctx({ displayName: null })), '.m.rule.message');
    assert.equal(ruleOf(message('anything'), ctx({ displayName: '' })), '.m.rule.message');
  });

  it('matches the localpart through the contains_user_name content rule', () => {
    const d = evaluatePushRules(defaults, message('is alice around?'), ctx({ displayName: null }));
    assert.equal(d?.ruleId, '.m.rule.contains_user_name');
    assert.equal(d?.kind, 'content');
    assert.equal(d?.highlight, true);
    assert.equal(ruleOf(message('is malice around?'), ctx({ displayName: null })), '.m.rule.message');
  });

  it('skips legacy mention rules when the event carries m.mentions', () => {
    assert.equal(ruleOf(message('Lewis Carroll, alice', { 'm.mentions': {} })), '.m.rule.message');
    assert.equal(ruleOf(message('@room', { 'm.mentions': {} }), ctx({ senderPowerLevel: 100 })), '.m.rule.message');
  });

  it('honours @room only from senders with enough power (roomnotif)', () => {
    assert.equal(ruleOf(message('@room meeting now'), ctx({ senderPowerLevel: 50 })), '.m.rule.roomnotif');
    assert.equal(ruleOf(message('@room meeting now'), ctx({ senderPowerLevel: 49 })), '.m.rule.message');
    assert.equal(ruleOf(message('@room meeting'), ctx({ senderPowerLevel: 10, notificationPowerLevels: { room: 10 } })), '.m.rule.roomnotif');
    assert.equal(ruleOf(message('@roomy'), ctx({ senderPowerLevel: 100 })), '.m.rule.message');
  });

  it('honours m.mentions.room from senders with enough power (is_room_mention)', () => {
    const ev = message('meeting', { 'm.mentions': { room: true } });
    const d = evaluatePushRules(defaults, ev, ctx({ senderPowerLevel: 50 }));
    assert.equal(d?.ruleId, '.m.rule.is_room_mention');
    assert.equal(d?.highlight, true);
    assert.equal(d?.sound, undefined);
    assert.equal(ruleOf(ev, ctx({ senderPowerLevel: 0 })), '.m.rule.message');
    assert.equal(ruleOf(ev, ctx({ senderPowerLevel: Infinity, notificationPowerLevels: { room: 9000 } })), '.m.rule.is_room_mention');
    assert.equal(ruleOf(message('x', { 'm.mentions': { room: 'true' } }), ctx({ senderPowerLevel: 100 })), '.m.rule.message');
  });

  it('handles encrypted events in one-to-one and group rooms', () => {
    const ev: PushEvent = { type: 'm.room.encrypted', room_id: ROOM, sender: BOB, content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' } };
    const one = evaluatePushRules(defaults, ev, ctx({ roomMemberCount: 2 }));
    assert.equal(one?.ruleId, '.m.rule.encrypted_room_one_to_one');
    assert.equal(one?.sound, 'default');
    const group = evaluatePushRules(defaults, ev, ctx({ roomMemberCount: 30 }));
    assert.equal(group?.ruleId, '.m.rule.encrypted');
    assert.equal(group?.notify, true);
    assert.equal(group?.sound, undefined);
  });

  it('suppresses reactions, edits and server ACL changes', () => {
    const reaction: PushEvent = { type: 'm.reaction', room_id: ROOM, sender: BOB, content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$x', key: '👍' } } };
    const r = evaluatePushRules(defaults, reaction, ctx({ roomMemberCount: 2 }));
    assert.equal(r?.ruleId, '.m.rule.reaction');
    assert.equal(r?.notify, false);
    const edit = message('* fixed', { 'm.new_content': { body: 'fixed' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$x' } });
    assert.equal(ruleOf(edit, ctx({ roomMemberCount: 2 })), '.m.rule.suppress_edits');
    const acl: PushEvent = { type: 'm.room.server_acl', room_id: ROOM, sender: BOB, state_key: '', content: { allow: ['*'] } };
    assert.equal(ruleOf(acl), '.m.rule.room.server_acl');
  });

  it('notifies invites for the user and silences other membership changes', () => {
    const invite: PushEvent = { type: 'm.room.member', room_id: ROOM, sender: BOB, state_key: ME, content: { membership: 'invite' } };
    const d = evaluatePushRules(defaults, invite, ctx());
    assert.equal(d?.ruleId, '.m.rule.invite_for_me');
    assert.equal(d?.notify, true);
    assert.equal(d?.sound, 'default');
    const other = { ...invite, state_key: '@carol:example.org' };
    const o = evaluatePushRules(defaults, other, ctx());
    assert.equal(o?.ruleId, '.m.rule.member_event');
    assert.equal(o?.notify, false);
  });

  it('highlights tombstones only as state events', () => {
    const tomb: PushEvent = { type: 'm.room.tombstone', room_id: ROOM, sender: BOB, state_key: '', content: { replacement_room: '!new:example.org' } };
    const d = evaluatePushRules(defaults, tomb, ctx());
    assert.equal(d?.ruleId, '.m.rule.tombstone');
    assert.equal(d?.highlight, true);
    const { state_key: _drop, ...notState } = tomb;
    assert.equal(evaluatePushRules(defaults, notState as PushEvent, ctx()), null);
  });

  it('rings for calls', () => {
    const call: PushEvent = { type: 'm.call.invite', room_id: ROOM, sender: BOB, content: { call_id: 'c', version: 1 } };
    const d = evaluatePushRules(defaults, call, ctx());
    assert.equal(d?.ruleId, '.m.rule.call');
    assert.equal(d?.sound, 'ring');
  });

  it('answers null when no rule matches', () => {
    const ev: PushEvent = { type: 'com.example.custom', room_id: ROOM, sender: BOB, content: {} };
    assert.equal(evaluatePushRules(defaults, ev, ctx()), null);
  });
});

describe('push evaluation: the master rule and user settings', () => {
  it('silences everything once the master rule is enabled', () => {
    const set = rules([], [{ kind: 'override', ruleId: '.m.rule.master', enabled: true, actions: null }]);
    const d = evaluatePushRules(set, message('hey', { 'm.mentions': { user_ids: [ME] } }), ctx());
    assert.equal(d?.ruleId, '.m.rule.master');
    assert.equal(d?.notify, false);
  });

  it('ranks the master rule above user override rules', () => {
    const userRule: UserPushRule = { kind: 'override', ruleId: 'loud', enabled: true, actions: ['notify'], conditions: [] };
    const set = rules([userRule], [{ kind: 'override', ruleId: '.m.rule.master', enabled: true, actions: null }]);
    assert.equal(ruleOf(message('x'), ctx(), set), '.m.rule.master');
    assert.equal(ruleOf(message('x'), ctx(), rules([userRule])), 'loud');
  });

  it('ranks user rules above server-default rules of the same kind', () => {
    const set = rules([
      { kind: 'override', ruleId: 'notices-too', enabled: true, actions: ['notify'], conditions: [{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.notice' }] },
      { kind: 'underride', ruleId: 'quiet-messages', enabled: true, actions: [], conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }] },
    ]);
    assert.equal(ruleOf(message('hi', { msgtype: 'm.notice' }), ctx(), set), 'notices-too');
    assert.equal(ruleOf(message('hi'), ctx(), set), 'quiet-messages');
    assert.equal(ruleOf(message('Lewis Carroll'), ctx(), set), '.m.rule.contains_display_name', 'override defaults still outrank underride');
  });

  it('applies content, room and sender rules in the spec order', () => {
    const set = rules([
      { kind: 'content', ruleId: 'cake', enabled: true, actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }], pattern: 'cake' },
      { kind: 'room', ruleId: ROOM, enabled: true, actions: [] },
      { kind: 'sender', ruleId: BOB, enabled: true, actions: ['notify', { set_tweak: 'highlight' }] },
    ]);
    const cake = evaluatePushRules(set, message('cake time'), ctx());
    assert.equal(cake?.ruleId, 'cake');
    assert.equal(cake?.sound, 'cakealarm.wav');
    assert.equal(ruleOf(message('hello'), ctx(), set), ROOM, 'room rule outranks sender rule');
    const elsewhere = { ...message('hello'), room_id: '!other:example.org' };
    const d = evaluatePushRules(set, elsewhere, ctx());
    assert.equal(d?.ruleId, BOB);
    assert.equal(d?.highlight, true);
    assert.equal(ruleOf({ ...elsewhere, sender: '@carol:example.org' }, ctx(), set), '.m.rule.message');
  });

  it('compares room and sender rule IDs exactly, never as globs', () => {
    const set = rules([{ kind: 'sender', ruleId: '@*:example.org', enabled: true, actions: [] }]);
    assert.equal(ruleOf(message('hi'), ctx(), set), '.m.rule.message');
  });

  it('skips disabled rules and uses changed actions of default rules', () => {
    const set = rules(
      [{ kind: 'override', ruleId: 'off', enabled: false, actions: [], conditions: [] }],
      [
        { kind: 'underride', ruleId: '.m.rule.message', enabled: null, actions: ['notify', { set_tweak: 'sound', value: 'ping' }] },
        { kind: 'override', ruleId: '.m.rule.suppress_notices', enabled: false, actions: null },
      ],
    );
    const d = evaluatePushRules(set, message('hi'), ctx());
    assert.equal(d?.ruleId, '.m.rule.message');
    assert.equal(d?.sound, 'ping');
    assert.equal(ruleOf(message('hi', { msgtype: 'm.notice' }), ctx(), set), '.m.rule.message');
  });

  it('treats a tweak without value as true and a highlight:false as no highlight', () => {
    const set = rules([
      { kind: 'override', ruleId: 'a', enabled: true, actions: ['notify', { set_tweak: 'highlight', value: false }, { set_tweak: 'custom' }], conditions: [] },
    ]);
    const d = evaluatePushRules(set, message('x'), ctx());
    assert.equal(d?.highlight, false);
    assert.deepEqual(d?.tweaks, { highlight: false, custom: true });
  });
});

describe('push evaluation: conditions', () => {
  function only(conditions: UserPushRule['conditions']): PushRuleset {
    return rules([{ kind: 'override', ruleId: 'test', enabled: true, actions: ['notify'], conditions }]);
  }
  const hit = (set: PushRuleset, ev: PushEvent, c: PushContext = ctx()): boolean => evaluatePushRules(set, ev, c)?.ruleId === 'test';
  const custom = (content: Record<string, unknown>): PushEvent => ({ type: 'com.example', room_id: ROOM, sender: BOB, content });

  it('event_property_is matches null, booleans and integers exactly', () => {
    const isNull = only([{ kind: 'event_property_is', key: 'content.v', value: null }]);
    assert.equal(hit(isNull, custom({ v: null })), true);
    assert.equal(hit(isNull, custom({})), false, 'absent is not null');
    assert.equal(hit(isNull, custom({ v: 'null' })), false);
    const isTrue = only([{ kind: 'event_property_is', key: 'content.m\\.federate', value: true }]);
    assert.equal(hit(isTrue, custom({ 'm.federate': true })), true);
    assert.equal(hit(isTrue, custom({ 'm.federate': 'true' })), false);
    assert.equal(hit(isTrue, custom({ 'm.federate': 1 })), false);
    const isInt = only([{ kind: 'event_property_is', key: 'content.n', value: 42 }]);
    assert.equal(hit(isInt, custom({ n: 42 })), true);
    assert.equal(hit(isInt, custom({ n: '42' })), false);
    assert.equal(hit(isInt, custom({ n: [42] })), false);
    const isStr = only([{ kind: 'event_property_is', key: 'content.s', value: 'Abc' }]);
    assert.equal(hit(isStr, custom({ s: 'Abc' })), true);
    assert.equal(hit(isStr, custom({ s: 'abc' })), false, 'exact, not case-insensitive');
  });

  it('event_property_contains needs an array holding the exact value', () => {
    const set = only([{ kind: 'event_property_contains', key: 'content.alt_aliases', value: '#myroom:example.com' }]);
    assert.equal(hit(set, custom({ alt_aliases: ['#somewhere:example.org', '#myroom:example.com'] })), true);
    assert.equal(hit(set, custom({ alt_aliases: [':example.com'] })), false);
    assert.equal(hit(set, custom({ alt_aliases: '#myroom:example.com' })), false);
    const nums = only([{ kind: 'event_property_contains', key: 'content.a', value: 3 }]);
    assert.equal(hit(nums, custom({ a: [1, { x: 3 }, 3] })), true);
    assert.equal(hit(nums, custom({ a: ['3'] })), false);
    const nulls = only([{ kind: 'event_property_contains', key: 'content.a', value: null }]);
    assert.equal(hit(nulls, custom({ a: [null] })), true);
    assert.equal(hit(nulls, custom({ a: [] })), false);
  });

  it('event_match only matches string values, even with *', () => {
    const set = only([{ kind: 'event_match', key: 'content.topic', pattern: '*' }]);
    assert.equal(hit(set, custom({ topic: '' })), true);
    assert.equal(hit(set, custom({ topic: null })), false);
    assert.equal(hit(set, custom({ topic: 5 })), false);
    assert.equal(hit(set, custom({})), false);
    const topic = only([{ kind: 'event_match', key: 'content.topic', pattern: 'lunc?*' }]);
    assert.equal(hit(topic, custom({ topic: 'Lunch plans' })), true);
    assert.equal(hit(topic, custom({ topic: ' lunch' })), false);
  });

  it('event_match reaches top-level fields and escaped keys', () => {
    const set = only([
      { kind: 'event_match', key: 'sender', pattern: '@bob:*' },
      { kind: 'event_match', key: 'content.m\\.relates_to.rel_type', pattern: 'm.thread' },
    ]);
    assert.equal(hit(set, custom({ 'm.relates_to': { rel_type: 'm.thread' } })), true);
    assert.equal(hit(set, custom({ m: { relates_to: { rel_type: 'm.thread' } } })), false);
  });

  it('room_member_count supports ==, <, >, <= and >=', () => {
    const cases: Array<[string, number, boolean]> = [
      ['2', 2, true], ['2', 3, false], ['==2', 2, true], ['<10', 9, true], ['<10', 10, false],
      ['>10', 11, true], ['>10', 10, false], ['<=10', 10, true], ['>=10', 10, true], ['>=10', 9, false],
    ];
    for (const [is, count, expected] of cases) {
      assert.equal(hit(only([{ kind: 'room_member_count', is }]), custom({}), ctx({ roomMemberCount: count })), expected, `${is} vs ${count}`);
    }
    assert.equal(hit(only([{ kind: 'room_member_count', is: '=>2' }]), custom({}), ctx({ roomMemberCount: 2 })), false, 'malformed never matches');
  });

  it('sender_notification_permission looks up the key in notifications, default 50', () => {
    const set = only([{ kind: 'sender_notification_permission', key: 'custom' }]);
    assert.equal(hit(set, custom({}), ctx({ senderPowerLevel: 50 })), true);
    assert.equal(hit(set, custom({}), ctx({ senderPowerLevel: 49 })), false);
    assert.equal(hit(set, custom({}), ctx({ senderPowerLevel: 5, notificationPowerLevels: { custom: 5 } })), true);
  });

  it('unknown conditions disable the rule; no conditions match everything', () => {
    assert.equal(hit(only([{ kind: 'org.example.unknown' }]), custom({})), false);
    assert.equal(hit(only([{ kind: 'event_match', key: 'type' }]), custom({})), false, 'missing pattern');
    assert.equal(hit(only([]), custom({})), true);
  });

  it('memoises per-event work without leaking between events or users', () => {
    const set = compilePushRules(defaults);
    const ev = message('alice');
    const forAlice = evaluatePushRules(set, ev, ctx({ displayName: null }));
    const forCarol = evaluatePushRules(
      compilePushRules(buildRuleset('@carol:example.org', [], [])),
      ev,
      ctx({ userId: '@carol:example.org', displayName: 'Carol' }),
    );
    assert.equal(forAlice?.ruleId, '.m.rule.contains_user_name');
    assert.equal(forCarol?.ruleId, '.m.rule.message');
    assert.equal(compilePushRules(defaults), set, 'compiled once per ruleset object');
  });
});
