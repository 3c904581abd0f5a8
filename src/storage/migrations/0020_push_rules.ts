// Push rules: rules users created, and their changes to server-default rules.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  await db.schema
    .createTable('push_rules')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('position', 'bigint', (c) => c.notNull())
    .addColumn('conditions', 'text')
    .addColumn('pattern', 'text')
    .addColumn('actions', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint('push_rules_pk', ['user_id', 'kind', 'rule_id'])
    .execute();

  await db.schema
    .createTable('push_rule_default_settings')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer')
    .addColumn('actions', 'text')
    .addPrimaryKeyConstraint('push_rule_default_settings_pk', ['user_id', 'kind', 'rule_id'])
    .execute();
}
