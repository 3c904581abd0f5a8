// The write path: the only code that writes room events (DESIGN §3). Serialised per room by
// the caller's queue (RoomWriter). Numbered steps follow the spec's checklist for received
// PDUs ("Server-Server API" → "Checks performed on receipt of a PDU").
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { Database } from '../../storage/database.ts';
import type { EventStore } from '../../storage/stores/events.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { checkContentHash } from '../../core/hashes.ts';
import { isStateEvent, MAX_PDU_BYTES, redactsOf, stateKeyOf, type RoomEvent } from '../../core/pdu.ts';
import type { RoomVersion } from '../../core/room-versions.ts';
import { checkAuth, AuthError } from '../../core/auth/check-auth.ts';
import { authEventKeys, authStateFromAuthEvents, checkAuthEvents } from '../../core/auth/auth-events.ts';
import { MatrixError } from '../../core/errors.ts';
import type { StreamPositions } from '../streams/positions.ts';
import type { StateStore, StateMap } from './state-store.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';
import type { CurrentStateCache } from './current-state.ts';
import type { ForwardExtremities } from './extremities.ts';
import { RoomAdvancer } from './room-advance.ts';


export interface PersistOptions {
  /** 'local': built and signed here — auth failures are the client's fault (403), nothing stored. */
  origin: 'local' | 'remote';
  /** Client transaction to record atomically with the event. */
  txn?: { userId: string; deviceId: string; txnId: string };
  /** A brand-new room: insert its `rooms` row in the same transaction as the create event. */
  newRoom?: { roomVersion: string; creator: string };
}

export interface PersistResult {
  event: StoredEvent;
  /** Present when the event is served: its stream position. */
  streamPos: number | null;
  rejected: string | null;
  softFailed: boolean;
}

/** A checked event (steps 1–6 done) waiting for `commitBatch`. */
export interface PreparedEvent {
  readonly event: RoomEvent;
  readonly version: RoomVersion;
  readonly options: PersistOptions;
  readonly json: string;
  readonly rejected: string | null;
  readonly softFailed: boolean;
  readonly served: boolean;
  /** Current state when checked (batched events are messages: it is the same for all). */
  readonly room: ReadonlyMap<string, StoredEvent>;
  readonly stateAfter: StateMap;
  readonly parentSnapshot: number | null;
  /** The state snapshot after the event when known before writing (a message: its parent's). */
  readonly snapshotNid: number | null;
  readonly hooks: unknown[];
  /** A served message with a known snapshot: a batched event may build on it. */
  readonly chainable: boolean;
}

/** Forward extremities during a batch's transaction. */
interface BatchExtremities {
  /** After the events written so far; unset until the first served event. */
  current?: readonly string[];
  /** What the extremity rows hold (behind `current` while writes are deferred). */
  stored?: readonly string[];
}

interface Written {
  stored: StoredEvent;
  newState: Map<string, StoredEvent> | null;
  newExtremities: string[] | null;
}

export interface PersistedListener {
  (event: StoredEvent, info: { previousState: ReadonlyMap<string, StoredEvent>; currentState: ReadonlyMap<string, StoredEvent> }): void;
}

/**
 * Work that must commit atomically with a served event (e.g. push actions for unread counts).
 * `prepare` runs before the transaction (it may read the database); `write` runs inside it and
 * must only use `trx`.
 */
export interface WriteHook<T = unknown> {
  prepare(event: RoomEvent, state: ReadonlyMap<string, StoredEvent>): Promise<T>;
  /** `stored`: the event as written (its nid is known once the event row is inserted). */
  write(prepared: T, trx: Kysely<DB>, streamPos: number, stored: StoredEvent): Promise<void>;
}

export interface PersistDeps {
  database: Database;
  extremities: ForwardExtremities;
  events: EventStore;
  rooms: RoomStore;
  stateStore: StateStore;
  reader: EventReader;
  currentState: CurrentStateCache;
  positions: StreamPositions;
}

export class EventPersister {
  private readonly listeners: PersistedListener[] = [];
  private readonly writeHooks: WriteHook[] = [];

  private readonly advancer: RoomAdvancer;

  constructor(private readonly deps: PersistDeps) {
    this.advancer = new RoomAdvancer(deps);
  }

  /** Step 8 consumers (notifier, senders, push) subscribe here; called after commit. */
  onPersisted(listener: PersistedListener): void {
    this.listeners.push(listener);
  }

  addWriteHook<T>(hook: WriteHook<T>): void {
    this.writeHooks.push(hook as WriteHook);
  }

