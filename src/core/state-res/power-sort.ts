// Spec (rooms v2+, "Power events" and "Reverse topological power ordering", algorithm step 1).
// Power events are the ones that can take abilities away; they are replayed first, oldest first
// along the auth DAG, with ties broken by sender power (higher first), then origin_server_ts,
// then event ID — Kahn's algorithm always taking the smallest ready event.

import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { creatorsOfCreateEvent, parsePowerLevel } from '../auth/power-levels.ts';
import { isJsonObject, ownValue } from '../auth/state-access.ts';
import { authEventIdsOf, compareIds, tsOf, type EventCache } from './source.ts';

/**
 * m.room.power_levels, m.room.join_rules, and kicks and bans (leave/ban of someone else).
 * m.room.create counts too, as in Synapse: it can only be in the full conflicted set in broken
 * rooms, and treating it as a power event there keeps it ahead of everything it authorises.
 */
export function isPowerEvent(event: RoomEvent): boolean {
  const { type, state_key: stateKey, content, sender } = event.pdu;
  if (stateKey === '' && (type === 'm.room.power_levels' || type === 'm.room.join_rules' || type === 'm.room.create')) {
    return true;
  }
  if (type !== 'm.room.member' || typeof stateKey !== 'string') return false;
  const membership = content?.membership;
  return (membership === 'leave' || membership === 'ban') && sender !== stateKey;
}

/**
 * The sender's power level "when looking at their auth events": the power levels event among
 * them, else 100 for the room creator and 0 for anyone else. From v12 creators are infinitely
 * powerful whatever the power levels say.
 */
export async function senderPowerLevel(event: RoomEvent, cache: EventCache, version: RoomVersion): Promise<number> {
  const authIds = authEventIdsOf(event, version);
  await cache.load(authIds);
  let powerLevels: RoomEvent | undefined;
  let create: RoomEvent | undefined;
  for (const id of authIds) {
    const auth = cache.get(id);
    if (!auth || auth.pdu.state_key !== '') continue;
    if (auth.pdu.type === 'm.room.power_levels') powerLevels ??= auth;
    else if (auth.pdu.type === 'm.room.create') create ??= auth;
  }
  const sender = event.pdu.sender;
  const isCreator = create !== undefined && creatorsOfCreateEvent(create, version).has(sender);
  if (version.privilegedCreators && isCreator) return Infinity;
  if (!powerLevels) return isCreator ? 100 : 0;
  // Lenient on malformed content (a value that is not a level reads as absent): this only
  // orders events; the auth checks decide whether they are allowed.
  const content = isJsonObject(powerLevels.pdu.content) ? powerLevels.pdu.content : {};
  const users = ownValue(content, 'users');
  const own = isJsonObject(users) ? parsePowerLevel(ownValue(users, sender)) : undefined;
  return own ?? parsePowerLevel(ownValue(content, 'users_default')) ?? 0;
}

/**
 * Sorts `powerEvents` together with their auth ancestors inside the full conflicted set.
 *
 * The graph is built by following auth_events links while they stay inside the full conflicted
 * set, as Synapse and ruma do. The spec words it as "events in the auth chain of P which also
 * belong to the full conflicted set"; the two differ only if such an event is reachable solely
 * through an event outside the set, and matching the deployed servers keeps rooms converging.
 * Every event given must already be loaded into `cache`.
 */
export async function reverseTopologicalPowerSort(
  powerEvents: Iterable<string>,
  fullConflicted: ReadonlySet<string>,
  cache: EventCache,
  version: RoomVersion,
): Promise<string[]> {
  // node → its auth events inside the graph (edges point from an event to older events)
  const authEdges = new Map<string, Set<string>>();
  const stack = [...powerEvents];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (authEdges.has(id)) continue;
    const edges = new Set<string>();
    authEdges.set(id, edges);
    const event = cache.get(id);
    if (!event) continue;
    for (const a of authEventIdsOf(event, version)) {
      if (!fullConflicted.has(a) || !cache.get(a)) continue;
      edges.add(a);
      if (!authEdges.has(a)) stack.push(a);
    }
  }

  const keys = new Map<string, { power: number; ts: number }>();
  for (const id of authEdges.keys()) {
    const event = cache.get(id)!;
    keys.set(id, { power: await senderPowerLevel(event, cache, version), ts: tsOf(event) });
  }
  const compare = (a: string, b: string): number => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    if (ka.power !== kb.power) return ka.power > kb.power ? -1 : 1;
    if (ka.ts !== kb.ts) return ka.ts < kb.ts ? -1 : 1;
    return compareIds(a, b);
  };
  return kahnSort(authEdges, compare);
}

/**
 * Kahn's algorithm on "x depends on its auth events": an event becomes ready once all its auth
 * events in the graph are placed, and the smallest ready event by `compare` goes next. Events on
 * a cycle (impossible with hash event IDs) are never ready and are left out.
 */
export function kahnSort(authEdges: ReadonlyMap<string, ReadonlySet<string>>, compare: (a: string, b: string) => number): string[] {
  const waitingOn = new Map<string, number>();
  const citedBy = new Map<string, string[]>();
  const ready = new MinHeap<string>(compare);
  for (const [id, edges] of authEdges) {
    waitingOn.set(id, edges.size);
    if (edges.size === 0) ready.push(id);
    for (const a of edges) {
      let list = citedBy.get(a);
      if (!list) citedBy.set(a, (list = []));
      list.push(id);
    }
  }
  const out: string[] = [];
  while (ready.size > 0) {
    const id = ready.pop()!;
    out.push(id);
    for (const child of citedBy.get(id) ?? []) {
      const left = waitingOn.get(child)! - 1;
      waitingOn.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return out;
}

/** Binary min-heap; enough of a priority queue for Kahn's algorithm. */
class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(items[i], items[parent]) >= 0) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < items.length && this.compare(items[l], items[min]) < 0) min = l;
        if (r < items.length && this.compare(items[r], items[min]) < 0) min = r;
        if (min === i) break;
        [items[i], items[min]] = [items[min], items[i]];
        i = min;
      }
    }
    return top;
  }
}
