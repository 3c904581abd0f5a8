// Event relationships for clients: GET /relations (children of an event, paginated, optionally
// recursive), GET /threads (thread roots by latest activity), and the checks a client's new
// relation must pass before it is sent.
//
// Tokens are stream positions "sN" ("between N and N+1"), shared with /messages and /sync, so a
// /sync next_batch or a /messages start token can be used as `from`. Children are ordered by
// stream position, our topological-enough order for events of one server.
//
// Send-time checks (spec "Forming relationships", "Validation of m.thread relationships",
// "Avoiding duplicate annotations"; behaviour as Synapse's, so clients see the same errors):
// - the parent must be an event of this room, or at least the target of other relations here
//   (a client cannot otherwise know the ID): else 400 M_UNKNOWN. Events of other rooms are
//   treated as unknown, so the answer does not tell whether an event exists elsewhere;
// - m.annotation needs a string `key` of at most 500 characters, and the same sender may not
//   send the same annotation (type and key) twice: 400 M_DUPLICATE_ANNOTATION;
// - m.thread may not target an event that is itself a relation: 400 M_UNKNOWN.
// Invalid edits (m.replace from another sender, changing the type, of state events) are not
// refused: the spec says receivers ignore them, and the aggregation does (aggregations.ts).
// Federation never goes through these checks: what remote servers send is stored as is.
import { MatrixError } from '../../core/errors.ts';
import type { RelationStore } from '../../storage/stores/relations.ts';
import { positionToken } from '../sync/rooms-provider.ts';
import type { EventReader, StoredEvent } from './event-reader.ts';
import type { VisibilityFilter } from './visibility.ts';
import type { ClientEvent } from './client-event.ts';
import type { Reader, RoomReads } from './room-reads.ts';
import { parsePositionToken } from './room-history.ts';
import { relationOf } from './aggregations.ts';

/** Levels of relations followed by `recurse` (spec: at least 3). */
export const RECURSION_DEPTH = 3;
/** Most parents followed when recursing, so a huge tree cannot make one huge query. */
const MAX_RECURSE_PARENTS = 2000;
/** Rows one request may scan for visible children before answering with what it has. */
const MAX_SCAN = 2000;
const MAX_ANNOTATION_KEY = 500;

export interface RelationsRequest {
  relType?: string;
  eventType?: string;
  from?: string;
  to?: string;
  dir: 'b' | 'f';
  limit: number;
  recurse?: boolean;
}

export interface RelationsResponse {
  chunk: ClientEvent[];
  next_batch?: string;
  prev_batch?: string;
  recursion_depth?: number;
}

export interface ThreadsRequest {
  include: 'all' | 'participated';
  from?: string;
  limit: number;
}

export interface RelationsDeps {
  reads: Pick<RoomReads, 'requireRoom' | 'accessOf' | 'upperBound' | 'serialize'>;
  store: Pick<RelationStore, 'children' | 'childIds' | 'threadRoots' | 'hasChildren' | 'annotationsBy'>;
  reader: Pick<EventReader, 'getEvent' | 'getEvents' | 'fromRows'>;
  visibility: Pick<VisibilityFilter, 'canSee' | 'filterEventsForUser'>;
  /** The highest stream position readers may see. */
  currentPosition(): number;
}

export class RelationsService {
  constructor(private readonly deps: RelationsDeps) {}

  // GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]
  async queryRelations(reader: Reader, roomId: string, eventId: string, req: RelationsRequest): Promise<RelationsResponse> {
    const { store, visibility } = this.deps;
    await this.deps.reads.requireRoom(roomId);
    const parent = await this.deps.reader.getEvent(eventId);
    // Spec: 404 both for unknown events and for events the user may not see.
    if (!parent || parent.roomId !== roomId || !(await visibility.canSee(reader.userId, parent))) {
      throw new MatrixError('M_NOT_FOUND', 'Event not found');
    }

    const parentIds = req.recurse ? await this.descendantParents(roomId, eventId) : [eventId];
    const fromPos = req.from !== undefined ? parsePositionToken(req.from, 'from') : undefined;
    const toPos = req.to !== undefined ? parsePositionToken(req.to, 'to') : undefined;
    const current = this.deps.currentPosition();
    // Positions (after, upTo] still to read; the cursor moves one edge inwards.
    let after = req.dir === 'b' ? (toPos ?? 0) : (fromPos ?? 0);
    let upTo = req.dir === 'b' ? Math.min(fromPos ?? current, current) : Math.min(toPos ?? current, current);

    const chunk: StoredEvent[] = [];
    let exhausted = false;
    let scanned = 0;
    while (chunk.length < req.limit) {
      if (after >= upTo) {
        exhausted = true;
        break;
      }
      const batchSize = Math.min(Math.max(2 * (req.limit - chunk.length), 20), 500);
      const rows = await store.children({ roomId, parentIds, relType: req.relType, eventType: req.eventType, after, upTo, dir: req.dir, limit: batchSize });
      const batch = this.deps.reader.fromRows(rows);
      const visible = new Set((await visibility.filterEventsForUser(reader.userId, batch)).map((e) => e.eventId));
      let consumed = 0;
      for (const ev of batch) {
        consumed++;
        if (req.dir === 'b') upTo = ev.streamPos! - 1;
        else after = ev.streamPos!;
        if (visible.has(ev.eventId)) chunk.push(ev);
        if (chunk.length === req.limit) break;
      }
      scanned += rows.length;
      if (rows.length < batchSize && consumed === rows.length) {
        exhausted = true;
        break;
      }
      if (scanned >= MAX_SCAN) break;
    }

    const response: RelationsResponse = { chunk: await this.deps.reads.serialize(reader, roomId, chunk) };
    if (!exhausted) response.next_batch = positionToken(req.dir === 'b' ? upTo : after);
    if (req.from !== undefined) response.prev_batch = req.from;
    if (req.recurse !== undefined) response.recursion_depth = req.recurse ? RECURSION_DEPTH : 0;
    return response;
  }

