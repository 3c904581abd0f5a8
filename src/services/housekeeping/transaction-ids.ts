// Client transaction IDs expire. A transaction ID makes a retried PUT (/send, /state with a
// txn, /sendToDevice) idempotent: the retry gets the first answer instead of a second event or
// message. Clients retry within seconds or minutes, so a day is ample; Synapse forgets them
// after a day too. Kept forever, they were the fifth-largest part of a message's storage
// (~150 bytes per message on SQLite). The event row keeps its own transaction ID, so the
// sender's device still sees `unsigned.transaction_id` on old events.
import type { Logger } from 'pino';
import { PeriodicJob, breathe } from './periodic-job.ts';
import type { TransactionIdKey, TransactionIdStore, TransactionIdTable } from '../../storage/stores/transaction-ids.ts';

export const TRANSACTION_ID_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Rows looked at per batch; each batch is one short transaction, then the event loop breathes. */
const BATCH = 500;

export interface TransactionIdExpiryResult {
  events: number;
  toDevice: number;
}

export class TransactionIdExpiry extends PeriodicJob<TransactionIdExpiryResult> {
  constructor(
    private readonly deps: {
      store: TransactionIdStore;
      logger: Logger;
      lifetimeMs?: number;
    },
  ) {
    super(deps.logger, 'transaction ID expiry');
  }

  protected async pass(now: number): Promise<TransactionIdExpiryResult> {
    const before = now - (this.deps.lifetimeMs ?? TRANSACTION_ID_LIFETIME_MS);
    const events = await this.expire('event_txns', before);
    const toDevice = await this.expire('to_device_txns', before);
    if (events + toDevice > 0) this.logger.info({ events, toDevice }, 'expired old transaction IDs');
    return { events, toDevice };
  }

  private async expire(table: TransactionIdTable, beforeTs: number): Promise<number> {
    let deleted = 0;
    let after: TransactionIdKey | undefined;
    do {
      if (this.stopped) break;
      const batch = await this.deps.store.deleteBatchCreatedBefore(table, beforeTs, after, BATCH);
      deleted += batch.deleted;
      after = batch.last;
      await breathe();
    } while (after);
    return deleted;
  }
}
