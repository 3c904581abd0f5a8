// Push actions expire. Every message leaves one push action per notified member (in a room of a
// hundred, a hundred rows per message: the largest per-message cost of a big room's storage).
// Like Synapse, every action goes a day after its event, and a highlight (a mention) after 30
// days, whether its user has read it or not; until 2026-11-22 unread ones stayed forever, so a
// member who never reads kept a row per message for good. The actions serve two things:
//   - /notifications, which therefore lists the last day's notifications and the last 30 days'
//     mentions;
//   - the unread counters, which a read receipt lowers by the actions it newly covers
//     (../push/unread-counts.ts). An action at or before its user's read position for its thread
//     is never counted again, so deleting it changes nothing. An unread one is still counted: its
//     counts move to event_push_expired (per user, room and thread, with the newest position among
//     them), and the receipt that reaches that position takes them off the counter. A receipt that
//     stops inside an expired run takes nothing off until a later one passes its end, so the
//     counter errs high, never low, for such a partial read of day-old messages.
// Receipts only move forward, so an action found read stays read. Unread ones are moved under the
// unread counter's lock for their user and room, after reading that user's receipts again, so a
// receipt written meanwhile cannot count an action both ways.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../storage/schema/index.ts';
import type { AgedPushAction, ExpiredCounts, PushActionExpiryStore, PushActionKey } from '../../storage/stores/push-action-expiry.ts';
import { readPositionOf, type ReadPosition, type UnreadCounter } from '../push/unread-counts.ts';
import { PeriodicJob, breathe } from './periodic-job.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
export const ACTION_LIFETIME_MS = DAY_MS;
export const HIGHLIGHT_LIFETIME_MS = 30 * DAY_MS;
const BATCH = 500;

export interface PushActionExpiryResult {
  /** Actions deleted, read or not. */
  deleted: number;
  /** Of those, the ones still unread (their counts moved to event_push_expired). */
  unread: number;
}

type Receipts = Map<string, ReadPosition[]>;

const pairKey = (userId: string, roomId: string) => `${userId}\u0000${roomId}`;

export class PushActionExpiry extends PeriodicJob<PushActionExpiryResult> {
  constructor(
    private readonly deps: {
      db: Kysely<DB>;
      store: PushActionExpiryStore;
      counters: Pick<UnreadCounter, 'exclusive'>;
      logger: Logger;
    },
  ) {
    super(deps.logger, 'push action expiry');
  }

  protected async pass(now: number): Promise<PushActionExpiryResult> {
    const actionsBefore = now - ACTION_LIFETIME_MS;
    const highlightsBefore = now - HIGHLIGHT_LIFETIME_MS;
    const result: PushActionExpiryResult = { deleted: 0, unread: 0 };
    let after: PushActionKey | undefined;
    while (!this.stopped) {
      const batch = await this.deps.store.batchAfter(after, BATCH);
      // Oldest first: once a batch holds nothing older than a day, nothing after it is.
      const aged = batch.filter((a) => a.ts < actionsBefore && (a.highlight === 0 || a.ts < highlightsBefore));
      if (aged.length > 0) {
        const receipts = await this.receiptsOf(aged);
        const read: AgedPushAction[] = [];
        const unread: AgedPushAction[] = [];
        for (const a of aged) (isRead(a, receipts) ? read : unread).push(a);
        await this.deps.store.delete(read);
        result.deleted += read.length;
        if (unread.length > 0) {
          result.unread += await this.expireUnread(unread);
          result.deleted += unread.length;
        }
      }
      if (batch.length < BATCH || !batch.some((a) => a.ts < actionsBefore)) break;
      const last = batch[batch.length - 1];
      after = { rid: last.rid };
      await breathe();
    }
    if (result.deleted > 0) this.logger.info(result, 'expired push actions');
    return result;
  }

  /**
   * Deletes aged actions that were unread when the batch was read, in one transaction, and adds
   * those still unread now to event_push_expired. Returns how many were still unread.
   */
  private expireUnread(actions: readonly AgedPushAction[]): Promise<number> {
    return this.deps.counters.exclusive(actions, () =>
      this.deps.db.transaction().execute(async (trx) => {
        const receipts = await this.receiptsOf(actions, trx);
        const expired = new Map<string, ExpiredCounts>();
        let unread = 0;
        for (const a of actions) {
          if (isRead(a, receipts)) continue;
          unread++;
          const key = `${pairKey(a.user_id, a.room_id)}\u0000${a.thread_id}`;
          let e = expired.get(key);
          if (!e) expired.set(key, (e = { user_id: a.user_id, room_id: a.room_id, thread_id: a.thread_id, notifications: 0, highlights: 0, through_pos: 0 }));
          e.notifications += a.notify;
          e.highlights += a.highlight;
          e.through_pos = Math.max(e.through_pos, a.event_stream_pos);
        }
        await this.deps.store.delete(actions, trx);
        await this.deps.store.addExpired([...expired.values()], trx);
        return unread;
      }),
    );
  }

  /** The read receipts of the (user, room) pairs of `actions`. */
  private async receiptsOf(actions: readonly AgedPushAction[], trx?: Kysely<DB>): Promise<Receipts> {
    const pairs = new Map<string, { user_id: string; room_id: string }>();
    for (const a of actions) pairs.set(pairKey(a.user_id, a.room_id), { user_id: a.user_id, room_id: a.room_id });
    const receipts: Receipts = new Map();
    for (const r of await this.deps.store.readReceiptsOf([...pairs.values()], trx)) {
      const key = pairKey(r.user_id, r.room_id);
      let list = receipts.get(key);
      if (!list) receipts.set(key, (list = []));
      list.push({ thread_id: r.thread_id, event_stream_pos: r.event_stream_pos });
    }
    return receipts;
  }
}

/** Whether the action's user has read it, by the receipts that apply to its thread. */
function isRead(a: AgedPushAction, receipts: Receipts): boolean {
  const reads = receipts.get(pairKey(a.user_id, a.room_id));
  return reads !== undefined && a.event_stream_pos <= readPositionOf(reads, a.thread_id);
}
