// Step 7's last part for a served event: the room moves forward. Its forward extremities are
// updated and its current state becomes the state after the event, resolved (state resolution
// v2) against any extremity the event does not build on; changed current-state rows are
// written in the event's transaction. Split from persist.ts, which calls `advance` and
// `resolve`.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { isStateEvent, splitStateKey } from '../../core/pdu.ts';
import type { RoomVersion } from '../../core/room-versions.ts';
import { resolveState } from '../../core/state-res/index.ts';
import type { StateStore, StateMap } from './state-store.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';

export class RoomAdvancer {
  constructor(private readonly deps: { rooms: RoomStore; reader: EventReader; stateStore: StateStore }) {}

  /**
   * Updates forward extremities and current state for a served event; returns the new state.
   * `extremities`: the room's extremities before the event. `stored`: what the extremity rows
   * hold, or null to leave them alone — in a group commit the next event of the batch replaces
   * this one's extremity anyway, so only the batch's last event writes them (from the rows as
   * they were before the batch), one statement per batch instead of one per event.
   */
  async advance(
    event: StoredEvent,
    stateAfter: StateMap,
    version: RoomVersion,
    extremities: readonly string[],
    stored: readonly string[] | null,
    room: ReadonlyMap<string, StoredEvent>,
    streamPos: number,
    trx: Kysely<DB>,
  ): Promise<{ state: Map<string, StoredEvent>; extremities: string[] }> {
    const { rooms, reader } = this.deps;
    const remaining = extremities.filter((id) => !event.pdu.prev_events.includes(id));
    const next = [...remaining, event.eventId];
    if (stored) {
      const remove = stored.filter((id) => !next.includes(id));
      const add = next.filter((id) => !stored.includes(id));
      await rooms.replaceForwardExtremities(event.roomId, remove, add, trx);
    }

    // The new current state is the state after the event, resolved against any forward
    // extremity the event does not build on.
    let resolved: StateMap = stateAfter;
    if (remaining.length > 0) {
      const others = await reader.getEvents(remaining, trx);
      const sets: StateMap[] = [stateAfter];
      for (const ev of others.values()) if (ev.snapshotNid !== null) sets.push(await this.deps.stateStore.stateOfSnapshot(ev.snapshotNid, trx));
      resolved = await this.resolve(version, sets, trx);
    }

    // A message on top of all extremities changes no state: skip the walk over the whole room.
    const changed: string[] = [];
    if (!(remaining.length === 0 && !isStateEvent(event.pdu) && resolved === stateAfter && event.pdu.prev_events.length === 1)) {
      for (const [key, id] of resolved) if (room.get(key)?.eventId !== id) changed.push(key);
    }
    const gone = resolved === stateAfter && !isStateEvent(event.pdu) ? [] : [...room.keys()].filter((k) => !resolved.has(k));
    // Nothing changed (a message): the current state map stays the same object, so listeners
    // can tell "no state change" by identity, and a large room's state is not copied per message.
    if (changed.length === 0 && gone.length === 0) return { state: room as Map<string, StoredEvent>, extremities: next };
    const newEvents = await reader.getEvents(changed.map((k) => resolved.get(k)!).filter((id) => id !== event.eventId), trx);
    newEvents.set(event.eventId, event);
    const nextState = new Map(room);
    const rows = [];
    for (const key of changed) {
      const ev = newEvents.get(resolved.get(key)!)!;
      nextState.set(key, ev);
      const membership = ev.pdu.type === 'm.room.member' ? String(ev.pdu.content.membership ?? '') : null;
      rows.push({
        room_id: event.roomId,
        type: ev.pdu.type,
        state_key: ev.pdu.state_key!,
        event_nid: ev.nid,
        event_id: ev.eventId,
        membership,
        stream_pos: streamPos,
      });
    }
    for (const key of gone) nextState.delete(key);
    if (rows.length > 0) await rooms.upsertCurrentState(rows, trx);
    if (gone.length > 0) await rooms.deleteCurrentState(event.roomId, gone.map(splitStateKey), trx);
    return { state: nextState, extremities: next };
  }

  async resolve(version: RoomVersion, sets: StateMap[], trx?: Kysely<DB>): Promise<StateMap> {
    if (sets.length === 0) return new Map();
    if (sets.length === 1 || sets.every((s) => s === sets[0])) return sets[0];
    return resolveState(version, sets, {
      getEvents: (ids) => this.deps.reader.getEvents(ids, trx),
      getAuthChain: (id) => this.authChain(id, trx),
      getRejected: async (ids) => {
        const events = await this.deps.reader.getEvents(ids, trx);
        return new Set([...events.values()].filter((e) => e.rejected !== null).map((e) => e.eventId));
      },
    });
  }

  private async authChain(id: string, trx?: Kysely<DB>): Promise<Set<string>> {
    const seen = new Set<string>();
    let frontier = [id];
    while (frontier.length > 0) {
      const events = await this.deps.reader.getEvents(frontier, trx);
      const next: string[] = [];
      for (const ev of events.values()) {
        for (const a of ev.pdu.auth_events) {
          if (!seen.has(a)) {
            seen.add(a);
            next.push(a);
          }
        }
      }
      frontier = next;
    }
    return seen;
  }
}
