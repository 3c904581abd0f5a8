// Shapes of the /sync response and the provider interface every stream implements (DESIGN §5).
import type { ClientEvent } from '../rooms/client-event.ts';

export interface JoinedRoomSync {
  summary?: Record<string, unknown>;
  state: { events: ClientEvent[] };
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch?: string };
  ephemeral: { events: Array<Record<string, unknown>> };
  account_data: { events: Array<Record<string, unknown>> };
  unread_notifications?: { notification_count: number; highlight_count: number };
  unread_thread_notifications?: Record<string, { notification_count: number; highlight_count: number }>;
}

export interface LeftRoomSync {
  state: { events: ClientEvent[] };
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch?: string };
  account_data: { events: Array<Record<string, unknown>> };
}

export interface SyncResponse {
  next_batch: string;
  rooms: {
    join: Record<string, JoinedRoomSync>;
    invite: Record<string, { invite_state: { events: Array<Record<string, unknown>> } }>;
    leave: Record<string, LeftRoomSync>;
    knock: Record<string, { knock_state: { events: Array<Record<string, unknown>> } }>;
  };
  presence: { events: Array<Record<string, unknown>> };
  account_data: { events: Array<Record<string, unknown>> };
  to_device: { events: Array<Record<string, unknown>> };
  device_lists: { changed: string[]; left: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types?: string[];
}

export interface SyncContext {
  userId: string;
  deviceId: string;
  /** Rooms the user is joined to now. */
  joinedRoomIds: readonly string[];
  /** The user's current membership in every room they have one in (read once per sync). */
  memberships: ReadonlyArray<{ room_id: string; membership: string; event_id: string; stream_pos: number }>;
  /** The parsed filter (see core/filter.ts); providers read the parts that concern them. */
  filter: SyncFilter;
  fullState: boolean;
  /** The newest visible position when the sync started building (the batch may end earlier). */
  current: number;
  /** Returns the joined room's section, creating an empty one if the room had no other update. */
  joinedRoom(roomId: string): JoinedRoomSync;
}

/** The subset of the filter sync itself applies; providers may look at the raw filter. */
export interface SyncFilter {
  timelineLimit: number;
  lazyLoadMembers: boolean;
  includeLeave: boolean;
  /** Returns false for events the filter excludes from the timeline. */
  timelineAllows(ev: { type: string; sender: string; room_id: string; content: Record<string, unknown> }): boolean;
  stateAllows(ev: { type: string; sender: string; room_id: string; content: Record<string, unknown> }): boolean;
  roomAllowed(roomId: string): boolean;
  raw: Record<string, unknown>;
}

/**
 * A stream's contribution to /sync. `from` is null for an initial sync. Providers write into
 * `response` (top-level sections, or rooms via ctx.joinedRoom) and must only include data with
 * stream positions in (from, to]. A provider with nothing to add may return without a promise:
 * a woken sync asks every provider, and most have nothing (a promise each is garbage).
 */
export interface SyncProvider {
  readonly name: string;
  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | void;
  /**
   * For streams that page (to-device: at most 100 per response): the position the batch must end
   * at, ≤ `to`, so that nothing after what this response carries is skipped. Asked before any
   * provider contributes; the batch then ends at the lowest answer.
   */
  limitBatch?(ctx: SyncContext, from: number | null, to: number): Promise<number> | number;
}

export function emptyJoinedRoom(): JoinedRoomSync {
  return {
    state: { events: [] },
    timeline: { events: [], limited: false },
    ephemeral: { events: [] },
    account_data: { events: [] },
  };
}

/** True if the joined-room section carries anything worth sending. */
export function joinedRoomHasData(r: JoinedRoomSync): boolean {
  return r.state.events.length > 0 || r.timeline.events.length > 0 || r.ephemeral.events.length > 0 || r.account_data.events.length > 0 || !!r.unread_notifications;
}
