// Membership changes by local users: join, leave, invite, kick, ban, unban, knock.
// The auth rules decide what is allowed; this layer adds the friendlier errors clients expect
// (unknown room → 404) and the profile fields a join or invite carries.
import { MatrixError } from '../../core/errors.ts';
import { isValidUserId, serverNameOf } from '../../core/ids.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import type { RoomVersion } from '../../core/room-versions.ts';
import { requiredPowerLevel, userPowerLevel } from '../../core/auth/power-levels.ts';
import type { CurrentState, CurrentStateCache } from './current-state.ts';
import { joinedMembersOf, membershipOf } from './current-state.ts';
import type { RoomWriter } from './room-writer.ts';

export type MembershipAction = 'join' | 'leave' | 'invite' | 'kick' | 'ban' | 'unban' | 'knock';

export interface ProfileLookup {
  profileOf(userId: string): Promise<{ displayname: string | null; avatar_url: string | null } | undefined>;
}

export interface MembershipDeps {
  writer: Pick<RoomWriter, 'send' | 'versionOf'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  profiles: ProfileLookup;
  /** Rooms where the user's membership is one of the given ones. */
  roomsOf(userId: string, memberships: readonly string[]): Promise<string[]>;
}

export class MembershipService {
  constructor(private readonly deps: MembershipDeps) {}

  async perform(
    action: MembershipAction,
    roomId: string,
    sender: string,
    options: { target?: string; reason?: string; isDirect?: boolean; extraContent?: Record<string, unknown> } = {},
  ): Promise<{ eventId: string }> {
    const version = await this.deps.writer.versionOf(roomId);
    if (!version) {
      throw new MatrixError('M_NOT_FOUND', action === 'join' || action === 'knock' ? 'No known servers to join this room through' : 'Unknown room');
    }
    const target = action === 'join' || action === 'leave' || action === 'knock' ? sender : options.target;
    if (!target || !isValidUserId(target)) throw new MatrixError('M_INVALID_PARAM', 'A valid user_id is required');

    const state = await this.deps.currentState.get(roomId);
    const current = membershipOf(state, target);
    const membership = { join: 'join', leave: 'leave', invite: 'invite', kick: 'leave', ban: 'ban', unban: 'leave', knock: 'knock' }[action];

    if (action === 'unban' && current !== 'ban') throw new MatrixError('M_FORBIDDEN', 'The user is not banned');
    if (action === 'kick' && current !== 'join' && current !== 'invite' && current !== 'knock') {
      throw new MatrixError('M_FORBIDDEN', 'The user is not in the room');
    }
    if (action === 'leave' && (current === undefined || current === 'leave') && membershipOf(state, sender) !== 'invite') {
      if (current === undefined) throw new MatrixError('M_FORBIDDEN', 'You are not in this room');
    }
    if (action === 'invite' && current === 'join') throw new MatrixError('M_FORBIDDEN', `${target} is already in the room`);
    if (action === 'invite' && current === 'ban') throw new MatrixError('M_FORBIDDEN', `${target} is banned from the room`);

    const content: Record<string, unknown> = { ...(options.extraContent ?? {}), membership };
    if (options.reason !== undefined) content.reason = options.reason;
    if (membership === 'join' || membership === 'invite' || membership === 'knock') {
      const profile = await this.deps.profiles.profileOf(target);
      if (membership === 'invite' && !profile) throw new MatrixError('M_NOT_FOUND', `Unknown user ${target}`);
      if (profile?.displayname) content.displayname = profile.displayname;
      if (profile?.avatar_url) content.avatar_url = profile.avatar_url;
    }
    if (options.isDirect) content.is_direct = true;
    if (action === 'join' && current !== 'join' && current !== 'invite') {
      const via = await this.authorisingUser(state, version, target);
      if (via) content.join_authorised_via_users_server = via;
    }

    // A repeated join with nothing new is answered with the existing event (as Synapse does).
    if (action === 'join' && current === 'join') {
      const existing = state.get(`m.room.member\u0000${target}`)!;
      const same = Object.keys(content).every((k) => existing.pdu.content[k] === content[k]);
      if (same) return { eventId: existing.eventId };
    }

    const result = await this.deps.writer.send(roomId, { type: 'm.room.member', sender, state_key: target, content });
    return { eventId: result.event.eventId };
  }

