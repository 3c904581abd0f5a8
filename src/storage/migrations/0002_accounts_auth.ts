// Account tables added after 0001: UIA sessions, registration tokens, shared-secret nonces,
// extended profile fields, and token/user columns the account flows need.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  await db.schema.alterTable('users').addColumn('erased', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('user_type', 'text').execute();
  // Logins typed with other capitalisation ("Alice") are matched case-insensitively.
  await db.schema.createIndex('users_user_id_lower').on('users').expression(sql`lower(user_id)`).execute();
  await db.schema.alterTable('access_tokens').addColumn('last_used_ts', 'bigint').execute();
  await db.schema.createIndex('access_tokens_refresh').on('access_tokens').column('refresh_token_id').execute();
  await db.schema.createIndex('refresh_tokens_next').on('refresh_tokens').column('next_token_id').execute();

  await db.schema
    .createTable('profile_fields')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('value_json', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profile_fields_pk', ['user_id', 'field'])
    .execute();

  await db.schema
    .createTable('uia_sessions')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('body_hash', 'text')
    .addColumn('client_dict', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('completed', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('expires_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uia_sessions_expiry').on('uia_sessions').column('expires_ts').execute();

  await db.schema
    .createTable('registration_tokens')
    .addColumn('token', 'text', (c) => c.primaryKey())
    .addColumn('uses_allowed', 'integer')
    .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('completed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expiry_time', 'bigint')
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('registration_nonces')
    .addColumn('nonce', 'text', (c) => c.primaryKey())
    .addColumn('expires_ts', 'bigint', (c) => c.notNull())
    .execute();
}
