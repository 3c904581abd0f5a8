// Push actions keyed by stream position, and unread counters.
//
// Until now a message's push actions were keyed (user, room, position): the rows of one message
// went to one page per notified member (9 pages in a 10-member room, 99 in a 100-member room),
// and at commit every dirty page costs. Keyed (position, user), the rows of one message are
// adjacent and appended at the end of the table: O(1) pages. The row also sheds what can be
// derived: event ID, room and timestamp come from `events` by stream position (index
// events_room_stream for a room, events_stream for one position), and the actions are NULL when
// they are the default `["notify"]`.
//
// Unread counts no longer count actions since the last receipt on every /sync: they are kept in
// `event_push_counts` (room, user, thread), incremented in the event's transaction and
// decremented in the receipt's. Existing data: the counters are computed here from the existing
// actions and read receipts, with the rule the sync provider applied so far (an action counts
// when it is after both the unthreaded receipt and the receipt of its own thread, "main" for
// the main timeline).
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  const withoutRowid = engine === 'sqlite' ? sql` WITHOUT ROWID` : sql``;

  await sql`CREATE TABLE event_push_counts (
    room_id text NOT NULL,
    user_id text NOT NULL,
    thread_id text NOT NULL,
    notifications integer NOT NULL,
    highlights integer NOT NULL,
    CONSTRAINT event_push_counts_pk PRIMARY KEY (room_id, user_id, thread_id)
  )${withoutRowid}`.execute(db);
  await sql`INSERT INTO event_push_counts (room_id, user_id, thread_id, notifications, highlights)
    SELECT a.room_id, a.user_id, a.thread_id, sum(a.notify), sum(a.highlight)
    FROM event_push_actions a
    WHERE a.event_stream_pos > coalesce((
      SELECT max(r.event_stream_pos) FROM receipts r
      WHERE r.room_id = a.room_id AND r.user_id = a.user_id AND r.receipt_type IN ('m.read', 'm.read.private')
        AND (r.thread_id = '' OR r.thread_id = CASE WHEN a.thread_id = '' THEN 'main' ELSE a.thread_id END)
    ), 0)
    GROUP BY a.room_id, a.user_id, a.thread_id
    HAVING sum(a.notify) > 0 OR sum(a.highlight) > 0`.execute(db);

  await sql`CREATE TABLE event_push_actions_by_pos (
    event_stream_pos bigint NOT NULL,
    user_id text NOT NULL,
    thread_id text NOT NULL,
    notify integer NOT NULL,
    highlight integer NOT NULL,
    actions text,
    CONSTRAINT event_push_actions_by_pos_pk PRIMARY KEY (event_stream_pos, user_id)
  )${withoutRowid}`.execute(db);
  await sql`INSERT INTO event_push_actions_by_pos (event_stream_pos, user_id, thread_id, notify, highlight, actions)
    SELECT event_stream_pos, user_id, thread_id, notify, highlight, CASE WHEN actions = '["notify"]' THEN NULL ELSE actions END
    FROM event_push_actions ORDER BY event_stream_pos, user_id`.execute(db);
  await sql`DROP TABLE event_push_actions`.execute(db);
  await sql`ALTER TABLE event_push_actions_by_pos RENAME TO event_push_actions`.execute(db);
}
