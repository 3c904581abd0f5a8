// Rooms, events and state. Event JSON is stored once, as text, in `events`; everything else
// refers to events by integer nid. See ../../services/rooms/README.md for the invariants.
import type { Generated } from 'kysely';

export interface RoomTables {
  rooms: {
    room_id: string;
    room_version: string;
    creator: string;
    /** 1 when listed in the public room directory. */
    is_public: number;
    created_ts: number;
  };
  events: {
    event_nid: Generated<number>;
    event_id: string;
    room_id: string;
    type: string;
    state_key: string | null;
    sender: string;
    origin_server_ts: number;
    depth: number;
    /** Global stream position; null for outliers and rejected events, which are never served. */
    stream_pos: number | null;
    /** The full PDU as JSON text (canonical key order not required). */
    json: string;
    /** State snapshot after this event (= before it, for non-state events). */
    state_snapshot_nid: number | null;
    outlier: number;
    /** Reason the event was rejected by the auth rules; null if accepted. */
    rejected: string | null;
    soft_failed: number;
    /** Event ID of the redaction that redacted this event, if any. */
    redacted_by: string | null;
    /** m.relates_to of the event, for /relations and threads. */
    relates_to: string | null;
    rel_type: string | null;
    /** Thread root for events in a thread (m.thread), for per-thread receipts and counts. */
    thread_id: string | null;
    /** Client transaction (device + txn ID) of a local send, for unsigned.transaction_id. */
    txn_id: string | null;
    txn_device_id: string | null;
    /**
     * SQLite only (migration 0160): 1 when the event's text belongs in the search index. Set by
     * the send's transaction; the event reaches `event_search` at the next flush, once its nid
     * is above the watermark (stores/search.ts). Always null on PostgreSQL, which indexes at
     * once, and for events older than the migration.
     */
    searchable: number | null;
  };
  event_edges: {
    event_nid: number;
    prev_event_id: string;
  };
  state_keys: {
    state_key_nid: Generated<number>;
    type: string;
    state_key: string;
  };
  state_snapshots: {
    snapshot_nid: Generated<number>;
    room_id: string;
    /** Delta parent; null for a full snapshot. */
    parent_nid: number | null;
    /** Number of deltas between this snapshot and its full ancestor (0 = full). */
    chain_length: number;
    /** sha256 of the full resolved state, so identical snapshots are stored once. */
    state_hash: string;
  };
  state_snapshot_entries: {
    snapshot_nid: number;
    state_key_nid: number;
    /** null in a delta means the key was removed relative to the parent. */
    event_nid: number | null;
  };
  room_current_state: {
    room_id: string;
    type: string;
    state_key: string;
    event_nid: number;
    event_id: string;
    /** For m.room.member: the membership, so "rooms of user X" is one index lookup. */
    membership: string | null;
    stream_pos: number;
  };
  room_forward_extremities: {
    room_id: string;
    event_id: string;
  };
  /** Per-device transaction IDs of client sends (idempotency). */
  event_txns: {
    user_id: string;
    device_id: string;
    txn_id: string;
    event_id: string;
    room_id: string;
    created_ts: number;
  };
  /** Rooms a user has forgotten (left, then /forget). */
  room_forgotten: {
    user_id: string;
    room_id: string;
  };
}
