// Unread push actions expire too (services/housekeeping/push-actions.ts). Until now only read
// ones did, so a member who never reads a room kept one row per message there forever: in a room
// of 500, ~18 KB per message for its silent members. Now every action goes a day after its
// event (a highlight after 30 days), read or not, as Synapse does.
//
// The unread counters must not change when an unread action goes: a receipt lowers them by the
// actions it newly covers, and a deleted action can no longer be found. So what expires unread is
// added up here, per user, room and thread, with the newest position it reaches. The counter
// keeps counting it; the first receipt of that thread at or past `through_pos` takes it off the
// counter and deletes the row (services/push/unread-counts.ts). Nothing to move: a new table.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  const withoutRowid = engine === 'sqlite' ? sql` WITHOUT ROWID` : sql``;
  await sql`CREATE TABLE event_push_expired (
    room_id text NOT NULL,
    user_id text NOT NULL,
    thread_id text NOT NULL,
    notifications integer NOT NULL,
    highlights integer NOT NULL,
    through_pos bigint NOT NULL,
    CONSTRAINT event_push_expired_pk PRIMARY KEY (room_id, user_id, thread_id)
  )${withoutRowid}`.execute(db);
}
