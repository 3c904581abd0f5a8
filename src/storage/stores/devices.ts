// Queries on devices. A device is what an access token is bound to; its keys (E2EE) live in
// other tables, cleaned up through the accounts service's onDevicesDeleted hook.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type DeviceRow = Selectable<DB['devices']>;

export class DeviceStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Creates the device if it does not exist; returns true if it was created. */
  async ensure(row: { user_id: string; device_id: string; display_name: string | null; now: number }, trx: Kysely<DB> = this.db): Promise<boolean> {
    const res = await trx
      .insertInto('devices')
      .values({ user_id: row.user_id, device_id: row.device_id, display_name: row.display_name, last_seen_ts: null, last_seen_ip: null, created_ts: row.now })
      .onConflict((oc) => oc.columns(['user_id', 'device_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  get(userId: string, deviceId: string, trx: Kysely<DB> = this.db): Promise<DeviceRow | undefined> {
    return trx.selectFrom('devices').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
  }

  listForUser(userId: string, trx: Kysely<DB> = this.db): Promise<DeviceRow[]> {
    return trx.selectFrom('devices').selectAll().where('user_id', '=', userId).orderBy('device_id').execute();
  }

  async setDisplayName(userId: string, deviceId: string, displayName: string | null): Promise<boolean> {
    const res = await this.db
      .updateTable('devices')
      .set({ display_name: displayName })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async touch(userId: string, deviceId: string, ts: number, ip: string | null): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ last_seen_ts: ts, last_seen_ip: ip })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .execute();
  }

  /** Deletes the given devices; returns the IDs that existed. */
  async delete(userId: string, deviceIds: string[], trx: Kysely<DB> = this.db): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    const rows = await trx
      .deleteFrom('devices')
      .where('user_id', '=', userId)
      .where('device_id', 'in', deviceIds)
      .returning('device_id')
      .execute();
    return rows.map((r) => r.device_id);
  }

  /** Deletes every device of a user but `keepDeviceId` (if given); returns the IDs deleted. */
  async deleteAllExcept(userId: string, keepDeviceId: string | null, trx: Kysely<DB> = this.db): Promise<string[]> {
    let q = trx.deleteFrom('devices').where('user_id', '=', userId);
    if (keepDeviceId !== null) q = q.where('device_id', '!=', keepDeviceId);
    const rows = await q.returning('device_id').execute();
    return rows.map((r) => r.device_id);
  }
}
