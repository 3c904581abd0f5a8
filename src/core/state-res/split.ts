// Spec (rooms v2+, "Unconflicted state map and conflicted state set"): a key whose event is the
// same in every state set is unconflicted; any other key — a different event somewhere, or absent
// from some state set — puts each of its events into the conflicted state set.

export interface SplitState {
  /** stateKeyOf(type, state_key) → the one event ID every state set agrees on. */
  unconflicted: Map<string, string>;
  /** stateKeyOf(type, state_key) → the distinct event IDs the state sets hold for it. */
  conflicted: Map<string, Set<string>>;
}

export function splitStateSets(stateSets: ReadonlyArray<ReadonlyMap<string, string>>): SplitState {
  const unconflicted = new Map<string, string>();
  const conflicted = new Map<string, Set<string>>();
  const keys = new Set<string>();
  for (const set of stateSets) for (const key of set.keys()) keys.add(key);

  for (const key of keys) {
    const ids = new Set<string>();
    let absentSomewhere = false;
    for (const set of stateSets) {
      const id = set.get(key);
      if (id === undefined) absentSomewhere = true;
      else ids.add(id);
    }
    if (ids.size === 1 && !absentSomewhere) unconflicted.set(key, ids.values().next().value!);
    else conflicted.set(key, ids);
  }
  return { unconflicted, conflicted };
}

/** The conflicted state set as the spec uses it: a set of events, keys forgotten. */
export function conflictedEventIds(split: SplitState): Set<string> {
  const out = new Set<string>();
  for (const ids of split.conflicted.values()) for (const id of ids) out.add(id);
  return out;
}
