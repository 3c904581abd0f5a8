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
// What a whole-room read may cost follows how many syncs asked: a room with thousands of members
// of whom two are online must not read thousands of rows per message. Each sync first reads its
// own row; when the number of syncs that asked for the room at this position reaches 2, 4, 8, …
// the room is read with a limit of ROWS_PER_ASK rows per asking sync. If the room has more rows,
// that read is dropped (its members keep reading their own rows) and the next doubling tries
// again, so the rows read in vain stay proportional to the syncs served.
import type { PushActionStore, UnreadCounts } from '../../storage/stores/push-actions.ts';

/** Rows a whole-room read may cost per sync that asked for the room. */
export const ROWS_PER_ASK = 64;
/** A room with more counter rows than this is never read whole. */
export const MAX_ROOM_ROWS = 5_000;
/** More rooms than this at one position is not a wake-up fan-out. */
const MAX_ROOMS = 2_000;

const NONE: readonly UnreadCounts[] = Object.freeze([]);

type RoomCounts = ReadonlyMap<string, readonly UnreadCounts[]>;

/** A whole-room read; `done` once it has answered, so later syncs need no promise. */
interface RoomRead {
  readonly pending: Promise<RoomCounts | null>;
  done: boolean;
  /** The answer once done; null when the room had more rows than the read's limit. */
  counts: RoomCounts | null;
}

interface RoomEntry {
  /** Syncs that asked for the room at this position. */
  asks: number;
  read: RoomRead | undefined;
}

export class UnreadCountsMemo {
  private position = -1;
  private readonly rooms = new Map<string, RoomEntry>();

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
    if (!entry) {
      if (this.rooms.size >= MAX_ROOMS) this.rooms.clear();
      this.rooms.set(roomId, (entry = { asks: 0, read: undefined }));
    }
    const read = entry.read;
    if (read && !read.done) return this.pick(read, userId, roomId);
    if (read?.counts) return read.counts.get(userId) ?? NONE;
    const asks = ++entry.asks;
    // 2, 4, 8, …: a (new) whole-room read with a limit that grew with the syncs served.
    if (asks >= 2 && (asks & (asks - 1)) === 0 && (asks / 2) * ROWS_PER_ASK < MAX_ROOM_ROWS) {
      entry.read = this.readRoom(roomId, entry, Math.min(asks * ROWS_PER_ASK, MAX_ROOM_ROWS));
      return this.pick(entry.read, userId, roomId);
    }
    return this.store.counts(userId, roomId);
  }

  private async pick(read: RoomRead, userId: string, roomId: string): Promise<readonly UnreadCounts[]> {
    const room = await read.pending;
    return room ? (room.get(userId) ?? NONE) : this.store.counts(userId, roomId);
  }

  private readRoom(roomId: string, entry: RoomEntry, limit: number): RoomRead {
    const pending = this.store.roomCounts(roomId, limit + 1).then((rows) => {
      read.counts = rows.length > limit ? null : byUser(rows);
      read.done = true;
      return read.counts;
    });
    const read: RoomRead = { pending, done: false, counts: null };
    // A failed read is not shared: the syncs waiting on it fail as their own lookup would have,
    // and the next one reads again.
    pending.catch(() => {
      if (entry.read === read) entry.read = undefined;
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
