export interface PushActionTables {
  /**
   * Push rule outcomes computed when an event is written, one row per notified local user: the
   * source of /notifications and of the unread counters below. Keyed by `rid`, the event's
   * stream position × 2^20 + the row's number among the event's rows, so one event's rows are
   * adjacent and appended at the end of the table (migrations 0120, 0170). The position is
   * rid / 2^20; the event ID, room and timestamp come from `events` by stream position.
   */
  event_push_actions: {
    rid: number;
    user_id: string;
    /** Thread root for threaded events; '' for the main timeline. */
    thread_id: string;
    notify: number;
    highlight: number;
    /** The matched rule's actions as JSON; NULL for the common `["notify"]`. */
    actions: string | null;
  };
  /**
   * Unread counts per user, room and thread ('' = main timeline): the push actions after the
   * user's read receipt that applies to the thread. Kept up to date by the event's and the
   * receipt's transactions; rows at zero are deleted.
   */
  event_push_counts: {
    room_id: string;
    user_id: string;
    thread_id: string;
    notifications: number;
    highlights: number;
  };
  /**
   * Push actions that expired while unread, added up per user, room and thread (migration 0180).
   * The counters above still count them; the first receipt of the thread at or past
   * `through_pos` (the newest of their positions) takes them off the counters and deletes the row.
   */
  event_push_expired: {
    room_id: string;
    user_id: string;
    thread_id: string;
    notifications: number;
    highlights: number;
    through_pos: number;
  };
}
