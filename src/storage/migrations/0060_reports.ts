// Content reports (events, rooms, users) awaiting review by server admins.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { addAutoIdColumn } from '../dialect.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await addAutoIdColumn(db.schema.createTable('content_reports'), engine)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('reporter', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text')
    .addColumn('event_id', 'text')
    .addColumn('target_user_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('score', 'integer')
    .addColumn('received_ts', 'bigint', (c) => c.notNull())
    .execute();
  // The admin API lists reports newest first, optionally by room or by reporter.
  await db.schema.createIndex('content_reports_received').on('content_reports').column('received_ts').execute();
  await db.schema.createIndex('content_reports_room').on('content_reports').column('room_id').execute();
  await db.schema.createIndex('content_reports_reporter').on('content_reports').column('reporter').execute();
}
