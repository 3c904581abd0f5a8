// Queries on local room aliases (room_aliases) and on publication in the room directory
// (rooms.is_public). No rules here: who may create, delete or publish is the services' business.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type RoomAliasRow = Selectable<DB['room_aliases']>;

export class AliasStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Inserts the mapping; false (and no change) when the alias is already taken. */
  async insertAlias(row: RoomAliasRow, trx: Kysely<DB> = this.db): Promise<boolean> {
    // ON CONFLICT DO NOTHING rather than read-then-insert: two racing creators cannot both win.
    const result = await trx.insertInto('room_aliases').values(row).onConflict((oc) => oc.column('room_alias').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async getAlias(alias: string): Promise<RoomAliasRow | undefined> {
    const row = await this.db.selectFrom('room_aliases').selectAll().where('room_alias', '=', alias).executeTakeFirst();
    return row ? { ...row, created_ts: Number(row.created_ts) } : undefined;
  }

  /** The room's local aliases, oldest first. */
  async aliasesOfRoom(roomId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('room_aliases')
      .select('room_alias')
      .where('room_id', '=', roomId)
      .orderBy('created_ts')
      .orderBy('room_alias')
      .execute();
    return rows.map((r) => r.room_alias);
  }

  /** Deletes the mapping; false if there was none. */
  async deleteAlias(alias: string, trx: Kysely<DB> = this.db): Promise<boolean> {
    const result = await trx.deleteFrom('room_aliases').where('room_alias', '=', alias).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Whether the room is published in the directory; undefined for a room unknown here. */
  async isPublished(roomId: string): Promise<boolean | undefined> {
    const row = await this.db.selectFrom('rooms').select('is_public').where('room_id', '=', roomId).executeTakeFirst();
    return row ? Number(row.is_public) === 1 : undefined;
  }

  /** Sets the room's publication; false if the room is unknown here. */
  async setPublished(roomId: string, published: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('rooms')
      .set({ is_public: published ? 1 : 0 })
      .where('room_id', '=', roomId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Every published room with its number of joined members (as the current state says). */
  async publishedRoomsWithJoinedCounts(): Promise<Array<{ roomId: string; joinedMembers: number }>> {
    const rows = await this.db
      .selectFrom('rooms')
      .leftJoin('room_current_state as m', (join) =>
        join.onRef('m.room_id', '=', 'rooms.room_id').on('m.type', '=', 'm.room.member').on('m.membership', '=', 'join'),
      )
      .select((eb) => ['rooms.room_id', eb.fn.count<number | string>('m.state_key').as('joined')])
      .where('rooms.is_public', '=', 1)
      .groupBy('rooms.room_id')
      .execute();
    return rows.map((r) => ({ roomId: r.room_id, joinedMembers: Number(r.joined) }));
  }
}
