// Queries on push actions (unread counts, /notifications).
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type PushActionRow = Selectable<DB['event_push_actions']>;

export interface UnreadCounts {
  thread_id: string;
  notifications: number;
  highlights: number;
}

export class PushActionStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(rows: PushActionRow[], trx: Kysely<DB>): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('event_push_actions').values(rows.slice(i, i + 500)).execute();
  }

  /** Counts per thread of actions after the given stream position. */
  async countsAfter(userId: string, roomId: string, afterPos: number): Promise<UnreadCounts[]> {
    const rows = await this.db
      .selectFrom('event_push_actions')
      .select(['thread_id', sql<number>`sum(notify)`.as('notifications'), sql<number>`sum(highlight)`.as('highlights')])
      .where('user_id', '=', userId)
      .where('room_id', '=', roomId)
      .where('event_stream_pos', '>', afterPos)
      .groupBy('thread_id')
      .execute();
    return rows.map((r) => ({ thread_id: r.thread_id, notifications: Number(r.notifications ?? 0), highlights: Number(r.highlights ?? 0) }));
  }

  /** Newest first, before `beforePos` (exclusive). */
  list(userId: string, beforePos: number, limit: number, onlyHighlight: boolean): Promise<PushActionRow[]> {
    let q = this.db.selectFrom('event_push_actions').selectAll().where('user_id', '=', userId).where('event_stream_pos', '<', beforePos);
    if (onlyHighlight) q = q.where('highlight', '=', 1);
    return q.orderBy('event_stream_pos', 'desc').limit(limit).execute();
  }
}
