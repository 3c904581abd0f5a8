// Unread counts in /sync (unread_notifications, unread_thread_notifications): the push actions
// after the user's read receipts. They are kept as counters per room, user and thread (the
// event's transaction raises them, the receipt's lowers them: ../push/unread-counts.ts), so a
// room costs one lookup however long its unread backlog, and the woken syncs of one event share
// one read of the room (unread-memo.ts). Runs last, for the joined rooms already in the response
// (an initial sync has all of them; an incremental one those with news, including rooms where
// the user's own receipt moved).
import type { Filter } from '../../core/filter.ts';
import type { PushActionStore, UnreadCounts } from '../../storage/stores/push-actions.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';
import { UnreadCountsMemo } from './unread-memo.ts';

export class UnreadCountsSyncProvider implements SyncProvider {
  readonly name = 'unread';
  private readonly memo: UnreadCountsMemo;

  constructor(private readonly deps: { actions: Pick<PushActionStore, 'counts' | 'roomCounts'> }) {
    this.memo = new UnreadCountsMemo(deps.actions);
  }

  async contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> {
    // Without unread_thread_notifications, threads count in the room's totals; with it, the
    // room's totals are the main timeline's and each thread is reported apart.
    const threaded = !!(ctx.filter.raw as Filter).room?.timeline?.unread_thread_notifications;
    const rooms = response.rooms.join;
    for (const roomId in rooms) {
      // An initial sync lists every room: no fan-out to share a read with.
      const pending = from === null ? this.deps.actions.counts(ctx.userId, roomId) : this.memo.counts(ctx.userId, roomId, to, ctx.current);
      const counts: readonly UnreadCounts[] = Array.isArray(pending) ? pending : await pending;
      let notifications = 0;
      let highlights = 0;
      const threads: Record<string, { notification_count: number; highlight_count: number }> | undefined = threaded ? {} : undefined;
      for (const c of counts) {
        if (threads && c.thread_id !== '') {
          threads[c.thread_id] = { notification_count: c.notifications, highlight_count: c.highlights };
        } else {
          notifications += c.notifications;
          highlights += c.highlights;
        }
      }
      const room = rooms[roomId];
      room.unread_notifications = { notification_count: notifications, highlight_count: highlights };
      if (threads) room.unread_thread_notifications = threads;
    }
  }
}
