// Client transaction IDs (event_txns, to_device_txns) keyed by (txn_id, user_id, device_id)
// instead of (user_id, device_id, txn_id). The lookups match the whole key, so its order only
// decides where a new row lands. By user first, a user's new row goes at the end of that user's
// range, which is in the middle of the tree for every user but the last; SQLite then rebalances
// the same full leaf with its siblings again and again: the bench measured 2.4 WAL pages per
// send for event_txns alone. Transaction IDs that grow with time, as matrix-js-sdk's do
// ("m" + time + "." + counter), land at the end of a tree keyed by txn_id first; random ones
// land anywhere, as they did before. Measured on a table of 4,000 rows, 2,000 single-row
// commits: 2.05 pages per insert by user first, 1.48 by txn_id first with time-ordered IDs,
// 1.70 either way with random IDs.
//
// On SQLite to_device_txns also becomes a WITHOUT ROWID table (it was a rowid table plus a
// primary-key index: two trees per send-to-device), as migration 0130 did for event_txns.
// Deleting a device's IDs (stores/to-device.ts) now scans the table; it holds a day of IDs
// (services/housekeeping/transaction-ids.ts) and devices are rarely deleted.
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import { rebuildWithoutRowid } from '../rebuild-table.ts';

const KEY = ['txn_id', 'user_id', 'device_id'];

export async function up(db: Kysely<any>, engine: Engine): Promise<void> {
  if (engine === 'sqlite') {
    const key = [['user_id', 'text NOT NULL'], ['device_id', 'text NOT NULL'], ['txn_id', 'text NOT NULL']] as const;
    await rebuildWithoutRowid(db, 'event_txns', [...key, ['event_id', 'text NOT NULL'], ['room_id', 'text NOT NULL'], ['created_ts', 'bigint NOT NULL']], KEY);
    await rebuildWithoutRowid(db, 'to_device_txns', [...key, ['created_ts', 'bigint NOT NULL']], KEY);
    return;
  }
  for (const table of ['event_txns', 'to_device_txns']) {
    await sql.raw(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_pk, ADD CONSTRAINT ${table}_pk PRIMARY KEY (${KEY.join(', ')})`).execute(db);
  }
}
