// Bundled aggregations (client-server "Aggregations of child events"): when events are served,
// `unsigned["m.relations"]` summarises their children, keyed by rel_type.
//
// - m.thread (spec "Server-side aggregation of m.thread relationships"): latest_event (the
//   newest thread event the requester may see, serialised like the event itself, with its own
//   bundle), count (thread events not sent by ignored users) and current_user_participated
//   (the requester sent the root or a thread event). Only for roots that are not relations.
// - m.replace (spec "Server-side aggregation of m.replace relationships", v1.7+): the most recent
//   *valid* replacement as a whole event (newest origin_server_ts, then largest event ID). The
//   original's content is left intact; redacted originals get no m.replace bundle. Invalid
//   edits (another sender, another type, state events, no m.new_content) are ignored.
// - m.reference (spec "Server-side aggregation of m.reference"): { chunk: [{event_id}] }.
// - m.annotation is not aggregated by the server (spec).
//
// Which events get a bundle: not state events (spec warning), and not events that are
// themselves edits or annotations (nothing may relate to those). Children are only counted
// when they are in the parent's room; relations across rooms are ignored (spec).
import type { RelationStore } from '../../storage/stores/relations.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';
import type { RoomWriter } from './room-writer.ts';
import type { VisibilityFilter } from './visibility.ts';
import { relatedIdsOf, toClientEvent, type ClientEvent } from './client-event.ts';
import type { EventPersister } from './persist.ts';

export interface AggregationDeps {
  relations: Pick<RelationStore, 'threadCounts' | 'threadEventsBefore' | 'threadsWithChildFrom' | 'childrenOfType' | 'parentsWithChildren'>;
  reader: Pick<EventReader, 'getEvents' | 'fromRows'>;
  writer: Pick<RoomWriter, 'versionOf'>;
  visibility: Pick<VisibilityFilter, 'filterEventsForUser'>;
  /** Senders the requester ignores (m.ignored_user_list): left out of thread counts and references. */
  ignoredUsers?(userId: string): Promise<ReadonlySet<string>>;
  /**
   * The write path: each served event that relates to another forgets that parent's "no
   * children" entry. Without it every bundle asks the database.
   */
  persister?: Pick<EventPersister, 'onPersisted'>;
}

export interface BundleOptions {
  /** The requesting device, so its own sends inside bundles carry transaction_id. */
  deviceId?: string;
  /** Sync timelines omit room_id; bundled events follow the same format. */
  omitRoomId?: boolean;
  now?: number;
}

/** The relation types aggregated into unsigned["m.relations"] (annotations are not). */
const BUNDLED_REL_TYPES = ['m.replace', 'm.reference', 'm.thread'] as const;

/** Thread events looked at, newest first, to find one the requester may see. */
const LATEST_SCAN = 50;

/** Events remembered as having no children; the oldest entry goes first. */
const CHILDLESS_CAPACITY = 20_000;

export class RelationAggregator {
  /**
   * Events known to have no children of any kind. One new message wakes every member's sync and
   * each of them bundles that same message: the first asks the database, the others read this.
   * Only "none" is remembered, because children can appear but never come back once redacted.
   */
  private readonly childless = new Set<string>();
  /** Bumped by every served relation: a query that overlapped one does not fill `childless`. */
  private generation = 0;
  /**
   * The query for one event still under way, shared by the woken syncs that ask for the same
   * new message meanwhile (they would each ask the database before the first answer is in);
   * only while no relation has been served since it started.
   */
  private readonly inflight = new Map<string, { generation: number; found: Promise<ReadonlySet<string>> }>();

