// Presence in /sync: changes of the user and of everyone sharing a room with them.
import { eventMatchesFilter, type Filter } from '../../core/filter.ts';
import type { PresenceStore } from '../../storage/stores/presence.ts';
import type { PresenceService } from '../ephemeral/presence.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export interface PresenceSyncDeps {
  store: Pick<PresenceStore, 'changedBetween'>;
  presence: Pick<PresenceService, 'asEvent' | 'changes'>;
  /** Remembered per user (services/rooms/room-mates.ts): every sync after a presence change asks. */
  usersSharingRoomWith(userId: string): Promise<readonly string[]>;
}

const PRESENCE_TYPE = { type: 'm.presence' };

export class PresenceSyncProvider implements SyncProvider {
  readonly name = 'presence';
  constructor(private readonly deps: PresenceSyncDeps) {}

  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | undefined {
    // Nobody's presence changed since the token: skip the room-mates query.
    if (!this.deps.presence.changes.changedSince('*', from)) return undefined;
    const filter = (ctx.filter.raw as Filter).presence;
    if (filter?.limit === 0 || !eventMatchesFilter(filter, PRESENCE_TYPE)) return undefined;
    return this.addChanges(ctx, filter, from, to, response);
  }

  private async addChanges(ctx: SyncContext, filter: Filter['presence'], from: number | null, to: number, response: SyncResponse): Promise<void> {
    const users = await this.deps.usersSharingRoomWith(ctx.userId);
    const changed = users.filter((u) => this.deps.presence.changes.changedSince(u, from));
    for (const row of await this.deps.store.changedBetween(changed, from, to)) {
      const event = this.deps.presence.asEvent(row);
      if (eventMatchesFilter(filter, event)) response.presence.events.push(event);
    }
  }
}
