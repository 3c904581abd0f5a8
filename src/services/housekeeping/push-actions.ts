// Read push actions expire. Every message leaves one push action per notified member (in a
// room of a hundred, a hundred rows per message: the largest per-message cost of a big room's
// storage). They serve two things:
//   - the unread counters, which a read receipt lowers by the actions it newly covers. An action
//     at or before the user's read position for its thread is never counted again (see
//     ../push/unread-counts.ts), so deleting it changes no counter, now or later. Unread actions
//     are kept, however old, until a receipt covers them;
//   - /notifications, which lists recent notifications, read or not. Read ones stay listed for a
//     day, read highlights (mentions) for 30 days.
// Receipts only move forward, so an action found read stays read: a receipt written during a
// pass cannot make a deletion wrong.
import type { Logger } from 'pino';
import type { AgedPushAction, PushActionExpiryStore, PushActionKey } from '../../storage/stores/push-action-expiry.ts';
import { readPositionOf, type ReadPosition } from '../push/unread-counts.ts';
import { PeriodicJob, breathe } from './periodic-job.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
export const READ_ACTION_LIFETIME_MS = DAY_MS;
export const READ_HIGHLIGHT_LIFETIME_MS = 30 * DAY_MS;
const BATCH = 500;

export class PushActionExpiry extends PeriodicJob<{ deleted: number }> {
  constructor(private readonly deps: { store: PushActionExpiryStore; logger: Logger }) {
    super(deps.logger, 'push action expiry');
  }

  protected async pass(now: number): Promise<{ deleted: number }> {
    const actionsBefore = now - READ_ACTION_LIFETIME_MS;
    const highlightsBefore = now - READ_HIGHLIGHT_LIFETIME_MS;
    let deleted = 0;
    let after: PushActionKey | undefined;
    while (!this.stopped) {
      const batch = await this.deps.store.batchAfter(after, BATCH);
      // Oldest first: once a batch holds nothing older than a day, nothing after it is.
      const aged = batch.filter((a) => a.ts < actionsBefore && (a.highlight === 0 || a.ts < highlightsBefore));
      if (aged.length > 0) {
        const read = await this.readOnes(aged);
        await this.deps.store.delete(read);
        deleted += read.length;
      }
      if (batch.length < BATCH || !batch.some((a) => a.ts < actionsBefore)) break;
      const last = batch[batch.length - 1];
      after = { rid: last.rid };
      await breathe();
    }
    if (deleted > 0) this.logger.info({ deleted }, 'expired read push actions');
    return { deleted };
  }

  /** The actions among `aged` that their user has read (by the receipts that apply to their thread). */
  private async readOnes(aged: readonly AgedPushAction[]): Promise<PushActionKey[]> {
    const pairs = new Map<string, { user_id: string; room_id: string }>();
    for (const a of aged) pairs.set(`${a.user_id}\u0000${a.room_id}`, { user_id: a.user_id, room_id: a.room_id });
    const receipts = new Map<string, ReadPosition[]>();
    for (const r of await this.deps.store.readReceiptsOf([...pairs.values()])) {
      const key = `${r.user_id}\u0000${r.room_id}`;
      let list = receipts.get(key);
      if (!list) receipts.set(key, (list = []));
      list.push({ thread_id: r.thread_id, event_stream_pos: r.event_stream_pos });
    }
    const read: PushActionKey[] = [];
    for (const a of aged) {
      const reads = receipts.get(`${a.user_id}\u0000${a.room_id}`);
      if (reads && a.event_stream_pos <= readPositionOf(reads, a.thread_id)) read.push({ rid: a.rid });
    }
    return read;
  }
}