  constructor(private readonly deps: AggregationDeps) {
    // Listeners run after the child's commit: a query that started later sees the child, one
    // that started earlier finishes with a changed generation or is corrected by the delete.
    deps.persister?.onPersisted((event) => {
      // A client's send (it has a transaction) was created here a moment ago: no event can
      // relate to it yet, since its ID did not exist before. Known now, the syncs woken for it
      // need not ask; a child served later removes it again below.
      if (event.txn) this.rememberChildless(event.eventId);
      const rel = event.pdu.content['m.relates_to'];
      if (!rel || typeof rel !== 'object') return;
      const parentId = (rel as Record<string, unknown>).event_id;
      if (typeof parentId !== 'string') return;
      this.generation++;
      this.childless.delete(parentId);
    });
  }

  private rememberChildless(eventId: string): void {
    if (this.childless.size >= CHILDLESS_CAPACITY) this.childless.delete(this.childless.values().next().value!);
    this.childless.add(eventId);
  }

  /** Which of `ids` have children of the bundled types (a superset, as the store's query). */
  private async parentsWithChildren(ids: string[]): Promise<ReadonlySet<string>> {
    if (!this.deps.persister) return this.deps.relations.parentsWithChildren(ids, BUNDLED_REL_TYPES);
    const unknown = ids.filter((id) => !this.childless.has(id));
    if (unknown.length === 0) return new Set();
    const generation = this.generation;
    const single = unknown.length === 1 ? unknown[0] : undefined;
    const shared = single === undefined ? undefined : this.inflight.get(single);
    if (shared && shared.generation === generation) return shared.found;
    const query = this.deps.relations.parentsWithChildren(unknown, BUNDLED_REL_TYPES);
    const entry = { generation, found: query };
    if (single !== undefined) this.inflight.set(single, entry);
    let found: ReadonlySet<string>;
    try {
      found = await query;
    } finally {
      if (single !== undefined && this.inflight.get(single) === entry) this.inflight.delete(single);
    }
    if (generation === this.generation) {
      for (const id of unknown) if (!found.has(id)) this.rememberChildless(id);
    }
    return found;
  }

  /**
   * True when the event is known to have no children of the bundled types, so bundling would
   * add nothing to it (decided in memory: a woken /sync asks for every event it serves).
   */
  knownChildless(eventId: string): boolean {
    return !!this.deps.persister && this.childless.has(eventId);
  }

  /**
   * Adds `unsigned["m.relations"]` to those of `events` that have aggregatable children.
   * Mutates the events in place. Events unknown to this server are left alone.
   */
  async bundleAggregations(events: readonly ClientEvent[], requesterUserId: string, opts: BundleOptions = {}): Promise<void> {
    await this.bundle(events, requesterUserId, opts, true);
  }

  private async bundle(events: readonly ClientEvent[], userId: string, opts: BundleOptions, withThreads: boolean): Promise<void> {
    const candidates = events.filter((e) => e.state_key === undefined);
    if (candidates.length === 0) return;
    const stored = await this.deps.reader.getEvents(candidates.map((e) => e.event_id));
    const parents = new Map<string, StoredEvent>();
    for (const ev of stored.values()) {
      if (ev.pdu.state_key !== undefined) continue;
      const rel = ownRelType(ev);
      if (rel === 'm.replace' || rel === 'm.annotation') continue;
      parents.set(ev.eventId, ev);
    }
    if (parents.size === 0) return;
    // Only parents with children of the bundled types can get a bundle; usually there are none.
    const withChildren = await this.parentsWithChildren([...parents.keys()]);
    for (const id of [...parents.keys()]) if (!withChildren.has(id)) parents.delete(id);
    if (parents.size === 0) return;
    const ignored = this.deps.ignoredUsers ? [...(await this.deps.ignoredUsers(userId))] : [];

    const bundles = new Map<string, Record<string, unknown>>();
    const add = (id: string, relType: string, value: unknown) => {
      let b = bundles.get(id);
      if (!b) bundles.set(id, (b = {}));
      b[relType] = value;
    };

    // m.replace: only for unredacted originals.
    const editable = [...parents.values()].filter((p) => !p.redactedBy);
    for (const [id, edit] of await this.latestEdits(editable, userId, opts)) add(id, 'm.replace', edit);

    // m.reference
    for (const [id, chunk] of await this.references([...parents.values()], userId, ignored)) add(id, 'm.reference', { chunk });

    // m.thread: roots are events that are not relations themselves.
    let latestByRoot = new Map<string, StoredEvent>();
    if (withThreads) {
      const roots = [...parents.values()].filter((p) => ownRelType(p) === undefined);
      const summaries = await this.threadSummaries(roots, userId, ignored);
      latestByRoot = new Map([...summaries].map(([id, s]) => [id, s.latest]));
      const serialized = await this.serialize([...latestByRoot.values()], userId, opts);
      // The latest event's own children are bundled too (threads cannot nest, so one level).
      await this.bundle([...serialized.values()], userId, opts, false);
      for (const [id, s] of summaries) {
        add(id, 'm.thread', { latest_event: serialized.get(s.latest.eventId), count: s.count, current_user_participated: s.participated });
      }
    }

    for (const ev of events) {
      const b = bundles.get(ev.event_id);
      if (!b) continue;
      ev.unsigned ??= {};
      const existing = ev.unsigned['m.relations'];
      ev.unsigned['m.relations'] = existing && typeof existing === 'object' ? { ...(existing as object), ...b } : b;
    }
  }

