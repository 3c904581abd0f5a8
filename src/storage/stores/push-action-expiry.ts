// Queries of the push action expiry (services/housekeeping/push-actions.ts): walk the actions
// oldest first with their event's room and time, read the receipts that say whether each is
// read, delete the ones to go. event_push_actions is keyed by rid (its event's stream position
// × 2^20 + the row's number, stores/push-actions.ts), so the walk follows the key, oldest event
// first, and each batch starts where the last stopped.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';
import { positionOfRow } from './push-actions.ts';

export interface PushActionKey {
  rid: number;
}

export interface AgedPushAction extends PushActionKey {
  event_stream_pos: number;
  user_id: string;
  thread_id: string;
  highlight: number;
  room_id: string;
  /** origin_server_ts of the event. */
  ts: number;
}

export class PushActionExpiryStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Up to `limit` actions after `after` in key order (oldest first), with their event's room and time. */
  async batchAfter(after: PushActionKey | undefined, limit: number): Promise<AgedPushAction[]> {
    let q = this.db
      .selectFrom('event_push_actions as a')
      .innerJoin('events as e', (join) => join.on('e.stream_pos', '=', positionOfRow))
      .select(['a.rid', 'e.stream_pos as event_stream_pos', 'a.user_id', 'a.thread_id', 'a.highlight', 'e.room_id', 'e.origin_server_ts as ts']);
    if (after) q = q.where('a.rid', '>', after.rid);
    const rows = await q.orderBy('a.rid').limit(limit).execute();
    return rows.map((r) => ({ ...r, rid: Number(r.rid), event_stream_pos: Number(r.event_stream_pos), highlight: Number(r.highlight), ts: Number(r.ts) }));
  }

  /** The read receipts (public and private) of each (user, room) pair. */
  async readReceiptsOf(pairs: ReadonlyArray<{ user_id: string; room_id: string }>): Promise<Array<{ user_id: string; room_id: string; thread_id: string; event_stream_pos: number }>> {
    if (pairs.length === 0) return [];
    const rows = await this.db
      .selectFrom('receipts')
      .select(['user_id', 'room_id', 'thread_id', 'event_stream_pos'])
      .where('receipt_type', 'in', ['m.read', 'm.read.private'])
      .where((eb) => eb(eb.refTuple('user_id', 'room_id'), 'in', pairs.map((p) => eb.tuple(p.user_id, p.room_id))))
      .execute();
    return rows.map((r) => ({ ...r, event_stream_pos: Number(r.event_stream_pos) }));
  }

  async delete(keys: readonly PushActionKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .deleteFrom('event_push_actions')
      .where('rid', 'in', keys.map((k) => k.rid))
      .execute();
  }
}
