// All access to stored room state goes through here (DESIGN §4), so the representation can
// change. A snapshot is a full map (type, state_key) → event ID, stored either whole or as a
// delta against a parent; chains are bounded so reading one costs at most MAX_CHAIN+1 queries,
// and identical snapshots are shared through a hash of their content.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { StateSnapshotStore } from '../../storage/stores/state.ts';
import type { EventStore } from '../../storage/stores/events.ts';
import { splitStateKey, stateKeyOf } from '../../core/pdu.ts';
import { LruCache } from '../../util/lru.ts';

/** stateKeyOf(type, state_key) → event ID */
export type StateMap = ReadonlyMap<string, string>;

const MAX_CHAIN = 16;

export class StateStore {
  private readonly cache = new LruCache<number, StateMap>(2_000);

  constructor(
    private readonly snapshots: StateSnapshotStore,
    private readonly events: Pick<EventStore, 'nidsOf'>,
  ) {}

  /** The full state of a snapshot. The returned map is shared: never mutate it. */
  async stateOfSnapshot(nid: number, trx?: Kysely<DB>): Promise<StateMap> {
    const cached = this.cache.get(nid);
    if (cached) return cached;
    const row = await this.snapshots.snapshot(nid, trx);
    if (!row) throw new Error(`state snapshot ${nid} missing`);
    const base = row.parent_nid !== null ? await this.stateOfSnapshot(Number(row.parent_nid), trx) : new Map<string, string>();
    const state = new Map(base);
    for (const e of await this.snapshots.entries(nid, trx)) {
      const key = stateKeyOf(e.type, e.state_key);
      if (e.event_id === null) state.delete(key);
      else state.set(key, e.event_id);
    }
    this.cache.set(nid, state);
    return state;
  }

  /**
   * Stores `state` (within the caller's transaction, after the events it names are inserted)
   * and returns its snapshot nid. Reuses the parent or an identical snapshot when possible.
   */
  async storeSnapshot(roomId: string, parentNid: number | null, state: StateMap, trx: Kysely<DB>): Promise<number> {
    const parent = parentNid !== null ? await this.stateOfSnapshot(parentNid, trx) : undefined;
    if (parent && sameState(parent, state)) return parentNid!;
    const hash = hashState(state);
    const existing = await this.snapshots.findByHash(roomId, hash, trx);
    if (existing !== undefined) {
      this.cache.set(existing, state);
      return existing;
    }

    let parentRow = parentNid !== null ? await this.snapshots.snapshot(parentNid, trx) : undefined;
    const changes: Array<[string, string | null]> = [];
    if (parent && parentRow && parentRow.chain_length < MAX_CHAIN) {
      for (const [k, v] of state) if (parent.get(k) !== v) changes.push([k, v]);
      for (const k of parent.keys()) if (!state.has(k)) changes.push([k, null]);
      // A delta bigger than half the state is not worth the extra read.
      if (changes.length > state.size / 2) parentRow = undefined;
    } else {
      parentRow = undefined;
    }
    const entries: Array<[string, string | null]> = parentRow ? changes : [...state];

    const keyNids = await this.snapshots.stateKeyNids(entries.map(([k]) => splitStateKey(k)), trx);
    const eventNids = await this.events.nidsOf(entries.map(([, v]) => v).filter((v): v is string => v !== null), trx);
    const rows = entries.map(([k, v]) => {
      const eventNid = v === null ? null : eventNids.get(v);
      if (eventNid === undefined) throw new Error(`state event ${v} is not stored`);
      return { state_key_nid: keyNids.get(k)!, event_nid: eventNid };
    });
    const nid = await this.snapshots.insertSnapshot(
      {
        room_id: roomId,
        parent_nid: parentRow ? parentNid : null,
        chain_length: parentRow ? parentRow.chain_length + 1 : 0,
        state_hash: hash,
      },
      rows,
      trx,
    );
    this.cache.set(nid, state);
    return nid;
  }

  /** Drop cached snapshots created inside a transaction that rolled back. */
  forget(nid: number): void {
    this.cache.delete(nid);
  }
}

function sameState(a: StateMap, b: StateMap): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function hashState(state: StateMap): string {
  const h = createHash('sha256');
  for (const k of [...state.keys()].sort()) h.update(k).update('\u0001').update(state.get(k)!).update('\u0002');
  return h.digest('base64');
}
