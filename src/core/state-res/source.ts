// What state resolution reads, and a per-resolution cache over it. State resolution is pure logic:
// the caller (services/rooms) hands in a StateResSource backed by storage, and everything here
// only awaits it. One resolution touches the same events many times (power levels of senders,
// mainline walks, auth events during iterative checks), so each event is fetched at most once.

import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';

export interface StateResSource {
  /** Events by ID; missing IDs are simply absent from the map. All events are of one room. */
  getEvents(ids: Iterable<string>): Promise<Map<string, RoomEvent>>;
  /** Full auth chain (transitive auth_events, excluding the given events themselves) of each ID. */
  getAuthChain(id: string): Promise<Set<string>>;
  /**
   * Optional: the union of the auth chains of all these IDs (excluding the IDs themselves unless
   * one is in another's chain). Resolution needs this over every unconflicted state event; one
   * query (a recursive CTE, or an auth chain index) beats one getAuthChain call per event.
   */
  getAuthChainUnion?(ids: Iterable<string>): Promise<Set<string>>;
  /**
   * Optional: which of these IDs were rejected. Rejected events are never used as auth events
   * during the iterative auth checks (spec: "Rejected auth events are deliberately excluded").
   * Without it no event counts as rejected.
   */
  getRejected?(ids: Iterable<string>): Promise<Set<string>>;
}

/** Fetch-once view of a StateResSource for the duration of one resolution. */
export class EventCache {
  /** null = asked for and not found. */
  private readonly events = new Map<string, RoomEvent | null>();
  private readonly rejected = new Set<string>();

  constructor(private readonly source: StateResSource) {}

  /** Makes every given ID available to get(); one source call for all that are not cached. */
  async load(ids: Iterable<string>): Promise<void> {
    const missing: string[] = [];
    for (const id of new Set(ids)) if (!this.events.has(id)) missing.push(id);
    if (missing.length === 0) return;
    const found = await this.source.getEvents(missing);
    for (const id of missing) this.events.set(id, found.get(id) ?? null);
    if (this.source.getRejected) {
      const present = missing.filter((id) => found.has(id));
      if (present.length > 0) for (const id of await this.source.getRejected(present)) this.rejected.add(id);
    }
  }

  /** A loaded event, or undefined when it is unknown (or was never loaded). */
  get(id: string): RoomEvent | undefined {
    return this.events.get(id) ?? undefined;
  }

  async fetch(id: string): Promise<RoomEvent | undefined> {
    await this.load([id]);
    return this.get(id);
  }

  isRejected(id: string): boolean {
    return this.rejected.has(id);
  }
}

/**
 * The auth events an event is authorised by. From room version 12 (MSC4291) the create event is
 * no longer listed but implied by the room ID ("!" + hash ⇒ create event "$" + hash), so it is
 * added here: the spec's algorithm reads the create event from auth events (sender power for the
 * sort, auth state for the checks), and in v12 that is where it lives.
 */
export function authEventIdsOf(event: RoomEvent, version: RoomVersion): string[] {
  const ids: string[] = [];
  const listed: unknown = event.pdu.auth_events;
  // Room versions 1 and 2 list [event_id, hashes] pairs rather than bare IDs.
  if (Array.isArray(listed)) {
    for (const entry of listed) {
      const id: unknown = Array.isArray(entry) ? entry[0] : entry;
      if (typeof id === 'string') ids.push(id);
    }
  }
  if (!version.roomIdIsCreateEventHash || event.pdu.type === 'm.room.create') return ids;
  const createId = createEventIdOfRoom(event.roomId);
  return ids.includes(createId) ? ids : [...ids, createId];
}

/** Room versions whose room ID is the create event's reference hash: that create event's ID. */
export function createEventIdOfRoom(roomId: string): string {
  return '$' + roomId.slice(1);
}

/** Total order of the spec's "event_id is less than": by Unicode code point. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 code unit order equals code point order unless surrogates are involved.
  if (!/[\ud800-\udfff]/.test(a + b)) return a < b ? -1 : 1;
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
  return ca.length - cb.length;
}

/** origin_server_ts as a number for ordering; a malformed value sorts as 0 rather than failing. */
export function tsOf(event: RoomEvent): number {
  const ts = event.pdu.origin_server_ts;
  return typeof ts === 'number' && Number.isFinite(ts) ? ts : 0;
}
