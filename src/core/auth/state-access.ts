// Reading the auth-relevant bits of room state. Event content is untrusted JSON from any server,
// so every read checks its type; a wrong type reads as "absent" unless a rule says otherwise.
import { stateKeyOf, type RoomEvent } from '../pdu.ts';

export type AuthState = ReadonlyMap<string, RoomEvent>;
export type JsonObject = Record<string, unknown>;

export const CREATE_KEY = stateKeyOf('m.room.create', '');
export const POWER_LEVELS_KEY = stateKeyOf('m.room.power_levels', '');
export const JOIN_RULES_KEY = stateKeyOf('m.room.join_rules', '');

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own-property test: content keys such as "constructor" or "__proto__" must not hit the prototype. */
export function hasOwn(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

export function ownValue(obj: JsonObject, key: string): unknown {
  return hasOwn(obj, key) ? obj[key] : undefined;
}

/** The user's current membership ("join", "invite", …), or undefined if they have no member event. */
export function membershipOf(authState: AuthState, userId: string): string | undefined {
  const content = authState.get(stateKeyOf('m.room.member', userId))?.pdu.content;
  const membership = isJsonObject(content) ? ownValue(content, 'membership') : undefined;
  return typeof membership === 'string' ? membership : undefined;
}

/**
 * The room's join rule. With no m.room.join_rules event (or no join_rule in it) rooms behave as
 * "invite", which is what every deployed server does; a join_rule of the wrong type matches no
 * rule, so nobody can join through it.
 */
export function joinRuleOf(authState: AuthState): string {
  const content = authState.get(JOIN_RULES_KEY)?.pdu.content;
  const rule = isJsonObject(content) ? ownValue(content, 'join_rule') : undefined;
  if (rule === undefined) return 'invite';
  return typeof rule === 'string' ? rule : '';
}

/** Event IDs of prev_events/auth_events; v1/v2 list [event_id, hashes] pairs instead of strings. */
export function referencedEventIds(list: unknown): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const ids: string[] = [];
  for (const entry of list) {
    const id = Array.isArray(entry) ? entry[0] : entry;
    if (typeof id !== 'string') return undefined;
    ids.push(id);
  }
  return ids;
}

/** The part after the first ':' of a user ID, room ID or v1/v2 event ID. */
export function domainOf(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : id.slice(colon + 1);
}
