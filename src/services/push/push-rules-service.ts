// A user's push rules: the effective ruleset (server defaults merged with the user's changes,
// cached per user) and the changes the /pushrules API makes, with the spec's errors.
//
// Invariants:
// - server-default rules ("."-prefixed) are never stored whole; only a user's `enabled` and
//   `actions` changes to them are (push_rule_default_settings);
// - writes for one user run one at a time (positions are read-modify-write) and in one
//   transaction when they touch several rows;
// - after a committed change the cache entry is dropped and `onRulesChanged` fires, so sync can
//   deliver the new `m.push_rules` account data.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomId, isValidUserId } from '../../core/ids.ts';
import { defaultRuleKind } from '../../core/push/default-rules.ts';
import { compilePushRules, type CompiledPushRules } from '../../core/push/evaluate.ts';
import { buildRuleset, findRule, type DefaultRuleSetting, type UserPushRule } from '../../core/push/ruleset.ts';
import {
  checkNewRuleId,
  checkPattern,
  isPushRuleKind,
  normalizeActions,
  normalizeConditions,
  type PushAction,
  type PushRule,
  type PushRuleKind,
  type PushRuleset,
} from '../../core/push/rules.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { PushRuleDefaultSettingRow, PushRuleRow, PushRuleStore } from '../../storage/stores/push-rules.ts';
import { KeyedQueue } from '../../util/keyed-queue.ts';
import { LruCache } from '../../util/lru.ts';

export interface PutRuleBody {
  actions: unknown;
  conditions?: unknown;
  pattern?: unknown;
}

export interface RulePlacement {
  before?: string;
  after?: string;
}

type Store = Pick<
  PushRuleStore,
  | 'listUserRules'
  | 'listUserRulesOfKind'
  | 'listDefaultSettings'
  | 'insertUserRule'
  | 'updateUserRuleDefinition'
  | 'setPositions'
  | 'deleteUserRule'
  | 'updateUserRuleAttribute'
  | 'upsertDefaultSetting'
>;

function parseJsonArray<T>(text: string | null): T[] | null {
  if (text === null) return null;
  const v = JSON.parse(text) as unknown;
  return Array.isArray(v) ? (v as T[]) : [];
}

function toUserRule(row: PushRuleRow): UserPushRule {
  return {
    kind: row.kind as PushRuleKind,
    ruleId: row.rule_id,
    enabled: !!row.enabled,
    actions: parseJsonArray<PushAction>(row.actions) ?? [],
    conditions: parseJsonArray(row.conditions) ?? undefined,
    pattern: row.pattern ?? undefined,
  };
}

function toSetting(row: PushRuleDefaultSettingRow): DefaultRuleSetting {
  return {
    kind: row.kind as PushRuleKind,
    ruleId: row.rule_id,
    enabled: row.enabled === null ? null : !!row.enabled,
    actions: parseJsonArray<PushAction>(row.actions),
  };
}

export function checkKind(kind: string): PushRuleKind {
  if (!isPushRuleKind(kind)) throw new MatrixError('M_INVALID_PARAM', `Unknown push rule kind: ${kind.slice(0, 64)}`);
  return kind;
}

const notFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 'The push rule was not found.');

export class PushRulesService {
  /** Called after a user's rules changed (sync delivers `m.push_rules` account data). */
  onRulesChanged?: (userId: string) => void;

