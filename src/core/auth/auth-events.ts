// Which state an event must cite as its auth_events (server-server "Auth events selection"), the
// room-version rule about the cited list itself (rule 3 in v12, 2 before), and the servers whose
// signatures the rules require. The persist pipeline uses these around checkAuth:
//   checkAuthEvents(event, citedEvents, version);
//   checkAuth(event, authStateFromAuthEvents(citedEvents, createEvent), version);
import { stateKeyOf, type RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { isValidUserId } from '../ids.ts';
import { AuthError } from './auth-error.ts';
import { CREATE_KEY, domainOf, hasOwn, isJsonObject } from './state-access.ts';

interface EventShape {
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
}

/**
 * The (type, state_key) pairs whose current state events must be this event's auth_events
 * (spec "Auth events selection"), including the create event except in v12. An event cites
 * those of them that exist in the room; none for m.room.create itself.
 */
export function authEventKeys(event: EventShape, version: RoomVersion): Array<[string, string]> {
  if (event.type === 'm.room.create') return [];
  const keys: Array<[string, string]> = [];
  // v12 implies the create event through the room ID and forbids citing it.
  if (!version.roomIdIsCreateEventHash) keys.push(['m.room.create', '']);
  keys.push(['m.room.power_levels', ''], ['m.room.member', event.sender]);

  if (event.type === 'm.room.member') {
    const content = isJsonObject(event.content) ? event.content : {};
    const membership = hasOwn(content, 'membership') ? content.membership : undefined;
    if (typeof event.state_key === 'string') addKey(keys, 'm.room.member', event.state_key);
    if (membership === 'join' || membership === 'invite' || membership === 'knock') addKey(keys, 'm.room.join_rules', '');
    if (membership === 'invite' && hasOwn(content, 'third_party_invite')) {
      const tpi = content.third_party_invite;
      const signed = isJsonObject(tpi) ? tpi.signed : undefined;
      const token = isJsonObject(signed) ? signed.token : undefined;
      if (typeof token === 'string') addKey(keys, 'm.room.third_party_invite', token);
    }
    if (membership === 'join' && version.restrictedJoinRule && hasOwn(content, 'join_authorised_via_users_server')) {
      const via = content.join_authorised_via_users_server;
      if (typeof via === 'string') addKey(keys, 'm.room.member', via);
    }
  }
  return keys;
}

/**
 * Adds a pair unless already listed. A plain function over the short list, not a closure with a
 * Set: this runs twice for every event sent, and the bundle (esbuild keepNames) renames every
 * closure it creates, which cost more than the rest of the function.
 */
function addKey(keys: Array<[string, string]>, type: string, stateKey: string): void {
  for (const [t, k] of keys) if (t === type && k === stateKey) return;
  keys.push([type, stateKey]);
}

/**
 * The rules about the auth_events list (v12 rule 3; rule 2 before): no duplicate (type, state_key),
 * nothing outside the selection above (so never the create event in v12), a create event among
 * them before v12, and all from this room. `authEvents` are the events the PDU's auth_events name,
 * already fetched; whether any of them was rejected (rule 3.3) is the pipeline's to check.
 */
export function checkAuthEvents(event: RoomEvent, authEvents: readonly RoomEvent[], version: RoomVersion): void {
  const pdu = event.pdu;
  if (pdu.type === 'm.room.create') return; // rule 1 allows or rejects the create event before rule 3
  const allowed = new Set(authEventKeys(pdu, version).map(([type, stateKey]) => stateKeyOf(type, stateKey)));
  const seen = new Set<string>();
  let hasCreate = false;
  for (const authEvent of authEvents) {
    const { type, state_key: stateKey } = authEvent.pdu;
    if (typeof stateKey !== 'string') throw new AuthError(`auth event ${authEvent.eventId} is not a state event`);
    const key = stateKeyOf(type, stateKey);
    if (seen.has(key)) throw new AuthError(`auth_events cite (${type}, ${stateKey}) twice`);
    seen.add(key);
    if (!allowed.has(key)) throw new AuthError(`auth_events may not cite (${type}, ${stateKey})`);
    if (key === CREATE_KEY) hasCreate = true;
    if (authEvent.roomId !== event.roomId) throw new AuthError(`auth event ${authEvent.eventId} is from another room`);
  }
  if (!version.roomIdIsCreateEventHash && !hasCreate) throw new AuthError('auth_events do not include the m.room.create event');
}

/**
 * The state map checkAuth needs from an event's auth events. In v12 the create event is not among
 * them; pass it (found through the room ID) as `createEvent`.
 */
export function authStateFromAuthEvents(authEvents: readonly RoomEvent[], createEvent?: RoomEvent): Map<string, RoomEvent> {
  const state = new Map<string, RoomEvent>();
  if (createEvent) state.set(CREATE_KEY, createEvent);
  for (const authEvent of authEvents) {
    const { type, state_key: stateKey } = authEvent.pdu;
    if (typeof stateKey === 'string') state.set(stateKeyOf(type, stateKey), authEvent);
  }
  return state;
}

/**
 * The servers whose valid signature the rules require on this event: the sender's server
 * ("Events must be signed by the server denoted by the sender property"), in v1–v2 also the
 * server of the event ID, and for v8+ member events carrying join_authorised_via_users_server the
 * server of that user (rule 5.2). The pipeline verifies each with that server's keys.
 */
export function requiredSigningServers(event: RoomEvent, version: RoomVersion): string[] {
  const servers = new Set<string>();
  const senderServer = domainOf(event.pdu.sender);
  if (senderServer) servers.add(senderServer);
  if (version.eventIdFormat === 'v1') {
    const idServer = domainOf(event.eventId);
    if (idServer) servers.add(idServer);
  }
  const content = event.pdu.content;
  if (version.restrictedJoinRule && event.pdu.type === 'm.room.member' && isJsonObject(content) && hasOwn(content, 'join_authorised_via_users_server')) {
    const via = content.join_authorised_via_users_server;
    // checkAuth rejects a value that is not a user ID, so there is always a server to name.
    if (typeof via === 'string' && isValidUserId(via)) servers.add(domainOf(via)!);
  }
  return [...servers];
}
