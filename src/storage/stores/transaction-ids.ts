// Expiry of client transaction IDs (event_txns for room sends, to_device_txns for
// send-to-device). Both are keyed by (txn_id, user_id, device_id) (migration 0150 says why in
// that order) and carry created_ts; neither has an index by time (one more B-tree written per
// send, for a job that runs hourly), so the expired rows are found by walking the key in order,
// a batch at a time.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';

export type TransactionIdTable = 'event_txns' | 'to_device_txns';

export interface TransactionIdKey {
  user_id: string;
  device_id: string;
  txn_id: string;
}

export class TransactionIdStore {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Deletes up to `limit` rows created before `beforeTs` among the keys after `after` (in key
   * order), and returns how many it deleted and the last key it looked at (undefined once the
   * walk reached the end of the table).
   */
  async deleteBatchCreatedBefore(
    table: TransactionIdTable,
    beforeTs: number,
    after: TransactionIdKey | undefined,
    limit: number,
  ): Promise<{ deleted: number; last: TransactionIdKey | undefined }> {
    return this.db.transaction().execute(async (trx) => {
      // A key-ordered walk: each batch starts where the last one stopped, so a whole pass reads
      // the table once however scattered the old rows are. Scanned rows, not only expired ones,
      // are bounded, so a batch stays short even where nothing has expired.
      let scan = trx.selectFrom(table).select(['user_id', 'device_id', 'txn_id', 'created_ts']);
      if (after) scan = scan.where((eb) => eb(eb.refTuple('txn_id', 'user_id', 'device_id'), '>', eb.tuple(after.txn_id, after.user_id, after.device_id)));
      const rows = await scan.orderBy('txn_id').orderBy('user_id').orderBy('device_id').limit(limit).execute();
      const expired = rows.filter((r) => Number(r.created_ts) < beforeTs);
      if (expired.length > 0) {
        await trx
          .deleteFrom(table)
          .where((eb) => eb(eb.refTuple('txn_id', 'user_id', 'device_id'), 'in', expired.map((r) => eb.tuple(r.txn_id, r.user_id, r.device_id))))
          .where('created_ts', '<', beforeTs)
          .execute();
      }
      const lastRow = rows.length === limit ? rows[rows.length - 1] : undefined;
      return { deleted: expired.length, last: lastRow && { user_id: lastRow.user_id, device_id: lastRow.device_id, txn_id: lastRow.txn_id } };
    });
  }
}
