// Queries for application services: run-time registrations, the sender's positions, pending
// transactions, and the stream reads the sender consumes (events, receipts, presence after a
// position). Which events an appservice wants is the service's business, not these queries'.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';
import type { EventRow } from './events.ts';

export type AppserviceRegistrationRow = Selectable<DB['appservice_registrations']>;
export type AppserviceStateRow = Selectable<DB['appservice_state']>;
export type AppserviceTxnRow = Selectable<DB['appservice_txns']>;
export type ReceiptStreamRow = Selectable<DB['receipts']>;
export type PresenceStreamRow = Selectable<DB['presence']>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class AppserviceStore {
  constructor(private readonly db: Kysely<DB>) {}

  // --- registrations added at run time -------------------------------------------------------

  async listRegistrations(): Promise<AppserviceRegistrationRow[]> {
    const rows = await this.db.selectFrom('appservice_registrations').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...r, added_ts: num(r.added_ts) }));
  }

  /** Throws a unique violation if the ID is taken. */
  async insertRegistration(row: AppserviceRegistrationRow): Promise<void> {
    await this.db.insertInto('appservice_registrations').values(row).execute();
  }

  async deleteRegistration(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('appservice_registrations').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // --- sender state --------------------------------------------------------------------------

  async getState(id: string, trx: Kysely<DB> = this.db): Promise<AppserviceStateRow | undefined> {
    const row = await trx.selectFrom('appservice_state').selectAll().where('appservice_id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return {
      ...row,
      next_txn_id: num(row.next_txn_id),
      last_success_ts: numOrNull(row.last_success_ts),
      last_error_ts: numOrNull(row.last_error_ts),
    };
  }

  /** A new appservice starts at the current position: it gets what happens from now on. */
  async ensureState(id: string, cursors: string): Promise<void> {
    await this.db
      .insertInto('appservice_state')
      .values({ appservice_id: id, cursors, next_txn_id: 1, last_success_ts: null, last_error: null, last_error_ts: null })
      .onConflict((oc) => oc.column('appservice_id').doNothing())
      .execute();
  }

  async recordSuccess(id: string, ts: number): Promise<void> {
    await this.db.updateTable('appservice_state').set({ last_success_ts: ts, last_error: null, last_error_ts: null }).where('appservice_id', '=', id).execute();
  }

  async recordError(id: string, error: string, ts: number): Promise<void> {
    await this.db.updateTable('appservice_state').set({ last_error: error, last_error_ts: ts }).where('appservice_id', '=', id).execute();
  }

  // --- transactions --------------------------------------------------------------------------

  async oldestPendingTxn(id: string): Promise<AppserviceTxnRow | undefined> {
    const row = await this.db.selectFrom('appservice_txns').selectAll().where('appservice_id', '=', id).orderBy('txn_id').limit(1).executeTakeFirst();
    return row ? { ...row, txn_id: num(row.txn_id), event_count: num(row.event_count), created_ts: num(row.created_ts) } : undefined;
  }

  async pendingSummary(id: string): Promise<{ txns: number; events: number }> {
    const row = await this.db
      .selectFrom('appservice_txns')
      .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.sum<number | string | null>('event_count').as('events')])
      .where('appservice_id', '=', id)
      .executeTakeFirstOrThrow();
    return { txns: num(row.n), events: num(row.events ?? 0) };
  }

  /** Stores a new transaction and moves the positions past what it holds, atomically. */
  async insertTxn(
    txn: { appserviceId: string; txnId: number; body: string; eventCount: number; createdTs: number; cursors: string },
    trx: Kysely<DB>,
  ): Promise<void> {
    await trx
      .insertInto('appservice_txns')
      .values({ appservice_id: txn.appserviceId, txn_id: txn.txnId, body: txn.body, event_count: txn.eventCount, created_ts: txn.createdTs })
      .execute();
    await trx
      .updateTable('appservice_state')
      .set({ cursors: txn.cursors, next_txn_id: txn.txnId + 1 })
      .where('appservice_id', '=', txn.appserviceId)
      .execute();
  }

  /** Moves the cursors forward when a scan found nothing to send. */
  async setCursors(id: string, cursors: string): Promise<void> {
    await this.db.updateTable('appservice_state').set({ cursors }).where('appservice_id', '=', id).execute();
  }

  async deleteTxn(id: string, txnId: number): Promise<void> {
    await this.db.deleteFrom('appservice_txns').where('appservice_id', '=', id).where('txn_id', '=', txnId).execute();
  }

  // --- stream reads ----------------------------------------------------------------------------

  /** Served room events in (from, to], in stream order. */
  eventsBetween(from: number, to: number, limit: number): Promise<EventRow[]> {
    return this.db
      .selectFrom('events')
      .selectAll()
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .where('soft_failed', '=', 0)
      .where('rejected', 'is', null)
      .orderBy('stream_pos')
      .limit(limit)
      .execute();
  }

  async countEventsAfter(from: number): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('stream_pos', '>', from)
      .where('soft_failed', '=', 0)
      .where('rejected', 'is', null)
      .executeTakeFirstOrThrow();
    return num(row.n);
  }

  /** Public receipts changed in (from, to], in stream order. */
  async receiptsBetween(from: number, to: number, limit: number): Promise<ReceiptStreamRow[]> {
    const rows = await this.db
      .selectFrom('receipts')
      .selectAll()
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .where('receipt_type', '=', 'm.read')
      .orderBy('stream_pos')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, ts: num(r.ts), stream_pos: num(r.stream_pos), event_stream_pos: num(r.event_stream_pos) }));
  }

  async presenceBetween(from: number, to: number, limit: number): Promise<PresenceStreamRow[]> {
    const rows = await this.db.selectFrom('presence').selectAll().where('stream_pos', '>', from).where('stream_pos', '<=', to).orderBy('stream_pos').limit(limit).execute();
    return rows.map((r) => ({ ...r, last_active_ts: num(r.last_active_ts), stream_pos: num(r.stream_pos) }));
  }
}
