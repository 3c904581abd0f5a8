// Queries behind the user directory: who is in which visible room, with their profile.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';

export interface DirectoryMemberRow {
  user_id: string;
  json: string;
  stream_pos: number | null;
  local_id: string | null;
  displayname: string | null;
  avatar_url: string | null;
  deactivated: number | null;
}

export class UserDirectoryStore {
  constructor(private readonly db: Kysely<DB>) {}

  async joinedRoomsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('room_current_state')
      .select('room_id')
      .where('type', '=', 'm.room.member')
      .where('state_key', '=', userId)
      .where('membership', '=', 'join')
      .execute();
    return rows.map((r) => r.room_id);
  }

  /** Every room's current join rules and history visibility events. */
  opennessEvents(): Promise<Array<{ room_id: string; type: string; json: string }>> {
    return this.db
      .selectFrom('room_current_state as s')
      .innerJoin('events as e', 'e.event_nid', 's.event_nid')
      .select(['s.room_id', 's.type', 'e.json'])
      .where('s.type', 'in', ['m.room.join_rules', 'm.room.history_visibility'])
      .where('s.state_key', '=', '')
      .execute();
  }

  /** Joined members of the rooms, with the local profile when the user is local. */
  async joinedMembersWithProfiles(roomIds: readonly string[]): Promise<DirectoryMemberRow[]> {
    const out: DirectoryMemberRow[] = [];
    for (let i = 0; i < roomIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('room_current_state as s')
        .innerJoin('events as e', 'e.event_nid', 's.event_nid')
        .leftJoin('users as u', 'u.user_id', 's.state_key')
        .select(['s.state_key as user_id', 'e.json', 'e.stream_pos', 'u.user_id as local_id', 'u.displayname', 'u.avatar_url', 'u.deactivated'])
        .where('s.type', '=', 'm.room.member')
        .where('s.membership', '=', 'join')
        .where('s.room_id', 'in', roomIds.slice(i, i + 500))
        .execute();
      out.push(...rows.map((r) => ({ ...r, stream_pos: r.stream_pos === null ? null : Number(r.stream_pos) })));
    }
    return out;
  }
}
