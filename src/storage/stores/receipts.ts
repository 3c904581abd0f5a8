// Queries on read receipts.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';
import { prepare } from '../prepared.ts';

export type ReceiptRow = Selectable<DB['receipts']>;

export class ReceiptStore {
  /** Read by every /sync for each joined room it answers for (../prepared.ts). */
  private readonly readUpToQuery;

  constructor(private readonly db: Kysely<DB>) {
    this.readUpToQuery = prepare(db, (q, a: { userId: string; roomId: string }) =>
      q
        .selectFrom('receipts')
        .select(['thread_id', 'event_stream_pos'])
        .where('user_id', '=', a.userId)
        .where('room_id', '=', a.roomId)
        .where('receipt_type', 'in', ['m.read', 'm.read.private']),
    );
  }

  /** Stores the receipt unless the user already has one at a later event; returns whether stored. */
  async upsert(row: ReceiptRow, db: Kysely<DB> = this.db): Promise<boolean> {
    const existing = await db
      .selectFrom('receipts')
      .select('event_stream_pos')
      .where('room_id', '=', row.room_id)
      .where('receipt_type', '=', row.receipt_type)
      .where('user_id', '=', row.user_id)
      .where('thread_id', '=', row.thread_id)
      .executeTakeFirst();
    if (existing && Number(existing.event_stream_pos) >= row.event_stream_pos) return false;
    await db
      .insertInto('receipts')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['room_id', 'receipt_type', 'user_id', 'thread_id']).doUpdateSet({
          event_id: row.event_id,
          event_stream_pos: row.event_stream_pos,
          ts: row.ts,
          stream_pos: row.stream_pos,
        }),
      )
      .execute();
    return true;
  }

  /** Receipts in the rooms changed in (from, to]; all of them when from is null. */
  async changedBetween(roomIds: readonly string[], from: number | null, to: number): Promise<ReceiptRow[]> {
    if (roomIds.length === 0) return [];
    let q = this.db.selectFrom('receipts').selectAll().where('room_id', 'in', roomIds).where('stream_pos', '<=', to);
    if (from !== null) q = q.where('stream_pos', '>', from);
    return q.execute();
  }

  /** The user's furthest read position in a room (public or private, any thread or none). */
  async readUpTo(userId: string, roomId: string, db: Kysely<DB> = this.db): Promise<Array<{ thread_id: string; event_stream_pos: number }>> {
    const rows = await this.readUpToQuery.execute({ userId, roomId }, db);
    return rows.map((r) => ({ thread_id: r.thread_id, event_stream_pos: Number(r.event_stream_pos) }));
  }
}
