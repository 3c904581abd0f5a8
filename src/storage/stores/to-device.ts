// Queries on send-to-device queues and the transaction IDs of sends.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';

export interface ToDeviceRow {
  stream_pos: number;
  sender: string;
  type: string;
  content: string;
}

/** A queued message with its recipient (the appservice push reads every device's queue). */
export interface QueuedToDeviceRow extends ToDeviceRow {
  user_id: string;
  device_id: string;
}

export interface ToDeviceInsert {
  user_id: string;
  device_id: string;
  sender: string;
  type: string;
  content: string;
}

export class ToDeviceStore {
  constructor(private readonly db: Kysely<DB>) {}

  async hasTxn(userId: string, deviceId: string, txnId: string, trx: Kysely<DB> = this.db): Promise<boolean> {
    const row = await trx
      .selectFrom('to_device_txns')
      .select('txn_id')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('txn_id', '=', txnId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Records a transaction ID; false if it was already used (a concurrent retry won). */
  async insertTxn(userId: string, deviceId: string, txnId: string, now: number, trx: Kysely<DB>): Promise<boolean> {
    const res = await trx
      .insertInto('to_device_txns')
      .values({ user_id: userId, device_id: deviceId, txn_id: txnId, created_ts: now })
      .onConflict((oc) => oc.columns(['user_id', 'device_id', 'txn_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Existing device IDs of a user among `deviceIds` (all of them when null). */
  async existingDevices(userId: string, deviceIds: string[] | null, trx: Kysely<DB> = this.db): Promise<string[]> {
    if (deviceIds !== null && deviceIds.length === 0) return [];
    let q = trx.selectFrom('devices').select('device_id').where('user_id', '=', userId);
    if (deviceIds !== null) q = q.where('device_id', 'in', deviceIds);
    return (await q.execute()).map((r) => r.device_id);
  }

  async insertMessages(rows: ToDeviceInsert[], streamPos: number, trx: Kysely<DB>): Promise<void> {
    // Batches keep each statement under SQLite's bound-parameter limit.
    for (let i = 0; i < rows.length; i += 500) {
      await trx
        .insertInto('to_device_messages')
        .values(rows.slice(i, i + 500).map((r) => ({ ...r, stream_pos: streamPos })))
        .execute();
    }
  }

  /** The device's messages in (after, upTo], oldest first, at most `limit`. */
  async messagesFor(userId: string, deviceId: string, after: number, upTo: number, limit: number): Promise<ToDeviceRow[]> {
    const rows = await this.db
      .selectFrom('to_device_messages')
      .select(['stream_pos', 'sender', 'type', 'content'])
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('stream_pos', '>', after)
      .where('stream_pos', '<=', upTo)
      .orderBy('stream_pos')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, stream_pos: Number(r.stream_pos) }));
  }

  /** Positions of the device's first `limit` messages in (after, upTo]. */
  async positionsFor(userId: string, deviceId: string, after: number, upTo: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('to_device_messages')
      .select('stream_pos')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('stream_pos', '>', after)
      .where('stream_pos', '<=', upTo)
      .orderBy('stream_pos')
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.stream_pos));
  }

  /** Deletes the device's messages at or below `upTo` (acknowledged by the client). */
  async deleteUpTo(userId: string, deviceId: string, upTo: number): Promise<void> {
    await this.db.deleteFrom('to_device_messages').where('user_id', '=', userId).where('device_id', '=', deviceId).where('stream_pos', '<=', upTo).execute();
  }

  /**
   * Every device's messages at the first `maxPositions` positions in (after, upTo], in position
   * order, and the position read up to (`upTo` when fewer positions were waiting): a batch ends
   * between two positions, never inside one send.
   */
  async queuedBetween(after: number, upTo: number, maxPositions: number): Promise<{ rows: QueuedToDeviceRow[]; readTo: number }> {
    const positions = await this.db
      .selectFrom('to_device_messages')
      .select('stream_pos')
      .distinct()
      .where('stream_pos', '>', after)
      .where('stream_pos', '<=', upTo)
      .orderBy('stream_pos')
      .limit(maxPositions)
      .execute();
    if (positions.length === 0) return { rows: [], readTo: upTo };
    const readTo = positions.length < maxPositions ? upTo : Number(positions[positions.length - 1].stream_pos);
    const rows = await this.db
      .selectFrom('to_device_messages')
      .select(['user_id', 'device_id', 'stream_pos', 'sender', 'type', 'content'])
      .where('stream_pos', '>', after)
      .where('stream_pos', '<=', readTo)
      .orderBy('stream_pos')
      .orderBy('user_id')
      .orderBy('device_id')
      .execute();
    return { rows: rows.map((r) => ({ ...r, stream_pos: Number(r.stream_pos) })), readTo };
  }

  /** Deletes the given messages (handed to an appservice in a stored transaction). */
  async deleteMessages(keys: Array<{ user_id: string; device_id: string; stream_pos: number }>, trx: Kysely<DB>): Promise<void> {
    const byDevice = new Map<string, { user_id: string; device_id: string; positions: number[] }>();
    for (const k of keys) {
      const id = `${k.user_id}\u0000${k.device_id}`;
      let entry = byDevice.get(id);
      if (!entry) byDevice.set(id, (entry = { user_id: k.user_id, device_id: k.device_id, positions: [] }));
      entry.positions.push(k.stream_pos);
    }
    for (const e of byDevice.values()) {
      await trx.deleteFrom('to_device_messages').where('user_id', '=', e.user_id).where('device_id', '=', e.device_id).where('stream_pos', 'in', e.positions).execute();
    }
  }

  /** Drops the queues and transaction IDs of deleted devices. */
  async deleteDevices(userId: string, deviceIds: string[], trx: Kysely<DB> = this.db): Promise<void> {
    if (deviceIds.length === 0) return;
    await trx.deleteFrom('to_device_messages').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
    await trx.deleteFrom('to_device_txns').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
  }
}
