import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPushRules, defaultRuleKind } from './default-rules.ts';
import { buildRuleset, findRule } from './ruleset.ts';
import { checkNewRuleId, checkPattern, normalizeActions, normalizeConditions } from './rules.ts';
import { MatrixError } from '../errors.ts';

const ME = '@alice:example.org';
const ids = (rules: Array<{ rule_id: string }>): string[] => rules.map((r) => r.rule_id);

describe('default push rules (spec v1.16)', () => {
  it('lists the override, content and underride rules in the spec order', () => {
    const d = defaultPushRules(ME);
    assert.deepEqual(ids(d.override), [
      '.m.rule.master',
      '.m.rule.suppress_notices',
      '.m.rule.invite_for_me',
      '.m.rule.member_event',
      '.m.rule.is_user_mention',
      '.m.rule.contains_display_name',
      '.m.rule.is_room_mention',
      '.m.rule.roomnotif',
      '.m.rule.tombstone',
      '.m.rule.reaction',
      '.m.rule.room.server_acl',
      '.m.rule.suppress_edits',
    ]);
    assert.deepEqual(ids(d.content), ['.m.rule.contains_user_name']);
    assert.deepEqual(ids(d.underride), [
      '.m.rule.call',
      '.m.rule.encrypted_room_one_to_one',
      '.m.rule.room_one_to_one',
      '.m.rule.message',
      '.m.rule.encrypted',
    ]);
    assert.deepEqual(d.room, []);
    assert.deepEqual(d.sender, []);
  });

  it('fills in the user ID and localpart and marks every rule default', () => {
    const d = defaultPushRules(ME);
    assert.equal(d.content[0].pattern, 'alice');
    assert.deepEqual(findRule(d, 'override', '.m.rule.invite_for_me')?.conditions?.[2], { kind: 'event_match', key: 'state_key', pattern: ME });
    assert.deepEqual(findRule(d, 'override', '.m.rule.is_user_mention')?.conditions, [
      { kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: ME },
    ]);
    for (const kind of ['override', 'content', 'underride'] as const) {
      for (const r of d[kind]) assert.equal(r.default, true, r.rule_id);
    }
    assert.equal(findRule(d, 'override', '.m.rule.master')?.enabled, false);
    assert.equal(findRule(d, 'override', '.m.rule.suppress_edits')?.enabled, true);
  });

  it('hands out fresh objects so callers cannot corrupt the defaults', () => {
    const a = defaultPushRules(ME);
    a.override[1].actions.push('notify');
    assert.deepEqual(defaultPushRules(ME).override[1].actions, []);
  });

  it('knows the kind of each default rule ID', () => {
    assert.equal(defaultRuleKind('.m.rule.master'), 'override');
    assert.equal(defaultRuleKind('.m.rule.contains_user_name'), 'content');
    assert.equal(defaultRuleKind('.m.rule.message'), 'underride');
    assert.equal(defaultRuleKind('.m.rule.nope'), undefined);
  });
});

describe('effective ruleset', () => {
  it('puts master first, then user overrides, then the other default overrides', () => {
    const set = buildRuleset(
      ME,
      [
        { kind: 'override', ruleId: 'u1', enabled: true, actions: [], conditions: [] },
        { kind: 'override', ruleId: 'u2', enabled: false, actions: ['notify'], conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }] },
        { kind: 'underride', ruleId: 'u3', enabled: true, actions: [] },
        { kind: 'content', ruleId: 'c1', enabled: true, actions: [], pattern: 'cake' },
        { kind: 'room', ruleId: '!r:example.org', enabled: true, actions: [] },
      ],
      [{ kind: 'override', ruleId: '.m.rule.master', enabled: true, actions: null }],
    );
    assert.deepEqual(ids(set.override).slice(0, 4), ['.m.rule.master', 'u1', 'u2', '.m.rule.suppress_notices']);
    assert.equal(set.override[0].enabled, true);
    assert.deepEqual(set.override[2], { rule_id: 'u2', default: false, enabled: false, actions: ['notify'], conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }] });
    assert.deepEqual(ids(set.underride)[0], 'u3');
    assert.deepEqual(set.underride[0].conditions, []);
    assert.deepEqual(set.content[0], { rule_id: 'c1', default: false, enabled: true, actions: [], pattern: 'cake' });
    assert.deepEqual(set.room, [{ rule_id: '!r:example.org', default: false, enabled: true, actions: [] }]);
  });

  it('applies changed actions and enabled flags of default rules', () => {
    const set = buildRuleset(ME, [], [
      { kind: 'underride', ruleId: '.m.rule.message', enabled: false, actions: ['notify', { set_tweak: 'sound', value: 'x' }] },
    ]);
    assert.deepEqual(findRule(set, 'underride', '.m.rule.message'), {
      rule_id: '.m.rule.message',
      default: true,
      enabled: false,
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
      actions: ['notify', { set_tweak: 'sound', value: 'x' }],
    });
  });
});

describe('checks on client-supplied rules', () => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return e instanceof MatrixError ? e.errcode : 'not a MatrixError';
    }
  };

  it('refuses reserved and malformed rule IDs', () => {
    assert.equal(code(() => checkNewRuleId('.m.rule.mine')), 'M_INVALID_PARAM');
    assert.equal(code(() => checkNewRuleId('a/b')), 'M_INVALID_PARAM');
    assert.equal(code(() => checkNewRuleId('a\\b')), 'M_INVALID_PARAM');
    assert.equal(code(() => checkNewRuleId('')), 'M_INVALID_PARAM');
    assert.equal(code(() => checkNewRuleId('x'.repeat(600))), 'M_INVALID_PARAM');
    assert.equal(code(() => checkNewRuleId('nocake')), undefined);
    assert.equal(code(() => checkNewRuleId('!room:example.org')), undefined);
  });

  it('strips historical actions and refuses unknown ones', () => {
    assert.deepEqual(normalizeActions(['dont_notify']), []);
    assert.deepEqual(normalizeActions(['notify', 'coalesce', { set_tweak: 'sound', value: 'bing' }]), ['notify', { set_tweak: 'sound', value: 'bing' }]);
    assert.equal(code(() => normalizeActions(['notify_loudly'])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeActions([{ value: 'x' }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeActions([42])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeActions('notify')), 'M_INVALID_PARAM');
  });

  it('checks the parameters of known conditions and keeps unknown kinds', () => {
    assert.deepEqual(normalizeConditions(undefined), []);
    assert.deepEqual(normalizeConditions([{ kind: 'org.example.future', anything: 1 }]), [{ kind: 'org.example.future', anything: 1 }]);
    assert.equal(code(() => normalizeConditions([{ key: 'type' }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions([{ kind: 'event_match', key: 'type' }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions([{ kind: 'event_property_is', key: 'content.x' }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions([{ kind: 'event_property_is', key: 'content.x', value: 1.5 }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions([{ kind: 'event_property_is', key: 'content.x', value: { a: 1 } }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions([{ kind: 'event_property_contains', key: 'content.x', value: null }])), undefined);
    assert.equal(code(() => normalizeConditions([{ kind: 'room_member_count', is: 'two' }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions([{ kind: 'room_member_count', is: '>=2' }])), undefined);
    assert.equal(code(() => normalizeConditions([{ kind: 'sender_notification_permission' }])), 'M_INVALID_PARAM');
    assert.equal(code(() => normalizeConditions(['event_match'])), 'M_INVALID_PARAM');
    assert.equal(code(() => checkPattern(undefined)), 'M_MISSING_PARAM');
    assert.equal(code(() => checkPattern('x'.repeat(600))), 'M_INVALID_PARAM');
  });
});
