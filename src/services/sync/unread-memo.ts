// One event in a room wakes every member's long-poll, and each of those syncs then asks for its
// own unread counters in that room: a hundred lookups of the same table for one event. The memo
// answers them from one read of the whole room's counters, shared by the syncs of one wake-up.
//
// Why this is safe without invalidation hooks: the counters change only in the transactions of
// events (push actions, ../push/push-evaluator.ts) and of read receipts (../push/unread-counts.ts),
// and each of those holds a stream position that becomes visible only after its commit. So,
// as in timeline-memo.ts, entries belong to one position: the newest visible one when the sync
// started. A sync at a newer position drops them all; a sync whose batch ends earlier (to-device
// paging) or that started before the newest position reads for itself. A shared read may
// include counters of a position committed but not visible yet — exactly what each sync's own
// lookup would have returned at that moment.
//
// A lone sync (one member online) would pay a whole-room read for one user's row, so the room is
// read only when a second sync asks at the same position; the first asks for its own row. A room
// with more counter rows than MAX_ROOM_ROWS is not shared (its members look up their own rows).
import type { PushActionStore, UnreadCounts } from '../../storage/stores/push-actions.ts';

/** Above this many counter rows (members with unread events) a room is not read whole. */
export const MAX_ROOM_ROWS = 5_000;
/** More rooms than this at one position is not a wake-up fan-out. */
const MAX_ROOMS = 2_000;

const NONE: readonly UnreadCounts[] = Object.freeze([]);
/** The room was asked for once at this position (by a sync that read its own row). */
const ASKED_ONCE = 1;

type RoomCounts = ReadonlyMap<string, readonly UnreadCounts[]>;

/** A shared read of a room; `done` once it has answered, so later syncs need no promise. */
interface RoomRead {
  readonly pending: Promise<RoomCounts | null>;
  done: boolean;
  /** The answer once done (null: too many rows, not shared). */
  counts: RoomCounts | null;
}

export class UnreadCountsMemo {
  private position = -1;
  /** Per room: asked once, or the shared read. */
  private readonly rooms = new Map<string, typeof ASKED_ONCE | RoomRead>();

  constructor(private readonly store: Pick<PushActionStore, 'counts' | 'roomCounts'>) {}

  /**
   * The user's counters in the room, per thread. `to` is the end of the sync's batch, `current`
   * the newest visible position when the sync started; only `to === current` shares reads.
   */
  counts(userId: string, roomId: string, to: number, current: number): Promise<readonly UnreadCounts[]> | readonly UnreadCounts[] {
    if (to !== current || to < this.position) return this.store.counts(userId, roomId);
    if (to > this.position) {
      this.rooms.clear();
      this.position = to;
    }
    let entry = this.rooms.get(roomId);
    if (entry === undefined) {
      if (this.rooms.size >= MAX_ROOMS) this.rooms.clear();
      this.rooms.set(roomId, ASKED_ONCE);
      return this.store.counts(userId, roomId);
    }
    if (entry === ASKED_ONCE) {
      entry = this.readRoom(roomId);
      this.rooms.set(roomId, entry);
    }
    if (!entry.done) return this.pick(entry, userId, roomId);
    return entry.counts ? (entry.counts.get(userId) ?? NONE) : this.store.counts(userId, roomId);
  }

  private async pick(entry: RoomRead, userId: string, roomId: string): Promise<readonly UnreadCounts[]> {
    const room = await entry.pending;
    return room ? (room.get(userId) ?? NONE) : this.store.counts(userId, roomId);
  }

  private readRoom(roomId: string): RoomRead {
    const pending = this.store.roomCounts(roomId, MAX_ROOM_ROWS + 1).then((rows) => {
      read.counts = rows.length > MAX_ROOM_ROWS ? null : byUser(rows);
      read.done = true;
      return read.counts;
    });
    const read: RoomRead = { pending, done: false, counts: null };
    // A failed read is not shared: the syncs waiting on it fail as their own lookup would have,
    // and the next one reads again.
    pending.catch(() => {
      if (this.rooms.get(roomId) === read) this.rooms.delete(roomId);
    });
    return read;
  }
}

function byUser(rows: ReadonlyArray<UnreadCounts & { user_id: string }>): RoomCounts {
  const out = new Map<string, UnreadCounts[]>();
  for (const r of rows) {
    const counts = { thread_id: r.thread_id, notifications: r.notifications, highlights: r.highlights };
    const list = out.get(r.user_id);
    if (list) list.push(counts);
    else out.set(r.user_id, [counts]);
  }
  return out;
}
