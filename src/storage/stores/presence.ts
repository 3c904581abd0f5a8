// Queries on presence.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type PresenceRow = Selectable<DB['presence']>;

export class PresenceStore {
  constructor(private readonly db: Kysely<DB>) {}

  get(userId: string): Promise<PresenceRow | undefined> {
    return this.db.selectFrom('presence').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async upsert(row: PresenceRow): Promise<void> {
    await this.db
      .insertInto('presence')
      .values(row)
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ state: row.state, status_msg: row.status_msg, last_active_ts: row.last_active_ts, stream_pos: row.stream_pos }))
      .execute();
  }

  async changedBetween(userIds: readonly string[], from: number | null, to: number): Promise<PresenceRow[]> {
    if (userIds.length === 0) return [];
    const out: PresenceRow[] = [];
    for (let i = 0; i < userIds.length; i += 500) {
      let q = this.db.selectFrom('presence').selectAll().where('user_id', 'in', userIds.slice(i, i + 500)).where('stream_pos', '<=', to);
      if (from !== null) q = q.where('stream_pos', '>', from);
      out.push(...(await q.execute()));
    }
    return out;
  }
}