  async persist(event: RoomEvent, version: RoomVersion, options: PersistOptions): Promise<PersistResult> {
    // 1. Format and content hash. (Signatures of remote events are checked by the federation
    //    layer before it calls us, since that needs the keyring.)
    if (options.origin === 'remote' && !checkContentHash(event.pdu)) {
      // Spec: a wrong content hash means the event is redacted before use; not supported yet.
      throw new MatrixError('M_FORBIDDEN', 'Event content hash mismatch');
    }
    const existing = options.origin === 'remote' ? await this.deps.reader.getEvent(event.eventId) : undefined;
    if (existing) return { event: existing, streamPos: existing.streamPos, rejected: existing.rejected, softFailed: existing.softFailed };
    const checked = await this.check(event, version, options, undefined);
    const [result] = await this.commitBatch([checked]);
    return result;
  }

  /**
   * Steps 1–6 for a local event, and the write hooks' `prepare`, without writing anything: the
   * first half of a group commit (RoomWriter batches queued messages). `head` is the previous
   * event of the same batch, not yet written, on which `event` builds (its only prev event).
   * Throws (e.g. M_FORBIDDEN) for this event alone; the batch is unaffected.
   */
  prepareLocal(event: RoomEvent, version: RoomVersion, options: Omit<PersistOptions, 'origin' | 'newRoom'>, head?: PreparedEvent): Promise<PreparedEvent> {
    if (head && (!head.chainable || event.pdu.prev_events.length !== 1 || event.pdu.prev_events[0] !== head.event.eventId)) {
      throw new Error('a batched event must build on the previous event of its batch, which must be a served message');
    }
    return this.check(event, version, { ...options, origin: 'local' }, head);
  }

  private async check(event: RoomEvent, version: RoomVersion, options: PersistOptions, head: PreparedEvent | undefined): Promise<PreparedEvent> {
    const { reader, currentState } = this.deps;
    const pdu = event.pdu;
    const isCreate = pdu.type === 'm.room.create' && pdu.state_key === '';

    // 1. Size. Canonical JSON has the same bytes as JSON.stringify apart from key order, so
    //    the cheaper one measures it. Local events were hashed a moment ago by the builder.
    //    The text is also what a message's row stores.
    const pduJson = JSON.stringify(pdu);
    if (Buffer.byteLength(pduJson, 'utf8') > MAX_PDU_BYTES) throw new MatrixError('M_TOO_LARGE', 'Event is larger than 65536 bytes');

    // 2. Auth against the event's own auth events.
    const authEventsById = await reader.getEvents(pdu.auth_events);
    const room = await currentState.get(event.roomId);
    const createEvent = isCreate ? undefined : room.get(stateKeyOf('m.room.create', ''));
    const citedAuthEvents: StoredEvent[] = [];
    for (const id of pdu.auth_events) {
      const ev = authEventsById.get(id);
      if (!ev) throw new MatrixError('M_FORBIDDEN', `Auth event ${id} is unknown`);
      citedAuthEvents.push(ev);
    }
    let rejected: string | null = null;
    try {
      checkAuthEvents(event, citedAuthEvents, version);
      const rejectedAuth = citedAuthEvents.find((ev) => ev.rejected !== null);
      if (rejectedAuth) rejected = `auth event ${rejectedAuth.eventId} was rejected`;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      rejected = err.message;
    }
    rejected ??= this.authFailure(event, authStateFromAuthEvents(citedAuthEvents, createEvent), version);

    // 3. Outliers would stop here (federation backfill); local events are never outliers.

    // 4. State before the event: the state after each prev event, resolved if they differ.
    //    An event of a batch builds on the batch's previous event, a message whose state
    //    snapshot (its parent's) is already known although it is not written yet.
    const prevSnapshots: Array<number | null | undefined> = head
      ? [head.snapshotNid]
      : await reader.getEvents(pdu.prev_events).then((prev) => pdu.prev_events.map((id) => prev.get(id)?.snapshotNid));
    const prevStates: StateMap[] = [];
    let parentSnapshot: number | null = null;
    for (let i = 0; i < prevSnapshots.length; i++) {
      const snapshot = prevSnapshots[i];
      if (snapshot === null || snapshot === undefined) throw new MatrixError('M_FORBIDDEN', `Prev event ${pdu.prev_events[i]} is unknown`);
      prevStates.push(await this.deps.stateStore.stateOfSnapshot(snapshot));
      parentSnapshot ??= snapshot;
    }
    const stateBefore = await this.advancer.resolve(version, prevStates);

    // 5. Auth against the state before the event. When the event builds on exactly the room's
    //    current extremity, that state *is* the current state, and step 6 checks it.
    const extremities = head ? [head.event.eventId] : await this.deps.extremities.get(event.roomId);
    const onCurrentState = pdu.prev_events.length === 1 && extremities.length === 1 && extremities[0] === pdu.prev_events[0];
    if (!rejected && !isCreate && !onCurrentState) {
      const authState = await this.authStateFrom(stateBefore, event, version);
      rejected = this.authFailure(event, authState, version);
    }
    if (rejected && options.origin === 'local') throw new MatrixError('M_FORBIDDEN', rejected);

    // 6. Auth against the current state: failing here soft-fails the event.
    let softFailed = false;
    if (!rejected && !isCreate && room.size > 0) {
      softFailed = this.authFailure(event, room, version) !== null;
      if (softFailed && options.origin === 'local') throw new MatrixError('M_FORBIDDEN', 'Not allowed by the current room state');
    }

    // Remember which event this one replaces in state (served as unsigned.prev_content);
    // unsigned is outside the hashes and signatures, so adding it changes nothing signed.
    let json: string;
    if (isStateEvent(pdu)) {
      const replaces = stateBefore.get(stateKeyOf(pdu.type, pdu.state_key!));
      json = replaces ? JSON.stringify({ ...pdu, unsigned: { ...(pdu.unsigned ?? {}), replaces_state: replaces } }) : pduJson;
      if (replaces) event = { ...event, pdu: JSON.parse(json) };
    } else {
      json = pduJson;
    }

    const changesState = isStateEvent(pdu) && !rejected;
    let stateAfter: StateMap = stateBefore;
    if (changesState) stateAfter = new Map(stateBefore).set(stateKeyOf(pdu.type, pdu.state_key!), event.eventId);
    // The common case (a message after a single prev event) reuses the prev event's snapshot
    // as is, with no comparison of the whole room state.
    const snapshotNid = !changesState && prevStates.length === 1 ? parentSnapshot : null;
    const served = !rejected && !softFailed;
    const prepared = served ? await Promise.all(this.writeHooks.map((h) => h.prepare(event, room))) : [];
    return {
      event,
      version,
      options,
      json,
      rejected,
      softFailed,
      served,
      room,
      stateAfter,
      parentSnapshot,
      snapshotNid,
      hooks: prepared,
      chainable: served && !isStateEvent(pdu) && snapshotNid !== null && !options.newRoom,
    };
  }

