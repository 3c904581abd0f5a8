// A user's effective push rules: the server defaults merged with what the user changed.
//
// Priority (spec "Predefined Rules"): server-default rules rank below user-defined rules of the
// same kind, except `.m.rule.master`, which outranks everything. So each kind lists the user's
// rules (in the user's order) before the defaults, and `override` starts with the master rule.
import { defaultPushRules, MASTER_RULE_ID } from './default-rules.ts';
import { PUSH_RULE_KINDS, type PushAction, type PushCondition, type PushRule, type PushRuleKind, type PushRuleset } from './rules.ts';

/** A rule the user created, as stored. */
export interface UserPushRule {
  kind: PushRuleKind;
  ruleId: string;
  enabled: boolean;
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

/** The user's change to a server-default rule: only `enabled` and `actions` may change. */
export interface DefaultRuleSetting {
  kind: PushRuleKind;
  ruleId: string;
  enabled: boolean | null;
  actions: PushAction[] | null;
}

/**
 * Builds the ruleset a client sees and the evaluator runs. `userRules` must already be in the
 * user's priority order within each kind (most important first).
 */
export function buildRuleset(userId: string, userRules: readonly UserPushRule[], settings: readonly DefaultRuleSetting[]): PushRuleset {
  const defaults = defaultPushRules(userId);
  const settingByKey = new Map(settings.map((s) => [`${s.kind}\u0000${s.ruleId}`, s]));
  const out = {} as PushRuleset;
  for (const kind of PUSH_RULE_KINDS) {
    const userOfKind = userRules.filter((r) => r.kind === kind).map(toClientRule);
    const defaultsOfKind = defaults[kind].map((d) => {
      const s = settingByKey.get(`${kind}\u0000${d.rule_id}`);
      if (!s) return d;
      return { ...d, enabled: s.enabled ?? d.enabled, actions: s.actions ?? d.actions };
    });
    if (kind === 'override') {
      const master = defaultsOfKind.filter((r) => r.rule_id === MASTER_RULE_ID);
      const rest = defaultsOfKind.filter((r) => r.rule_id !== MASTER_RULE_ID);
      out[kind] = [...master, ...userOfKind, ...rest];
    } else {
      out[kind] = [...userOfKind, ...defaultsOfKind];
    }
  }
  return out;
}

function toClientRule(r: UserPushRule): PushRule {
  const rule: PushRule = { rule_id: r.ruleId, default: false, enabled: r.enabled, actions: r.actions };
  if (r.kind === 'override' || r.kind === 'underride') rule.conditions = r.conditions ?? [];
  if (r.kind === 'content') rule.pattern = r.pattern ?? '';
  return rule;
}

/** Finds one rule of a ruleset by kind and ID. */
export function findRule(ruleset: PushRuleset, kind: PushRuleKind, ruleId: string): PushRule | undefined {
  return ruleset[kind].find((r) => r.rule_id === ruleId);
}
