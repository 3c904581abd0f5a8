// Spec (rooms v2+, "Iterative auth checks", algorithm steps 2 and 4): replay a sorted list of
// state events onto a state map, keeping each one the authorization rules allow against the
// state built so far and dropping the rest.
//
// The state an event is checked against is its own auth_events, overlaid with the partially
// resolved state for every key the auth events selection picks for it: the resolved state wins
// where it has the key, the event's own auth event fills in where it does not ("If a key that is
// required for checking the authorisation rules is not present in the state, then the appropriate
// state event from the event's auth_events is used"). Rejected events are never used as auth
// events ("Rejected auth events are deliberately excluded"). An event that was itself rejected
// against the state before it is checked like any other and may enter the resolved state (spec
// "Rejected events": "handled as usual"); Synapse keeps such events out, knowingly off-spec.
// Events rejected against their own auth events never get here: they are in no state set and no
// auth chain.

import { stateKeyOf, type RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { authEventKeys } from '../auth/auth-events.ts';
import { isAuthorised } from '../auth/check-auth.ts';
import { authEventIdsOf, type EventCache } from './source.ts';

/**
 * Applies `eventIds` in order to a copy of `baseState` (stateKeyOf → event ID) and returns it.
 * Every event given must already be loaded into `cache`; unknown ones are skipped.
 */
export async function iterativeAuthChecks(
  eventIds: readonly string[],
  baseState: ReadonlyMap<string, string>,
  cache: EventCache,
  version: RoomVersion,
): Promise<Map<string, string>> {
  const resolved = new Map(baseState);
  for (const id of eventIds) {
    const event = cache.get(id);
    if (!event || typeof event.pdu.state_key !== 'string') continue;
    const authState = await authStateFor(event, resolved, cache, version);
    if (!isAuthorised(event, authState, version)) continue;
    resolved.set(stateKeyOf(event.pdu.type, event.pdu.state_key), id);
  }
  return resolved;
}

/** The auth state for one event: its own auth events, overlaid with the resolved state. */
export async function authStateFor(
  event: RoomEvent,
  resolved: ReadonlyMap<string, string>,
  cache: EventCache,
  version: RoomVersion,
): Promise<Map<string, RoomEvent>> {
  const authState = new Map<string, RoomEvent>();
  const ownIds = authEventIdsOf(event, version);
  const keys = authEventKeys(event.pdu, version).map(([type, stateKey]) => stateKeyOf(type, stateKey));
  const fromState: string[] = [];
  for (const key of keys) {
    const id = resolved.get(key);
    if (id !== undefined) fromState.push(id);
  }
  await cache.load([...ownIds, ...fromState]);

  for (const id of ownIds) {
    const auth = cache.get(id);
    if (!auth || cache.isRejected(id) || typeof auth.pdu.state_key !== 'string') continue;
    authState.set(stateKeyOf(auth.pdu.type, auth.pdu.state_key), auth);
  }
  for (const key of keys) {
    const id = resolved.get(key);
    const auth = id === undefined ? undefined : cache.get(id);
    if (auth && !cache.isRejected(id!)) authState.set(key, auth);
  }
  return authState;
}
