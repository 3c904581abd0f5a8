// Read receipts and read markers (client-server "Receipts", "Fully read markers").
// Receipts only move forward: a receipt for an older event than the current one is ignored.
import { MatrixError } from '../../core/errors.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { ReceiptRow, ReceiptStore } from '../../storage/stores/receipts.ts';
import type { StreamPositions } from '../streams/positions.ts';
import type { EventReader } from '../rooms/event-reader.ts';
import type { CurrentStateCache } from '../rooms/current-state.ts';
import { joinedMembersOf, membershipOf } from '../rooms/current-state.ts';
import { ChangeTracker } from '../../util/change-tracker.ts';
import type { AccountDataService } from '../account-data/account-data-service.ts';

export type ReceiptType = 'm.read' | 'm.read.private' | 'm.fully_read';

/** Runs a receipt's write in one transaction with what must change with it (unread counts). */
export interface ReceiptWriteHook {
  write(row: ReceiptRow, upsert: (trx: Kysely<DB>) => Promise<boolean>): Promise<boolean>;
}

export interface ReceiptDeps {
  store: ReceiptStore;
  writeHook?: ReceiptWriteHook;
  positions: StreamPositions;
  reader: Pick<EventReader, 'getEvent'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  accountData: Pick<AccountDataService, 'set'>;
  notifyUsers(userIds: Iterable<string>, position: number): void;
  now?: () => number;
}

export class ReceiptService {
  private readonly listeners: Array<(userId: string, roomId: string) => void> = [];

  /** Per room: the last position a receipt changed (lets sync skip the query). */
  readonly changes: ChangeTracker;

  constructor(private readonly deps: ReceiptDeps) {
    this.changes = new ChangeTracker(deps.positions.current);
  }

  /** Called after a read receipt moved (unread counts change). */
  onRead(listener: (userId: string, roomId: string) => void): void {
    this.listeners.push(listener);
  }

  async setReceipt(userId: string, roomId: string, type: ReceiptType, eventId: string, threadId?: string): Promise<void> {
    const state = await this.deps.currentState.get(roomId);
    if (membershipOf(state, userId) !== 'join') throw new MatrixError('M_FORBIDDEN', 'You are not in this room');
    const event = await this.deps.reader.getEvent(eventId);
    if (!event || event.roomId !== roomId || event.streamPos === null) throw new MatrixError('M_NOT_FOUND', 'Event not found');

    if (type === 'm.fully_read') {
      if (threadId !== undefined) throw new MatrixError('M_INVALID_PARAM', 'm.fully_read receipts cannot be threaded');
      await this.deps.accountData.set(userId, roomId, 'm.fully_read', { event_id: eventId });
      return;
    }
    if (threadId !== undefined && threadId !== 'main') {
      const rel = event.pdu.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
      const inThread = event.eventId === threadId || (rel?.rel_type === 'm.thread' && rel.event_id === threadId);
      if (!inThread) throw new MatrixError('M_INVALID_PARAM', 'The event is not in that thread');
    }

    const reservation = this.deps.positions.reserve();
    let stored = false;
    try {
      const row: ReceiptRow = {
        room_id: roomId,
        receipt_type: type,
        user_id: userId,
        thread_id: threadId ?? '',
        event_id: eventId,
        event_stream_pos: event.streamPos,
        ts: (this.deps.now ?? Date.now)(),
        stream_pos: reservation.position,
      };
      const { store, writeHook } = this.deps;
      stored = writeHook ? await writeHook.write(row, (trx) => store.upsert(row, trx)) : await store.upsert(row);
    } finally {
      this.deps.positions.release(reservation);
    }
    if (!stored) return;
    this.changes.markChanged(roomId, reservation.position);
    this.deps.notifyUsers(type === 'm.read.private' ? [userId] : joinedMembersOf(state), reservation.position);
    for (const l of this.listeners) l(userId, roomId);
  }
}
