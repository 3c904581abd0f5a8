// Pushes transactions to application services (spec "Pushing events"). One worker per
// appservice, a consumer of the global stream (DESIGN §5): it keeps its cursors in the database,
// is poked when the visible position advances, builds a transaction from its contributors and
// stores it *before* sending, so a restart of either side resends the same txn ID with the same
// body. Transactions go out strictly one at a time in txn ID order; a failure is retried with
// exponential backoff (with jitter, capped) and nothing behind it is sent meanwhile — the bridge
// sees every event once (deduplicating by txn ID), in order. A request from the appservice
// itself (it is evidently up again) cuts the backoff short, as Synapse's "recoverer" does.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../storage/schema/index.ts';
import type { AppserviceStore } from '../../storage/stores/appservices.ts';
import type { AppserviceRegistration } from './registration.ts';
import { AppserviceCallError, type AppserviceClient } from './client.ts';
import type { TransactionContributor } from './contributors.ts';
import { InterestScan, type InterestDeps } from './interest.ts';

export interface SenderDeps {
  db: Kysely<DB>;
  store: AppserviceStore;
  client: Pick<AppserviceClient, 'putTransaction'>;
  contributors: TransactionContributor[];
  interest: InterestDeps;
  /** The visible global stream position. */
  currentPosition(): number;
  logger: Logger;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
}

const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 5 * 60_000 };

class Worker {
  private running: Promise<void> | null = null;
  private dirty = false;
  private stopped = false;
  private backoffMs = 0;
  private wakeSleep: (() => void) | null = null;

  constructor(
    public reg: AppserviceRegistration,
    private readonly sender: AppserviceSender,
  ) {}

  poke(): void {
    this.dirty = true;
    if (!this.running && !this.stopped) this.running = this.loop().finally(() => (this.running = null));
  }

  /** The appservice showed it is up: retry now instead of at the end of the backoff. */
  nudge(): void {
    if (this.backoffMs > 0) {
      this.backoffMs = 0;
      this.wakeSleep?.();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.dirty = false;
      let txn;
      try {
        txn = await this.sender.nextTransaction(this.reg);
      } catch (err) {
        if (this.stopped) return;
        this.sender.logError(this.reg, err);
        await this.sleep(this.nextBackoff());
        continue;
      }
      if (!txn) {
        if (this.dirty) continue;
        return;
      }
      const ok = await this.sender.send(this.reg, txn);
      if (ok) {
        this.backoffMs = 0;
      } else {
        await this.sleep(this.nextBackoff());
      }
    }
  }

  private nextBackoff(): number {
    const { initialMs, maxMs } = this.sender.backoff;
    this.backoffMs = this.backoffMs === 0 ? initialMs : Math.min(this.backoffMs * 2, maxMs);
    // ±20% jitter, so bridges behind one proxy do not get retried in lockstep.
    return Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    // stop() may have come while a send was in flight, when there was no sleep to cut short:
    // sleeping now would hold shutdown for the whole backoff (up to retry_max), on a timer
    // that does not even keep the process alive, so a shutdown could end unfinished.
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = () => {
        this.wakeSleep = null;
        done();
      };
    });
  }
}

interface PendingTxn {
  txnId: number;
  body: unknown;
}

export class AppserviceSender {
  private readonly workers = new Map<string, Worker>();
  readonly backoff: { initialMs: number; maxMs: number };
  private readonly now: () => number;

  constructor(private readonly deps: SenderDeps) {
    this.backoff = deps.backoff ?? DEFAULT_BACKOFF;
    this.now = deps.now ?? Date.now;
  }

  /** Starts workers for new registrations, updates changed ones, stops removed ones. */
  async setRegistrations(regs: readonly AppserviceRegistration[]): Promise<void> {
    const ids = new Set(regs.map((r) => r.id));
    for (const [id, worker] of this.workers) {
      if (!ids.has(id)) {
        this.workers.delete(id);
        await worker.stop();
      }
    }
    for (const reg of regs) {
      await this.deps.store.ensureState(reg.id, JSON.stringify(this.startCursors()));
      const existing = this.workers.get(reg.id);
      if (existing) existing.reg = reg;
      else this.workers.set(reg.id, new Worker(reg, this));
      this.workers.get(reg.id)!.poke();
    }
  }

  /** The visible position advanced (events, receipts, presence…) or typing changed. */
  pokeAll(): void {
    for (const w of this.workers.values()) w.poke();
  }

  nudge(id: string): void {
    this.workers.get(id)?.nudge();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
  }

  private startCursors(): Record<string, number> {
    const at = this.deps.currentPosition();
    return Object.fromEntries(this.deps.contributors.map((c) => [c.name, c.initialCursor ?? at]));
  }

  /** The oldest stored transaction, or a new one built from the contributors (stored first). */
  async nextTransaction(reg: AppserviceRegistration): Promise<PendingTxn | undefined> {
    const pending = await this.deps.store.oldestPendingTxn(reg.id);
    if (pending) return { txnId: pending.txn_id, body: JSON.parse(pending.body) };

    const state = await this.deps.store.getState(reg.id);
    if (!state) return undefined;
    const cursors = JSON.parse(state.cursors) as Record<string, number>;
    const to = this.deps.currentPosition();
    if (!reg.url) {
      // No url (e.g. a double-puppeting registration): nothing is ever sent, nothing is owed.
      const caughtUp = JSON.stringify(Object.fromEntries(this.deps.contributors.map((c) => [c.name, to])));
      if (caughtUp !== state.cursors) await this.deps.store.setCursors(reg.id, caughtUp);
      return undefined;
    }
    const scan = new InterestScan(reg, this.deps.interest);
    const body: Record<string, unknown> = {};
    const next: Record<string, number> = { ...cursors };
    let count = 0;
    let eventCount = 0;
    for (const c of this.deps.contributors) {
      const cursor = cursors[c.name] ?? c.initialCursor ?? to;
      if (cursor >= to && !c.runsWhenCaughtUp) continue;
      const got = await c.contribute({ reg, scan, cursor, to, body });
      Object.assign(body, got.sections);
      next[c.name] = got.nextCursor;
      count += got.count;
      if (c.name === 'events') eventCount = got.count;
    }
    const nextJson = JSON.stringify(next);
    if (count === 0) {
      if (nextJson !== state.cursors) await this.deps.store.setCursors(reg.id, nextJson);
      return undefined;
    }
    body.events ??= [];
    const txnId = state.next_txn_id;
    const text = JSON.stringify(body);
    await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.store.insertTxn({ appserviceId: reg.id, txnId, body: text, eventCount, createdTs: this.now(), cursors: nextJson }, trx);
      for (const c of this.deps.contributors) await c.persist?.(reg, trx);
    });
    for (const c of this.deps.contributors) c.committed?.(reg);
    return { txnId, body };
  }

  /** Sends one transaction; true when the appservice acknowledged it. */
  async send(reg: AppserviceRegistration, txn: PendingTxn): Promise<boolean> {
    try {
      await this.deps.client.putTransaction(reg, txn.txnId, txn.body);
    } catch (err) {
      this.logError(reg, err);
      return false;
    }
    await this.deps.store.deleteTxn(reg.id, txn.txnId);
    await this.deps.store.recordSuccess(reg.id, this.now());
    return true;
  }

  logError(reg: AppserviceRegistration, err: unknown): void {
    const message = err instanceof AppserviceCallError ? err.message : `internal error: ${(err as Error).message}`;
    this.deps.logger.warn({ appservice: reg.id, error: message }, 'appservice transaction failed; will retry');
    void this.deps.store.recordError(reg.id, message, this.now()).catch(() => undefined);
  }
}