  /**
   * The event and its descendants down to RECURSION_DEPTH - 1 levels: children of all of these
   * are the events up to RECURSION_DEPTH relations away.
   */
  private async descendantParents(roomId: string, eventId: string): Promise<string[]> {
    const seen = new Set([eventId]);
    let frontier = [eventId];
    for (let level = 1; level < RECURSION_DEPTH && frontier.length > 0; level++) {
      const next: string[] = [];
      const cap = MAX_RECURSE_PARENTS - seen.size;
      if (cap <= 0) break;
      for (let i = 0; i < frontier.length; i += 500) {
        for (const id of await this.deps.store.childIds(roomId, frontier.slice(i, i + 500), cap - next.length)) {
          if (!seen.has(id)) {
            seen.add(id);
            next.push(id);
          }
        }
      }
      frontier = next;
    }
    return [...seen];
  }

  // GET /_matrix/client/v1/rooms/{roomId}/threads
  async queryThreads(reader: Reader, roomId: string, req: ThreadsRequest): Promise<{ chunk: ClientEvent[]; next_batch?: string }> {
    let access;
    try {
      access = await this.deps.reads.accessOf(roomId, reader.userId);
    } catch (err) {
      // Spec: 403 also when the room does not exist (not 404), so unknown rooms look private.
      if (err instanceof MatrixError && err.errcode === 'M_NOT_FOUND') throw new MatrixError('M_FORBIDDEN', 'You are not allowed to view this room');
      throw err;
    }
    // Activity after a departure is not the user's to see, not even as an ordering.
    const upTo = this.deps.reads.upperBound(access);
    let before = req.from !== undefined ? parsePositionToken(req.from, 'from') : upTo;
    const participant = req.include === 'participated' ? reader.userId : undefined;

    const roots: StoredEvent[] = [];
    let exhausted = false;
    let scanned = 0;
    while (roots.length < req.limit) {
      const batchSize = Math.min(Math.max(2 * (req.limit - roots.length), 10), 200);
      const rows = await this.deps.store.threadRoots(roomId, { upTo, before, limit: batchSize, participant });
      const loaded = await this.deps.reader.getEvents(rows.map((r) => r.rootId));
      const candidates = rows.map((r) => loaded.get(r.rootId)).filter((e): e is StoredEvent => e !== undefined);
      const visible = new Set((await this.deps.visibility.filterEventsForUser(reader.userId, candidates)).map((e) => e.eventId));
      let consumed = 0;
      for (const row of rows) {
        consumed++;
        before = row.latestPos - 1;
        const ev = loaded.get(row.rootId);
        if (ev && visible.has(ev.eventId)) roots.push(ev);
        if (roots.length === req.limit) break;
      }
      scanned += rows.length;
      if (rows.length < batchSize && consumed === rows.length) {
        exhausted = true;
        break;
      }
      if (scanned >= MAX_SCAN) break;
    }
    const response: { chunk: ClientEvent[]; next_batch?: string } = { chunk: await this.deps.reads.serialize(reader, roomId, roots) };
    if (!exhausted) response.next_batch = positionToken(before);
    return response;
  }

  /** Send-time checks of a client's relation (see the header); throws the client's error. */
  async checkNewRelation(roomId: string, sender: string, type: string, content: Record<string, unknown>): Promise<void> {
    const rel = content['m.relates_to'];
    if (!rel || typeof rel !== 'object' || Array.isArray(rel)) return;
    const { event_id: parentId, rel_type: relType, key } = rel as Record<string, unknown>;
    if (typeof parentId !== 'string' || typeof relType !== 'string') return;

    const found = await this.deps.reader.getEvent(parentId);
    const parent = found && found.roomId === roomId ? found : undefined;
    if (!parent && !(await this.deps.store.hasChildren(roomId, parentId))) {
      throw new MatrixError('M_UNKNOWN', "Can't send relation to unknown event");
    }

    if (relType === 'm.annotation') {
      if (typeof key !== 'string') throw new MatrixError('M_UNKNOWN', 'Missing aggregation key');
      if (key.length > MAX_ANNOTATION_KEY) throw new MatrixError('M_UNKNOWN', 'Aggregation key is too long');
      const mine = this.deps.reader.fromRows(await this.deps.store.annotationsBy(roomId, parentId, sender, type));
      if (mine.some((e) => annotationKeyOf(e) === key)) {
        throw new MatrixError('M_DUPLICATE_ANNOTATION', "Can't send same reaction twice", {}, 400);
      }
    } else if (relType === 'm.thread') {
      if (parent && relationOf(parent) !== undefined) {
        throw new MatrixError('M_UNKNOWN', 'Cannot start threads from an event with a relation');
      }
    }
  }
}

function annotationKeyOf(ev: StoredEvent): string | undefined {
  const rel = ev.pdu.content['m.relates_to'] as Record<string, unknown> | undefined;
  return typeof rel?.key === 'string' ? rel.key : undefined;
}
