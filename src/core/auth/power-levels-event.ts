// Authorization of m.room.power_levels events (rule 10 in v12, 9 in v6–v11, 10 in v1–v5): the
// content's shape, then "nobody grants or takes away more power than they have".
import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { isValidUserId } from '../ids.ts';
import { AuthError } from './auth-error.ts';
import {
  NAMED_LEVELS,
  creatorsOfCreateEvent,
  isStrictPowerLevel,
  parsePowerLevel,
  userPowerLevel,
} from './power-levels.ts';
import { CREATE_KEY, POWER_LEVELS_KEY, hasOwn, isJsonObject, type AuthState, type JsonObject } from './state-access.ts';

/**
 * The shape checks of the rules (10.1–10.3): v10+ wants integers everywhere; every version wants
 * `users`, when present, to map valid user IDs to power levels (v1–v9 also accept integer strings).
 * Exported so the client API can refuse bad content before building an event.
 */
export function validatePowerLevelsContent(content: JsonObject, version: RoomVersion): void {
  if (version.enforceIntPowerLevels) {
    for (const key of NAMED_LEVELS) {
      if (hasOwn(content, key) && !isStrictPowerLevel(content[key])) throw new AuthError(`power levels: ${key} must be an integer`);
    }
    for (const key of ['events', 'notifications']) {
      if (!hasOwn(content, key)) continue;
      const map = content[key];
      if (!isJsonObject(map) || !Object.values(map).every(isStrictPowerLevel)) {
        throw new AuthError(`power levels: ${key} must be an object of integers`);
      }
    }
  }
  if (hasOwn(content, 'users')) {
    const users = content.users;
    if (!isJsonObject(users)) throw new AuthError('power levels: users must be an object');
    for (const [userId, level] of Object.entries(users)) {
      if (!isValidUserId(userId)) throw new AuthError(`power levels: ${JSON.stringify(userId)} is not a valid user ID`);
      const ok = version.enforceIntPowerLevels ? isStrictPowerLevel(level) : parsePowerLevel(level) !== undefined;
      if (!ok) throw new AuthError(`power levels: the level of ${userId} must be an integer`);
    }
  }
}

/** A level that may be absent; present values must parse (a null or garbage value is not "absent"). */
function presentLevel(container: JsonObject, key: string, where: string): number | undefined {
  if (!hasOwn(container, key)) return undefined;
  const level = parsePowerLevel(container[key]);
  if (level === undefined) throw new AuthError(`power levels: ${where}${key} is not a power level`);
  return level;
}

/** A nested map (events, notifications, users); absent reads as empty, anything but an object is malformed. */
function levelMap(content: JsonObject, key: string): JsonObject {
  if (!hasOwn(content, key)) return {};
  const map = content[key];
  if (!isJsonObject(map)) throw new AuthError(`power levels: ${key} is not an object`);
  return map;
}

/**
 * Compares one key of the old and new content. "Added, changed or removed" is about presence:
 * a key added with its default value is an addition, as in deployed servers.
 */
function compare(oldMap: JsonObject, newMap: JsonObject, key: string, where: string): { changed: boolean; old?: number; new?: number } {
  const oldLevel = presentLevel(oldMap, key, where);
  const newLevel = presentLevel(newMap, key, where);
  return { changed: oldLevel !== newLevel, old: oldLevel, new: newLevel };
}

/** Rules 10.1–10.10 for an m.room.power_levels event whose sender passed the earlier rules. */
export function checkPowerLevelsEvent(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const pdu = event.pdu;
  const content = isJsonObject(pdu.content) ? pdu.content : {};

  // 10.1–10.3: shape.
  validatePowerLevelsContent(content, version);

  // 10.4 (v12): creators have infinite power and must not be listed.
  if (version.privilegedCreators) {
    const users = levelMap(content, 'users');
    const create = authState.get(CREATE_KEY);
    if (!create) throw new AuthError('no m.room.create event in the auth state');
    for (const creator of creatorsOfCreateEvent(create, version)) {
      if (hasOwn(users, creator)) throw new AuthError(`power levels: room creator ${creator} cannot be listed in users`);
    }
  }

  // 10.5: the first power levels event of a room may say anything.
  const previous = authState.get(POWER_LEVELS_KEY);
  if (!previous) return;
  const oldContent = isJsonObject(previous.pdu.content) ? previous.pdu.content : {};
  const senderLevel = userPowerLevel(pdu.sender, authState, version);

  // 10.6: top-level levels may only move within the sender's own level.
  for (const key of NAMED_LEVELS) {
    const c = compare(oldContent, content, key, '');
    if (!c.changed) continue;
    if (c.old !== undefined && c.old > senderLevel) throw new AuthError(`power levels: cannot change ${key} from above your level`);
    if (c.new !== undefined && c.new > senderLevel) throw new AuthError(`power levels: cannot set ${key} above your level`);
  }

  // 10.7–10.8: per-event-type and (v6+) per-notification levels.
  const maps = version.limitNotificationsPowerLevels ? ['events', 'notifications'] : ['events'];
  for (const mapKey of maps) {
    const oldMap = levelMap(oldContent, mapKey);
    const newMap = levelMap(content, mapKey);
    for (const key of new Set([...Object.keys(oldMap), ...Object.keys(newMap)])) {
      const c = compare(oldMap, newMap, key, `${mapKey}.`);
      if (!c.changed) continue;
      if (c.old !== undefined && c.old > senderLevel) throw new AuthError(`power levels: cannot change ${mapKey}.${key} from above your level`);
      if (c.new !== undefined && c.new > senderLevel) throw new AuthError(`power levels: cannot set ${mapKey}.${key} above your level`);
    }
  }

  // 10.9–10.10: users. Nobody may touch a user at or above their own level, except themselves.
  const oldUsers = levelMap(oldContent, 'users');
  const newUsers = levelMap(content, 'users');
  for (const userId of new Set([...Object.keys(oldUsers), ...Object.keys(newUsers)])) {
    const c = compare(oldUsers, newUsers, userId, 'users.');
    if (!c.changed) continue;
    if (userId !== pdu.sender && c.old !== undefined && c.old >= senderLevel) {
      throw new AuthError(`power levels: cannot change the level of ${userId}, which is not below yours`);
    }
    if (c.new !== undefined && c.new > senderLevel) throw new AuthError(`power levels: cannot give ${userId} a level above yours`);
  }
}
