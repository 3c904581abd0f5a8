// Ephemeral room events in /sync: typing (m.typing) and receipts (m.receipt). Private
// receipts are only ever shown to their owner.
import { eventMatchesFilter, type Filter } from '../../core/filter.ts';
import type { ReceiptStore } from '../../storage/stores/receipts.ts';
import type { TypingService } from '../ephemeral/typing.ts';
import type { ChangeTracker } from '../../util/change-tracker.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

const TYPING = { type: 'm.typing' };
const RECEIPT = { type: 'm.receipt' };

export class EphemeralSyncProvider implements SyncProvider {
  readonly name = 'ephemeral';
  constructor(
    private readonly deps: {
      typing: Pick<TypingService, 'typingIn'>;
      receipts: Pick<ReceiptStore, 'changedBetween'>;
      receiptChanges: Pick<ChangeTracker, 'changedSince'>;
    },
  ) {}

  contribute(ctx: SyncContext, from: number | null, to: number, _response: SyncResponse): Promise<void> | undefined {
    const filter = (ctx.filter.raw as Filter).room?.ephemeral;
    const wantTyping = eventMatchesFilter(filter, TYPING);
    const wantReceipts = eventMatchesFilter(filter, RECEIPT);
    // Rooms whose receipts changed since the token; a woken sync for a message usually has none.
    let receiptRooms: string[] | undefined;
    for (const roomId of ctx.joinedRoomIds) {
      if (!ctx.filter.roomAllowed(roomId)) continue;
      if (wantTyping) {
        const { userIds, changedAt } = this.deps.typing.typingIn(roomId);
        if (changedAt <= to && (from === null ? userIds.length > 0 : changedAt > from)) {
          ctx.joinedRoom(roomId).ephemeral.events.push({ type: 'm.typing', content: { user_ids: userIds } });
        }
      }
      if (wantReceipts && this.deps.receiptChanges.changedSince(roomId, from)) (receiptRooms ??= []).push(roomId);
    }
    return receiptRooms ? this.addReceipts(ctx, receiptRooms, from, to) : undefined;
  }

  private async addReceipts(ctx: SyncContext, changedRooms: string[], from: number | null, to: number): Promise<void> {
    const byRoom = new Map<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>>();
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
