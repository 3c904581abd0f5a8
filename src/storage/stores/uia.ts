// User-interactive auth sessions and the single-use nonces of shared-secret registration: both
// are short-lived challenges a client must present back.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type UiaSessionRow = Selectable<DB['uia_sessions']>;

export class UiaStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: UiaSessionRow, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.insertInto('uia_sessions').values(row).execute();
  }

  get(sessionId: string, trx: Kysely<DB> = this.db): Promise<UiaSessionRow | undefined> {
    return trx.selectFrom('uia_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
  }

  async update(
    sessionId: string,
    fields: Partial<Pick<UiaSessionRow, 'completed' | 'data' | 'client_dict' | 'user_id'>>,
    trx: Kysely<DB> = this.db,
  ): Promise<void> {
    await trx.updateTable('uia_sessions').set(fields).where('session_id', '=', sessionId).execute();
  }

  async delete(sessionId: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.deleteFrom('uia_sessions').where('session_id', '=', sessionId).execute();
  }

  /** Removes expired sessions and returns them (so stages can release what they held). */
  async deleteExpired(now: number, trx: Kysely<DB> = this.db): Promise<UiaSessionRow[]> {
    return trx.deleteFrom('uia_sessions').where('expires_ts', '<=', now).returningAll().execute();
  }

  async insertNonce(nonce: string, expiresTs: number): Promise<void> {
    await this.db.insertInto('registration_nonces').values({ nonce, expires_ts: expiresTs }).execute();
  }

  /** Deletes the nonce; true only for the one caller that consumed a live nonce. */
  async consumeNonce(nonce: string, now: number): Promise<boolean> {
    const rows = await this.db.deleteFrom('registration_nonces').where('nonce', '=', nonce).returning('expires_ts').execute();
    return rows.length === 1 && Number(rows[0].expires_ts) > now;
  }

  async deleteExpiredNonces(now: number): Promise<void> {
    await this.db.deleteFrom('registration_nonces').where('expires_ts', '<=', now).execute();
  }
}
