// Keeps the unread counters (event_push_counts) in step with read receipts. The counters hold,
// per user, room and thread, the push actions after the read receipt that applies to that
// thread (client-server spec "Receiving notifications" and "Threaded read receipts"):
//   - an unthreaded receipt covers every thread up to its event;
//   - a threaded receipt ("main" for the main timeline, else a thread root) covers its own
//     thread, and matters only where it is further along than the unthreaded one;
//   - public (m.read) and private (m.read.private) receipts count alike.
// The event's transaction raises the counters (PushEvaluator); the receipt's transaction lowers
// them by the actions the receipt newly covers, and by what expired unread up to it
// (event_push_expired, migration 0180). Both are relative updates: on PostgreSQL an event
// and a receipt committing at the same moment cannot overwrite each other's change, and a
// receipt only ever covers events already committed (it points at a written event, and a room's
// events are written in position order). Receipts of one user in one room are serialised here,
// since each computes its change from the receipts before it. A receipt's transaction that
// PostgreSQL aborts on a deadlock with a message group commit is retried (see `isDeadlock`; an
// aborted group commit is retried by the room writer, one event at a time).
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import { isDeadlock, type PushActionStore, type UnreadCounts } from '../../storage/stores/push-actions.ts';
import type { ReceiptRow, ReceiptStore } from '../../storage/stores/receipts.ts';
import type { ReceiptWriteHook } from '../ephemeral/receipts.ts';
import { KeyedQueue } from '../../util/keyed-queue.ts';

export interface ReadPosition {
  /** '' for an unthreaded receipt, 'main' or a thread root for a threaded one. */
  thread_id: string;
  event_stream_pos: number;
}

/**
 * Up to which stream position the actions of a thread ('' = main timeline) are read, given the
 * user's read receipts in the room. Actions after this position are unread.
 */
export function readPositionOf(reads: readonly ReadPosition[], threadId: string): number {
  const key = threadId === '' ? 'main' : threadId;
  let pos = 0;
  for (const r of reads) if ((r.thread_id === '' || r.thread_id === key) && r.event_stream_pos > pos) pos = r.event_stream_pos;
  return pos;
}

/**
 * How a new receipt lowers the counters: the actions (in `actions`, a superset) that were
 * unread under `before` and are read once `receipt` is added, summed per thread.
 */
export function newlyRead(
  before: readonly ReadPosition[],
  receipt: ReadPosition,
  actions: ReadonlyArray<{ event_stream_pos: number; thread_id: string; notify: number; highlight: number }>,
): UnreadCounts[] {
  const after = [...before, receipt];
  const bounds = new Map<string, [number, number]>();
  const out = new Map<string, UnreadCounts>();
  for (const a of actions) {
    let b = bounds.get(a.thread_id);
    if (!b) bounds.set(a.thread_id, (b = [readPositionOf(before, a.thread_id), readPositionOf(after, a.thread_id)]));
    if (a.event_stream_pos <= b[0] || a.event_stream_pos > b[1]) continue;
    const c = out.get(a.thread_id) ?? { thread_id: a.thread_id, notifications: 0, highlights: 0 };
    c.notifications += a.notify;
    c.highlights += a.highlight;
    out.set(a.thread_id, c);
  }
  return [...out.values()].filter((c) => c.notifications > 0 || c.highlights > 0);
}

/** The stream positions a receipt can newly cover: (from, to]. Empty when from >= to. */
function coveredRange(before: readonly ReadPosition[], receipt: ReadPosition): [number, number] {
  if (receipt.thread_id === '') {
    // Every thread's read position rises to at most the receipt; the lowest it starts from is
    // the old unthreaded position.
    return [readPositionOf(before.filter((r) => r.thread_id === ''), ''), receipt.event_stream_pos];
  }
  const threadId = receipt.thread_id === 'main' ? '' : receipt.thread_id;
  return [readPositionOf(before, threadId), receipt.event_stream_pos];
}

const MAX_ATTEMPTS = 3;

const keyOf = (userId: string, roomId: string) => `${userId}\u0000${roomId}`;

async function retryingDeadlocks<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isDeadlock(err)) throw err;
    }
  }
}

export class UnreadCounter implements ReceiptWriteHook {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly deps: {
      db: Kysely<DB>;
      actions: Pick<PushActionStore, 'actionsBetween' | 'subtractCounts' | 'takeExpiredCoveredBy'>;
      receipts: Pick<ReceiptStore, 'readUpTo'>;
    },
  ) {}

  write(row: ReceiptRow, upsert: (trx: Kysely<DB>) => Promise<boolean>): Promise<boolean> {
    return this.queue.run(keyOf(row.user_id, row.room_id), () => retryingDeadlocks(() => this.writeOnce(row, upsert)));
  }

  /**
   * Runs `work` while no receipt of these users in these rooms is being written (and retries it
   * when PostgreSQL aborts it on a deadlock): the push action expiry moves unread actions into
   * event_push_expired under this, so a receipt never counts an action both ways. Only the
   * expiry takes several pairs at once, one pass at a time (KeyedQueue.runAll).
   */
  exclusive<T>(pairs: ReadonlyArray<{ user_id: string; room_id: string }>, work: () => Promise<T>): Promise<T> {
    return this.queue.runAll(
      pairs.map((p) => keyOf(p.user_id, p.room_id)),
      () => retryingDeadlocks(work),
    );
  }

  private writeOnce(row: ReceiptRow, upsert: (trx: Kysely<DB>) => Promise<boolean>): Promise<boolean> {
    const { user_id: userId, room_id: roomId } = row;
    return this.deps.db.transaction().execute(async (trx) => {
      const before = await this.deps.receipts.readUpTo(userId, roomId, trx);
      const stored = await upsert(trx);
      if (!stored || (row.receipt_type !== 'm.read' && row.receipt_type !== 'm.read.private')) return stored;
      const receipt = { thread_id: row.thread_id, event_stream_pos: Number(row.event_stream_pos) };
      const [from, to] = coveredRange(before, receipt);
      if (from >= to) return stored;
      const actions = await this.deps.actions.actionsBetween(userId, roomId, from, to, trx);
      // Actions that expired unread (housekeeping/push-actions.ts) are gone from the table but
      // still counted: they come off the counters once a receipt reaches the newest of them.
      const threadId = receipt.thread_id === '' ? undefined : receipt.thread_id === 'main' ? '' : receipt.thread_id;
      const expired = await this.deps.actions.takeExpiredCoveredBy(userId, roomId, threadId, to, trx);
      await this.deps.actions.subtractCounts(userId, roomId, [...newlyRead(before, receipt, actions), ...expired], trx);
      return stored;
    });
  }
}
