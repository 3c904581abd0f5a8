// The content repository: local uploads, the remote media cache and thumbnails.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  await db.schema
    .createTable('local_media')
    .addColumn('media_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('file_key', 'text')
    .addColumn('encrypted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('content_type', 'text')
    .addColumn('upload_name', 'text')
    .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('uploaded_ts', 'bigint')
    .addColumn('unused_expires_ts', 'bigint')
    .addColumn('last_access_ts', 'bigint')
    .addColumn('quarantined_by', 'text')
    .execute();
  // A user's media (admin listing, quota sum), files still referenced, retention by age.
  await db.schema.createIndex('local_media_user').on('local_media').columns(['user_id', 'created_ts']).execute();
  await db.schema.createIndex('local_media_file').on('local_media').column('file_key').execute();
  await db.schema.createIndex('local_media_access').on('local_media').column('last_access_ts').execute();

  await db.schema
    .createTable('remote_media_cache')
    .addColumn('media_origin', 'text', (c) => c.notNull())
    .addColumn('media_id', 'text', (c) => c.notNull())
    .addColumn('file_key', 'text', (c) => c.notNull())
    .addColumn('encrypted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('content_type', 'text')
    .addColumn('upload_name', 'text')
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('last_access_ts', 'bigint')
    .addColumn('quarantined_by', 'text')
    .addPrimaryKeyConstraint('remote_media_cache_pk', ['media_origin', 'media_id'])
    .execute();
  await db.schema.createIndex('remote_media_cache_file').on('remote_media_cache').column('file_key').execute();
  await db.schema.createIndex('remote_media_cache_access').on('remote_media_cache').column('last_access_ts').execute();

  await db.schema
    .createTable('media_thumbnails')
    .addColumn('media_origin', 'text', (c) => c.notNull())
    .addColumn('media_id', 'text', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('animated', 'integer', (c) => c.notNull())
    .addColumn('requested_width', 'integer', (c) => c.notNull())
    .addColumn('requested_height', 'integer', (c) => c.notNull())
    .addColumn('file_key', 'text', (c) => c.notNull())
    .addColumn('encrypted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('media_thumbnails_pk', ['media_origin', 'media_id', 'requested_width', 'requested_height', 'method', 'animated'])
    .execute();
  await db.schema.createIndex('media_thumbnails_file').on('media_thumbnails').column('file_key').execute();
}
