import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { addAutoIdColumn } from '../dialect.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('rooms')
    .addColumn('room_id', 'text', (c) => c.primaryKey())
    .addColumn('room_version', 'text', (c) => c.notNull())
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();

  await addAutoIdColumn(db.schema.createTable('events'), engine, 'event_nid')
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state_key', 'text')
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('origin_server_ts', 'bigint', (c) => c.notNull())
    .addColumn('depth', 'bigint', (c) => c.notNull())
    .addColumn('stream_pos', 'bigint')
    .addColumn('json', 'text', (c) => c.notNull())
    .addColumn('state_snapshot_nid', 'bigint')
    .addColumn('outlier', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rejected', 'text')
    .addColumn('soft_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('redacted_by', 'text')
    .addColumn('relates_to', 'text')
    .addColumn('rel_type', 'text')
    .addColumn('thread_id', 'text')
    .addColumn('txn_id', 'text')
    .addColumn('txn_device_id', 'text')
    .execute();
  await db.schema.createIndex('events_room_stream').on('events').columns(['room_id', 'stream_pos']).execute();
  await db.schema.createIndex('events_stream').on('events').column('stream_pos').execute();
  // Partial: most events relate to nothing, and an index entry per message costs every send.
  await db.schema.createIndex('events_relates').on('events').columns(['relates_to', 'rel_type']).where('relates_to', 'is not', null).execute();
  await db.schema.createIndex('events_thread').on('events').columns(['room_id', 'thread_id']).where('thread_id', 'is not', null).execute();
  await db.schema.createIndex('events_room_ts').on('events').columns(['room_id', 'origin_server_ts']).execute();

  await db.schema
    .createTable('event_edges')
    .addColumn('event_nid', 'bigint', (c) => c.notNull())
    .addColumn('prev_event_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_edges_pk', ['event_nid', 'prev_event_id'])
    .execute();
  await db.schema.createIndex('event_edges_prev').on('event_edges').column('prev_event_id').execute();

  await addAutoIdColumn(db.schema.createTable('state_keys'), engine, 'state_key_nid')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state_key', 'text', (c) => c.notNull())
    .addUniqueConstraint('state_keys_unique', ['type', 'state_key'])
    .execute();

  await addAutoIdColumn(db.schema.createTable('state_snapshots'), engine, 'snapshot_nid')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('parent_nid', 'bigint')
    .addColumn('chain_length', 'integer', (c) => c.notNull())
    .addColumn('state_hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('state_snapshots_hash').on('state_snapshots').columns(['room_id', 'state_hash']).execute();

  await db.schema
    .createTable('state_snapshot_entries')
    .addColumn('snapshot_nid', 'bigint', (c) => c.notNull())
    .addColumn('state_key_nid', 'bigint', (c) => c.notNull())
    .addColumn('event_nid', 'bigint')
    .addPrimaryKeyConstraint('state_snapshot_entries_pk', ['snapshot_nid', 'state_key_nid'])
    .execute();

  await db.schema
    .createTable('room_current_state')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state_key', 'text', (c) => c.notNull())
    .addColumn('event_nid', 'bigint', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('membership', 'text')
    .addColumn('stream_pos', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_current_state_pk', ['room_id', 'type', 'state_key'])
    .execute();
  await db.schema.createIndex('room_current_state_member').on('room_current_state').columns(['state_key', 'type']).execute();

  await db.schema
    .createTable('room_forward_extremities')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_forward_extremities_pk', ['room_id', 'event_id'])
    .execute();

  await db.schema
    .createTable('event_txns')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('txn_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_txns_pk', ['user_id', 'device_id', 'txn_id'])
    .execute();

  await db.schema
    .createTable('room_forgotten')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_forgotten_pk', ['user_id', 'room_id'])
    .execute();
}
