// Presence in /sync: changes of the user and of everyone sharing a room with them.
import { eventMatchesFilter, type Filter } from '../../core/filter.ts';
import type { PresenceStore } from '../../storage/stores/presence.ts';
import type { PresenceService } from '../ephemeral/presence.ts';
import type { EventPersister } from '../rooms/persist.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

/** Users whose room-mates are remembered; the oldest entry goes first. */
const MATES_CAPACITY = 10_000;

export interface PresenceSyncDeps {
  store: Pick<PresenceStore, 'changedBetween'>;
  presence: Pick<PresenceService, 'asEvent' | 'changes'>;
  usersSharingRoomWith(userId: string): Promise<string[]>;
  /** The write path: any change of a room's state forgets every remembered room-mate list. */
  persister?: Pick<EventPersister, 'onPersisted'>;
}

export class PresenceSyncProvider implements SyncProvider {
  readonly name = 'presence';
  /**
   * Per user, who shares a room with them. Anyone's presence change wakes their room-mates and
   * makes every sync after it look at presence: without this, each one queried room-mates again.
   * Room-mates change only with some room's state (a membership), which clears everything.
   */
  private readonly mates = new Map<string, readonly string[]>();
  /** Bumped by every clear: a query that overlapped a state change does not fill `mates`. */
  private generation = 0;

  constructor(private readonly deps: PresenceSyncDeps) {
    // The write path keeps the same state map for an event that changes no state (a message).
    deps.persister?.onPersisted((_event, { previousState, currentState }) => {
      if (previousState === currentState) return;
      this.generation++;
      this.mates.clear();
    });
  }

  async contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> {
    const filter = (ctx.filter.raw as Filter).presence;
    if (filter?.limit === 0 || !eventMatchesFilter(filter, { type: 'm.presence' })) return;
    // Nobody's presence changed since the token: skip the room-mates query.
    if (!this.deps.presence.changes.changedSince('*', from)) return;
    const users = await this.roomMates(ctx.userId);
    const changed = users.filter((u) => this.deps.presence.changes.changedSince(u, from));
    for (const row of await this.deps.store.changedBetween(changed, from, to)) {
      const event = this.deps.presence.asEvent(row);
      if (eventMatchesFilter(filter, event)) response.presence.events.push(event);
    }
  }

  private async roomMates(userId: string): Promise<readonly string[]> {
    if (!this.deps.persister) return this.deps.usersSharingRoomWith(userId);
    const hit = this.mates.get(userId);
    if (hit) return hit;
    const generation = this.generation;
    const users = await this.deps.usersSharingRoomWith(userId);
    if (generation === this.generation) {
      if (this.mates.size >= MATES_CAPACITY) this.mates.delete(this.mates.keys().next().value!);
      this.mates.set(userId, users);
    }
    return users;
  }
}
