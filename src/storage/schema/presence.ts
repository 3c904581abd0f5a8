export interface PresenceTables {
  presence: {
    user_id: string;
    /** online | unavailable | offline */
    state: string;
    status_msg: string | null;
    last_active_ts: number;
    stream_pos: number;
  };
}
