// Unread counts in /sync (unread_notifications, unread_thread_notifications): the push actions
// after the user's read receipts. They are kept as counters per room, user and thread (the
// event's transaction raises them, the receipt's lowers them: ../push/unread-counts.ts), so a
// room costs one lookup however long its unread backlog. Runs last, for the joined rooms already
// in the response (an initial sync has all of them; an incremental one those with news,
// including rooms where the user's own receipt moved).
import type { Filter } from '../../core/filter.ts';
import type { PushActionStore } from '../../storage/stores/push-actions.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class UnreadCountsSyncProvider implements SyncProvider {
  readonly name = 'unread';
  constructor(private readonly deps: { actions: Pick<PushActionStore, 'counts'> }) {}

  async contribute(ctx: SyncContext, _from: number | null, _to: number, response: SyncResponse): Promise<void> {
    // Without unread_thread_notifications, threads count in the room's totals; with it, the
    // room's totals are the main timeline's and each thread is reported apart.
    const threaded = !!(ctx.filter.raw as Filter).room?.timeline?.unread_thread_notifications;
    for (const [roomId, room] of Object.entries(response.rooms.join)) {
      let notifications = 0;
      let highlights = 0;
      const threads: Record<string, { notification_count: number; highlight_count: number }> = {};
      for (const c of await this.deps.actions.counts(ctx.userId, roomId)) {
        if (threaded && c.thread_id !== '') {
          threads[c.thread_id] = { notification_count: c.notifications, highlight_count: c.highlights };
        } else {
          notifications += c.notifications;
          highlights += c.highlights;
        }
      }
      room.unread_notifications = { notification_count: notifications, highlight_count: highlights };
      if (threaded) room.unread_thread_notifications = threads;
    }
  }
}
