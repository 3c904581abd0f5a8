// Queries on device identity keys, one-time keys and fallback keys. The claim of a one-time key
// is one statement that deletes the row it returns, so a key is handed out at most once: on
// PostgreSQL concurrent claims skip rows another transaction holds (FOR UPDATE SKIP LOCKED); on
// SQLite the single writer serialises them.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';
import type { DB } from '../schema/index.ts';

export interface DeviceKeysRow {
  user_id: string;
  device_id: string;
  key_json: string;
  display_name: string | null;
}

export interface ClaimedKey {
  algorithm: string;
  key_id: string;
  key_json: string;
}

export class E2eKeyStore {
  private readonly claimListeners: Array<(userId: string, deviceId: string) => void> = [];

  constructor(
    private readonly db: Kysely<DB>,
    private readonly engine: Engine,
  ) {}

  /**
   * Called after a claim took (or marked used) a key of the device. Claims are single statements
   * outside any transaction, so the change has committed when this runs (key counts cache).
   */
  onKeyClaimed(listener: (userId: string, deviceId: string) => void): void {
    this.claimListeners.push(listener);
  }

  async getDeviceKeys(userId: string, deviceId: string, trx: Kysely<DB> = this.db): Promise<string | undefined> {
    const row = await trx.selectFrom('e2e_device_keys').select('key_json').where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
    return row?.key_json;
  }

  async putDeviceKeys(userId: string, deviceId: string, json: string, trx: Kysely<DB>): Promise<void> {
    await trx
      .insertInto('e2e_device_keys')
      .values({ user_id: userId, device_id: deviceId, key_json: json })
      .onConflict((oc) => oc.columns(['user_id', 'device_id']).doUpdateSet({ key_json: json }))
      .execute();
  }

  /** Device keys of the users' devices (all devices of a user when its list is empty), with display names. */
  async queryDeviceKeys(request: Map<string, string[]>): Promise<DeviceKeysRow[]> {
    const users = [...request.keys()];
    if (users.length === 0) return [];
    const rows = await this.db
      .selectFrom('e2e_device_keys as k')
      .leftJoin('devices as d', (j) => j.onRef('d.user_id', '=', 'k.user_id').onRef('d.device_id', '=', 'k.device_id'))
      .select(['k.user_id', 'k.device_id', 'k.key_json', 'd.display_name'])
      .where('k.user_id', 'in', users)
      .orderBy('k.user_id')
      .orderBy('k.device_id')
      .execute();
    return rows.filter((r) => {
      const wanted = request.get(r.user_id)!;
      return wanted.length === 0 || wanted.includes(r.device_id);
    });
  }

  /** Stored one-time keys among "<algorithm>:<key_id>" IDs, by that ID. */
  async getOneTimeKeys(userId: string, deviceId: string, ids: string[], trx: Kysely<DB>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const algorithms = [...new Set(ids.map((id) => id.slice(0, id.indexOf(':'))))];
    const keyIds = [...new Set(ids.map((id) => id.slice(id.indexOf(':') + 1)))];
    for (let i = 0; i < keyIds.length; i += 500) {
      const rows = await trx
        .selectFrom('e2e_one_time_keys')
        .select(['algorithm', 'key_id', 'key_json'])
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('algorithm', 'in', algorithms)
        .where('key_id', 'in', keyIds.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(`${r.algorithm}:${r.key_id}`, r.key_json);
    }
    return out;
  }

  async insertOneTimeKeys(userId: string, deviceId: string, keys: Array<{ algorithm: string; key_id: string; key_json: string }>, trx: Kysely<DB>): Promise<void> {
    for (let i = 0; i < keys.length; i += 200) {
      await trx
        .insertInto('e2e_one_time_keys')
        .values(keys.slice(i, i + 200).map((k) => ({ user_id: userId, device_id: deviceId, ...k })))
        // Two concurrent retries of one upload both found the key absent: the first one wins.
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'algorithm', 'key_id']).doNothing())
        .execute();
    }
  }

  async countOneTimeKeys(userId: string, deviceId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('e2e_one_time_keys')
      .select((eb) => ['algorithm', eb.fn.countAll<number>().as('n')])
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .groupBy('algorithm')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.algorithm, Number(r.n)]));
  }

  /** Deletes and returns the oldest one-time key of the device for the algorithm, if any. */
  async claimOneTimeKey(userId: string, deviceId: string, algorithm: string): Promise<ClaimedKey | undefined> {
    const rows = await this.db
      .deleteFrom('e2e_one_time_keys')
      .where('id', '=', (eb) =>
        eb
          .selectFrom('e2e_one_time_keys')
          .select('id')
          .where('user_id', '=', userId)
          .where('device_id', '=', deviceId)
          .where('algorithm', '=', algorithm)
          .orderBy('id')
          .limit(1)
          .$if(this.engine === 'postgres', (qb) => qb.forUpdate().skipLocked()),
      )
      .returning(['algorithm', 'key_id', 'key_json'])
      .execute();
    if (rows.length > 0) for (const l of this.claimListeners) l(userId, deviceId);
    return rows[0];
  }

  async putFallbackKey(userId: string, deviceId: string, algorithm: string, keyId: string, json: string, trx: Kysely<DB>): Promise<void> {
    // Re-uploading the current fallback key keeps its `used` flag; a new key starts unused.
    const existing = await trx
      .selectFrom('e2e_fallback_keys')
      .select(['key_id', 'key_json'])
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('algorithm', '=', algorithm)
      .executeTakeFirst();
    if (existing && existing.key_id === keyId && existing.key_json === json) return;
    await trx
      .insertInto('e2e_fallback_keys')
      .values({ user_id: userId, device_id: deviceId, algorithm, key_id: keyId, key_json: json, used: 0 })
      .onConflict((oc) => oc.columns(['user_id', 'device_id', 'algorithm']).doUpdateSet({ key_id: keyId, key_json: json, used: 0 }))
      .execute();
  }

  /** Marks the device's fallback key for the algorithm used and returns it (it stays claimable). */
  async claimFallbackKey(userId: string, deviceId: string, algorithm: string): Promise<ClaimedKey | undefined> {
    const rows = await this.db
      .updateTable('e2e_fallback_keys')
      .set({ used: 1 })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('algorithm', '=', algorithm)
      .returning(['algorithm', 'key_id', 'key_json'])
      .execute();
    if (rows.length > 0) for (const l of this.claimListeners) l(userId, deviceId);
    return rows[0];
  }

  async unusedFallbackAlgorithms(userId: string, deviceId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('e2e_fallback_keys')
      .select('algorithm')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('used', '=', 0)
      .orderBy('algorithm')
      .execute();
    return rows.map((r) => r.algorithm);
  }

  /** Removes every key of the devices (device deletion). */
  async deleteDevices(userId: string, deviceIds: string[], trx: Kysely<DB>): Promise<void> {
    if (deviceIds.length === 0) return;
    await trx.deleteFrom('e2e_device_keys').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
    await trx.deleteFrom('e2e_one_time_keys').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
    await trx.deleteFrom('e2e_fallback_keys').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
  }
}
