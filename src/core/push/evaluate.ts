// Push rule evaluation (spec "Push Rules": kinds checked override → content → room → sender →
// underride, first enabled match wins; "Conditions"). Pure: the caller supplies the event in
// client format and the room facts the conditions need.
//
// This runs for every member of a room on every message, so the work is split:
// - once per ruleset: rules are compiled into closures (key paths parsed, globs compiled and
//   shared through a cache, `is` comparisons parsed, actions reduced to a decision object);
// - once per event: string properties are lowercased lazily and remembered, so the body is
//   lowercased once however many members' rules look at it;
// - per member: only the closures run.
import { LEGACY_MENTION_RULE_IDS } from './default-rules.ts';
import { compileGlob, globMatchesWhole, globMatchesWords, lookupPath, parseKeyPath } from './glob.ts';
import { MEMBER_COUNT_RE, PUSH_RULE_KINDS, isPushConditionValue, type PushAction, type PushCondition, type PushRule, type PushRuleKind, type PushRuleset } from './rules.ts';

/** An event in client format; only these fields are interpreted, others are reachable by key. */
export interface PushEvent {
  type: string;
  content: Record<string, unknown>;
  sender: string;
  room_id: string;
  state_key?: string;
  [field: string]: unknown;
}

export interface PushContext {
  /** The user whose rules these are. */
  userId: string;
  /** The user's display name in this room (for contains_display_name). */
  displayName: string | null;
  /** Joined members of the room (room_member_count). */
  roomMemberCount: number;
  /** The sender's power level; Infinity for room creators in v12 rooms. */
  senderPowerLevel: number;
  /** `notifications` of the room's power levels; a missing key requires 50 (spec default). */
  notificationPowerLevels: Record<string, number>;
}

export interface PushDecision {
  readonly ruleId: string;
  readonly kind: PushRuleKind;
  readonly notify: boolean;
  readonly highlight: boolean;
  readonly sound?: string;
  /** Every set_tweak, passed through to push gateways (a tweak without value is `true`). */
  readonly tweaks: Readonly<Record<string, unknown>>;
  readonly actions: readonly PushAction[];
}

const DEFAULT_NOTIFICATION_LEVEL = 50;

/** Per-event memo of lowercased string properties, shared by every member's evaluation. */
class PreparedEvent {
  readonly hasMentions: boolean;
  private readonly lowered = new Map<string, string | null>();

  constructor(readonly event: PushEvent) {
    const content = event.content;
    this.hasMentions = !!content && typeof content === 'object' && Object.prototype.hasOwnProperty.call(content, 'm.mentions');
  }

  /** The lowercased string at `path` (memoised under `key`), or null if absent or not a string. */
  lowerString(key: string, path: readonly string[]): string | null {
    let v = this.lowered.get(key);
    if (v === undefined) {
      const raw = lookupPath(this.event, path);
      v = typeof raw === 'string' ? raw.toLowerCase() : null;
      this.lowered.set(key, v);
    }
    return v;
  }
}

const BODY_PATH = ['content', 'body'];
const preparedEvents = new WeakMap<object, PreparedEvent>();

function prepare(event: PushEvent): PreparedEvent {
  let p = preparedEvents.get(event);
  if (!p) {
    p = new PreparedEvent(event);
    preparedEvents.set(event, p);
  }
  return p;
}

type Check = (ev: PreparedEvent, ctx: PushContext) => boolean;

const NEVER: Check = () => false;

function eventMatch(key: string, pattern: string): Check {
  const path = parseKeyPath(key);
  const glob = compileGlob(pattern);
  // content.body is the spec's special case: match a word-bounded substring, not the whole value.
  if (key === 'content.body') {
    return (ev) => {
      const v = ev.lowerString(key, path);
      return v !== null && globMatchesWords(glob, v);
    };
  }
  return (ev) => {
    const v = ev.lowerString(key, path);
    return v !== null && globMatchesWhole(glob, v);
  };
}

