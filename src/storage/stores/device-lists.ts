// Queries on the device-list stream (whose devices or cross-signing keys changed when) and on
// the membership changes that make users start or stop sharing rooms.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';

export class DeviceListStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insertChanges(rows: Array<{ stream_pos: number; user_id: string; only_for: string }>, trx: Kysely<DB> = this.db): Promise<void> {
    if (rows.length > 0) await trx.insertInto('device_list_changes').values(rows).execute();
  }

  /**
   * Users with a change in (from, to] that `observer` may see: public changes of anyone (the
   * caller filters by shared rooms) and changes recorded only for the observer.
   */
  async changedBetween(observer: string, from: number, to: number): Promise<Array<{ user_id: string; only_for: string }>> {
    return this.db
      .selectFrom('device_list_changes')
      .select(['user_id', 'only_for'])
      .distinct()
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .where((eb) => eb.or([eb('only_for', '=', ''), eb('only_for', '=', observer)]))
      .execute();
  }

  /** Current memberships in the rooms that changed in (from, to] (latest change per user). */
  async membershipChangesIn(roomIds: string[], from: number, to: number): Promise<Array<{ room_id: string; user_id: string; membership: string }>> {
    if (roomIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('room_current_state')
      .select(['room_id', 'state_key', 'membership'])
      .where('room_id', 'in', roomIds)
      .where('type', '=', 'm.room.member')
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .execute();
    return rows.map((r) => ({ room_id: r.room_id, user_id: r.state_key, membership: r.membership ?? '' }));
  }

  /** Users currently joined to the rooms. */
  async joinedMembersOf(roomIds: string[]): Promise<string[]> {
    if (roomIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('room_current_state')
      .select('state_key')
      .distinct()
      .where('room_id', 'in', roomIds)
      .where('type', '=', 'm.room.member')
      .where('membership', '=', 'join')
      .execute();
    return rows.map((r) => r.state_key);
  }

  /**
   * Device-list rows at the first `maxPositions` positions in (from, to] (for appservices,
   * every observer's), and the position read up to (`to` when fewer were waiting).
   */
  async changesBetween(from: number, to: number, maxPositions: number): Promise<{ rows: Array<{ stream_pos: number; user_id: string; only_for: string }>; readTo: number }> {
    const positions = await this.db
      .selectFrom('device_list_changes')
      .select('stream_pos')
      .distinct()
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .orderBy('stream_pos')
      .limit(maxPositions)
      .execute();
    if (positions.length === 0) return { rows: [], readTo: to };
    const readTo = positions.length < maxPositions ? to : Number(positions[positions.length - 1].stream_pos);
    const rows = await this.db
      .selectFrom('device_list_changes')
      .select(['stream_pos', 'user_id', 'only_for'])
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', readTo)
      .orderBy('stream_pos')
      .execute();
    return { rows: rows.map((r) => ({ ...r, stream_pos: Number(r.stream_pos) })), readTo };
  }

  /** Current memberships, in every room, that changed in (from, to]: at most `limit`, oldest first. */
  async allMembershipChangesBetween(from: number, to: number, limit: number): Promise<Array<{ room_id: string; user_id: string; membership: string; stream_pos: number }>> {
    const rows = await this.db
      .selectFrom('room_current_state')
      .select(['room_id', 'state_key', 'membership', 'stream_pos'])
      .where('type', '=', 'm.room.member')
      .where('stream_pos', '>', from)
      .where('stream_pos', '<=', to)
      .orderBy('stream_pos')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ room_id: r.room_id, user_id: r.state_key, membership: r.membership ?? '', stream_pos: Number(r.stream_pos) }));
  }
}
