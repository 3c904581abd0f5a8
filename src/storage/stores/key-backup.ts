// Queries on server-side key backup: versions and the session keys stored in each.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type BackupVersionRow = Selectable<DB['room_key_backup_versions']>;

export interface BackupKeyRow {
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: string;
}

export interface BackupKeyScope {
  roomId?: string;
  sessionId?: string;
}

const normaliseVersion = (r: BackupVersionRow): BackupVersionRow => ({ ...r, version: Number(r.version), etag: Number(r.etag), deleted: Number(r.deleted) });

export class KeyBackupStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** The newest version that is not deleted. */
  async currentVersion(userId: string, trx: Kysely<DB> = this.db): Promise<BackupVersionRow | undefined> {
    const row = await trx
      .selectFrom('room_key_backup_versions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('deleted', '=', 0)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && normaliseVersion(row);
  }

  /** A version, deleted or not. */
  async getVersion(userId: string, version: number, trx: Kysely<DB> = this.db): Promise<BackupVersionRow | undefined> {
    const row = await trx.selectFrom('room_key_backup_versions').selectAll().where('user_id', '=', userId).where('version', '=', version).executeTakeFirst();
    return row && normaliseVersion(row);
  }

  /** The highest version number ever used by the user (deleted ones included), 0 if none. */
  async highestVersion(userId: string, trx: Kysely<DB> = this.db): Promise<number> {
    const row = await trx
      .selectFrom('room_key_backup_versions')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(row?.v ?? 0);
  }

  async insertVersion(row: { user_id: string; version: number; algorithm: string; auth_data: string; created_ts: number }, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.insertInto('room_key_backup_versions').values({ ...row, etag: 0, deleted: 0 }).execute();
  }

  async updateAuthData(userId: string, version: number, authData: string): Promise<void> {
    await this.db.updateTable('room_key_backup_versions').set({ auth_data: authData }).where('user_id', '=', userId).where('version', '=', version).execute();
  }

  /** Marks a version deleted and drops its keys. */
  async deleteVersion(userId: string, version: number, trx: Kysely<DB>): Promise<void> {
    await trx.updateTable('room_key_backup_versions').set({ deleted: 1 }).where('user_id', '=', userId).where('version', '=', version).execute();
    await trx.deleteFrom('room_key_backup_keys').where('user_id', '=', userId).where('version', '=', version).execute();
  }

  async bumpEtag(userId: string, version: number, trx: Kysely<DB>): Promise<void> {
    await trx
      .updateTable('room_key_backup_versions')
      .set((eb) => ({ etag: eb('etag', '+', 1) }))
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .execute();
  }

  async countKeys(userId: string, version: number, trx: Kysely<DB> = this.db): Promise<number> {
    const row = await trx
      .selectFrom('room_key_backup_keys')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Stores a session key unless the stored one is at least as good (spec "Server-side key
   * backups": verified beats unverified, then the lower first_message_index, then the lower
   * forwarded_count). The rule is the conflict clause's condition, so concurrent uploads of one
   * session cannot interleave between a read and a write. Returns true if a row was written.
   */
  async putKeyIfBetter(userId: string, version: number, key: BackupKeyRow, trx: Kysely<DB>): Promise<boolean> {
    const values = {
      user_id: userId,
      version,
      room_id: key.room_id,
      session_id: key.session_id,
      first_message_index: key.first_message_index,
      forwarded_count: key.forwarded_count,
      is_verified: key.is_verified ? 1 : 0,
      session_data: key.session_data,
    };
    const res = await trx
      .insertInto('room_key_backup_keys')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['user_id', 'version', 'room_id', 'session_id'])
          .doUpdateSet({
            first_message_index: values.first_message_index,
            forwarded_count: values.forwarded_count,
            is_verified: values.is_verified,
            session_data: values.session_data,
          })
          .where(
            sql<boolean>`(excluded.is_verified > room_key_backup_keys.is_verified
              OR (excluded.is_verified = room_key_backup_keys.is_verified
                AND (excluded.first_message_index < room_key_backup_keys.first_message_index
                  OR (excluded.first_message_index = room_key_backup_keys.first_message_index
                    AND excluded.forwarded_count < room_key_backup_keys.forwarded_count))))`,
          ),
      )
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async getKeys(userId: string, version: number, scope: BackupKeyScope = {}): Promise<BackupKeyRow[]> {
    let q = this.db
      .selectFrom('room_key_backup_keys')
      .select(['room_id', 'session_id', 'first_message_index', 'forwarded_count', 'is_verified', 'session_data'])
      .where('user_id', '=', userId)
      .where('version', '=', version);
    if (scope.roomId !== undefined) q = q.where('room_id', '=', scope.roomId);
    if (scope.sessionId !== undefined) q = q.where('session_id', '=', scope.sessionId);
    const rows = await q.orderBy('room_id').orderBy('session_id').execute();
    return rows.map((r) => ({
      ...r,
      first_message_index: Number(r.first_message_index),
      forwarded_count: Number(r.forwarded_count),
      is_verified: Number(r.is_verified) === 1,
    }));
  }

  /** Deletes keys in scope; returns how many. */
  async deleteKeys(userId: string, version: number, scope: BackupKeyScope, trx: Kysely<DB>): Promise<number> {
    let q = trx.deleteFrom('room_key_backup_keys').where('user_id', '=', userId).where('version', '=', version);
    if (scope.roomId !== undefined) q = q.where('room_id', '=', scope.roomId);
    if (scope.sessionId !== undefined) q = q.where('session_id', '=', scope.sessionId);
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
