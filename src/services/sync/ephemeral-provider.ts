// Ephemeral room events in /sync: typing (m.typing) and receipts (m.receipt). Private
// receipts are only ever shown to their owner.
import { eventMatchesFilter, type Filter } from '../../core/filter.ts';
import type { ReceiptStore } from '../../storage/stores/receipts.ts';
import type { TypingService } from '../ephemeral/typing.ts';
import type { ChangeTracker } from '../../util/change-tracker.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class EphemeralSyncProvider implements SyncProvider {
  readonly name = 'ephemeral';
  constructor(
    private readonly deps: {
      typing: Pick<TypingService, 'typingIn'>;
      receipts: Pick<ReceiptStore, 'changedBetween'>;
      receiptChanges: Pick<ChangeTracker, 'changedSince'>;
    },
  ) {}

  async contribute(ctx: SyncContext, from: number | null, to: number, _response: SyncResponse): Promise<void> {
    const filter = (ctx.filter.raw as Filter).room?.ephemeral;
    const rooms = ctx.joinedRoomIds.filter((r) => ctx.filter.roomAllowed(r));
    if (eventMatchesFilter(filter, { type: 'm.typing' })) {
      for (const roomId of rooms) {
        const { userIds, changedAt } = this.deps.typing.typingIn(roomId);
        if (changedAt > to) continue;
        if (from === null ? userIds.length > 0 : changedAt > from) {
          ctx.joinedRoom(roomId).ephemeral.events.push({ type: 'm.typing', content: { user_ids: userIds } });
        }
      }
    }
    if (!eventMatchesFilter(filter, { type: 'm.receipt' })) return;
    const byRoom = new Map<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>>();
    const changedRooms = rooms.filter((roomId) => this.deps.receiptChanges.changedSince(roomId, from));
    for (const r of await this.deps.receipts.changedBetween(changedRooms, from, to)) {
      if (r.receipt_type === 'm.read.private' && r.user_id !== ctx.userId) continue;
      const content = byRoom.get(r.room_id) ?? {};
      const forEvent = (content[r.event_id] ??= {});
      const forType = (forEvent[r.receipt_type] ??= {});
      const info: Record<string, unknown> = { ts: Number(r.ts) };
      if (r.thread_id !== '') info.thread_id = r.thread_id;
      forType[r.user_id] = info;
      byRoom.set(r.room_id, content);
    }
    for (const [roomId, content] of byRoom) ctx.joinedRoom(roomId).ephemeral.events.push({ type: 'm.receipt', content });
  }
}
