// Full-text search index over room events (client-server "Server Side Search"). Created by
// migration 0050_search with engine-specific DDL:
// - SQLite: an FTS5 virtual table whose rowid is the event's `event_nid`;
// - PostgreSQL: a plain table keyed by `event_nid` with a GIN index on
//   to_tsvector('simple', value).
// All queries on it are written in src/storage/stores/search.ts, per engine.
// `event_search_pending` (migration 0130_send_path_tables): rows staged by sends on SQLite, moved into
// `event_search` in batches (see that migration for why).

export interface SearchTables {
  event_search: {
    event_id: string;
    room_id: string;
    /** The searched key: content.body, content.name or content.topic. */
    key: string;
    /** The text that is indexed. */
    value: string;
  };
  event_search_pending: {
    event_nid: number;
    key: string;
    value: string;
  };
}
