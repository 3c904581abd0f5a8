// Push rule shapes (client-server spec "Push Rules") and the pure checks on rules a client sends:
// rule IDs, actions and conditions. Shared by the default rule set, the evaluator, the store and
// the /pushrules API, so that a rule means the same thing everywhere.
import { MatrixError } from '../errors.ts';

/** The rule kinds, in the order the spec checks them. */
export const PUSH_RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type PushRuleKind = (typeof PUSH_RULE_KINDS)[number];

export function isPushRuleKind(kind: string): kind is PushRuleKind {
  return (PUSH_RULE_KINDS as readonly string[]).includes(kind);
}

/** A condition as clients see it; unknown kinds are kept (they simply never match). */
export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: string | number | boolean | null;
  [extra: string]: unknown;
}

export type PushAction = string | { set_tweak: string; value?: unknown; [extra: string]: unknown };

/** A rule in the client format of GET /pushrules (and of the m.push_rules account data). */
export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  /** override and underride rules only. */
  conditions?: PushCondition[];
  /** content rules only. */
  pattern?: string;
}

export type PushRuleset = Record<PushRuleKind, PushRule[]>;

export function emptyRuleset(): PushRuleset {
  return { override: [], content: [], room: [], sender: [], underride: [] };
}

/** The longest pattern, key or rule ID accepted from a client (matching cost grows with it). */
export const MAX_PUSH_STRING_LENGTH = 512;

/** Rule IDs a client may create: not server-default ("."), no "/" or "\" (spec, PUT /pushrules). */
export function checkNewRuleId(ruleId: string): void {
  if (ruleId.length === 0) throw new MatrixError('M_INVALID_PARAM', 'rule_id must not be empty');
  if (ruleId.length > MAX_PUSH_STRING_LENGTH) throw new MatrixError('M_INVALID_PARAM', 'rule_id is too long');
  if (ruleId.startsWith('.')) throw new MatrixError('M_INVALID_PARAM', "rule_ids starting with '.' are reserved for server-default rules");
  if (ruleId.includes('/') || ruleId.includes('\\')) throw new MatrixError('M_INVALID_PARAM', 'rule_id may not contain slashes or backslashes');
}

// Older spec versions defined these; the spec now says they MUST be ignored, e.g. by stripping.
const HISTORICAL_ACTIONS = new Set(['dont_notify', 'coalesce']);

/**
 * Checks actions sent by a client and returns them with historical actions stripped. Anything
 * other than "notify" or a `{set_tweak}` object is refused, so a typo does not silently turn a
 * rule into "never notify".
 */
export function normalizeActions(actions: unknown): PushAction[] {
  if (!Array.isArray(actions)) throw new MatrixError('M_INVALID_PARAM', 'actions must be an array');
  const out: PushAction[] = [];
  for (const action of actions) {
    if (typeof action === 'string') {
      if (HISTORICAL_ACTIONS.has(action)) continue;
      if (action !== 'notify') throw new MatrixError('M_INVALID_PARAM', `Unrecognised action: ${action.slice(0, 64)}`);
      out.push(action);
    } else if (action && typeof action === 'object' && !Array.isArray(action)) {
      const tweak = (action as Record<string, unknown>).set_tweak;
      if (typeof tweak !== 'string' || tweak.length === 0) {
        throw new MatrixError('M_INVALID_PARAM', 'Action objects must have a set_tweak string');
      }
      out.push(action as PushAction);
    } else {
      throw new MatrixError('M_INVALID_PARAM', 'Each action must be a string or an object');
    }
  }
  return out;
}

const MAX_SAFE = 2 ** 53 - 1;

/** A non-compound canonical JSON value: string, integer in ±(2^53-1), boolean or null. */
export function isPushConditionValue(value: unknown): value is string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_SAFE;
}

/** `room_member_count`'s `is`: an optional comparison prefix and a decimal integer. */
export const MEMBER_COUNT_RE = /^(==|<=|>=|<|>)?([0-9]{1,15})$/;

function requireString(condition: Record<string, unknown>, field: string): void {
  const v = condition[field];
  if (typeof v !== 'string') throw new MatrixError('M_INVALID_PARAM', `${String(condition.kind)} condition needs a string '${field}'`);
  if (v.length > MAX_PUSH_STRING_LENGTH) throw new MatrixError('M_INVALID_PARAM', `Condition '${field}' is too long`);
}

/**
 * Checks conditions sent by a client. Known kinds must carry their parameters with the right
 * types (a malformed condition would otherwise never match, which is hard to debug); unknown
 * kinds are accepted as the spec requires them to be stored and to never match.
 */
export function normalizeConditions(conditions: unknown): PushCondition[] {
  if (conditions === undefined) return [];
  if (!Array.isArray(conditions)) throw new MatrixError('M_INVALID_PARAM', 'conditions must be an array');
  return conditions.map((c) => {
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new MatrixError('M_INVALID_PARAM', 'Each condition must be an object');
    const condition = c as Record<string, unknown>;
    if (typeof condition.kind !== 'string' || condition.kind.length === 0) {
      throw new MatrixError('M_INVALID_PARAM', "Condition without a 'kind'");
    }
    switch (condition.kind) {
      case 'event_match':
        requireString(condition, 'key');
        requireString(condition, 'pattern');
        break;
      case 'event_property_is':
      case 'event_property_contains':
        requireString(condition, 'key');
        if (!('value' in condition) || !isPushConditionValue(condition.value)) {
          throw new MatrixError('M_INVALID_PARAM', `${condition.kind} condition needs a string, integer, boolean or null 'value'`);
        }
        break;
      case 'room_member_count':
        if (typeof condition.is !== 'string' || !MEMBER_COUNT_RE.test(condition.is)) {
          throw new MatrixError('M_INVALID_PARAM', "room_member_count condition needs 'is' like \"2\", \"<10\" or \">=3\"");
        }
        break;
      case 'sender_notification_permission':
        requireString(condition, 'key');
        break;
      default:
        break;
    }
    return condition as PushCondition;
  });
}

/** A content rule's pattern sent by a client. */
export function checkPattern(pattern: unknown): string {
  if (typeof pattern !== 'string') throw new MatrixError('M_MISSING_PARAM', "Content rules need a 'pattern'");
  if (pattern.length > MAX_PUSH_STRING_LENGTH) throw new MatrixError('M_INVALID_PARAM', 'pattern is too long');
  return pattern;
}
