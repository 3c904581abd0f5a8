// Push actions: one B-tree per row instead of three. Every message writes a row per notified
// member, and on SQLite a rowid table with a primary-key index and a second index put each row
// into three trees, on three different pages per member: at commit those pages dominated the
// write (measured: a message in a 10-member room spent more on its push-action pages than on
// the event itself). Keyed by (user, room, position), the table serves the unread counts of
// /sync directly; /notifications reads a user's rows through the same key's user prefix.
// PostgreSQL keeps its heap and primary key, and loses the redundant second index.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  if (engine === 'postgres') {
    await db.schema.dropIndex('event_push_actions_user_stream').ifExists().execute();
    return;
  }
  await sql`CREATE TABLE event_push_actions_by_user (
    user_id text NOT NULL,
    room_id text NOT NULL,
    event_stream_pos bigint NOT NULL,
    event_id text NOT NULL,
    thread_id text NOT NULL,
    notify integer NOT NULL,
    highlight integer NOT NULL,
    actions text NOT NULL,
    ts bigint NOT NULL,
    PRIMARY KEY (user_id, room_id, event_stream_pos)
  ) WITHOUT ROWID`.execute(db);
  await sql`INSERT INTO event_push_actions_by_user (user_id, room_id, event_stream_pos, event_id, thread_id, notify, highlight, actions, ts)
    SELECT user_id, room_id, event_stream_pos, event_id, thread_id, notify, highlight, actions, ts FROM event_push_actions`.execute(db);
  await sql`DROP TABLE event_push_actions`.execute(db);
  await sql`ALTER TABLE event_push_actions_by_user RENAME TO event_push_actions`.execute(db);
}
