// Spec (rooms v2+, "Auth difference"): with C_i the full auth chain of state set S_i, the auth
// difference is ∪C_i − ∩C_i: the auth history that some branch has seen and another has not.
//
// C_i here counts the events of S_i themselves as well as their auth chains, as Synapse does
// (the spec's "union of the auth chains for each event in S_i" leaves that open). It only changes
// anything when an event of one state set is an auth ancestor in another; counting it keeps such
// an event, which every branch knows, out of the replay.

import type { StateResSource } from './source.ts';
import type { SplitState } from './split.ts';

/** Memoised getAuthChain for one resolution. */
export class AuthChains {
  private readonly memo = new Map<string, ReadonlySet<string>>();

  constructor(private readonly source: StateResSource) {}

  get hasUnion(): boolean {
    return this.source.getAuthChainUnion !== undefined;
  }

  /** The source's getAuthChainUnion; only when hasUnion. */
  union(ids: Iterable<string>): Promise<Set<string>> {
    return this.source.getAuthChainUnion!(ids);
  }

  /** `remember: false` for chains read once (unconflicted events), to keep memory flat. */
  async of(id: string, remember = true): Promise<ReadonlySet<string>> {
    let chain = this.memo.get(id);
    if (!chain) {
      chain = await this.source.getAuthChain(id);
      if (remember) this.memo.set(id, chain);
    }
    return chain;
  }
}

/**
 * ∪C_i − ∩C_i, computed without building every C_i in full.
 *
 * Events held by every state set are exactly the unconflicted values; together with their auth
 * chains they form K, which lies inside every C_i, so nothing in K is in the difference. Writing
 * C_i = K ∪ D_i (D_i: the state set's conflicted events and their chains) gives
 * ∪C_i − ∩C_i = (∪D_i − ∩D_i) − K. The D_i are small; K is only walked until every candidate has
 * been found in it or K is complete.
 */
export async function authDifference(
  stateSets: ReadonlyArray<ReadonlyMap<string, string>>,
  split: SplitState,
  chains: AuthChains,
): Promise<Set<string>> {
  // 1. D_i for each state set, counted per event.
  const reachedBy = new Map<string, number>();
  for (const set of stateSets) {
    const d = new Set<string>();
    for (const [key, id] of set) {
      if (split.unconflicted.get(key) === id) continue;
      d.add(id);
      for (const a of await chains.of(id)) d.add(a);
    }
    for (const id of d) reachedBy.set(id, (reachedBy.get(id) ?? 0) + 1);
  }
  const candidates = new Set<string>();
  for (const [id, n] of reachedBy) if (n < stateSets.length) candidates.add(id);

  // 2. Remove what K contains: in one go if the source can, else chain by chain. K is closed
  // under "auth event of", so an unconflicted event already in K brings nothing new and its chain
  // need not be fetched; and once no candidate is left, the rest of K does not matter.
  if (candidates.size === 0) return candidates;
  if (chains.hasUnion) {
    for (const id of split.unconflicted.values()) candidates.delete(id);
    for (const id of await chains.union([...split.unconflicted.values()])) candidates.delete(id);
    return candidates;
  }
  const k = new Set<string>();
  for (const id of split.unconflicted.values()) {
    if (candidates.size === 0) break;
    if (k.has(id)) continue;
    k.add(id);
    candidates.delete(id);
    for (const a of await chains.of(id, false)) {
      k.add(a);
      candidates.delete(a);
    }
  }
  return candidates;
}