  /** Newest valid, visible replacement of each original, serialised. */
  private async latestEdits(originals: StoredEvent[], userId: string, opts: BundleOptions): Promise<Map<string, ClientEvent>> {
    const out = new Map<string, ClientEvent>();
    if (originals.length === 0) return out;
    const byId = new Map(originals.map((o) => [o.eventId, o]));
    const rows = await this.deps.relations.childrenOfType([...byId.keys()], 'm.replace');
    const valid = this.deps.reader.fromRows(rows).filter((e) => {
      const original = byId.get(relationOf(e)?.eventId ?? '');
      return original !== undefined && isValidReplacement(original, e);
    });
    const visible = await this.deps.visibility.filterEventsForUser(userId, valid);
    const latest = new Map<string, StoredEvent>();
    for (const e of visible) {
      const target = relationOf(e)!.eventId;
      const current = latest.get(target);
      if (!current || isNewerEdit(e, current)) latest.set(target, e);
    }
    const serialized = await this.serialize([...latest.values()], userId, opts);
    for (const [target, e] of latest) out.set(target, serialized.get(e.eventId)!);
    return out;
  }

  private async references(parents: StoredEvent[], userId: string, ignored: string[]): Promise<Map<string, { event_id: string }[]>> {
    const out = new Map<string, { event_id: string }[]>();
    if (parents.length === 0) return out;
    const byId = new Map(parents.map((p) => [p.eventId, p]));
    const rows = await this.deps.relations.childrenOfType([...byId.keys()], 'm.reference', ignored);
    const children = this.deps.reader.fromRows(rows).filter((e) => byId.get(relationOf(e)?.eventId ?? '')?.roomId === e.roomId);
    for (const e of await this.deps.visibility.filterEventsForUser(userId, children)) {
      const target = relationOf(e)!.eventId;
      let list = out.get(target);
      if (!list) out.set(target, (list = []));
      list.push({ event_id: e.eventId });
    }
    return out;
  }

  private async threadSummaries(
    roots: StoredEvent[],
    userId: string,
    ignored: string[],
  ): Promise<Map<string, { latest: StoredEvent; count: number; participated: boolean }>> {
    const out = new Map<string, { latest: StoredEvent; count: number; participated: boolean }>();
    if (roots.length === 0) return out;
    const byId = new Map(roots.map((r) => [r.eventId, r]));
    const counts = (await this.deps.relations.threadCounts([...byId.keys()], ignored)).filter((c) => byId.get(c.rootId)?.roomId === c.roomId);
    if (counts.length === 0) return out;
    const repliedIn = await this.deps.relations.threadsWithChildFrom(
      counts.map((c) => c.rootId),
      userId,
    );
    for (const c of counts) {
      const root = byId.get(c.rootId)!;
      const latest = await this.latestVisibleThreadEvent(root, c.latestPos, userId, ignored);
      if (!latest) continue;
      out.set(c.rootId, { latest, count: c.count, participated: root.pdu.sender === userId || repliedIn.has(c.rootId) });
    }
    return out;
  }

