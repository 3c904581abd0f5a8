// Transaction contributors: each fills some sections of a transaction from its own stream, after
// its own cursor (a global stream position, stored per appservice). Room events and ephemeral
// events (typing, receipts, presence) are here; MSC3202's to_device / device_lists / key counts
// are in encryption-contributors.ts.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { AppserviceRegistration } from './registration.ts';
import type { InterestScan } from './interest.ts';
import { ownsUser } from './interest.ts';
import type { EventRow } from '../../storage/stores/events.ts';
import type { PresenceStreamRow, ReceiptStreamRow } from '../../storage/stores/appservices.ts';
import { storedEventFromRow } from '../rooms/event-reader.ts';
import { toClientEvent } from '../rooms/client-event.ts';

/** Synapse's limits per transaction. */
export const MAX_EVENTS_PER_TXN = 100;
export const MAX_EPHEMERAL_PER_TXN = 100;
/** Rows read per query while scanning for interesting events. */
const SCAN_BATCH = 500;
/** A build stops scanning after this many rows (the cursor still moves), so one build stays short. */
const SCAN_BUDGET = 20_000;

export interface Contribution {
  /** Sections to merge into the transaction body (lists, or MSC3202's maps). */
  sections: Record<string, unknown>;
  /** Items added (0: nothing to send from this contributor). */
  count: number;
  /** The contributor's cursor once this transaction is stored. */
  nextCursor: number;
}

export interface ContributorContext {
  reg: AppserviceRegistration;
  scan: InterestScan;
  cursor: number;
  /** Everything at or below this position is committed. */
  to: number;
  /** The sections earlier contributors filled in this transaction (MSC3202 key counts read them). */
  body?: Readonly<Record<string, unknown>>;
}

export interface TransactionContributor {
  readonly name: string;
  /** Where a new appservice's cursor starts (default: the current position, nothing old is sent). */
  readonly initialCursor?: number;
  /** Asked even when its cursor is caught up (in-memory sources, sections derived from others). */
  readonly runsWhenCaughtUp?: boolean;
  contribute(ctx: ContributorContext): Promise<Contribution>;
  /** Runs inside the database transaction that stores the transaction (e.g. to-device deletion). */
  persist?(reg: AppserviceRegistration, trx: Kysely<DB>): Promise<void>;
  /** Called once the transaction holding the contribution is stored (in-memory sources forget it then). */
  committed?(reg: AppserviceRegistration): void;
}

export interface RoomEventsDeps {
  eventsBetween(from: number, to: number, limit: number): Promise<EventRow[]>;
  roomVersionOf(roomId: string): Promise<string | undefined>;
}

/** `events`: room events in stream order, at most 100. */
export class RoomEventsContributor implements TransactionContributor {
  readonly name = 'events';

  constructor(private readonly deps: RoomEventsDeps) {}

  async contribute({ scan, cursor, to }: ContributorContext): Promise<Contribution> {
    const events: unknown[] = [];
    let scanned = 0;
    let position = cursor;
    while (events.length < MAX_EVENTS_PER_TXN && position < to && scanned < SCAN_BUDGET) {
      const rows = await this.deps.eventsBetween(position, to, SCAN_BATCH);
      if (rows.length === 0) {
        position = to;
        break;
      }
      for (const row of rows) {
        if (events.length >= MAX_EVENTS_PER_TXN) break;
        position = Number(row.stream_pos);
        scanned++;
        const interesting = await scan.isInterestedInEvent({ roomId: row.room_id, sender: row.sender, type: row.type, stateKey: row.state_key });
        if (!interesting) continue;
        const ev = storedEventFromRow(row);
        events.push(toClientEvent(ev, { roomVersionId: await this.deps.roomVersionOf(row.room_id) }));
      }
      if (rows.length < SCAN_BATCH && events.length < MAX_EVENTS_PER_TXN) position = to;
    }
    return { sections: { events }, count: events.length, nextCursor: position };
  }
}

export interface EphemeralDeps {
  receiptsBetween(from: number, to: number, limit: number): Promise<ReceiptStreamRow[]>;
  presenceBetween(from: number, to: number, limit: number): Promise<PresenceStreamRow[]>;
  presenceEvent(row: PresenceStreamRow): { type: 'm.presence'; sender: string; content: Record<string, unknown> };
  /** Users sharing a room with the user (for presence the appservice may see). */
  usersSharingRoomWith(userId: string): Promise<readonly string[]>;
}

