// Queries on dehydrated devices (MSC3814): which device of a user is the dehydrated one.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type DehydratedDeviceRow = Selectable<DB['dehydrated_devices']>;

export class DehydratedDeviceStore {
  constructor(private readonly db: Kysely<DB>) {}

  get(userId: string, trx: Kysely<DB> = this.db): Promise<DehydratedDeviceRow | undefined> {
    return trx.selectFrom('dehydrated_devices').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async put(row: DehydratedDeviceRow, trx: Kysely<DB> = this.db): Promise<void> {
    await trx
      .insertInto('dehydrated_devices')
      .values(row)
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ device_id: row.device_id, device_data: row.device_data, created_ts: row.created_ts }))
      .execute();
  }

  /** Forgets the user's dehydrated device if it is one of `deviceIds` (the device was deleted). */
  async deleteIfAmong(userId: string, deviceIds: string[], trx: Kysely<DB> = this.db): Promise<void> {
    if (deviceIds.length === 0) return;
    await trx.deleteFrom('dehydrated_devices').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
  }
}
