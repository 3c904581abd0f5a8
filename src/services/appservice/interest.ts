// Which events an application service receives (spec "Application Service API" → "Pushing
// events", and Synapse's rules): an event is interesting when its sender, or the state_key of a
// membership event, is one of the appservice's users; when its room matches the rooms namespace;
// when the room has an alias in the aliases namespace; or when one of its users is joined to the
// room. Room-level answers are cached per scan (one transaction build), never across builds,
// since memberships and aliases change.
import type { AppserviceRegistration } from './registration.ts';
import { matchesAny } from './namespaces.ts';
import type { CurrentState } from '../rooms/current-state.ts';
import { joinedMembersOf } from '../rooms/current-state.ts';
import { stateKeyOf } from '../../core/pdu.ts';

export interface InterestDeps {
  currentState: { get(roomId: string): Promise<CurrentState> };
  aliasesOfRoom(roomId: string): Promise<string[]>;
}

export function ownsUser(reg: AppserviceRegistration, userId: string): boolean {
  return userId === reg.senderUserId || matchesAny(reg.users, userId);
}

export class InterestScan {
  private readonly rooms = new Map<string, Promise<boolean>>();

  constructor(
    private readonly reg: AppserviceRegistration,
    private readonly deps: InterestDeps,
  ) {}

  async isInterestedInEvent(ev: { roomId: string; sender: string; type: string; stateKey?: string | null }): Promise<boolean> {
    if (ownsUser(this.reg, ev.sender)) return true;
    if (ev.type === 'm.room.member' && typeof ev.stateKey === 'string' && ownsUser(this.reg, ev.stateKey)) return true;
    return this.isInterestedInRoom(ev.roomId);
  }

  isInterestedInRoom(roomId: string): Promise<boolean> {
    let answer = this.rooms.get(roomId);
    if (!answer) {
      answer = this.computeRoomInterest(roomId);
      this.rooms.set(roomId, answer);
    }
    return answer;
  }

  private async computeRoomInterest(roomId: string): Promise<boolean> {
    if (matchesAny(this.reg.rooms, roomId)) return true;
    const state = await this.deps.currentState.get(roomId);
    if (this.reg.aliases.length > 0) {
      const canonical = state.get(stateKeyOf('m.room.canonical_alias', ''))?.pdu.content;
      const aliases = [...(await this.deps.aliasesOfRoom(roomId))];
      if (canonical && typeof canonical.alias === 'string') aliases.push(canonical.alias);
      if (aliases.some((a) => matchesAny(this.reg.aliases, a))) return true;
    }
    return joinedMembersOf(state).some((u) => ownsUser(this.reg, u));
  }
}
