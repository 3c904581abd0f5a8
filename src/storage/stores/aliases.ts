// Queries on local room aliases (room_aliases) and on publication in the room directory
// (rooms.is_public). No rules here: who may create, delete or publish is the services' business.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type RoomAliasRow = Selectable<DB['room_aliases']>;

/** Which directory /publicRooms reads. */
export type DirectoryScope = 'local' | 'all' | { appserviceId: string; networkId: string };

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

  /** Lists or unlists the room in an appservice's directory of one network. */
  async setAppserviceListed(appserviceId: string, networkId: string, roomId: string, listed: boolean): Promise<void> {
    if (listed) {
      await this.db
        .insertInto('appservice_room_list')
        .values({ appservice_id: appserviceId, network_id: networkId, room_id: roomId })
        .onConflict((oc) => oc.columns(['appservice_id', 'network_id', 'room_id']).doNothing())
        .execute();
    } else {
      await this.db.deleteFrom('appservice_room_list').where('appservice_id', '=', appserviceId).where('network_id', '=', networkId).where('room_id', '=', roomId).execute();
    }
  }

  /**
   * Every listed room with its number of joined members (as the current state says): the
   * server's directory ('local'), one appservice network, or both kinds of list ('all').
   */
  async publishedRoomsWithJoinedCounts(scope: DirectoryScope = 'local'): Promise<Array<{ roomId: string; joinedMembers: number }>> {
    const rows = await this.db
      .selectFrom('rooms')
      .leftJoin('room_current_state as m', (join) =>
        join.onRef('m.room_id', '=', 'rooms.room_id').on('m.type', '=', 'm.room.member').on('m.membership', '=', 'join'),
      )
      .select((eb) => ['rooms.room_id', eb.fn.count<number | string>('m.state_key').as('joined')])
      .where((eb) => {
        const inNetworkList = (appserviceId?: string, networkId?: string) => {
          let sub = eb.selectFrom('appservice_room_list as l').select('l.room_id');
          if (appserviceId !== undefined) sub = sub.where('l.appservice_id', '=', appserviceId).where('l.network_id', '=', networkId!);
          return eb('rooms.room_id', 'in', sub);
        };
        if (scope === 'local') return eb('rooms.is_public', '=', 1);
        if (scope === 'all') return eb.or([eb('rooms.is_public', '=', 1), inNetworkList()]);
        return inNetworkList(scope.appserviceId, scope.networkId);
      })
      .groupBy('rooms.room_id')
      .execute();
    return rows.map((r) => ({ roomId: r.room_id, joinedMembers: Number(r.joined) }));
  }
}
