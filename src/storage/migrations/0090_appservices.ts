// Application services: registrations added at run time (CLI, admin API), the sender's position
// per appservice, and transactions built but not yet acknowledged (resent after a restart with
// the same ID and body, as the spec requires).
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  await db.schema
    .createTable('appservice_registrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('registration_yaml', 'text', (c) => c.notNull())
    .addColumn('added_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('appservice_state')
    .addColumn('appservice_id', 'text', (c) => c.primaryKey())
    .addColumn('cursors', 'text', (c) => c.notNull())
    .addColumn('next_txn_id', 'bigint', (c) => c.notNull())
    .addColumn('last_success_ts', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('last_error_ts', 'bigint')
    .execute();
  await db.schema
    .createTable('appservice_txns')
    .addColumn('appservice_id', 'text', (c) => c.notNull())
    .addColumn('txn_id', 'bigint', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('event_count', 'integer', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('appservice_txns_pk', ['appservice_id', 'txn_id'])
    .execute();
}
