// Client transaction IDs expire. A transaction ID makes a retried PUT (/send, /state with a
// txn, /sendToDevice) idempotent: the retry gets the first answer instead of a second event or
// message. Clients retry within seconds or minutes, so a day is ample; Synapse forgets them
// after a day too. Kept forever, they were the fifth-largest part of a message's storage
// (~150 bytes per message on SQLite). The event row keeps its own transaction ID, so the
// sender's device still sees `unsigned.transaction_id` on old events.
import type { Logger } from 'pino';
import type { TransactionIdKey, TransactionIdStore, TransactionIdTable } from '../../storage/stores/transaction-ids.ts';

export const TRANSACTION_ID_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Rows looked at per batch; each batch is one short transaction, then the event loop breathes. */
const BATCH = 500;

export interface TransactionIdExpiryResult {
  events: number;
  toDevice: number;
}

export class TransactionIdExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TransactionIdExpiryResult> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      store: TransactionIdStore;
      logger: Logger;
      lifetimeMs?: number;
      now?: () => number;
    },
  ) {}

  /** One pass over both tables; a pass already under way is joined, not repeated. */
  run(now: number = (this.deps.now ?? Date.now)()): Promise<TransactionIdExpiryResult> {
    this.running ??= this.pass(now).finally(() => (this.running = undefined));
    return this.running;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.run().catch((err) => this.deps.logger.error({ err }, 'transaction ID expiry failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and lets a pass under way end after its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async pass(now: number): Promise<TransactionIdExpiryResult> {
    const before = now - (this.deps.lifetimeMs ?? TRANSACTION_ID_LIFETIME_MS);
    const events = await this.expire('event_txns', before);
    const toDevice = await this.expire('to_device_txns', before);
    if (events + toDevice > 0) this.deps.logger.info({ events, toDevice }, 'expired old transaction IDs');
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
      // On SQLite each batch runs synchronously on the event loop: let requests in between.
      await new Promise((resolve) => setImmediate(resolve));
    } while (after);
    return deleted;
  }
}
