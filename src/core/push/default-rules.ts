// The server-default push rules of spec v1.16 ("Predefined Rules"), in the spec's order within
// each kind. Three depend on the user: invite_for_me and is_user_mention name the user ID, and
// the content rule contains_user_name matches the localpart. The legacy mention rules
// (contains_display_name, roomnotif, contains_user_name) are deprecated since v1.7 but still
// defined; the evaluator skips them for events that carry `m.mentions`, as the spec asks.
import { localpartOf } from '../ids.ts';
import type { PushAction, PushRule, PushRuleKind, PushRuleset } from './rules.ts';

export const MASTER_RULE_ID = '.m.rule.master';

/** Rules that only apply to events without an `m.mentions` property (spec v1.7 deprecation). */
export const LEGACY_MENTION_RULE_IDS: ReadonlySet<string> = new Set([
  '.m.rule.contains_display_name',
  '.m.rule.roomnotif',
  '.m.rule.contains_user_name',
]);

const soundDefault = (): PushAction => ({ set_tweak: 'sound', value: 'default' });
const highlight = (): PushAction => ({ set_tweak: 'highlight' });

function rule(rule_id: string, conditions: PushRule['conditions'], actions: PushAction[], enabled = true): PushRule {
  return { rule_id, default: true, enabled, conditions, actions };
}

/** Fresh copies every call: callers may merge user settings into them. */
export function defaultPushRules(userId: string): PushRuleset {
  const override: PushRule[] = [
    // Disabled by default; enabling it silences everything (it outranks even user rules).
    rule(MASTER_RULE_ID, [], [], false),
    rule('.m.rule.suppress_notices', [{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.notice' }], []),
    rule(
      '.m.rule.invite_for_me',
      [
        { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
        { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
        { kind: 'event_match', key: 'state_key', pattern: userId },
      ],
      ['notify', soundDefault()],
    ),
    rule('.m.rule.member_event', [{ kind: 'event_match', key: 'type', pattern: 'm.room.member' }], []),
    rule(
      '.m.rule.is_user_mention',
      [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
      ['notify', soundDefault(), highlight()],
    ),
    rule('.m.rule.contains_display_name', [{ kind: 'contains_display_name' }], ['notify', soundDefault(), highlight()]),
    rule(
      '.m.rule.is_room_mention',
      [
        { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      ['notify', highlight()],
    ),
    rule(
      '.m.rule.roomnotif',
      [
        { kind: 'event_match', key: 'content.body', pattern: '@room' },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      ['notify', highlight()],
    ),
    rule(
      '.m.rule.tombstone',
      [
        { kind: 'event_match', key: 'type', pattern: 'm.room.tombstone' },
        { kind: 'event_match', key: 'state_key', pattern: '' },
      ],
      ['notify', highlight()],
    ),
    rule('.m.rule.reaction', [{ kind: 'event_match', key: 'type', pattern: 'm.reaction' }], []),
    rule(
      '.m.rule.room.server_acl',
      [
        { kind: 'event_match', key: 'type', pattern: 'm.room.server_acl' },
        { kind: 'event_match', key: 'state_key', pattern: '' },
      ],
      [],
    ),
    rule('.m.rule.suppress_edits', [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], []),
  ];

  const content: PushRule[] = [
    {
      rule_id: '.m.rule.contains_user_name',
      default: true,
      enabled: true,
      pattern: localpartOf(userId),
      actions: ['notify', soundDefault(), highlight()],
    },
  ];

  const underride: PushRule[] = [
    rule('.m.rule.call', [{ kind: 'event_match', key: 'type', pattern: 'm.call.invite' }], ['notify', { set_tweak: 'sound', value: 'ring' }]),
    rule(
      '.m.rule.encrypted_room_one_to_one',
      [
        { kind: 'room_member_count', is: '2' },
        { kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' },
      ],
      ['notify', soundDefault()],
    ),
    rule(
      '.m.rule.room_one_to_one',
      [
        { kind: 'room_member_count', is: '2' },
        { kind: 'event_match', key: 'type', pattern: 'm.room.message' },
      ],
      ['notify', soundDefault()],
    ),
    rule('.m.rule.message', [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }], ['notify']),
    rule('.m.rule.encrypted', [{ kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' }], ['notify']),
  ];

  return { override, content, room: [], sender: [], underride };
}

/** The kind of a server-default rule ID, or undefined if there is no such default rule. */
export function defaultRuleKind(ruleId: string): PushRuleKind | undefined {
  return DEFAULT_RULE_KINDS.get(ruleId);
}

const DEFAULT_RULE_KINDS: ReadonlyMap<string, PushRuleKind> = (() => {
  const out = new Map<string, PushRuleKind>();
  const sample = defaultPushRules('@x:example.org');
  for (const [kind, rules] of Object.entries(sample) as Array<[PushRuleKind, PushRule[]]>) {
    for (const r of rules) out.set(r.rule_id, kind);
  }
  return out;
})();
