// Power levels as the authorization rules read them (spec m.room.power_levels, server-server
// "Definitions", and the room versions' power level notes). Services use the same functions to
// answer "may X do Y" before building an event, so the answer always matches what checkAuth does.
import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { AuthError } from './auth-error.ts';
import {
  CREATE_KEY,
  POWER_LEVELS_KEY,
  isJsonObject,
  hasOwn,
  type AuthState,
  type JsonObject,
} from './state-access.ts';

/** The top-level integer keys of m.room.power_levels and their defaults. */
export const DEFAULT_LEVELS = {
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
} as const;
export type NamedLevel = keyof typeof DEFAULT_LEVELS;
export const NAMED_LEVELS = Object.keys(DEFAULT_LEVELS) as NamedLevel[];

/** v1–v11: with no m.room.power_levels event the creator has this level. */
const CREATOR_LEVEL_WITHOUT_POWER_LEVELS = 100;

// Room versions 1–9 accept integer strings: optional surrounding whitespace, one optional sign,
// decimal digits with any leading zeros (rooms/v1 "m.room.power_levels events accept values as
// strings").
const INTEGER_STRING = /^\s*[+-]?[0-9]+\s*$/;

/**
 * A power level value as stored in existing state, in any room version: an integer, a float
 * truncated toward zero (v1–v5 allow floats), or an integer string (v1–v9). Returns undefined for
 * anything else. Newer versions reject the legacy forms when the event is authorised
 * (validatePowerLevelsContent), so reading leniently never changes their meaning.
 */
export function parsePowerLevel(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = Math.trunc(value);
  else if (typeof value === 'string' && INTEGER_STRING.test(value)) n = Number(value.trim());
  else return undefined;
  if (!Number.isFinite(n)) return undefined;
  return n === 0 ? 0 : n; // no -0
}

/** v10+: a power level must be a JSON integer (in canonical JSON's range), never a string. */
export function isStrictPowerLevel(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/**
 * Reads `container[key]` as a power level. Absent or null reads as undefined (the caller applies
 * the default, as deployed servers do); a malformed container or value makes the event that needs
 * it unauthorisable rather than silently using a default.
 */
export function readLevel(container: unknown, key: string, where: string): number | undefined {
  if (container === undefined || container === null) return undefined;
  if (!isJsonObject(container)) throw new AuthError(`m.room.power_levels ${where} is not an object`);
  if (!hasOwn(container, key)) return undefined;
  const raw = container[key];
  if (raw === null) return undefined;
  const level = parsePowerLevel(raw);
  if (level === undefined) throw new AuthError(`m.room.power_levels ${where}.${key} is not a power level`);
  return level;
}

function createEventOf(authState: AuthState): RoomEvent {
  const create = authState.get(CREATE_KEY);
  if (!create) throw new AuthError('no m.room.create event in the auth state');
  return create;
}

function powerLevelsContent(authState: AuthState): JsonObject | undefined {
  const content = authState.get(POWER_LEVELS_KEY)?.pdu.content;
  if (content === undefined) return undefined;
  return isJsonObject(content) ? content : {};
}

/**
 * The room creators a create event names. v12: its sender plus content.additional_creators
 * (validated when the create event was authorised). v11: its sender. v1–v10: content.creator.
 */
export function creatorsOfCreateEvent(create: RoomEvent, version: RoomVersion): Set<string> {
  const { sender, content } = create.pdu;
  const creators = new Set<string>();
  if (version.privilegedCreators) {
    creators.add(sender);
    const additional = isJsonObject(content) && hasOwn(content, 'additional_creators') ? content.additional_creators : undefined;
    if (Array.isArray(additional)) for (const id of additional) if (typeof id === 'string') creators.add(id);
  } else if (version.implicitRoomCreator) {
    creators.add(sender);
  } else {
    const creator = isJsonObject(content) && hasOwn(content, 'creator') ? content.creator : undefined;
    if (typeof creator === 'string') creators.add(creator);
  }
  return creators;
}

/** The room's creators (see creatorsOfCreateEvent). Throws AuthError if the create event is missing. */
export function roomCreators(authState: ReadonlyMap<string, RoomEvent>, version: RoomVersion): Set<string> {
  return creatorsOfCreateEvent(createEventOf(authState), version);
}

/**
 * The user's power level: Infinity for v12 creators; otherwise users[userId], else users_default,
 * else 0. With no m.room.power_levels event, v1–v11 give the creator 100 and everyone else 0.
 */
export function userPowerLevel(userId: string, authState: ReadonlyMap<string, RoomEvent>, version: RoomVersion): number {
  const create = createEventOf(authState);
  if (version.privilegedCreators && creatorsOfCreateEvent(create, version).has(userId)) return Infinity;
  const content = powerLevelsContent(authState);
  if (content) {
    return readLevel(content.users, userId, 'users') ?? readLevel(content, 'users_default', 'content') ?? DEFAULT_LEVELS.users_default;
  }
  if (!version.privilegedCreators && creatorsOfCreateEvent(create, version).has(userId)) return CREATOR_LEVEL_WITHOUT_POWER_LEVELS;
  return DEFAULT_LEVELS.users_default;
}

/**
 * The level needed to send an event ("required power level": events[type], else state_default
 * for state events or events_default for others) or to invite/kick/ban/redact (the "invite
 * level" etc., which default to 0/50/50/50). The redact level is not part of the auth rules from
 * v3 on; services apply it when handling redactions of other users' events.
 */
export function requiredPowerLevel(
  kind: { eventType: string; isState: boolean } | 'invite' | 'kick' | 'ban' | 'redact',
  authState: ReadonlyMap<string, RoomEvent>,
): number {
  const content = powerLevelsContent(authState);
  if (typeof kind === 'string') {
    return (content && readLevel(content, kind, 'content')) ?? DEFAULT_LEVELS[kind];
  }
  const defaultKey = kind.isState ? 'state_default' : 'events_default';
  if (!content) return DEFAULT_LEVELS[defaultKey];
  return readLevel(content.events, kind.eventType, 'events') ?? readLevel(content, defaultKey, 'content') ?? DEFAULT_LEVELS[defaultKey];
}
