// Account data in /sync: global data at the top level, room data inside joined rooms.
import type { AccountDataStore } from '../../storage/stores/account-data.ts';
import { eventMatchesFilter, type Filter } from '../../core/filter.ts';
import type { ChangeTracker } from '../../util/change-tracker.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class AccountDataSyncProvider implements SyncProvider {
  readonly name = 'account_data';
  constructor(
    private readonly store: Pick<AccountDataStore, 'changedBetween'>,
    private readonly changes: Pick<ChangeTracker, 'changedSince'>,
  ) {}

  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | undefined {
    if (!this.changes.changedSince(ctx.userId, from)) return undefined;
    return this.addChanges(ctx, from, to, response);
  }

  private async addChanges(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> {
    const filter = ctx.filter.raw as Filter;
    const joined = new Set(ctx.joinedRoomIds);
    for (const row of await this.store.changedBetween(ctx.userId, from, to)) {
      const event = { type: row.type, content: JSON.parse(row.content) as Record<string, unknown> };
      if (row.room_id === '') {
        if (eventMatchesFilter(filter.account_data, event)) response.account_data.events.push(event);
      } else if (joined.has(row.room_id) && ctx.filter.roomAllowed(row.room_id) && eventMatchesFilter(filter.room?.account_data, { ...event, room_id: row.room_id })) {
        ctx.joinedRoom(row.room_id).account_data.events.push(event);
      } else if (response.rooms.leave[row.room_id]) {
        response.rooms.leave[row.room_id].account_data.events.push(event);
      }
    }
  }
}
