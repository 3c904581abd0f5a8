// Queries on push actions (unread counts, /notifications).
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';
import { prepare } from '../prepared.ts';

export type PushActionRow = Selectable<DB['event_push_actions']>;

export interface UnreadCounts {
  thread_id: string;
  notifications: number;
  highlights: number;
}

const INSERT_CHUNK = 100;

export class PushActionStore {
  /** Written with every message and read by every /sync (../prepared.ts). */
  private readonly q: ReturnType<typeof preparedQueries>;

  constructor(private readonly db: Kysely<DB>) {
    this.q = preparedQueries(db);
  }

  async insert(rows: PushActionRow[], trx: Kysely<DB>): Promise<void> {
    // One statement per row would cost a round through Kysely each; one per chunk of rows
    // compiles once per distinct row count (at most INSERT_CHUNK variants).
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      await this.q.insert.run(
        {
          user_id: chunk.map((r) => r.user_id),
          room_id: chunk.map((r) => r.room_id),
          event_id: chunk.map((r) => r.event_id),
          event_stream_pos: chunk.map((r) => r.event_stream_pos),
          thread_id: chunk.map((r) => r.thread_id),
          notify: chunk.map((r) => r.notify),
          highlight: chunk.map((r) => r.highlight),
          actions: chunk.map((r) => r.actions),
          ts: chunk.map((r) => r.ts),
        },
        trx,
      );
    }
  }

  /** Counts per thread of actions after the given stream position. */
  async countsAfter(userId: string, roomId: string, afterPos: number): Promise<UnreadCounts[]> {
    const rows = await this.q.countsAfter.execute({ userId, roomId, afterPos });
    return rows.map((r) => ({ thread_id: r.thread_id, notifications: Number(r.notifications ?? 0), highlights: Number(r.highlights ?? 0) }));
  }

  /** Newest first, before `beforePos` (exclusive). */
  list(userId: string, beforePos: number, limit: number, onlyHighlight: boolean): Promise<PushActionRow[]> {
    let q = this.db.selectFrom('event_push_actions').selectAll().where('user_id', '=', userId).where('event_stream_pos', '<', beforePos);
    if (onlyHighlight) q = q.where('highlight', '=', 1);
    return q.orderBy('event_stream_pos', 'desc').limit(limit).execute();
  }
}

type Columns<T> = { [K in keyof T]: Array<T[K]> };

function preparedQueries(db0: Kysely<DB>) {
  return {
    /** Rows given column by column, so that each column is one array argument. */
    insert: prepare(db0, (db, c: Columns<PushActionRow>) =>
      db.insertInto('event_push_actions').values(
        c.user_id.map((user_id, i) => ({
          user_id,
          room_id: c.room_id[i],
          event_id: c.event_id[i],
          event_stream_pos: c.event_stream_pos[i],
          thread_id: c.thread_id[i],
          notify: c.notify[i],
          highlight: c.highlight[i],
          actions: c.actions[i],
          ts: c.ts[i],
        })),
      ),
    ),
    countsAfter: prepare(db0, (db, a: { userId: string; roomId: string; afterPos: number }) =>
      db
        .selectFrom('event_push_actions')
        .select(['thread_id', sql<number>`sum(notify)`.as('notifications'), sql<number>`sum(highlight)`.as('highlights')])
        .where('user_id', '=', a.userId)
        .where('room_id', '=', a.roomId)
        .where('event_stream_pos', '>', a.afterPos)
        .groupBy('thread_id'),
    ),
  };
}
