// Authorization of m.room.member events (rule 5 in v12, 4 in v6–v11, 5 in v1–v5). Every branch
// either returns (allow) or throws AuthError (reject); membership events never fall through to
// the generic rules.
import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { isValidUserId } from '../ids.ts';
import { AuthError } from './auth-error.ts';
import { requiredPowerLevel, userPowerLevel } from './power-levels.ts';
import { checkThirdPartyInvite } from './third-party-invite.ts';
import {
  CREATE_KEY,
  hasOwn,
  isJsonObject,
  joinRuleOf,
  membershipOf,
  referencedEventIds,
  type AuthState,
} from './state-access.ts';

export function checkMemberEvent(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const pdu = event.pdu;
  const content = isJsonObject(pdu.content) ? pdu.content : {};

  // 5.1
  if (typeof pdu.state_key !== 'string' || !hasOwn(content, 'membership')) {
    throw new AuthError('m.room.member needs a state_key and content.membership');
  }

  // 5.2 (v8+): the authorising user's server must have signed the event. Verifying the signature
  // needs that server's keys, so the persist pipeline does it (requiredSigningServers); here we
  // only reject a value that cannot name a server at all.
  if (version.restrictedJoinRule && hasOwn(content, 'join_authorised_via_users_server')) {
    const via = content.join_authorised_via_users_server;
    if (typeof via !== 'string' || !isValidUserId(via)) {
      throw new AuthError('join_authorised_via_users_server is not a user ID');
    }
  }

  const membership = content.membership;
  switch (membership) {
    case 'join':
      return checkJoin(event, authState, version);
    case 'invite':
      return checkInvite(event, authState, version);
    case 'leave':
      return checkLeave(event, authState, version);
    case 'ban':
      return checkBan(event, authState, version);
    case 'knock':
      // Knocking exists from v7; before that it is an unknown membership.
      if (version.knockJoinRule) return checkKnock(event, authState, version);
      break;
  }
  throw new AuthError(`unknown membership ${JSON.stringify(membership)}`);
}

/** 5.3 */
function checkJoin(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const { sender, state_key: target } = event.pdu;

  // 5.3.1: the creator's own join right after the create event.
  const create = authState.get(CREATE_KEY);
  const prev = referencedEventIds(event.pdu.prev_events);
  if (create && prev?.length === 1 && prev[0] === create.eventId) {
    const creator = version.implicitRoomCreator ? create.pdu.sender : create.pdu.content?.creator;
    if (typeof creator === 'string' && creator === target) return;
  }

  // 5.3.2–5.3.3
  if (sender !== target) throw new AuthError('cannot join on behalf of another user');
  const current = membershipOf(authState, sender);
  if (current === 'ban') throw new AuthError(`${sender} is banned from the room`);

  const rule = joinRuleOf(authState);
  const invitedOrJoined = current === 'invite' || current === 'join';

  // 5.3.4
  if (rule === 'invite' || (version.knockJoinRule && rule === 'knock')) {
    if (invitedOrJoined) return;
    throw new AuthError(`${sender} is not invited to this room`);
  }

  // 5.3.5: restricted rooms; the resident server that checked the allow conditions vouches for
  // the join through one of its users who could have invited them.
  if ((version.restrictedJoinRule && rule === 'restricted') || (version.knockRestrictedJoinRule && rule === 'knock_restricted')) {
    if (invitedOrJoined) return;
    const via = event.pdu.content.join_authorised_via_users_server;
    if (typeof via !== 'string') throw new AuthError('join to a restricted room needs join_authorised_via_users_server');
    if (membershipOf(authState, via) !== 'join') throw new AuthError(`authorising user ${via} is not in the room`);
    if (userPowerLevel(via, authState, version) < requiredPowerLevel('invite', authState)) {
      throw new AuthError(`authorising user ${via} may not invite`);
    }
    return;
  }

  // 5.3.6–5.3.7
  if (rule === 'public') return;
  throw new AuthError(`cannot join a room whose join rule is ${JSON.stringify(rule)}`);
}

/** 5.4 */
function checkInvite(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const { sender, state_key: target } = event.pdu;
  const targetMembership = membershipOf(authState, target!);

  // 5.4.1
  if (hasOwn(event.pdu.content, 'third_party_invite')) {
    if (targetMembership === 'ban') throw new AuthError(`${target} is banned from the room`);
    return checkThirdPartyInvite(event.pdu, authState);
  }

  // 5.4.2–5.4.5
  if (membershipOf(authState, sender) !== 'join') throw new AuthError(`${sender} is not in the room`);
  if (targetMembership === 'join' || targetMembership === 'ban') {
    throw new AuthError(`${target} is ${targetMembership === 'join' ? 'already in' : 'banned from'} the room`);
  }
  if (userPowerLevel(sender, authState, version) >= requiredPowerLevel('invite', authState)) return;
  throw new AuthError(`${sender} may not invite`);
}

/** 5.5: leaving, rejecting an invite, withdrawing a knock, kicking and unbanning. */
function checkLeave(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const { sender, state_key: target } = event.pdu;
  const senderMembership = membershipOf(authState, sender);

  // 5.5.1
  if (sender === target) {
    const mayLeave =
      senderMembership === 'invite' || senderMembership === 'join' || (version.knockJoinRule && senderMembership === 'knock');
    if (mayLeave) return;
    throw new AuthError(`${sender} cannot leave: current membership is ${senderMembership ?? 'none'}`);
  }

  // 5.5.2–5.5.5
  if (senderMembership !== 'join') throw new AuthError(`${sender} is not in the room`);
  const senderLevel = userPowerLevel(sender, authState, version);
  if (membershipOf(authState, target!) === 'ban' && senderLevel < requiredPowerLevel('ban', authState)) {
    throw new AuthError(`${sender} may not unban`);
  }
  if (senderLevel >= requiredPowerLevel('kick', authState) && userPowerLevel(target!, authState, version) < senderLevel) return;
  throw new AuthError(`${sender} may not kick ${target}`);
}

/** 5.6 */
function checkBan(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const { sender, state_key: target } = event.pdu;
  if (membershipOf(authState, sender) !== 'join') throw new AuthError(`${sender} is not in the room`);
  const senderLevel = userPowerLevel(sender, authState, version);
  if (senderLevel >= requiredPowerLevel('ban', authState) && userPowerLevel(target!, authState, version) < senderLevel) return;
  throw new AuthError(`${sender} may not ban ${target}`);
}

/** 5.7 (v7+) */
function checkKnock(event: RoomEvent, authState: AuthState, version: RoomVersion): void {
  const { sender, state_key: target } = event.pdu;
  const rule = joinRuleOf(authState);
  if (!(rule === 'knock' || (version.knockRestrictedJoinRule && rule === 'knock_restricted'))) {
    throw new AuthError(`cannot knock on a room whose join rule is ${JSON.stringify(rule)}`);
  }
  if (sender !== target) throw new AuthError('cannot knock on behalf of another user');
  const current = membershipOf(authState, sender);
  if (current === 'ban' || current === 'invite' || current === 'join') {
    throw new AuthError(`${sender} cannot knock: current membership is ${current}`);
  }
}
