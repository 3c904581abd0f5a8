// Queries on account data and stored filters.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';

export interface AccountDataRow {
  room_id: string;
  type: string;
  content: string;
  stream_pos: number;
}

export class AccountDataStore {
  constructor(private readonly db: Kysely<DB>) {}

  async put(userId: string, roomId: string, type: string, content: string, streamPos: number): Promise<void> {
    await this.db
      .insertInto('account_data')
      .values({ user_id: userId, room_id: roomId, type, content, stream_pos: streamPos })
      .onConflict((oc) => oc.columns(['user_id', 'room_id', 'type']).doUpdateSet({ content, stream_pos: streamPos }))
      .execute();
  }

  async get(userId: string, roomId: string, type: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('account_data')
      .select('content')
      .where('user_id', '=', userId)
      .where('room_id', '=', roomId)
      .where('type', '=', type)
      .executeTakeFirst();
    return row?.content;
  }

  /** Account data changed in (from, to]; all of it when from is null. */
  async changedBetween(userId: string, from: number | null, to: number): Promise<AccountDataRow[]> {
    let q = this.db.selectFrom('account_data').select(['room_id', 'type', 'content', 'stream_pos']).where('user_id', '=', userId).where('stream_pos', '<=', to);
    if (from !== null) q = q.where('stream_pos', '>', from);
    const rows = await q.execute();
    return rows.map((r) => ({ ...r, stream_pos: Number(r.stream_pos) }));
  }

  async insertFilter(userId: string, json: string): Promise<number> {
    const row = await this.db.insertInto('user_filters').values({ user_id: userId, filter_json: json }).returning('filter_nid').executeTakeFirstOrThrow();
    return Number(row.filter_nid);
  }

  async getFilter(userId: string, filterNid: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('user_filters').select('filter_json').where('user_id', '=', userId).where('filter_nid', '=', filterNid).executeTakeFirst();
    return row?.filter_json;
  }
}
