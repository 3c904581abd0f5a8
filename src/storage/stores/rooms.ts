// Queries on rooms, their current state, forward extremities and client transaction IDs.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';
import { prepare } from '../prepared.ts';

export type RoomRow = Selectable<DB['rooms']>;
export type CurrentStateRow = Selectable<DB['room_current_state']>;

export class RoomStore {
  /** Statements of every send and every /sync, compiled once (../prepared.ts). */
  private readonly q: ReturnType<typeof preparedQueries>;

  constructor(private readonly db: Kysely<DB>) {
    this.q = preparedQueries(db);
  }

  async insertRoom(row: RoomRow, trx: Kysely<DB>): Promise<void> {
    await trx.insertInto('rooms').values(row).execute();
  }

  getRoom(roomId: string): Promise<RoomRow | undefined> {
    return this.db.selectFrom('rooms').selectAll().where('room_id', '=', roomId).executeTakeFirst();
  }

  currentState(roomId: string): Promise<CurrentStateRow[]> {
    return this.db.selectFrom('room_current_state').selectAll().where('room_id', '=', roomId).execute();
  }

  async upsertCurrentState(rows: CurrentStateRow[], trx: Kysely<DB>): Promise<void> {
    for (const row of rows) {
      await trx
        .insertInto('room_current_state')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['room_id', 'type', 'state_key']).doUpdateSet({
            event_nid: row.event_nid,
            event_id: row.event_id,
            membership: row.membership,
            stream_pos: row.stream_pos,
          }),
        )
        .execute();
    }
  }

  async deleteCurrentState(roomId: string, keys: Array<[string, string]>, trx: Kysely<DB>): Promise<void> {
    for (const [type, stateKey] of keys) {
      await trx.deleteFrom('room_current_state').where('room_id', '=', roomId).where('type', '=', type).where('state_key', '=', stateKey).execute();
    }
  }

  async forwardExtremities(roomId: string, trx: Kysely<DB> = this.db): Promise<string[]> {
    const rows = await trx.selectFrom('room_forward_extremities').select('event_id').where('room_id', '=', roomId).execute();
    return rows.map((r) => r.event_id);
  }

  async replaceForwardExtremities(roomId: string, remove: string[], add: string[], trx: Kysely<DB>): Promise<void> {
    // The usual case, one event replacing one extremity, is a single statement.
    if (remove.length === 1 && add.length === 1) {
      await this.q.replaceExtremity.run({ roomId, remove: remove[0], add: add[0] }, trx);
      return;
    }
    if (remove.length > 0) {
      await trx.deleteFrom('room_forward_extremities').where('room_id', '=', roomId).where('event_id', 'in', remove).execute();
    }
    if (add.length > 0) {
      await trx
        .insertInto('room_forward_extremities')
        .values(add.map((event_id) => ({ room_id: roomId, event_id })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  /** Rooms where the user's current membership is one of `memberships`. */
  async roomsOfUser(userId: string, memberships: readonly string[]): Promise<Array<{ room_id: string; membership: string; event_id: string; stream_pos: number }>> {
    if (memberships.length === 0) return [];
    const rows = await this.q.roomsOfUser.execute({ userId, memberships });
    return rows.map((r) => ({ room_id: r.room_id, membership: r.membership ?? '', event_id: r.event_id, stream_pos: Number(r.stream_pos) }));
  }

  /** Local users whose current membership in the room is "join". */
  async joinedMembers(roomId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('room_current_state')
      .select('state_key')
      .where('room_id', '=', roomId)
      .where('type', '=', 'm.room.member')
      .where('membership', '=', 'join')
      .execute();
    return rows.map((r) => r.state_key);
  }

  async findTxn(userId: string, deviceId: string, txnId: string): Promise<{ event_id: string; room_id: string } | undefined> {
    return this.q.findTxn.executeTakeFirst({ userId, deviceId, txnId });
  }

  async insertTxn(row: { user_id: string; device_id: string; txn_id: string; event_id: string; room_id: string; created_ts: number }, trx: Kysely<DB>): Promise<void> {
    await this.q.insertTxn.run(row, trx);
  }

  async forget(userId: string, roomId: string): Promise<void> {
    await this.db.insertInto('room_forgotten').values({ user_id: userId, room_id: roomId }).onConflict((oc) => oc.doNothing()).execute();
  }

  async unforget(userId: string, roomId: string): Promise<void> {
    await this.db.deleteFrom('room_forgotten').where('user_id', '=', userId).where('room_id', '=', roomId).execute();
  }

  async isForgotten(userId: string, roomId: string): Promise<boolean> {
    const row = await this.q.isForgotten.executeTakeFirst({ userId, roomId });
    return !!row;
  }

  /** Users joined to at least one room the user is joined to (the user included if joined anywhere). */
  async usersSharingRoomsWith(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('room_current_state as other')
      .select('other.state_key')
      .distinct()
      .where('other.type', '=', 'm.room.member')
      .where('other.membership', '=', 'join')
      .where('other.room_id', 'in', (qb) =>
        qb
          .selectFrom('room_current_state as mine')
          .select('mine.room_id')
          .where('mine.type', '=', 'm.room.member')
          .where('mine.state_key', '=', userId)
          .where('mine.membership', '=', 'join'),
      )
      .execute();
    return rows.map((r) => r.state_key);
  }
}

function preparedQueries(db0: Kysely<DB>) {
  return {
    // Pipelined (prepared.ts): on PostgreSQL a send does not wait for it before its next statement.
    replaceExtremity: prepare(
      db0,
      (db, a: { roomId: string; remove: string; add: string }) =>
        db.updateTable('room_forward_extremities').set({ event_id: a.add }).where('room_id', '=', a.roomId).where('event_id', '=', a.remove),
      { pipelined: true },
    ),
    roomsOfUser: prepare(db0, (db, a: { userId: string; memberships: readonly string[] }) =>
      db
        .selectFrom('room_current_state')
        .select(['room_id', 'membership', 'event_id', 'stream_pos'])
        .where('type', '=', 'm.room.member')
        .where('state_key', '=', a.userId)
        .where('membership', 'in', a.memberships),
    ),
    findTxn: prepare(db0, (db, a: { userId: string; deviceId: string; txnId: string }) =>
      db.selectFrom('event_txns').select(['event_id', 'room_id']).where('user_id', '=', a.userId).where('device_id', '=', a.deviceId).where('txn_id', '=', a.txnId),
    ),
    insertTxn: prepare(db0, (db, row: { user_id: string; device_id: string; txn_id: string; event_id: string; room_id: string; created_ts: number }) =>
      db.insertInto('event_txns').values(row),
    ),
    isForgotten: prepare(db0, (db, a: { userId: string; roomId: string }) =>
      db.selectFrom('room_forgotten').select('room_id').where('user_id', '=', a.userId).where('room_id', '=', a.roomId),
    ),
  };
}
