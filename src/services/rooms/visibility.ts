// Applies room history visibility (../../core/history-visibility.ts) to stored events for one
// user. Every read path that hands events to a client goes through `filterEventsForUser`:
// /messages, /context, /event, /timestamp_to_event, and (later) the sync timeline.
//
// The state "at an event" is its snapshot (state after it; equal to the state before it unless
// it is itself a state event). The state before a state event is the snapshot with the event's
// key set back to `unsigned.replaces_state`. "Joined at any point after the event" is answered
// from the user's latest join, found by walking their membership events back through
// replaces_state from the current one — a few events, all through the reader's cache.
import { stateKeyOf } from '../../core/pdu.ts';
import { canSeeEvent, visibilityOf, type VisibilityPoint } from '../../core/history-visibility.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';
import type { StateMap, StateStore } from './state-store.ts';
import type { CurrentStateCache } from './current-state.ts';

export interface VisibilityDeps {
  reader: Pick<EventReader, 'getEvents' | 'getEvent'>;
  stateStore: Pick<StateStore, 'stateOfSnapshot'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  /** Senders the user ignores (m.ignored_user_list): their non-state events are hidden. */
  ignoredUsers?(userId: string): Promise<ReadonlySet<string>>;
}

/** How far back the membership walk goes; beyond that the user is treated as never joined. */
const MAX_MEMBERSHIP_WALK = 500;

const HV_KEY = stateKeyOf('m.room.history_visibility', '');

export class VisibilityFilter {
  constructor(private readonly deps: VisibilityDeps) {}

  /**
   * The events (of any rooms) the user may see, in the order given. Events that are never
   * served (rejected, soft-failed, outliers) are dropped too.
   */
  async filterEventsForUser(userId: string, events: readonly StoredEvent[]): Promise<StoredEvent[]> {
    const byRoom = new Map<string, StoredEvent[]>();
    const ignored = this.deps.ignoredUsers ? await this.deps.ignoredUsers(userId) : undefined;
    for (const ev of events) {
      if (!isServed(ev)) continue;
      if (ignored?.has(ev.pdu.sender) && ev.pdu.state_key === undefined) continue;
      let list = byRoom.get(ev.roomId);
      if (!list) byRoom.set(ev.roomId, (list = []));
      list.push(ev);
    }
    const allowed = new Set<string>();
    for (const [roomId, list] of byRoom) {
      for (const id of await this.visibleInRoom(userId, roomId, list)) allowed.add(id);
    }
    return events.filter((ev) => allowed.has(ev.eventId));
  }

  async canSee(userId: string, ev: StoredEvent): Promise<boolean> {
    return (await this.filterEventsForUser(userId, [ev])).length === 1;
  }

  /** Stream position of the user's most recent join to the room, or null if they never joined. */
  async latestJoinPosition(roomId: string, userId: string): Promise<number | null> {
    let ev: StoredEvent | undefined = (await this.deps.currentState.get(roomId)).get(stateKeyOf('m.room.member', userId));
    for (let steps = 0; ev && steps < MAX_MEMBERSHIP_WALK; steps++) {
      if (ev.pdu.content.membership === 'join' && ev.streamPos !== null) return ev.streamPos;
      const prev = ev.pdu.unsigned?.replaces_state;
      ev = typeof prev === 'string' ? await this.deps.reader.getEvent(prev) : undefined;
    }
    return null;
  }

  private async visibleInRoom(userId: string, roomId: string, events: StoredEvent[]): Promise<string[]> {
    const joinPos = await this.latestJoinPosition(roomId, userId);
    const memberKey = stateKeyOf('m.room.member', userId);

    // State after each event, shared by all events of one snapshot.
    const snapshots = new Map<number, StateMap>();
    for (const ev of events) {
      if (!snapshots.has(ev.snapshotNid!)) snapshots.set(ev.snapshotNid!, await this.deps.stateStore.stateOfSnapshot(ev.snapshotNid!));
    }
    // Every event the decisions read: the visibility and membership in force, and what
    // history_visibility / own membership events replaced.
    const needed = new Set<string>();
    for (const state of snapshots.values()) {
      const hv = state.get(HV_KEY);
      const member = state.get(memberKey);
      if (hv) needed.add(hv);
      if (member) needed.add(member);
    }
    for (const ev of events) {
      const replaces = ev.pdu.unsigned?.replaces_state;
      if (isSpecial(ev, userId) && typeof replaces === 'string') needed.add(replaces);
    }
    const loaded = await this.deps.reader.getEvents(needed);
    const contentOf = (id: string | undefined) => (id === undefined ? undefined : loaded.get(id)?.pdu.content);
    const membershipIn = (id: string | undefined) => {
      const m = contentOf(id)?.membership;
      return typeof m === 'string' ? m : undefined;
    };

    const out: string[] = [];
    for (const ev of events) {
      const state = snapshots.get(ev.snapshotNid!)!;
      const after: VisibilityPoint = { visibility: visibilityOf(contentOf(state.get(HV_KEY))), membership: membershipIn(state.get(memberKey)) };
      let before = after;
      if (isSpecial(ev, userId) && state.get(stateKeyOf(ev.pdu.type, ev.pdu.state_key!)) === ev.eventId) {
        const replaces = ev.pdu.unsigned?.replaces_state;
        const prevId = typeof replaces === 'string' ? replaces : undefined;
        before =
          ev.pdu.type === 'm.room.history_visibility'
            ? { ...after, visibility: visibilityOf(contentOf(prevId)) }
            : { ...after, membership: membershipIn(prevId) };
      }
      const joinedLater = joinPos !== null && joinPos > ev.streamPos!;
      if (canSeeEvent({ type: ev.pdu.type, stateKey: ev.pdu.state_key, userId, before, after, joinedLater })) out.push(ev.eventId);
    }
    return out;
  }
}

/** Events that exist in the room's timeline for clients. */
export function isServed(ev: StoredEvent): boolean {
  return ev.streamPos !== null && ev.snapshotNid !== null && !ev.rejected && !ev.softFailed && !ev.outlier;
}

/** History-visibility events and the user's own membership events are judged on both sides. */
function isSpecial(ev: StoredEvent, userId: string): boolean {
  return (ev.pdu.type === 'm.room.history_visibility' && ev.pdu.state_key === '') || (ev.pdu.type === 'm.room.member' && ev.pdu.state_key === userId);
}