  /** The newest thread event the user may see; usually the newest of all, so one short query. */
  private async latestVisibleThreadEvent(root: StoredEvent, fromPos: number, userId: string, ignored: string[]): Promise<StoredEvent | undefined> {
    let before = fromPos;
    for (let scanned = 0; scanned < LATEST_SCAN; ) {
      const batchSize = scanned === 0 ? 5 : 20;
      const rows = await this.deps.relations.threadEventsBefore(root.roomId, root.eventId, before, batchSize, ignored);
      if (rows.length === 0) return undefined;
      const [visible] = await this.deps.visibility.filterEventsForUser(userId, this.deps.reader.fromRows(rows));
      if (visible) return visible;
      scanned += rows.length;
      before = Number(rows[rows.length - 1].stream_pos) - 1;
      if (rows.length < batchSize) return undefined;
    }
    return undefined;
  }

  /** Client format for bundled events, keyed by event ID. */
  private async serialize(events: StoredEvent[], userId: string, opts: BundleOptions): Promise<Map<string, ClientEvent>> {
    const out = new Map<string, ClientEvent>();
    if (events.length === 0) return out;
    const related = await this.deps.reader.getEvents(relatedIdsOf(events));
    const requester = opts.deviceId !== undefined ? { userId, deviceId: opts.deviceId } : undefined;
    for (const e of events) {
      const roomVersionId = (await this.deps.writer.versionOf(e.roomId))?.id;
      out.set(e.eventId, toClientEvent(e, { related, requester, roomVersionId, omitRoomId: opts.omitRoomId, now: opts.now }));
    }
    return out;
  }
}

/** The event's own m.relates_to, if it is a well-formed relation. */
export function relationOf(ev: StoredEvent): { eventId: string; relType: string } | undefined {
  if (ev.redactedBy) return undefined;
  const rel = ev.pdu.content['m.relates_to'];
  if (!rel || typeof rel !== 'object' || Array.isArray(rel)) return undefined;
  const { event_id, rel_type } = rel as Record<string, unknown>;
  return typeof event_id === 'string' && typeof rel_type === 'string' ? { eventId: event_id, relType: rel_type } : undefined;
}

function ownRelType(ev: StoredEvent): string | undefined {
  return relationOf(ev)?.relType;
}

/** Spec "Validity of replacement events". */
export function isValidReplacement(original: StoredEvent, edit: StoredEvent): boolean {
  if (original.roomId !== edit.roomId) return false;
  if (original.pdu.sender !== edit.pdu.sender) return false;
  if (original.pdu.type !== edit.pdu.type) return false;
  if (original.pdu.state_key !== undefined || edit.pdu.state_key !== undefined) return false;
  if (ownRelType(original) === 'm.replace') return false;
  // Encrypted edits carry m.new_content inside the ciphertext, which the server cannot see.
  if (edit.pdu.type === 'm.room.encrypted') return true;
  const nc = edit.pdu.content['m.new_content'];
  return !!nc && typeof nc === 'object' && !Array.isArray(nc);
}

/** Spec: the most recent edit has the largest origin_server_ts, then the largest event ID. */
function isNewerEdit(a: StoredEvent, b: StoredEvent): boolean {
  if (a.pdu.origin_server_ts !== b.pdu.origin_server_ts) return a.pdu.origin_server_ts > b.pdu.origin_server_ts;
  return a.eventId > b.eventId;
}
