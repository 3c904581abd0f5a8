// Each user's current membership in every room they have one in, cached in memory. Every
// /sync reads it (a woken long-poll too), and it changes only when a member event of that user
// enters the current state of a room, which the write path reports (`stateChanged`, called from
// the persister's listener after the commit).
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { LruCache } from '../../util/lru.ts';
import type { CurrentState } from './current-state.ts';

export type UserMembership = { room_id: string; membership: string; event_id: string; stream_pos: number };

const ALL_MEMBERSHIPS = ['join', 'invite', 'leave', 'ban', 'knock'] as const;
const MEMBER_KEY_PREFIX = 'm.room.member\u0000';

export class UserMemberships {
  private readonly cache = new LruCache<string, readonly UserMembership[]>(10_000);
  /** Bumped on every invalidation, so a load that raced with a membership change is not kept. */
  private generation = 0;

  constructor(private readonly rooms: Pick<RoomStore, 'roomsOfUser'>) {}

  /** Never mutate the result. */
  async of(userId: string): Promise<readonly UserMembership[]> {
    const hit = this.cache.get(userId);
    if (hit) return hit;
    const startedAt = this.generation;
    const rows = await this.rooms.roomsOfUser(userId, ALL_MEMBERSHIPS);
    if (this.generation === startedAt) this.cache.set(userId, rows);
    return rows;
  }

  /**
   * A room's current state went from `before` to `after`. The write path keeps the same map
   * when an event changes no state (a message), so that case costs nothing here.
   */
  stateChanged(before: CurrentState, after: CurrentState): void {
    if (before === after) return;
    for (const [key, ev] of after) {
      if (key.startsWith(MEMBER_KEY_PREFIX) && before.get(key)?.eventId !== ev.eventId) this.invalidate(ev.pdu.state_key!);
    }
    for (const [key, ev] of before) {
      if (key.startsWith(MEMBER_KEY_PREFIX) && !after.has(key)) this.invalidate(ev.pdu.state_key!);
    }
  }

  invalidate(userId: string): void {
    this.generation++;
    this.cache.delete(userId);
  }
}
