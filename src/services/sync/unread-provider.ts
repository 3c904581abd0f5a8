// Unread counts in /sync (unread_notifications, unread_thread_notifications): the push actions
// after the user's read receipts. They are kept as counters per room, user and thread (the
// event's transaction raises them, the receipt's lowers them: ../push/unread-counts.ts), so a
// room costs one lookup however long its unread backlog, and the woken syncs of one event share
// one read of the room (unread-memo.ts). Runs last, for the joined rooms already in the response
// (an initial sync has all of them; an incremental one those with news, including rooms where
// the user's own receipt moved).
import type { Filter } from '../../core/filter.ts';
import type { PushActionStore, UnreadCounts } from '../../storage/stores/push-actions.ts';
import type { JoinedRoomSync, SyncContext, SyncProvider, SyncResponse } from './types.ts';
import { UnreadCountsMemo } from './unread-memo.ts';

export class UnreadCountsSyncProvider implements SyncProvider {
  readonly name = 'unread';
  private readonly memo: UnreadCountsMemo;

  constructor(private readonly deps: { actions: Pick<PushActionStore, 'counts' | 'roomCounts'> }) {
    this.memo = new UnreadCountsMemo(deps.actions);
  }

  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | undefined {
    // Without unread_thread_notifications, threads count in the room's totals; with it, the
    // room's totals are the main timeline's and each thread is reported apart.
    const threaded = !!(ctx.filter.raw as Filter).room?.timeline?.unread_thread_notifications;
    const join = response.rooms.join;
    const roomIds = Object.keys(join);
    for (let i = 0; i < roomIds.length; i++) {
      const counts = this.countsOf(ctx, roomIds[i], from, to);
      // Shared counts already read come without a promise; from the first lookup on, go async.
      if (!Array.isArray(counts)) return this.fillFrom(ctx, from, to, join, roomIds, i, counts as Promise<readonly UnreadCounts[]>, threaded);
      fill(join[roomIds[i]], counts as readonly UnreadCounts[], threaded);
    }
    return undefined;
  }

  private countsOf(ctx: SyncContext, roomId: string, from: number | null, to: number): Promise<readonly UnreadCounts[]> | readonly UnreadCounts[] {
    // An initial sync lists every room: no fan-out to share a read with.
    return from === null ? this.deps.actions.counts(ctx.userId, roomId) : this.memo.counts(ctx.userId, roomId, to, ctx.current);
  }

  private async fillFrom(
    ctx: SyncContext,
    from: number | null,
    to: number,
    join: SyncResponse['rooms']['join'],
    roomIds: readonly string[],
    start: number,
    first: Promise<readonly UnreadCounts[]>,
    threaded: boolean,
  ): Promise<void> {
    fill(join[roomIds[start]], await first, threaded);
    for (let i = start + 1; i < roomIds.length; i++) {
      const counts = this.countsOf(ctx, roomIds[i], from, to);
      fill(join[roomIds[i]], Array.isArray(counts) ? (counts as readonly UnreadCounts[]) : await counts, threaded);
    }
  }
}

function fill(room: JoinedRoomSync, counts: readonly UnreadCounts[], threaded: boolean): void {
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
  room.unread_notifications = { notification_count: notifications, highlight_count: highlights };
  if (threads) room.unread_thread_notifications = threads;
}
