// Queries on users and their profile fields. No business rules here: callers decide who may do
// what.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type UserRow = Selectable<DB['users']>;

/** True when an insert failed on a primary-key or unique constraint (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return !!e && (e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE');
}

export interface NewUser {
  user_id: string;
  password_hash: string | null;
  is_admin?: boolean;
  is_guest?: boolean;
  appservice_id?: string | null;
  displayname?: string | null;
  user_type?: string | null;
  now: number;
}

export class UserStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Throws a unique violation (see isUniqueViolation) if the user ID is taken. */
  async insert(row: NewUser, trx: Kysely<DB> = this.db): Promise<void> {
    await trx
      .insertInto('users')
      .values({
        user_id: row.user_id,
        password_hash: row.password_hash,
        created_ts: row.now,
        is_admin: row.is_admin ? 1 : 0,
        is_guest: row.is_guest ? 1 : 0,
        deactivated: 0,
        appservice_id: row.appservice_id ?? null,
        displayname: row.displayname ?? null,
        avatar_url: null,
        user_type: row.user_type ?? null,
      })
      .execute();
  }

  get(userId: string, trx: Kysely<DB> = this.db): Promise<UserRow | undefined> {
    return trx.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /** Case-insensitive lookup, for logins typed with different capitalisation. */
  findCaseInsensitive(userId: string): Promise<UserRow[]> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['user_id']), '=', userId.toLowerCase()))
      .limit(10)
      .execute();
  }

  async exists(userId: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('user_id').where('user_id', '=', userId).executeTakeFirst();
    return !!row;
  }

  list(opts: { includeDeactivated?: boolean; includeGuests?: boolean; limit?: number; from?: string } = {}): Promise<UserRow[]> {
    let q = this.db.selectFrom('users').selectAll().orderBy('user_id');
    if (!opts.includeDeactivated) q = q.where('deactivated', '=', 0);
    if (!opts.includeGuests) q = q.where('is_guest', '=', 0);
    if (opts.from !== undefined) q = q.where('user_id', '>', opts.from);
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return q.execute();
  }

  async setPasswordHash(userId: string, hash: string | null, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.updateTable('users').set({ password_hash: hash }).where('user_id', '=', userId).execute();
  }

  async setAdmin(userId: string, admin: boolean, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.updateTable('users').set({ is_admin: admin ? 1 : 0 }).where('user_id', '=', userId).execute();
  }

  /** Marks a user deactivated; returns false if it already was (or does not exist). */
  async markDeactivated(userId: string, erase: boolean, trx: Kysely<DB> = this.db): Promise<boolean> {
    const res = await trx
      .updateTable('users')
      .set({ deactivated: 1, password_hash: null, ...(erase ? { erased: 1 } : {}) })
      .where('user_id', '=', userId)
      .where('deactivated', '=', 0)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async setProfile(userId: string, fields: { displayname?: string | null; avatar_url?: string | null }, trx: Kysely<DB> = this.db): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    await trx.updateTable('users').set(fields).where('user_id', '=', userId).execute();
  }

  /** Extended profile fields (everything but displayname and avatar_url). */
  async profileFields(userId: string, trx: Kysely<DB> = this.db): Promise<Record<string, unknown>> {
    const rows = await trx.selectFrom('profile_fields').select(['field', 'value_json']).where('user_id', '=', userId).orderBy('field').execute();
    return Object.fromEntries(rows.map((r) => [r.field, JSON.parse(r.value_json) as unknown]));
  }

  async setProfileField(userId: string, field: string, value: unknown, trx: Kysely<DB> = this.db): Promise<void> {
    const value_json = JSON.stringify(value);
    await trx
      .insertInto('profile_fields')
      .values({ user_id: userId, field, value_json })
      .onConflict((oc) => oc.columns(['user_id', 'field']).doUpdateSet({ value_json }))
      .execute();
  }

  async deleteProfileField(userId: string, field: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.deleteFrom('profile_fields').where('user_id', '=', userId).where('field', '=', field).execute();
  }

  async deleteProfileFields(userId: string, trx: Kysely<DB> = this.db): Promise<void> {
    await trx.deleteFrom('profile_fields').where('user_id', '=', userId).execute();
  }
}
