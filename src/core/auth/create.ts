// Authorization of m.room.create (rule 1 of every room version). The create event is checked on
// its own: it has no auth events and no state before it.
import type { RoomEvent } from '../pdu.ts';
import { ROOM_VERSIONS, type RoomVersion } from '../room-versions.ts';
import { isValidUserId } from '../ids.ts';
import { AuthError } from './auth-error.ts';
import { domainOf, hasOwn, isJsonObject } from './state-access.ts';

/**
 * v12 rule 1.4: additional_creators must be an array of valid user IDs. Exported for room creation
 * and upgrades, which must refuse bad values before building the event.
 */
export function validateAdditionalCreators(value: unknown): void {
  if (!Array.isArray(value)) throw new AuthError('additional_creators must be an array');
  for (const entry of value) {
    if (typeof entry !== 'string' || !isValidUserId(entry)) {
      throw new AuthError(`additional_creators: ${JSON.stringify(entry)} is not a valid user ID`);
    }
  }
}

export function checkCreateEvent(event: RoomEvent, version: RoomVersion): void {
  const pdu = event.pdu;
  const content = isJsonObject(pdu.content) ? pdu.content : {};

  // 1.1: the create event is the root of the room's graph.
  if (pdu.prev_events !== undefined && (!Array.isArray(pdu.prev_events) || pdu.prev_events.length > 0)) {
    throw new AuthError('m.room.create must not have prev_events');
  }

  // 1.2: v12 derives the room ID from this event, so it cannot carry one; earlier versions tie
  // the room ID's domain to the creating server.
  if (version.roomIdIsCreateEventHash) {
    if (hasOwn(pdu, 'room_id')) throw new AuthError('m.room.create must not have a room_id in this room version');
  } else {
    const roomDomain = domainOf(pdu.room_id);
    if (roomDomain === undefined || roomDomain !== domainOf(pdu.sender)) {
      throw new AuthError("m.room.create: the room ID's domain does not match the sender's");
    }
  }

  // 1.3: content.room_version, when present, must name a version we know.
  if (hasOwn(content, 'room_version')) {
    const named = content.room_version;
    if (typeof named !== 'string' || !ROOM_VERSIONS.has(named)) {
      throw new AuthError(`m.room.create: unknown room version ${JSON.stringify(named)}`);
    }
  }

  // 1.4 (v1–v10): the creator is named in content; from v11 it is the sender.
  if (!version.implicitRoomCreator && !hasOwn(content, 'creator')) {
    throw new AuthError('m.room.create: content has no creator');
  }

  // 1.4 (v12): additional creators must be user IDs.
  if (version.privilegedCreators && hasOwn(content, 'additional_creators')) {
    validateAdditionalCreators(content.additional_creators);
  }
}
