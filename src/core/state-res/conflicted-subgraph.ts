// Spec (room version 12, MSC4297 "state resolution v2.1", "Conflicted state subgraph"): the
// union of all auth_events paths between any two events of the conflicted state set, endpoints
// included. It brings back the events *between* an old and a new conflicted event (e.g. the
// promotion that authorised a later power levels change) which the auth difference misses when
// both branches have seen them through their auth chains.
//
// An event E lies on such a path iff some conflicted event reaches E (E is in its auth chain, or
// is it) and E reaches some conflicted event. The first set is the union of the conflicted
// events' auth chains; the second is found by walking auth_events edges backwards from the
// conflicted events, staying inside the first set (every event on a path from E down to a
// conflicted event is itself an ancestor of whatever reaches E, so nothing is lost).

import type { RoomVersion } from '../room-versions.ts';
import type { AuthChains } from './auth-difference.ts';
import { authEventIdsOf, type EventCache } from './source.ts';

export async function conflictedSubgraph(
  conflicted: ReadonlySet<string>,
  chains: AuthChains,
  cache: EventCache,
  version: RoomVersion,
): Promise<Set<string>> {
  // Everything some conflicted event reaches (itself included).
  const reachable = new Set<string>(conflicted);
  for (const id of conflicted) for (const a of await chains.of(id)) reachable.add(a);

  await cache.load(reachable);
  // Reversed auth edges, restricted to `reachable`: auth event → events citing it.
  const citedBy = new Map<string, string[]>();
  for (const id of reachable) {
    const event = cache.get(id);
    if (!event) continue;
    for (const a of authEventIdsOf(event, version)) {
      if (!reachable.has(a) || a === id) continue;
      let list = citedBy.get(a);
      if (!list) citedBy.set(a, (list = []));
      list.push(id);
    }
  }

  // Everything in `reachable` that reaches a conflicted event.
  const subgraph = new Set<string>(conflicted);
  const queue = [...conflicted];
  while (queue.length > 0) {
    const id = queue.pop()!;
    for (const child of citedBy.get(id) ?? []) {
      if (subgraph.has(child)) continue;
      subgraph.add(child);
      queue.push(child);
    }
  }
  return subgraph;
}
