// Queries on users' push rule customisations: rules they created (push_rules) and their changes
// to server-default rules (push_rule_default_settings). JSON columns are stored as text and
// parsed by the service; ordering rules (before/after) are the service's business.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type PushRuleRow = Selectable<DB['push_rules']>;
export type PushRuleDefaultSettingRow = Selectable<DB['push_rule_default_settings']>;

export class PushRuleStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** All rules a user created, most important first within each kind. */
  listUserRules(userId: string): Promise<PushRuleRow[]> {
    return this.db
      .selectFrom('push_rules')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('kind')
      .orderBy('position')
      .orderBy('rule_id')
      .execute();
  }

  /** The user's rules of one kind, most important first (read inside the writing transaction). */
  listUserRulesOfKind(userId: string, kind: string, trx: Kysely<DB> = this.db): Promise<PushRuleRow[]> {
    return trx
      .selectFrom('push_rules')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .orderBy('position')
      .orderBy('rule_id')
      .execute();
  }

  listDefaultSettings(userId: string): Promise<PushRuleDefaultSettingRow[]> {
    return this.db.selectFrom('push_rule_default_settings').selectAll().where('user_id', '=', userId).execute();
  }

  async insertUserRule(row: PushRuleRow, trx: Kysely<DB>): Promise<void> {
    await trx.insertInto('push_rules').values(row).execute();
  }

  /** Replaces a user rule's definition; its enabled flag and position stay. */
  async updateUserRuleDefinition(
    key: { userId: string; kind: string; ruleId: string },
    fields: { conditions: string | null; pattern: string | null; actions: string },
    trx: Kysely<DB>,
  ): Promise<void> {
    await trx
      .updateTable('push_rules')
      .set(fields)
      .where('user_id', '=', key.userId)
      .where('kind', '=', key.kind)
      .where('rule_id', '=', key.ruleId)
      .execute();
  }

  async setPositions(userId: string, kind: string, positions: ReadonlyArray<readonly [ruleId: string, position: number]>, trx: Kysely<DB>): Promise<void> {
    for (const [ruleId, position] of positions) {
      await trx
        .updateTable('push_rules')
        .set({ position })
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('rule_id', '=', ruleId)
        .execute();
    }
  }

  /** Returns whether a rule was deleted. */
  async deleteUserRule(userId: string, kind: string, ruleId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('push_rules')
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .where('rule_id', '=', ruleId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Returns whether the rule exists (and so was updated). */
  async updateUserRuleAttribute(userId: string, kind: string, ruleId: string, set: { enabled?: number; actions?: string }): Promise<boolean> {
    const result = await this.db
      .updateTable('push_rules')
      .set(set)
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .where('rule_id', '=', ruleId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Records a change to a server-default rule; only the fields given change. */
  async upsertDefaultSetting(userId: string, kind: string, ruleId: string, set: { enabled?: number; actions?: string }): Promise<void> {
    await this.db
      .insertInto('push_rule_default_settings')
      .values({ user_id: userId, kind, rule_id: ruleId, enabled: set.enabled ?? null, actions: set.actions ?? null })
      .onConflict((oc) => oc.columns(['user_id', 'kind', 'rule_id']).doUpdateSet(set))
      .execute();
  }

  /** Forgets everything about a user's push rules (account deactivation). */
  async deleteAllForUser(userId: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.deleteFrom('push_rules').where('user_id', '=', userId).execute();
    await trx.deleteFrom('push_rule_default_settings').where('user_id', '=', userId).execute();
  }
}
