// Queries on state snapshots: integer state keys, snapshot rows and their entries.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type SnapshotRow = Selectable<DB['state_snapshots']>;

export interface SnapshotEntry {
  type: string;
  state_key: string;
  /** null: the key is removed relative to the parent snapshot. */
  event_id: string | null;
}

export class StateSnapshotStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Gets or creates the integer IDs of (type, state_key) pairs. */
  async stateKeyNids(pairs: Array<[string, string]>, trx: Kysely<DB>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [type, stateKey] of pairs) {
      const key = `${type}\u0000${stateKey}`;
      if (out.has(key)) continue;
      let row = await trx.selectFrom('state_keys').select('state_key_nid').where('type', '=', type).where('state_key', '=', stateKey).executeTakeFirst();
      if (!row) {
        row = await trx
          .insertInto('state_keys')
          .values({ type, state_key: stateKey })
          .onConflict((oc) => oc.columns(['type', 'state_key']).doNothing())
          .returning('state_key_nid')
          .executeTakeFirst();
        row ??= await trx.selectFrom('state_keys').select('state_key_nid').where('type', '=', type).where('state_key', '=', stateKey).executeTakeFirstOrThrow();
      }
      out.set(key, Number(row.state_key_nid));
    }
    return out;
  }

  async findByHash(roomId: string, stateHash: string, trx: Kysely<DB> = this.db): Promise<number | undefined> {
    const row = await trx.selectFrom('state_snapshots').select('snapshot_nid').where('room_id', '=', roomId).where('state_hash', '=', stateHash).executeTakeFirst();
    return row ? Number(row.snapshot_nid) : undefined;
  }

  async insertSnapshot(
    row: { room_id: string; parent_nid: number | null; chain_length: number; state_hash: string },
    entries: Array<{ state_key_nid: number; event_nid: number | null }>,
    trx: Kysely<DB>,
  ): Promise<number> {
    const inserted = await trx.insertInto('state_snapshots').values(row).returning('snapshot_nid').executeTakeFirstOrThrow();
    const nid = Number(inserted.snapshot_nid);
    for (let i = 0; i < entries.length; i += 500) {
      await trx
        .insertInto('state_snapshot_entries')
        .values(entries.slice(i, i + 500).map((e) => ({ snapshot_nid: nid, ...e })))
        .execute();
    }
    return nid;
  }

  async snapshot(nid: number, trx: Kysely<DB> = this.db): Promise<SnapshotRow | undefined> {
    return trx.selectFrom('state_snapshots').selectAll().where('snapshot_nid', '=', nid).executeTakeFirst();
  }

  async entries(nid: number, trx: Kysely<DB> = this.db): Promise<SnapshotEntry[]> {
    return trx
      .selectFrom('state_snapshot_entries as e')
      .innerJoin('state_keys as k', 'k.state_key_nid', 'e.state_key_nid')
      .leftJoin('events as ev', 'ev.event_nid', 'e.event_nid')
      .select(['k.type', 'k.state_key', 'ev.event_id'])
      .where('e.snapshot_nid', '=', nid)
      .execute();
  }
}
