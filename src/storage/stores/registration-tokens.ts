// Registration tokens (m.login.registration_token). A token is usable while
// pending + completed < uses_allowed (or uses_allowed is null) and it has not expired; the
// counters move in the same transaction as the registration they account for.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type RegistrationTokenRow = Selectable<DB['registration_tokens']>;

export class RegistrationTokenStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: { token: string; uses_allowed: number | null; expiry_time: number | null; now: number }, trx: Kysely<DB> = this.db): Promise<void> {
    await trx
      .insertInto('registration_tokens')
      .values({ token: row.token, uses_allowed: row.uses_allowed, pending: 0, completed: 0, expiry_time: row.expiry_time, created_ts: row.now })
      .execute();
  }

  get(token: string, trx: Kysely<DB> = this.db): Promise<RegistrationTokenRow | undefined> {
    return trx.selectFrom('registration_tokens').selectAll().where('token', '=', token).executeTakeFirst();
  }

  list(): Promise<RegistrationTokenRow[]> {
    return this.db.selectFrom('registration_tokens').selectAll().orderBy('created_ts').orderBy('token').execute();
  }

  async update(token: string, fields: { uses_allowed?: number | null; expiry_time?: number | null }): Promise<boolean> {
    if (Object.keys(fields).length === 0) return !!(await this.get(token));
    const res = await this.db.updateTable('registration_tokens').set(fields).where('token', '=', token).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(token: string): Promise<boolean> {
    const res = await this.db.deleteFrom('registration_tokens').where('token', '=', token).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /**
   * Reserves one use of a valid token (pending += 1) in a single conditional UPDATE, so two
   * sessions cannot both take the last use. Returns false if the token is unknown, expired or used up.
   */
  async reserve(token: string, now: number, trx: Kysely<DB> = this.db): Promise<boolean> {
    const res = await trx
      .updateTable('registration_tokens')
      .set({ pending: sql`pending + 1` })
      .where('token', '=', token)
      .where((eb) => eb.or([eb('expiry_time', 'is', null), eb('expiry_time', '>', now)]))
      .where((eb) => eb.or([eb('uses_allowed', 'is', null), eb(sql`pending + completed`, '<', eb.ref('uses_allowed'))]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** A reserved use became a registration. */
  async complete(token: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx
      .updateTable('registration_tokens')
      .set({ pending: sql`CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END`, completed: sql`completed + 1` })
      .where('token', '=', token)
      .execute();
  }

  /** A reserved use was abandoned (its UIA session expired). */
  async release(token: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx
      .updateTable('registration_tokens')
      .set({ pending: sql`CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END` })
      .where('token', '=', token)
      .execute();
  }
}