function compileCondition(c: PushCondition): Check {
  switch (c.kind) {
    case 'event_match':
      if (typeof c.key !== 'string' || typeof c.pattern !== 'string') return NEVER;
      return eventMatch(c.key, c.pattern);
    case 'event_property_is': {
      if (typeof c.key !== 'string' || !isPushConditionValue(c.value)) return NEVER;
      const path = parseKeyPath(c.key);
      const expected = c.value;
      // Strict equality: "true" ≠ true and 1 ≠ true (no casting, per spec).
      return (ev) => lookupPath(ev.event, path) === expected;
    }
    case 'event_property_contains': {
      if (typeof c.key !== 'string' || !isPushConditionValue(c.value)) return NEVER;
      const path = parseKeyPath(c.key);
      const expected = c.value;
      return (ev) => {
        const arr = lookupPath(ev.event, path);
        return Array.isArray(arr) && arr.includes(expected);
      };
    }
    case 'contains_display_name':
      return (ev, ctx) => {
        const name = ctx.displayName;
        if (!name) return false;
        const body = ev.lowerString('content.body', BODY_PATH);
        return body !== null && globMatchesWords(compileGlob(name, true), body);
      };
    case 'room_member_count': {
      const m = typeof c.is === 'string' ? MEMBER_COUNT_RE.exec(c.is) : null;
      if (!m) return NEVER;
      const n = Number(m[2]);
      switch (m[1]) {
        case '<':
          return (_ev, ctx) => ctx.roomMemberCount < n;
        case '>':
          return (_ev, ctx) => ctx.roomMemberCount > n;
        case '<=':
          return (_ev, ctx) => ctx.roomMemberCount <= n;
        case '>=':
          return (_ev, ctx) => ctx.roomMemberCount >= n;
        default:
          return (_ev, ctx) => ctx.roomMemberCount === n;
      }
    }
    case 'sender_notification_permission': {
      if (typeof c.key !== 'string') return NEVER;
      const key = c.key;
      return (_ev, ctx) => {
        const levels = ctx.notificationPowerLevels;
        const own = Object.prototype.hasOwnProperty.call(levels, key) ? levels[key] : undefined;
        const required = typeof own === 'number' ? own : DEFAULT_NOTIFICATION_LEVEL;
        return ctx.senderPowerLevel >= required;
      };
    }
    default:
      // Unrecognised conditions MUST NOT match, which disables the rule.
      return NEVER;
  }
}

function decisionOf(kind: PushRuleKind, ruleId: string, actions: readonly PushAction[]): PushDecision {
  let notify = false;
  const tweaks: Record<string, unknown> = {};
  for (const a of actions) {
    if (a === 'notify') notify = true;
    else if (a && typeof a === 'object' && typeof a.set_tweak === 'string') {
      tweaks[a.set_tweak] = 'value' in a && a.value !== undefined ? a.value : true;
    }
  }
  const decision: PushDecision = {
    ruleId,
    kind,
    notify,
    // "If no highlight tweak is given at all then the value of highlight is defined to be false."
    highlight: tweaks.highlight === true,
    ...(typeof tweaks.sound === 'string' ? { sound: tweaks.sound } : {}),
    tweaks: Object.freeze(tweaks),
    actions: Object.freeze([...actions]),
  };
  return Object.freeze(decision);
}

interface CompiledRule {
  checks: Check[];
  /** Deprecated mention rules only apply to events without `m.mentions`. */
  legacyMention: boolean;
  decision: PushDecision;
}

/** A ruleset ready to evaluate; build it once per ruleset with `compilePushRules`. */
export class CompiledPushRules {
  constructor(readonly rules: readonly CompiledRule[]) {}
}

function compileRule(kind: PushRuleKind, rule: PushRule): CompiledRule {
  let checks: Check[];
  switch (kind) {
    case 'content':
      checks = typeof rule.pattern === 'string' ? [eventMatch('content.body', rule.pattern)] : [NEVER];
      break;
    case 'room': {
      // The rule ID is the room ID; compared exactly, so an ID is never read as a glob.
      const roomId = rule.rule_id;
      checks = [(ev) => ev.event.room_id === roomId];
      break;
    }
    case 'sender': {
      const sender = rule.rule_id;
      checks = [(ev) => ev.event.sender === sender];
      break;
    }
    default:
      checks = (rule.conditions ?? []).map(compileCondition);
  }
  return {
    checks,
    legacyMention: rule.default && LEGACY_MENTION_RULE_IDS.has(rule.rule_id),
    decision: decisionOf(kind, rule.rule_id, rule.actions),
  };
}

const compiledRulesets = new WeakMap<PushRuleset, CompiledPushRules>();

/** Compiles the enabled rules of a ruleset in priority order (memoised per ruleset object). */
export function compilePushRules(ruleset: PushRuleset): CompiledPushRules {
  let compiled = compiledRulesets.get(ruleset);
  if (!compiled) {
    const rules: CompiledRule[] = [];
    for (const kind of PUSH_RULE_KINDS) {
      for (const rule of ruleset[kind] ?? []) if (rule.enabled) rules.push(compileRule(kind, rule));
    }
    compiled = new CompiledPushRules(rules);
    compiledRulesets.set(ruleset, compiled);
  }
  return compiled;
}

/**
 * The actions of the first enabled rule matching `event` for `ctx.userId`, or null when none
 * matches. A matching rule with no `notify` action (e.g. suppress_notices) is still returned,
 * with `notify: false`, so callers can tell "suppressed" from "no rule". Events the user sent
 * themselves never notify (spec), so they answer null.
 *
 * Pass the same event object for every member of a room: per-event work is memoised on it.
 */
export function evaluatePushRules(rules: PushRuleset | CompiledPushRules, event: PushEvent, ctx: PushContext): PushDecision | null {
  if (event.sender === ctx.userId) return null;
  const compiled = rules instanceof CompiledPushRules ? rules : compilePushRules(rules);
  const ev = prepare(event);
  next: for (const rule of compiled.rules) {
    if (rule.legacyMention && ev.hasMentions) continue;
    for (const check of rule.checks) if (!check(ev, ctx)) continue next;
    return rule.decision;
  }
  return null;
}
