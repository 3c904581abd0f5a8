// Full-text search index over room events (client-server "Server Side Search"). Created by
// migration 0050_search with engine-specific DDL:
// - SQLite: an FTS5 virtual table whose rowid is the event's `event_nid`;
// - PostgreSQL: a plain table keyed by `event_nid` with a GIN index on
//   to_tsvector('simple', value).
// All queries on it are written in src/storage/stores/search.ts, per engine.
// On SQLite a send does not index its event at once: it marks the row (`events.searchable`), and
// marked events above a watermark (server_meta "search_indexed_through") move into
// `event_search` in batches (migrations 0130 and 0160 say why; stores/search.ts does it).

export interface SearchTables {
  event_search: {
    event_id: string;
    room_id: string;
    /** The searched key: content.body, content.name or content.topic. */
    key: string;
    /** The text that is indexed. */
    value: string;
  };
}
