// auto_accept_invites (Synapse's option of the same name): local users join the rooms they are
// invited to, after the invite is committed, as themselves — so bridges' portal rooms do not
// pile up as invitations. `only_for_direct_messages` limits it to invites with is_direct,
// `only_from_local_users` to invites sent by local users. Appservice users are left alone:
// their appservice decides (as in Synapse's module, which skips users it does not manage).
import type { Logger } from 'pino';
import type { StoredEvent } from '../rooms/event-reader.ts';

export interface AutoAcceptSettings {
  enabled: boolean;
  onlyForDirectMessages: boolean;
  onlyFromLocalUsers: boolean;
}

export interface AutoAcceptDeps {
  serverName: string;
  settings: AutoAcceptSettings;
  /** A local, active user not managed by an appservice. */
  isPlainLocalUser(userId: string): Promise<boolean>;
  join(roomId: string, userId: string): Promise<void>;
  /** Records the room in the invitee's m.direct (as Synapse's module does for DMs). */
  markDirect(userId: string, otherUserId: string, roomId: string): Promise<void>;
  logger: Logger;
}

export class AutoAcceptInvites {
  constructor(private readonly deps: AutoAcceptDeps) {}

  /** A persisted-event listener; never throws (it runs after commit, detached from the request). */
  onPersisted(event: StoredEvent): void {
    const { settings, serverName } = this.deps;
    const pdu = event.pdu;
    if (!settings.enabled || pdu.type !== 'm.room.member' || pdu.content.membership !== 'invite') return;
    const invitee = pdu.state_key;
    if (!invitee || invitee === pdu.sender || !invitee.endsWith(`:${serverName}`)) return;
    const isDirect = pdu.content.is_direct === true;
    if (settings.onlyForDirectMessages && !isDirect) return;
    if (settings.onlyFromLocalUsers && !pdu.sender.endsWith(`:${serverName}`)) return;
    void this.accept(event.roomId, invitee, pdu.sender, isDirect);
  }

  private async accept(roomId: string, invitee: string, inviter: string, isDirect: boolean): Promise<void> {
    try {
      if (!(await this.deps.isPlainLocalUser(invitee))) return;
      await this.deps.join(roomId, invitee);
      if (isDirect) await this.deps.markDirect(invitee, inviter, roomId);
    } catch (err) {
      this.deps.logger.warn({ room_id: roomId, user_id: invitee, error: (err as Error).message }, 'auto-accepting an invite failed');
    }
  }
}
