// Who shares a room with a user (presence fan-out and its sync section, device-list changes),
// remembered per user. Room-mates change only with some room's state (a membership), so any
// state change forgets everything; a message keeps its room's state map and forgets nothing.
import type { RoomStore } from '../../storage/stores/rooms.ts';
import type { PersistedListener } from './persist.ts';

/** Users whose room-mates are remembered; the oldest entry goes first. */
const CAPACITY = 10_000;

export class RoomMates {
  private readonly mates = new Map<string, readonly string[]>();
  /** Bumped by every clear: a query that overlapped a state change does not fill the cache. */
  private generation = 0;

  constructor(private readonly rooms: Pick<RoomStore, 'usersSharingRoomsWith'>) {}

  /** Step 8 listener of the write path (persist.ts `onPersisted`). */
  readonly onPersisted: PersistedListener = (_event, { previousState, currentState }) => {
    if (previousState === currentState) return;
    this.generation++;
    this.mates.clear();
  };

  /** The users sharing a room with `userId`, and that user. Never mutate the result. */
  async of(userId: string): Promise<readonly string[]> {
    const hit = this.mates.get(userId);
    if (hit) return hit;
    const generation = this.generation;
    const users = new Set(await this.rooms.usersSharingRoomsWith(userId));
    users.add(userId);
    const result = [...users];
    if (generation === this.generation) {
      if (this.mates.size >= CAPACITY) this.mates.delete(this.mates.keys().next().value!);
      this.mates.set(userId, result);
    }
    return result;
  }
}
