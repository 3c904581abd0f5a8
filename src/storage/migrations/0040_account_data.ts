import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { addAutoIdColumn } from '../dialect.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('account_data')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('stream_pos', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_data_pk', ['user_id', 'room_id', 'type'])
    .execute();
  await db.schema.createIndex('account_data_user_stream').on('account_data').columns(['user_id', 'stream_pos']).execute();

  await addAutoIdColumn(db.schema.createTable('user_filters'), engine, 'filter_nid')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('filter_json', 'text', (c) => c.notNull())
    .execute();
}
