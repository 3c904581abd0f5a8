// Unread counts in /sync (unread_notifications, unread_thread_notifications): push actions
// after the user's latest read receipt. Runs last, for the joined rooms already in the
// response (an initial sync has all of them; an incremental one those with news, including
// rooms where the user's own receipt moved).
import type { Filter } from '../../core/filter.ts';
import type { PushActionStore } from '../../storage/stores/push-actions.ts';
import type { ReceiptStore } from '../../storage/stores/receipts.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class UnreadCountsSyncProvider implements SyncProvider {
  readonly name = 'unread';
  constructor(private readonly deps: { actions: Pick<PushActionStore, 'countsAfter'>; receipts: Pick<ReceiptStore, 'readUpTo'> }) {}

  async contribute(ctx: SyncContext, _from: number | null, _to: number, response: SyncResponse): Promise<void> {
    const threaded = !!(ctx.filter.raw as Filter).room?.timeline?.unread_thread_notifications;
    for (const [roomId, room] of Object.entries(response.rooms.join)) {
      const reads = await this.deps.receipts.readUpTo(ctx.userId, roomId);
      // An unthreaded receipt covers every thread up to it; a threaded one ("main" or a thread
      // root) only its own thread, and only where it is further along.
      const unthreaded = Math.max(0, ...reads.filter((r) => r.thread_id === '').map((r) => r.event_stream_pos));
      const perThread = new Map(reads.filter((r) => r.thread_id !== '').map((r) => [r.thread_id, r.event_stream_pos]));
      let notifications = 0;
      let highlights = 0;
      const threads: Record<string, { notification_count: number; highlight_count: number }> = {};
      for (const c of await this.deps.actions.countsAfter(ctx.userId, roomId, unthreaded)) {
        const threadRead = perThread.get(c.thread_id === '' ? 'main' : c.thread_id) ?? 0;
        const n = threadRead > unthreaded ? await this.recount(ctx.userId, roomId, c.thread_id, threadRead) : c;
        if (threaded && c.thread_id !== '') {
          if (n.notifications > 0 || n.highlights > 0) threads[c.thread_id] = { notification_count: n.notifications, highlight_count: n.highlights };
        } else {
          notifications += n.notifications;
          highlights += n.highlights;
        }
      }
      room.unread_notifications = { notification_count: notifications, highlight_count: highlights };
      if (threaded) room.unread_thread_notifications = threads;
    }
  }

  private async recount(userId: string, roomId: string, threadId: string, after: number) {
    const counts = await this.deps.actions.countsAfter(userId, roomId, after);
    return counts.find((c) => c.thread_id === threadId) ?? { thread_id: threadId, notifications: 0, highlights: 0 };
  }
}