  /**
   * Restricted rooms (join rules "restricted" v8+, "knock_restricted" v10+): a join without an
   * invite is allowed when the joiner is in one of the rooms the `allow` list names, and a user
   * of this server who could have invited them vouches for it (join_authorised_via_users_server,
   * which the auth rules check). We pick the most powerful such user, so the choice stays valid
   * longest. Undefined for other join rules.
   */
  private async authorisingUser(state: CurrentState, version: RoomVersion, joiner: string): Promise<string | undefined> {
    const joinRules = state.get(stateKeyOf('m.room.join_rules', ''))?.pdu.content;
    const rule = joinRules?.join_rule;
    const restricted = (version.restrictedJoinRule && rule === 'restricted') || (version.knockRestrictedJoinRule && rule === 'knock_restricted');
    if (!restricted) return undefined;
    const allow = Array.isArray(joinRules!.allow) ? joinRules!.allow : [];
    let admitted = false;
    for (const condition of allow) {
      if (!condition || typeof condition !== 'object' || condition.type !== 'm.room_membership' || typeof condition.room_id !== 'string') continue;
      if (membershipOf(await this.deps.currentState.get(condition.room_id), joiner) === 'join') {
        admitted = true;
        break;
      }
    }
    if (!admitted) throw new MatrixError('M_FORBIDDEN', 'You are not invited to this room, nor in a room that grants access to it');
    const server = serverNameOf(joiner);
    let best: { userId: string; level: number } | undefined;
    for (const member of joinedMembersOf(state)) {
      if (serverNameOf(member) !== server) continue;
      let level: number;
      try {
        if ((level = userPowerLevel(member, state, version)) < requiredPowerLevel('invite', state)) continue;
      } catch {
        continue; // malformed power levels: nobody can be vouched for by them
      }
      if (!best || level > best.level || (level === best.level && member < best.userId)) best = { userId: member, level };
    }
    if (!best) throw new MatrixError('M_UNABLE_TO_GRANT_JOIN', 'No user of this server in the room may authorise your join');
    return best.userId;
  }

  /** After a profile change: a new member event in every joined room carrying the new profile. */
  async propagateProfile(userId: string): Promise<void> {
    const profile = await this.deps.profiles.profileOf(userId);
    for (const roomId of await this.deps.roomsOf(userId, ['join'])) {
      const state = await this.deps.currentState.get(roomId);
      const current = state.get(`m.room.member\u0000${userId}`);
      if (!current) continue;
      const content: Record<string, unknown> = { ...current.pdu.content, membership: 'join' };
      delete content.displayname;
      delete content.avatar_url;
      delete content.reason;
      if (profile?.displayname) content.displayname = profile.displayname;
      if (profile?.avatar_url) content.avatar_url = profile.avatar_url;
      const same = current.pdu.content.displayname === content.displayname && current.pdu.content.avatar_url === content.avatar_url;
      if (same) continue;
      try {
        await this.deps.writer.send(roomId, { type: 'm.room.member', sender: userId, state_key: userId, content });
      } catch {
        // One room refusing (e.g. the user lost the right to change state) must not stop the others.
      }
    }
  }

  /** On deactivation: leave (or reject) every room the user is in, invited to or knocking on. */
  async leaveAll(userId: string): Promise<void> {
    for (const roomId of await this.deps.roomsOf(userId, ['join', 'invite', 'knock'])) {
      try {
        await this.deps.writer.send(roomId, { type: 'm.room.member', sender: userId, state_key: userId, content: { membership: 'leave' } });
      } catch {
        // Keep going: a failure in one room must not keep the user in the others.
      }
    }
  }
}
