// Loads events by ID from the database into parsed RoomEvents, through an LRU cache: every
// send reads its auth events and every sync reads recent events, so hits are the norm.
import type { EventRef, EventRow, EventStore } from '../../storage/stores/events.ts';
import type { RoomEvent, PDU } from '../../core/pdu.ts';
import { LruCache } from '../../util/lru.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';

export interface StoredEvent extends RoomEvent {
  nid: number;
  streamPos: number | null;
  redactedBy: string | null;
  rejected: string | null;
  softFailed: boolean;
  outlier: boolean;
  snapshotNid: number | null;
  /** The client transaction of a local send. */
  txn: { deviceId: string; txnId: string } | null;
}

export function storedEventFromRow(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    roomId: row.room_id,
    pdu: JSON.parse(row.json) as PDU,
    nid: Number(row.event_nid),
    streamPos: row.stream_pos === null ? null : Number(row.stream_pos),
    redactedBy: row.redacted_by,
    rejected: row.rejected,
    softFailed: !!row.soft_failed,
    outlier: !!row.outlier,
    snapshotNid: row.state_snapshot_nid === null ? null : Number(row.state_snapshot_nid),
    txn: row.txn_id && row.txn_device_id ? { deviceId: row.txn_device_id, txnId: row.txn_id } : null,
  };
}

export class EventReader {
  private readonly cache = new LruCache<string, StoredEvent>(20_000);

  constructor(private readonly events: Pick<EventStore, 'byIds'>) {}

  /**
   * Inside a transaction, pass it as `trx`: on SQLite a query on the pool would wait for the
   * transaction's own connection and never return.
   */
  async getEvents(ids: Iterable<string>, trx?: Kysely<DB>): Promise<Map<string, StoredEvent>> {
    const out = new Map<string, StoredEvent>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.cache.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 500) {
      for (const row of await this.events.byIds(missing.slice(i, i + 500), trx)) {
        const ev = storedEventFromRow(row);
        this.cache.set(ev.eventId, ev);
        out.set(ev.eventId, ev);
      }
    }
    return out;
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return (await this.getEvents([id])).get(id);
  }

  /** Parses rows already fetched by a query, reusing cached parses. */
  fromRows(rows: EventRow[]): StoredEvent[] {
    return rows.map((row) => {
      const hit = this.cache.get(row.event_id);
      if (hit && hit.redactedBy === row.redacted_by) return hit;
      const ev = storedEventFromRow(row);
      this.cache.set(ev.eventId, ev);
      return ev;
    });
  }

  /** The events of refs, in their order: cached parses when current, the rest read by ID. */
  async fromRefs(refs: readonly EventRef[]): Promise<StoredEvent[]> {
    const out: Array<StoredEvent | undefined> = refs.map((ref) => {
      const hit = this.cache.get(ref.event_id);
      return hit && hit.redactedBy === ref.redacted_by ? hit : undefined;
    });
    const missing = refs.filter((_, i) => out[i] === undefined).map((ref) => ref.event_id);
    if (missing.length === 0) return out as StoredEvent[];
    const loaded = new Map<string, StoredEvent>();
    for (let i = 0; i < missing.length; i += 500) {
      for (const row of await this.events.byIds(missing.slice(i, i + 500))) {
        const ev = storedEventFromRow(row);
        this.cache.set(ev.eventId, ev);
        loaded.set(ev.eventId, ev);
      }
    }
    // An event cannot vanish from the table; if it did, leaving it out beats throwing.
    return refs.map((ref, i) => out[i] ?? loaded.get(ref.event_id)).filter((e): e is StoredEvent => e !== undefined);
  }

  /** Record a freshly persisted event (after commit). */
  remember(event: StoredEvent): void {
    this.cache.set(event.eventId, event);
  }

  markRedacted(eventId: string, redactionId: string): void {
    const hit = this.cache.get(eventId);
    if (hit) this.cache.set(eventId, { ...hit, redactedBy: redactionId });
  }
}