  private readonly cache: LruCache<string, PushRuleset>;
  private readonly writes = new KeyedQueue();
  // Bumped by every write: a read that raced a write must not cache what it read.
  private generation = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly store: Store,
    options: { cacheSize?: number } = {},
  ) {
    this.cache = new LruCache(options.cacheSize ?? 10_000);
  }

  /** The user's effective rules in client format (shared object: do not mutate). */
  async queryRuleset(userId: string): Promise<PushRuleset> {
    const cached = this.cache.get(userId);
    if (cached) return cached;
    const generation = this.generation;
    const [rules, settings] = await Promise.all([this.store.listUserRules(userId), this.store.listDefaultSettings(userId)]);
    const ruleset = buildRuleset(userId, rules.map(toUserRule), settings.map(toSetting));
    if (generation === this.generation) this.cache.set(userId, ruleset);
    return ruleset;
  }

  /** The user's rules compiled for evaluation (compiled once per cached ruleset). */
  async queryCompiledRules(userId: string): Promise<CompiledPushRules> {
    return compilePushRules(await this.queryRuleset(userId));
  }

  /**
   * `queryCompiledRules` when the user's rules are cached, without a promise: the push
   * evaluator asks for every member of a room on every message.
   */
  cachedCompiledRules(userId: string): CompiledPushRules | undefined {
    const cached = this.cache.get(userId);
    return cached ? compilePushRules(cached) : undefined;
  }

  /** Content of the `m.push_rules` account data event. */
  async queryAccountDataContent(userId: string): Promise<{ global: PushRuleset }> {
    return { global: await this.queryRuleset(userId) };
  }

  async queryRule(userId: string, kind: PushRuleKind, ruleId: string): Promise<PushRule> {
    const rule = findRule(await this.queryRuleset(userId), kind, ruleId);
    if (!rule) throw notFound();
    return rule;
  }

  /** PUT /pushrules/global/{kind}/{ruleId}: creates or replaces a user-defined rule. */
  async performPutRule(userId: string, kind: PushRuleKind, ruleId: string, body: PutRuleBody, placement: RulePlacement): Promise<void> {
    checkNewRuleId(ruleId);
    const actions = normalizeActions(body.actions);
    let conditions: string | null = null;
    let pattern: string | null = null;
    switch (kind) {
      case 'override':
      case 'underride':
        conditions = JSON.stringify(normalizeConditions(body.conditions));
        break;
      case 'content':
        pattern = checkPattern(body.pattern);
        break;
      case 'room':
        // The rule ID is the room it applies to; anything else could never match.
        if (!isValidRoomId(ruleId)) throw new MatrixError('M_INVALID_PARAM', 'The rule_id of a room rule must be a room ID');
        break;
      case 'sender':
        if (!isValidUserId(ruleId)) throw new MatrixError('M_INVALID_PARAM', 'The rule_id of a sender rule must be a user ID');
        break;
    }
    const relative = placement.before ?? placement.after;
    if (relative !== undefined && relative.startsWith('.')) {
      throw new MatrixError('M_INVALID_PARAM', 'Rules cannot be placed relative to a server-default rule');
    }

    await this.write(userId, async () => {
      await this.db.transaction().execute(async (trx) => {
        const existing = await this.store.listUserRulesOfKind(userId, kind, trx);
        const current = existing.find((r) => r.rule_id === ruleId);
        const fields = { conditions, pattern, actions: JSON.stringify(actions) };
        if (current) await this.store.updateUserRuleDefinition({ userId, kind, ruleId }, fields, trx);

        const others = existing.filter((r) => r.rule_id !== ruleId);
        let index: number;
        if (placement.before !== undefined) {
          // "If both after and before are provided", before decides.
          index = others.findIndex((r) => r.rule_id === placement.before);
          if (index < 0) throw new MatrixError('M_INVALID_PARAM', `before/after rule not found: ${placement.before.slice(0, 255)}`);
        } else if (placement.after !== undefined) {
          index = others.findIndex((r) => r.rule_id === placement.after);
          if (index < 0) throw new MatrixError('M_INVALID_PARAM', `before/after rule not found: ${placement.after.slice(0, 255)}`);
          index += 1;
        } else if (current) {
          return; // updated in place, position kept
        } else {
          // New rules without before/after become the most important user rule of their kind.
          const top = existing.length > 0 ? Math.min(...existing.map((r) => Number(r.position))) - 1 : 0;
          await this.store.insertUserRule({ user_id: userId, kind, rule_id: ruleId, position: top, enabled: 1, ...fields }, trx);
          return;
        }

        if (!current) {
          await this.store.insertUserRule({ user_id: userId, kind, rule_id: ruleId, position: 0, enabled: 1, ...fields }, trx);
        }
        const order = others.map((r) => r.rule_id);
        order.splice(index, 0, ruleId);
        const positionOf = new Map(existing.map((r) => [r.rule_id, Number(r.position)]));
        const changed = order
          .map((id, i) => [id, i] as const)
          .filter(([id, i]) => id === ruleId || positionOf.get(id) !== i);
        await this.store.setPositions(userId, kind, changed, trx);
      });
    });
  }

  /** DELETE /pushrules/global/{kind}/{ruleId}. */
  async performDeleteRule(userId: string, kind: PushRuleKind, ruleId: string): Promise<void> {
    if (defaultRuleKind(ruleId) === kind) {
      throw new MatrixError('M_INVALID_PARAM', 'Server-default rules cannot be deleted; disable them instead');
    }
    await this.write(userId, async () => {
      if (!(await this.store.deleteUserRule(userId, kind, ruleId))) throw notFound();
    });
  }

  /** PUT /pushrules/global/{kind}/{ruleId}/enabled. */
  async performSetEnabled(userId: string, kind: PushRuleKind, ruleId: string, enabled: boolean): Promise<void> {
    await this.setAttribute(userId, kind, ruleId, { enabled: enabled ? 1 : 0 });
  }

  /** PUT /pushrules/global/{kind}/{ruleId}/actions: works on server-default rules too. */
  async performSetActions(userId: string, kind: PushRuleKind, ruleId: string, actions: unknown): Promise<void> {
    await this.setAttribute(userId, kind, ruleId, { actions: JSON.stringify(normalizeActions(actions)) });
  }

  private async setAttribute(userId: string, kind: PushRuleKind, ruleId: string, set: { enabled?: number; actions?: string }): Promise<void> {
    await this.write(userId, async () => {
      if (ruleId.startsWith('.')) {
        if (defaultRuleKind(ruleId) !== kind) throw notFound();
        await this.store.upsertDefaultSetting(userId, kind, ruleId, set);
      } else if (!(await this.store.updateUserRuleAttribute(userId, kind, ruleId, set))) {
        throw notFound();
      }
    });
  }

  /** Runs a write for one user after the previous one, then drops the cache and notifies. */
  private async write(userId: string, task: () => Promise<void>): Promise<void> {
    try {
      await this.writes.run(userId, task);
    } finally {
      // Even a failed write may have raced a read; invalidating is always safe.
      this.generation++;
      this.cache.delete(userId);
    }
    this.onRulesChanged?.(userId);
  }
}
