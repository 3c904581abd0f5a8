import type { Generated } from 'kysely';

export interface AccountDataTables {
  /** Global (room_id = '') and per-room account data; the latest value per type only. */
  account_data: {
    user_id: string;
    room_id: string;
    type: string;
    content: string;
    stream_pos: number;
  };
  /** Filters uploaded with POST /user/{userId}/filter. */
  user_filters: {
    filter_nid: Generated<number>;
    user_id: string;
    filter_json: string;
  };
}
