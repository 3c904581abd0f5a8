// Test helper for the state resolution tests (imported by *.test.ts only): a room's event graph
// built by hand and served as a StateResSource. Events are unsigned and named ("PA" → "$PA"), so
// tests can assert exact winners. Like a real server, add() computes the state before each event
// (resolving when it has several prev events), picks its auth events from that state, and refuses
// events the auth rules would reject there — so every scenario is a room that could really exist.

import { authEventKeys } from '../auth/auth-events.ts';
import { checkAuth } from '../auth/check-auth.ts';
import { stateKeyOf, type PDU, type RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { resolveState } from './index.ts';
import type { StateResSource } from './source.ts';

export const ALICE = '@alice:example.com';
export const BOB = '@bob:example.com';
export const CHARLIE = '@charlie:example.com';
export const DAVE = '@dave:example.com';
export const EVELYN = '@evelyn:example.com';
export const ZARA = '@zara:example.com';

export interface EventSpec {
  sender: string;
  type: string;
  stateKey?: string;
  content?: Record<string, unknown>;
  /** origin_server_ts; by default one more than the previous event's. */
  ts?: number;
}

export class EventGraph implements StateResSource {
  readonly events = new Map<string, RoomEvent>();
  /** Event ID → state after it (stateKeyOf → event ID). */
  readonly stateAfter = new Map<string, Map<string, string>>();
  readonly rejected = new Set<string>();
  readonly roomId: string;
  /** Every call of getAuthChain, so tests can see what resolution asked for. */
  readonly authChainCalls: string[] = [];
  private ts = 0;

  constructor(readonly version: RoomVersion) {
    // v12: the room ID is the create event's ID with "!"; the create event is always "CREATE".
    this.roomId = version.roomIdIsCreateEventHash ? '!CREATE' : '!room:example.com';
  }

  /** The event ID of a named event; v1/v2 event IDs carry a server name. */
  id(name: string): string {
    return this.version.eventIdFormat === 'v1' ? `$${name}:example.com` : `$${name}`;
  }

  /** Adds a named event after `prev` (names) and returns its ID. Throws if the rules reject it. */
  async add(name: string, spec: EventSpec, prev: string[]): Promise<string> {
    const prevIds = prev.map((p) => this.id(p));
    let before: Map<string, string>;
    if (prevIds.length === 0) before = new Map();
    else if (prevIds.length === 1) before = new Map(this.stateAfterId(prevIds[0]));
    else before = await resolveState(this.version, prevIds.map((p) => this.stateAfterId(p)), this);

    const authIds: string[] = [];
    const shape = { type: spec.type, sender: spec.sender, state_key: spec.stateKey, content: spec.content ?? {} };
    for (const [type, stateKey] of authEventKeys(shape, this.version)) {
      const id = before.get(stateKeyOf(type, stateKey));
      if (id !== undefined) authIds.push(id);
    }
    const event = this.insert(name, spec, authIds, prevIds);

    const authState = new Map<string, RoomEvent>();
    for (const [key, id] of before) authState.set(key, this.events.get(id)!);
    checkAuth(event, authState, this.version);

    const after = new Map(before);
    if (spec.stateKey !== undefined) after.set(stateKeyOf(spec.type, spec.stateKey), event.eventId);
    this.stateAfter.set(event.eventId, after);
    return event.eventId;
  }

  /** Adds an event with the given auth events (names), unchecked and with no state of its own. */
  addRaw(name: string, spec: EventSpec, auth: string[], prev: string[] = []): string {
    return this.insert(name, spec, auth.map((a) => this.id(a)), prev.map((p) => this.id(p))).eventId;
  }

  /** The state after a named event, as a fresh map the test may change. */
  stateAt(name: string): Map<string, string> {
    return new Map(this.stateAfterId(this.id(name)));
  }

  /** The state after a named event, as name → name with readable keys ("m.room.topic|"). */
  readable(state: ReadonlyMap<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, id] of [...state].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out[key.replace('\u0000', '|')] = this.nameOf(id);
    }
    return out;
  }

  nameOf(id: string): string {
    return id.slice(1).replace(/:example\.com$/, '');
  }

  async getEvents(ids: Iterable<string>): Promise<Map<string, RoomEvent>> {
    const out = new Map<string, RoomEvent>();
    for (const id of ids) {
      const event = this.events.get(id);
      if (event) out.set(id, event);
    }
    return out;
  }

  /** Walks the listed auth_events (as storage would: v12's implied create event is not listed). */
  async getAuthChain(id: string): Promise<Set<string>> {
    this.authChainCalls.push(id);
    const chain = new Set<string>();
    const stack = [...this.listedAuth(id)];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (chain.has(next)) continue;
      chain.add(next);
      stack.push(...this.listedAuth(next));
    }
    return chain;
  }

  /** The same graph as a source that also answers getAuthChainUnion (counted in authChainCalls as "union"). */
  withAuthChainUnion(): StateResSource {
    return {
      getEvents: (ids) => this.getEvents(ids),
      getAuthChain: (id) => this.getAuthChain(id),
      getRejected: (ids) => this.getRejected(ids),
      getAuthChainUnion: async (ids) => {
        const union = new Set<string>();
        for (const id of ids) for (const a of await this.getAuthChain(id)) union.add(a);
        this.authChainCalls.push('union');
        return union;
      },
    };
  }

  async getRejected(ids: Iterable<string>): Promise<Set<string>> {
    return new Set([...ids].filter((id) => this.rejected.has(id)));
  }

  private listedAuth(id: string): string[] {
    const list = this.events.get(id)?.pdu.auth_events ?? [];
    return list.map((entry) => (Array.isArray(entry) ? String(entry[0]) : entry));
  }

  private stateAfterId(id: string): Map<string, string> {
    const state = this.stateAfter.get(id);
    if (!state) throw new Error(`no state after ${id}`);
    return state;
  }

  private insert(name: string, spec: EventSpec, authIds: string[], prevIds: string[]): RoomEvent {
    const eventId = this.id(name);
    if (this.events.has(eventId)) throw new Error(`duplicate event ${name}`);
    // v1/v2 reference events as [event_id, hashes] pairs.
    const ref = (id: string): string => (this.version.eventIdFormat === 'v1' ? ([id, { sha256: '' }] as unknown as string) : id);
    const pdu: PDU = {
      sender: spec.sender,
      origin_server_ts: spec.ts ?? this.ts++,
      type: spec.type,
      content: spec.content ?? {},
      prev_events: prevIds.map(ref),
      auth_events: authIds.map(ref),
      depth: 1 + Math.max(0, ...prevIds.map((p) => this.events.get(p)?.pdu.depth ?? 0)),
      hashes: { sha256: '' },
      signatures: {},
    };
    const isV12Create = this.version.roomIdIsCreateEventHash && spec.type === 'm.room.create';
    if (!isV12Create) pdu.room_id = this.roomId;
    if (this.version.eventIdFormat === 'v1') pdu.event_id = eventId;
    if (spec.stateKey !== undefined) pdu.state_key = spec.stateKey;
    const event: RoomEvent = { eventId, roomId: this.roomId, pdu };
    this.events.set(eventId, event);
    return event;
  }
}