/**
 * `ephemeral` (and MSC2409's `de.sorunome.msc2409.ephemeral`), for appservices that asked:
 * public read receipts in rooms it is interested in, presence of its users and of users sharing
 * a room with its sender, and typing (kept in memory: a typing notice lost in a restart is
 * harmless, and it has no stream table).
 */
export class EphemeralContributor implements TransactionContributor {
  readonly name = 'ephemeral';
  readonly runsWhenCaughtUp = true;
  /** Per appservice, per room: the latest m.typing not yet in a transaction. */
  private readonly typing = new Map<string, Map<string, unknown>>();
  private readonly taken = new Map<string, Map<string, unknown>>();

  constructor(private readonly deps: EphemeralDeps) {}

  /** Typing changed in a room: queue it for each appservice interested in the room. */
  async pushTyping(regs: readonly AppserviceRegistration[], scanFor: (reg: AppserviceRegistration) => InterestScan, roomId: string, userIds: readonly string[]): Promise<void> {
    for (const reg of regs) {
      if (!reg.receiveEphemeral || !(await scanFor(reg).isInterestedInRoom(roomId))) continue;
      let rooms = this.typing.get(reg.id);
      if (!rooms) this.typing.set(reg.id, (rooms = new Map()));
      rooms.set(roomId, { type: 'm.typing', room_id: roomId, content: { user_ids: userIds } });
    }
  }

  async contribute({ reg, scan, cursor, to }: ContributorContext): Promise<Contribution> {
    if (!reg.receiveEphemeral) return { sections: {}, count: 0, nextCursor: to };
    const out: unknown[] = [];
    const typing = this.typing.get(reg.id);
    if (typing) {
      const taken = new Map<string, unknown>();
      for (const [roomId, ev] of typing) {
        if (out.length >= MAX_EPHEMERAL_PER_TXN) break;
        out.push(ev);
        taken.set(roomId, ev);
      }
      this.taken.set(reg.id, taken);
    }
    let position = cursor;
    const room = MAX_EPHEMERAL_PER_TXN - out.length;
    const receipts = await this.deps.receiptsBetween(cursor, to, room);
    const presence = await this.deps.presenceBetween(cursor, to, room);
    // Merge both streams in position order and stop at the batch limit, so the cursor is exact.
    const merged = [...receipts.map((r) => ({ pos: r.stream_pos, receipt: r })), ...presence.map((p) => ({ pos: p.stream_pos, presence: p }))].sort((a, b) => a.pos - b.pos);
    // A query that hit its limit may have more rows after its last one: read nothing past that.
    let bound = to;
    if (receipts.length >= room && receipts.length > 0) bound = Math.min(bound, receipts[receipts.length - 1].stream_pos);
    if (presence.length >= room && presence.length > 0) bound = Math.min(bound, presence[presence.length - 1].stream_pos);
    if (room <= 0) bound = cursor;
    let visible: Set<string> | undefined;
    let full = false;
    for (const item of merged) {
      if (item.pos > bound) break;
      if (out.length >= MAX_EPHEMERAL_PER_TXN) {
        full = true;
        break;
      }
      position = item.pos;
      if ('receipt' in item && item.receipt) {
        const r = item.receipt;
        if (!(await scan.isInterestedInRoom(r.room_id))) continue;
        const receipt: Record<string, unknown> = { ts: r.ts };
        if (r.thread_id !== '') receipt.thread_id = r.thread_id;
        out.push({ type: 'm.receipt', room_id: r.room_id, content: { [r.event_id]: { [r.receipt_type]: { [r.user_id]: receipt } } } });
      } else if ('presence' in item && item.presence) {
        const p = item.presence;
        visible ??= new Set(await this.deps.usersSharingRoomWith(reg.senderUserId));
        if (!ownsUser(reg, p.user_id) && !visible.has(p.user_id)) continue;
        out.push(this.deps.presenceEvent(p));
      }
    }
    if (!full) position = bound;
    const sections: Record<string, unknown> = out.length > 0 ? { ephemeral: out, 'de.sorunome.msc2409.ephemeral': out } : {};
    return { sections, count: out.length, nextCursor: Math.max(position, cursor) };
  }

  committed(reg: AppserviceRegistration): void {
    const taken = this.taken.get(reg.id);
    const pending = this.typing.get(reg.id);
    if (!taken || !pending) return;
    // Only forget what went out unchanged; a newer typing state queued meanwhile stays.
    for (const [roomId, ev] of taken) if (pending.get(roomId) === ev) pending.delete(roomId);
    this.taken.delete(reg.id);
  }
}
