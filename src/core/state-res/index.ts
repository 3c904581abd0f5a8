// State resolution v2 (room versions 2–11) and v2.1 (room version 12, MSC4297): given the states
// after each prev event, the state before the new event. Spec: rooms/v2 "State resolution"
// (content/rooms/fragments/v2-state-res.md) and rooms/v12 for the v2.1 changes.
//
// Invariants of this folder:
// - Pure logic: the only input/output is the StateResSource the caller passes in; no clocks, no
//   randomness, no iteration-order dependence — every server must reach the same answer.
// - Each spec step is its own function and file: split (unconflicted/conflicted), auth
//   difference, conflicted state subgraph (v2.1), reverse topological power ordering, iterative
//   auth checks (through core/auth's checkAuth), mainline ordering; this file strings them together.

import { MatrixError } from '../errors.ts';
import type { RoomVersion } from '../room-versions.ts';
import { POWER_LEVELS_KEY } from '../auth/state-access.ts';
import { AuthChains, authDifference } from './auth-difference.ts';
import { conflictedSubgraph } from './conflicted-subgraph.ts';
import { iterativeAuthChecks } from './iterative-auth.ts';
import { mainlineSort } from './mainline.ts';
import { isPowerEvent, reverseTopologicalPowerSort } from './power-sort.ts';
import { EventCache, type StateResSource } from './source.ts';
import { conflictedEventIds, splitStateSets } from './split.ts';

export type { StateResSource } from './source.ts';

/** stateSets: each maps stateKeyOf(type, state_key) → event ID. Returns the resolved map. */
export async function resolveState(
  version: RoomVersion,
  stateSets: ReadonlyArray<ReadonlyMap<string, string>>,
  source: StateResSource,
): Promise<Map<string, string>> {
  if (version.stateRes === 'v1') {
    throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `State resolution for room version ${version.id} is not supported`);
  }
  const split = splitStateSets(stateSets);
  if (split.conflicted.size === 0) return new Map(split.unconflicted);

  const cache = new EventCache(source);
  const chains = new AuthChains(source);
  const v21 = version.stateRes === 'v2.1';

  // Full conflicted set: conflicted state set ∪ auth difference (∪ conflicted state subgraph in
  // v2.1). Events the source does not have cannot be replayed and drop out, as in Synapse.
  const conflicted = conflictedEventIds(split);
  const full = new Set<string>(conflicted);
  for (const id of await authDifference(stateSets, split, chains)) full.add(id);
  if (v21) for (const id of await conflictedSubgraph(conflicted, chains, cache, version)) full.add(id);
  await cache.load(full);
  for (const id of full) if (!cache.get(id)) full.delete(id);

  // 1. Power events and their auth ancestors in the full conflicted set, oldest first.
  const powerEvents = [...full].filter((id) => isPowerEvent(cache.get(id)!));
  const sortedPower = await reverseTopologicalPowerSort(powerEvents, full, cache, version);

  // 2. Replay them. v2 starts from the unconflicted state; v2.1 from nothing, so each event is
  // authorised by its own auth chain rather than by unconflicted state that may not match it.
  const base = v21 ? new Map<string, string>() : split.unconflicted;
  const partial = await iterativeAuthChecks(sortedPower, base, cache, version);

  // 3. Everything else, by mainline of the power levels just resolved.
  const inPowerPhase = new Set(sortedPower);
  const rest = [...full].filter((id) => !inPowerPhase.has(id));
  const sortedRest = await mainlineSort(rest, partial.get(POWER_LEVELS_KEY), cache, version);

  // 4. Replay those on top.
  const resolved = await iterativeAuthChecks(sortedRest, partial, cache, version);

  // 5. Unconflicted state always stands.
  for (const [key, id] of split.unconflicted) resolved.set(key, id);
  return resolved;
}
