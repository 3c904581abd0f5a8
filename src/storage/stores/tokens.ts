// Access and refresh tokens, stored as sha256 hashes only.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type AccessTokenRow = Selectable<DB['access_tokens']>;
export type RefreshTokenRow = Selectable<DB['refresh_tokens']>;

export interface TokenOwner {
  token_id: number;
  user_id: string;
  device_id: string;
  expires_ts: number | null;
  is_admin: number;
  is_guest: number;
  deactivated: number;
  appservice_id: string | null;
}

export class TokenStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insertAccessToken(
    row: { token_hash: string; user_id: string; device_id: string; expires_ts: number | null; refresh_token_id?: number | null; now: number },
    trx: Kysely<DB> = this.db,
  ): Promise<number> {
    const inserted = await trx
      .insertInto('access_tokens')
      .values({
        token_hash: row.token_hash,
        user_id: row.user_id,
        device_id: row.device_id,
        expires_ts: row.expires_ts,
        refresh_token_id: row.refresh_token_id ?? null,
        created_ts: row.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  findOwnerByHash(tokenHash: string): Promise<TokenOwner | undefined> {
    return this.db
      .selectFrom('access_tokens as t')
      .innerJoin('users as u', 'u.user_id', 't.user_id')
      .select(['t.id as token_id', 't.user_id', 't.device_id', 't.expires_ts', 'u.is_admin', 'u.is_guest', 'u.deactivated', 'u.appservice_id'])
      .where('t.token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async markAccessTokenUsed(id: number, now: number): Promise<void> {
    await this.db.updateTable('access_tokens').set({ last_used_ts: now }).where('id', '=', id).execute();
  }

  async deleteAccessToken(id: number, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.deleteFrom('access_tokens').where('id', '=', id).execute();
  }

  async insertRefreshToken(row: { token_hash: string; user_id: string; device_id: string; now: number }, trx: Kysely<DB> = this.db): Promise<number> {
    const inserted = await trx
      .insertInto('refresh_tokens')
      .values({ token_hash: row.token_hash, user_id: row.user_id, device_id: row.device_id, next_token_id: null, created_ts: row.now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  findRefreshTokenByHash(tokenHash: string, trx: Kysely<DB> = this.db): Promise<RefreshTokenRow | undefined> {
    return trx.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  getRefreshToken(id: number, trx: Kysely<DB> = this.db): Promise<RefreshTokenRow | undefined> {
    return trx.selectFrom('refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A refresh token counts as used once it was exchanged, or once an access token it minted was used. */
  async isRefreshTokenUsed(id: number, trx: Kysely<DB> = this.db): Promise<boolean> {
    const own = await trx.selectFrom('refresh_tokens').select('next_token_id').where('id', '=', id).executeTakeFirst();
    if (!own) return false;
    if (own.next_token_id !== null) return true;
    const used = await trx
      .selectFrom('access_tokens')
      .select('id')
      .where('refresh_token_id', '=', id)
      .where('last_used_ts', 'is not', null)
      .executeTakeFirst();
    return !!used;
  }

  /**
   * Points a refresh token at its successor, only if its successor is still `expectedNext`
   * (compare-and-set, so two concurrent refreshes cannot both win). Returns whether it did.
   */
  async setNextRefreshToken(id: number, nextId: number, expectedNext: number | null, trx: Kysely<DB> = this.db): Promise<boolean> {
    let q = trx.updateTable('refresh_tokens').set({ next_token_id: nextId }).where('id', '=', id);
    q = expectedNext === null ? q.where('next_token_id', 'is', null) : q.where('next_token_id', '=', expectedNext);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Deletes refresh tokens and the access tokens they minted. */
  async deleteRefreshTokens(ids: number[], trx: Kysely<DB> = this.db): Promise<void> {
    if (ids.length === 0) return;
    await trx.deleteFrom('access_tokens').where('refresh_token_id', 'in', ids).execute();
    await trx.deleteFrom('refresh_tokens').where('id', 'in', ids).execute();
  }

  /** IDs of refresh tokens whose successor is `id`. */
  async predecessorsOf(id: number, trx: Kysely<DB> = this.db): Promise<number[]> {
    const rows = await trx.selectFrom('refresh_tokens').select('id').where('next_token_id', '=', id).execute();
    return rows.map((r) => Number(r.id));
  }

  async deleteTokensOfDevice(userId: string, deviceId: string, trx: Kysely<DB> = this.db): Promise<void> {
    await this.deleteTokensOfDevices(userId, [deviceId], trx);
  }

  async deleteTokensOfDevices(userId: string, deviceIds: string[], trx: Kysely<DB> = this.db): Promise<void> {
    if (deviceIds.length === 0) return;
    await trx.deleteFrom('access_tokens').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
    await trx.deleteFrom('refresh_tokens').where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
  }

  async deleteTokensOfUser(userId: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.deleteFrom('access_tokens').where('user_id', '=', userId).execute();
    await trx.deleteFrom('refresh_tokens').where('user_id', '=', userId).execute();
  }

  /** Deletes the user's tokens on every device but `keepDeviceId` (all of them if null). */
  async deleteTokensOfUserExcept(userId: string, keepDeviceId: string | null, trx: Kysely<DB> = this.db): Promise<void> {
    if (keepDeviceId === null) return this.deleteTokensOfUser(userId, trx);
    await trx.deleteFrom('access_tokens').where('user_id', '=', userId).where('device_id', '!=', keepDeviceId).execute();
    await trx.deleteFrom('refresh_tokens').where('user_id', '=', userId).where('device_id', '!=', keepDeviceId).execute();
  }
}
