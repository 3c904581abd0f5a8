// One new event in a room wakes every member's long-poll, and each of those syncs asks for the
// same thing: the room's events in (from, to] — the members kept up, so their `from` is the same.
// The memo reads that once per (room, from, to, limit) and shares it, as a promise, so the
// concurrent syncs of one wake-up wait for the same read.
//
// Sharing is safe only for the newest visible position: what a room holds at or below it does
// not change any more, except redactions, and a redaction becomes visible at a later position.
// So entries are kept for one position only (all are dropped when a sync sees a newer one), and
// a sync whose batch ends earlier (to-device paging) reads for itself. What is shared is the raw
// read; each user's filters, ignores and history visibility are applied afterwards.
import type { StoredEvent } from '../rooms/event-reader.ts';

export interface RoomTimelineSlice {
  /** The newest `limit` events in (from, to], oldest first, before any per-user filtering. */
  readonly events: readonly StoredEvent[];
  /** More events than `limit` fell in the range. */
  readonly limited: boolean;
}

/** More distinct (room, from) reads than this at one position is not a wake-up fan-out. */
const MAX_ENTRIES = 2_000;

export type TimelineRead = (roomId: string, from: number, to: number, limit: number) => Promise<RoomTimelineSlice>;

export class TimelineMemo {
  private position = -1;
  private readonly entries = new Map<string, Promise<RoomTimelineSlice>>();
  /** The shared reads that have answered, by the same key: later syncs take them without a promise. */
  private readonly answered = new Map<string, RoomTimelineSlice>();

  constructor(private readonly read: TimelineRead) {}

  /**
   * The shared slice for (roomId, from, to, limit) if its read has already answered (what `get`
   * would resolve to), else undefined: the caller then uses `get`.
   */
  peek(roomId: string, from: number, to: number, limit: number, current: number): RoomTimelineSlice | undefined {
    if (to !== current || to !== this.position) return undefined;
    return this.answered.get(`${from}\u0000${limit}\u0000${roomId}`);
  }

  /**
   * The slice for (roomId, from, to, limit): shared when `to` is `current` (the newest visible
   * position when the sync started), read afresh otherwise or on a miss.
   */
  get(roomId: string, from: number, to: number, limit: number, current: number): Promise<RoomTimelineSlice> {
    if (to !== current || to < this.position) return this.read(roomId, from, to, limit);
    if (to > this.position) {
      this.entries.clear();
      this.answered.clear();
      this.position = to;
    }
    const key = `${from}\u0000${limit}\u0000${roomId}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    if (this.entries.size >= MAX_ENTRIES) {
      this.entries.clear();
      this.answered.clear();
    }
    const pending = this.read(roomId, from, to, limit);
    this.entries.set(key, pending);
    pending.then(
      (slice) => {
        // Still the entry of this position (not dropped for a newer one meanwhile).
        if (this.entries.get(key) === pending) this.answered.set(key, slice);
      },
      () => {
        // A failed read is not shared: the next sync tries again.
        if (this.entries.get(key) === pending) this.entries.delete(key);
      },
    );
    return pending;
  }
}
