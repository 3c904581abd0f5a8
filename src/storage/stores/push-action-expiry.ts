// Queries of the push action expiry (services/housekeeping/push-actions.ts): walk the actions
// oldest first with their event's room and time, read the receipts that say whether each is
// read, delete the ones to go, and add up the unread ones among them (event_push_expired).
// event_push_actions is keyed by rid (its event's stream position × 2^20 + the row's number,
// stores/push-actions.ts), so the walk follows the key, oldest event first, and each batch
// starts where the last stopped.
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
  notify: number;
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
      .select(['a.rid', 'e.stream_pos as event_stream_pos', 'a.user_id', 'a.thread_id', 'a.notify', 'a.highlight', 'e.room_id', 'e.origin_server_ts as ts']);
    if (after) q = q.where('a.rid', '>', after.rid);
    const rows = await q.orderBy('a.rid').limit(limit).execute();
    return rows.map((r) => ({ ...r, rid: Number(r.rid), event_stream_pos: Number(r.event_stream_pos), notify: Number(r.notify), highlight: Number(r.highlight), ts: Number(r.ts) }));
  }

  /** The read receipts (public and private) of each (user, room) pair. */
  async readReceiptsOf(
    pairs: ReadonlyArray<{ user_id: string; room_id: string }>,
    trx: Kysely<DB> = this.db,
  ): Promise<Array<{ user_id: string; room_id: string; thread_id: string; event_stream_pos: number }>> {
    if (pairs.length === 0) return [];
    const rows = await trx
      .selectFrom('receipts')
      .select(['user_id', 'room_id', 'thread_id', 'event_stream_pos'])
      .where('receipt_type', 'in', ['m.read', 'm.read.private'])
      .where((eb) => eb(eb.refTuple('user_id', 'room_id'), 'in', pairs.map((p) => eb.tuple(p.user_id, p.room_id))))
      .execute();
    return rows.map((r) => ({ ...r, event_stream_pos: Number(r.event_stream_pos) }));
  }

  async delete(keys: readonly PushActionKey[], trx: Kysely<DB> = this.db): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      await trx
        .deleteFrom('event_push_actions')
        .where(
          'rid',
          'in',
          keys.slice(i, i + DELETE_CHUNK).map((k) => k.rid),
        )
        .execute();
    }
  }

  /**
   * Adds actions that expire unread to the event_push_expired rows of their user, room and
   * thread, raising each row's `through_pos` to the newest position among them.
   */
  async addExpired(expired: readonly ExpiredCounts[], trx: Kysely<DB>): Promise<void> {
    for (let i = 0; i < expired.length; i += EXPIRED_CHUNK) {
      await this.addExpiredChunk(expired.slice(i, i + EXPIRED_CHUNK), trx);
    }
  }

  private async addExpiredChunk(expired: readonly ExpiredCounts[], trx: Kysely<DB>): Promise<void> {
    await trx
      .insertInto('event_push_expired')
      .values(expired.map((e) => ({ room_id: e.room_id, user_id: e.user_id, thread_id: e.thread_id, notifications: e.notifications, highlights: e.highlights, through_pos: e.through_pos })))
      .onConflict((oc) =>
        oc.columns(['room_id', 'user_id', 'thread_id']).doUpdateSet((eb) => ({
          notifications: eb('event_push_expired.notifications', '+', eb.ref('excluded.notifications')),
          highlights: eb('event_push_expired.highlights', '+', eb.ref('excluded.highlights')),
          through_pos: eb
            .case()
            .when('excluded.through_pos', '>', eb.ref('event_push_expired.through_pos'))
            .then(eb.ref('excluded.through_pos'))
            .else(eb.ref('event_push_expired.through_pos'))
            .end(),
        })),
      )
      .execute();
  }
}

/** What expires unread in one thread of a user's room: the counts, and the newest position. */
export interface ExpiredCounts {
  user_id: string;
  room_id: string;
  thread_id: string;
  notifications: number;
  highlights: number;
  through_pos: number;
}

/** Keys per DELETE statement, and rows per INSERT (bounds on their parameter lists). */
const DELETE_CHUNK = 500;
const EXPIRED_CHUNK = 100;
