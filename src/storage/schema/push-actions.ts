export interface PushActionTables {
  /** Push rule outcomes computed when an event is written: the source of unread counts and /notifications. */
  event_push_actions: {
    user_id: string;
    room_id: string;
    event_id: string;
    event_stream_pos: number;
    /** Thread root for threaded events; '' for the main timeline. */
    thread_id: string;
    notify: number;
    highlight: number;
    /** The matched rule's actions, as JSON (served by /notifications). */
    actions: string;
    ts: number;
  };
}