export const member = (sender: string, target: string, membership: string): EventSpec => ({
  sender,
  type: 'm.room.member',
  stateKey: target,
  content: { membership },
});
export const join = (user: string): EventSpec => member(user, user, 'join');

/** Power levels with these users; v12 creators may not be listed (they are infinitely powerful). */
export function powerLevels(graph: EventGraph, sender: string, users: Record<string, number>, extra: Record<string, unknown> = {}): EventSpec {
  const listed = { ...users };
  if (graph.version.privilegedCreators) delete listed[ALICE];
  return { sender, type: 'm.room.power_levels', stateKey: '', content: { users: listed, ...extra } };
}

export const topic = (sender: string, text: string): EventSpec => ({ sender, type: 'm.room.topic', stateKey: '', content: { topic: text } });
export const joinRules = (sender: string, rule: string): EventSpec => ({
  sender,
  type: 'm.room.join_rules',
  stateKey: '',
  content: { join_rule: rule },
});

/**
 * The room every scenario starts from (one chain): Alice creates it and joins, sets power levels
 * (herself at 100) and a public join rule; Bob, Charlie and Zara join; Zara says "START".
 */
export async function initialRoom(version: RoomVersion): Promise<EventGraph> {
  const g = new EventGraph(version);
  const createContent: Record<string, unknown> = { room_version: version.id };
  if (!version.implicitRoomCreator) createContent.creator = ALICE;
  await g.add('CREATE', { sender: ALICE, type: 'm.room.create', stateKey: '', content: createContent }, []);
  await g.add('IMA', join(ALICE), ['CREATE']);
  await g.add('IPOWER', powerLevels(g, ALICE, { [ALICE]: 100 }), ['IMA']);
  await g.add('IJR', joinRules(ALICE, 'public'), ['IPOWER']);
  await g.add('IMB', join(BOB), ['IJR']);
  await g.add('IMC', join(CHARLIE), ['IMB']);
  await g.add('IMZ', join(ZARA), ['IMC']);
  await g.add('START', { sender: ZARA, type: 'm.room.message', content: { body: 'start' } }, ['IMZ']);
  return g;
}
