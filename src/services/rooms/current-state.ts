// The materialised current state of rooms, cached in memory per room. Writes to a room are
// serialised (persist.ts), and the cache is updated only after the commit, so readers always
// see committed state.
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import { LruCache } from '../../util/lru.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';

export type CurrentState = ReadonlyMap<string, StoredEvent>;

export class CurrentStateCache {
  private readonly cache = new LruCache<string, CurrentState>(5_000);
  private readonly loading = new Map<string, Promise<CurrentState>>();
  /** Bumped on every set/invalidate, so a load that raced with a write does not cache stale state. */
  private generation = 0;

  constructor(
    private readonly rooms: Pick<RoomStore, 'currentState'>,
    private readonly reader: Pick<EventReader, 'getEvents'>,
  ) {}

  /** Current state of a room (empty map for unknown rooms). Never mutate the result. */
  async get(roomId: string): Promise<CurrentState> {
    const hit = this.cache.get(roomId);
    if (hit) return hit;
    let pending = this.loading.get(roomId);
    if (!pending) {
      pending = this.load(roomId).finally(() => this.loading.delete(roomId));
      this.loading.set(roomId, pending);
    }
    return pending;
  }

  set(roomId: string, state: CurrentState): void {
    this.generation++;
    this.loading.delete(roomId);
    this.cache.set(roomId, state);
  }

  invalidate(roomId: string): void {
    this.generation++;
    this.loading.delete(roomId);
    this.cache.delete(roomId);
  }

  private async load(roomId: string): Promise<CurrentState> {
    const startedAt = this.generation;
    const rows = await this.rooms.currentState(roomId);
    const events = await this.reader.getEvents(rows.map((r) => r.event_id));
    const state = new Map<string, StoredEvent>();
    for (const r of rows) {
      const ev = events.get(r.event_id);
      if (ev) state.set(stateKeyOf(r.type, r.state_key), ev);
    }
    if (this.generation === startedAt) this.cache.set(roomId, state);
    return state;
  }
}

/** Helpers over a current-state map. */
export function membershipOf(state: CurrentState, userId: string): string | undefined {
  const ev = state.get(stateKeyOf('m.room.member', userId));
  const m = ev?.pdu.content.membership;
  return typeof m === 'string' ? m : undefined;
}

/**
 * Joined members per state map. A current-state map is never mutated (a state change makes a
 * new one, a message keeps the room's map), so the walk over the whole state runs once per
 * state change instead of on every message that wakes, notifies or evaluates push rules for
 * the members; maps of replaced states are dropped with them.
 */
const joinedByState = new WeakMap<CurrentState, readonly string[]>();

export function joinedMembersOf(state: CurrentState): readonly string[] {
  let joined = joinedByState.get(state);
  if (!joined) {
    const out: string[] = [];
    for (const [key, ev] of state) {
      if (key.startsWith('m.room.member\u0000') && ev.pdu.content.membership === 'join') out.push(ev.pdu.state_key!);
    }
    joined = out;
    joinedByState.set(state, joined);
  }
  return joined;
}
