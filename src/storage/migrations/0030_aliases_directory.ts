// Room aliases, and an index for listing the published room directory.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  await db.schema
    .createTable('room_aliases')
    .addColumn('room_alias', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();
  // GET /rooms/{roomId}/aliases and canonical alias checks look aliases up by room.
  await db.schema.createIndex('room_aliases_room').on('room_aliases').column('room_id').execute();
  // /publicRooms reads only published rooms.
  await db.schema.createIndex('rooms_public').on('rooms').column('is_public').execute();
}
