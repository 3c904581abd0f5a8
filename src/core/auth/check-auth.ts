// The authorization rules of the room versions (spec "Room Versions" → "Authorization rules"),
// numbered as in room version 12. Earlier versions differ only through RoomVersion switches:
//   v1–v5  m.room.aliases is authorised by the sender's domain alone (specialCaseAliasesAuth);
//   v1–v2  m.room.redaction needs the redact level or a same-domain target (event IDs with domains);
//   v1–v5  power_levels.notifications is not checked (limitNotificationsPowerLevels from v6);
//   v7+    knock; v8+ restricted; v10+ knock_restricted and integer-only power levels;
//   v11+   the creator is the create event's sender; v12 creators are infinitely powerful and the
//          room ID is the create event's ID.
// Rules about the auth_events list itself (rule 3) are in auth-events.ts, and signature checks are
// the persist pipeline's: this module sees one event and a state map, and does no I/O.
import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { redactsOf } from '../pdu.ts';
import { AuthError } from './auth-error.ts';
import { checkCreateEvent } from './create.ts';
import { checkMemberEvent } from './membership.ts';
import { checkPowerLevelsEvent } from './power-levels-event.ts';
import { requiredPowerLevel, userPowerLevel } from './power-levels.ts';
import { CREATE_KEY, domainOf, membershipOf, type AuthState } from './state-access.ts';

export { AuthError } from './auth-error.ts';

/**
 * v1–v2 have a redaction rule comparing the domains of event IDs; only their event IDs
 * ("$opaque:domain") have domains, so the event ID format is the switch.
 */
function hasRedactionAuthRule(version: RoomVersion): boolean {
  return version.eventIdFormat === 'v1';
}

/** "!" + the create event's ID without its "$": the room ID of a v12 room. */
export function roomIdForCreateEventId(createEventId: string): string {
  return '!' + createEventId.slice(1);
}

/**
 * Throws AuthError if `event` is not allowed given `authState`. authState maps
 * stateKeyOf(type, state_key) → RoomEvent and ALWAYS includes the room's m.room.create event
 * (also in v12, where auth_events omit it). Checks the rules that depend on the event and that
 * state only (not signatures/hashes, which the persist pipeline checks). For m.room.create it
 * checks the create rules (no prev_events, room version known, v12 room id rule...).
 */
export function checkAuth(event: RoomEvent, authState: ReadonlyMap<string, RoomEvent>, version: RoomVersion): void {
  const pdu = event.pdu;

  // 1: the create event stands alone.
  if (pdu.type === 'm.room.create') {
    checkCreateEvent(event, version);
    return;
  }

  const create = authState.get(CREATE_KEY);
  if (!create) throw new AuthError('no m.room.create event in the auth state');

  // 2 (v12): the room ID names the create event. Earlier versions: the create event the state
  // holds must be this room's (auth events from another room grant nothing).
  if (version.roomIdIsCreateEventHash) {
    if (pdu.room_id !== roomIdForCreateEventId(create.eventId)) throw new AuthError("the room ID is not the create event's ID");
  } else if (typeof pdu.room_id !== 'string' || pdu.room_id !== create.roomId) {
    throw new AuthError('the create event belongs to another room');
  }

  // 4: m.federate = false keeps other servers' users out.
  if (create.pdu.content?.['m.federate'] === false && domainOf(pdu.sender) !== domainOf(create.pdu.sender)) {
    throw new AuthError('this room does not federate');
  }

  // v1–v5 rule 4: aliases belong to the server named by the state_key.
  if (version.specialCaseAliasesAuth && pdu.type === 'm.room.aliases') {
    if (typeof pdu.state_key !== 'string') throw new AuthError('m.room.aliases needs a state_key');
    if (domainOf(pdu.sender) !== pdu.state_key) throw new AuthError("m.room.aliases: state_key is not the sender's domain");
    return;
  }

  // 5: membership changes have their own rules and end here.
  if (pdu.type === 'm.room.member') {
    checkMemberEvent(event, authState, version);
    return;
  }

  // 6: everything else needs a joined sender.
  if (membershipOf(authState, pdu.sender) !== 'join') throw new AuthError(`${pdu.sender} is not in the room`);

  const senderLevel = userPowerLevel(pdu.sender, authState, version);

  // 7: anyone who may invite may issue a third-party invite, whatever events[] says.
  if (pdu.type === 'm.room.third_party_invite') {
    if (senderLevel >= requiredPowerLevel('invite', authState)) return;
    throw new AuthError(`${pdu.sender} may not invite`);
  }

  // 8: the event type's required power level.
  const isState = typeof pdu.state_key === 'string';
  const required = requiredPowerLevel({ eventType: pdu.type, isState }, authState);
  if (required > senderLevel) throw new AuthError(`${pdu.type} needs power level ${required}, ${pdu.sender} has ${senderLevel}`);

  // 9: state keyed by a user ID belongs to that user.
  if (isState && pdu.state_key!.startsWith('@') && pdu.state_key !== pdu.sender) {
    throw new AuthError("cannot set state keyed by another user's ID");
  }

  // 10
  if (pdu.type === 'm.room.power_levels') {
    checkPowerLevelsEvent(event, authState, version);
    return;
  }

  // v1–v2 rule 11: redacting needs the redact level unless it stays within one server's events.
  // (From v3 this is not an auth rule; servers check it when applying the redaction.)
  if (hasRedactionAuthRule(version) && pdu.type === 'm.room.redaction') {
    if (senderLevel >= requiredPowerLevel('redact', authState)) return;
    const targetDomain = domainOf(redactsOf(pdu));
    if (targetDomain !== undefined && targetDomain === domainOf(event.eventId)) return;
    throw new AuthError(`${pdu.sender} may not redact that event`);
  }

  // 11
}

/** checkAuth as a boolean, for callers that only filter (state resolution's iterative auth checks). */
export function isAuthorised(event: RoomEvent, authState: ReadonlyMap<string, RoomEvent>, version: RoomVersion): boolean {
  try {
    checkAuth(event, authState, version);
    return true;
  } catch (err) {
    if (err instanceof AuthError) return false;
    throw err;
  }
}