  /**
   * Step 7 and 8 for prepared events of one room, in order, in ONE transaction (group commit:
   * one commit for many sends). All or nothing: if it throws, nothing was written and the
   * caches are dropped; the caller may retry the events one at a time.
   */
  async commitBatch(batch: readonly PreparedEvent[]): Promise<PersistResult[]> {
    const { reader, currentState } = this.deps;
    if (batch.length === 0) return [];
    const roomId = batch[0].event.roomId;
    // One stream position per served event, reserved in order so positions follow the chain.
    const reservations = batch.map((p) => (p.served ? this.deps.positions.reserve() : null));
    let written: Written[];
    try {
      written = await this.deps.database.db.transaction().execute(async (trx) => {
        const out: Written[] = [];
        const extremities: BatchExtremities = {};
        for (let i = 0; i < batch.length; i++) {
          // The next event builds on this one (a chained batch): it replaces this event's
          // extremity, so this one's need not be written (RoomAdvancer.advance).
          const next = batch[i + 1];
          const replacedByNext = next !== undefined && next.served && next.event.pdu.prev_events.length === 1 && next.event.pdu.prev_events[0] === batch[i].event.eventId;
          out.push(await this.writeOne(batch[i], reservations[i]?.position ?? null, extremities, replacedByNext, trx));
        }
        return out;
      });
    } catch (err) {
      for (const r of reservations) if (r) this.deps.positions.release(r);
      currentState.invalidate(roomId);
      this.deps.extremities.invalidate(roomId);
      throw err;
    }

    // 8. After commit: caches, then visibility of the positions, then listeners.
    for (let i = 0; i < batch.length; i++) {
      const { stored, newState, newExtremities } = written[i];
      reader.remember(stored);
      if (newState) currentState.set(roomId, newState);
      if (newExtremities) this.deps.extremities.set(roomId, newExtremities);
      if (stored.pdu.type === 'm.room.redaction' && batch[i].served) {
        const target = redactsOf(stored.pdu);
        if (target) reader.markRedacted(target, stored.eventId);
      }
    }
    for (const r of reservations) if (r) this.deps.positions.release(r);
    const results: PersistResult[] = [];
    for (let i = 0; i < batch.length; i++) {
      const { stored, newState } = written[i];
      const { room, served, rejected, softFailed } = batch[i];
      if (served) for (const l of this.listeners) l(stored, { previousState: room, currentState: newState ?? room });
      results.push({ event: stored, streamPos: stored.streamPos, rejected, softFailed });
    }
    return results;
  }

  /** Step 7 for one event inside the batch's transaction. */
  private async writeOne(p: PreparedEvent, streamPos: number | null, extremities: BatchExtremities, replacedByNext: boolean, trx: Kysely<DB>): Promise<Written> {
    const { event, options, rejected, softFailed, served } = p;
    const pdu = event.pdu;
    const relates = relationOf(pdu.content);
    if (options.newRoom) {
      await this.deps.rooms.insertRoom(
        { room_id: event.roomId, room_version: options.newRoom.roomVersion, creator: options.newRoom.creator, is_public: 0, created_ts: pdu.origin_server_ts },
        trx,
      );
    }
    const nid = await this.deps.events.insert(
      {
        event_id: event.eventId,
        room_id: event.roomId,
        type: pdu.type,
        state_key: pdu.state_key ?? null,
        sender: pdu.sender,
        origin_server_ts: pdu.origin_server_ts,
        depth: pdu.depth,
        stream_pos: streamPos,
        json: p.json,
        state_snapshot_nid: p.snapshotNid,
        outlier: 0,
        rejected,
        soft_failed: softFailed ? 1 : 0,
        relates_to: relates?.eventId ?? null,
        rel_type: relates?.relType ?? null,
        thread_id: relates?.relType === 'm.thread' ? relates.eventId : null,
        txn_id: options.txn?.txnId ?? null,
        txn_device_id: options.txn?.deviceId ?? null,
      },
      pdu.prev_events,
      trx,
      // Recorded with the event (one statement on PostgreSQL); a repeated ID fails the insert.
      options.txn ? { user_id: options.txn.userId, device_id: options.txn.deviceId, txn_id: options.txn.txnId, created_ts: Date.now() } : undefined,
    );
    let snapshotNid = p.snapshotNid;
    if (snapshotNid === null) {
      snapshotNid = await this.deps.stateStore.storeSnapshot(event.roomId, p.parentSnapshot, p.stateAfter, trx);
      await this.deps.events.setSnapshot(nid, snapshotNid, trx);
    }
    const stored: StoredEvent = {
      ...event,
      nid,
      streamPos,
      redactedBy: null,
      rejected,
      softFailed,
      outlier: false,
      snapshotNid,
      txn: options.txn ? { deviceId: options.txn.deviceId, txnId: options.txn.txnId } : null,
    };
    let newState: Map<string, StoredEvent> | null = null;
    let newExtremities: string[] | null = null;
    if (served) {
      const current = extremities.current ?? (await this.deps.extremities.get(event.roomId, trx));
      const rows = extremities.stored ?? current;
      ({ state: newState, extremities: newExtremities } = await this.advancer.advance(stored, p.stateAfter, p.version, current, replacedByNext ? null : rows, p.room, streamPos!, trx));
      extremities.current = newExtremities;
      extremities.stored = replacedByNext ? rows : newExtremities;
      const target = pdu.type === 'm.room.redaction' ? redactsOf(pdu) : undefined;
      if (target) await this.deps.events.markRedacted(target, event.eventId, trx);
      for (let i = 0; i < this.writeHooks.length; i++) await this.writeHooks[i].write(p.hooks[i], trx, streamPos!, stored);
    }
    return { stored, newState, newExtremities };
  }

  /** The part of `state` the auth rules look at for this event (not the whole room state). */
  private async authStateFrom(state: StateMap, event: RoomEvent, version: RoomVersion): Promise<Map<string, RoomEvent>> {
    const keys = [stateKeyOf('m.room.create', ''), ...authEventKeys(event.pdu, version).map(([t, k]) => stateKeyOf(t, k))];
    const wanted = new Map<string, string>();
    for (const key of keys) {
      const id = state.get(key);
      if (id) wanted.set(key, id);
    }
    const events = await this.deps.reader.getEvents(wanted.values());
    const out = new Map<string, RoomEvent>();
    for (const [key, id] of wanted) {
      const ev = events.get(id);
      if (ev) out.set(key, ev);
    }
    return out;
  }

  private authFailure(event: RoomEvent, authState: ReadonlyMap<string, RoomEvent>, version: RoomVersion): string | null {
    try {
      checkAuth(event, authState, version);
      return null;
    } catch (err) {
      if (err instanceof AuthError) return err.message;
      throw err;
    }
  }
}

function relationOf(content: Record<string, unknown>): { eventId: string; relType: string } | undefined {
  const rel = content['m.relates_to'] as Record<string, unknown> | undefined;
  if (!rel || typeof rel !== 'object') return undefined;
  if (typeof rel.event_id === 'string' && typeof rel.rel_type === 'string') return { eventId: rel.event_id, relType: rel.rel_type };
  return undefined;
}
