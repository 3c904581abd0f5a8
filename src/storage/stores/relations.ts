// Queries on event relationships (client-server "Forming relationships between events"):
// children of parent events, thread summaries and the list of threads in a room. Uses the
// relates_to / rel_type / thread_id columns of `events` (filled by the write path) and the
// indexes events_relates (relates_to, rel_type) and events_thread (room_id, thread_id).
//
// Every query returns only *served* children (a stream position, not soft-failed) that are not
// redacted: redacting a relation removes it, as its m.relates_to is gone from the content.
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { DB } from '../schema/index.ts';
import type { EventRow } from './events.ts';
import { prepare } from '../prepared.ts';

export interface ChildrenQuery {
  roomId: string;
  parentIds: readonly string[];
  relType?: string;
  eventType?: string;
  /** Stream positions in (after, upTo]. */
  after: number;
  upTo: number;
  dir: 'b' | 'f';
  limit: number;
}

export interface ThreadCount {
  rootId: string;
  roomId: string;
  count: number;
  latestPos: number;
}

export interface ThreadRootRow {
  rootId: string;
  latestPos: number;
}

type EventsQuery = SelectQueryBuilder<DB, 'events', object>;

/** Children that exist for clients: served and not redacted. */
function served<Q extends EventsQuery>(q: Q): Q {
  return q.where('events.stream_pos', 'is not', null).where('events.soft_failed', '=', 0).where('events.redacted_by', 'is', null) as Q;
}

export class RelationStore {
  /** The bundled-aggregation reads of every /sync timeline (../prepared.ts). */
  private readonly q: ReturnType<typeof preparedQueries>;

  constructor(private readonly db: Kysely<DB>) {
    this.q = preparedQueries(db);
  }

  /** Children of the parents in the room, by stream position (newest first for dir "b"). */
  children(q: ChildrenQuery): Promise<EventRow[]> {
    if (q.parentIds.length === 0 || q.limit <= 0) return Promise.resolve([]);
    let query = served(this.db.selectFrom('events').selectAll())
      .where('relates_to', 'in', q.parentIds)
      .where('room_id', '=', q.roomId)
      .where('stream_pos', '>', q.after)
      .where('stream_pos', '<=', q.upTo);
    if (q.relType !== undefined) query = query.where('rel_type', '=', q.relType);
    if (q.eventType !== undefined) query = query.where('type', '=', q.eventType);
    return query
      .orderBy('stream_pos', q.dir === 'b' ? 'desc' : 'asc')
      .limit(q.limit)
      .execute();
  }

  /** IDs of the direct children (any relation type) of the parents in the room, up to `cap`. */
  async childIds(roomId: string, parentIds: readonly string[], cap: number): Promise<string[]> {
    if (parentIds.length === 0 || cap <= 0) return [];
    const rows = await served(this.db.selectFrom('events').select('event_id'))
      .where('relates_to', 'in', parentIds)
      .where('room_id', '=', roomId)
      .where('rel_type', 'is not', null)
      .limit(cap)
      .execute();
    return rows.map((r) => r.event_id);
  }

  /** Whether the room holds served relations to the event (a client may know of it through them). */
  async hasChildren(roomId: string, parentId: string): Promise<boolean> {
    const row = await served(this.db.selectFrom('events').select('event_nid'))
      .where('relates_to', '=', parentId)
      .where('room_id', '=', roomId)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The sender's unredacted annotations of one type on the parent (to refuse duplicates). */
  annotationsBy(roomId: string, parentId: string, sender: string, eventType: string): Promise<EventRow[]> {
    return served(this.db.selectFrom('events').selectAll())
      .where('relates_to', '=', parentId)
      .where('rel_type', '=', 'm.annotation')
      .where('room_id', '=', roomId)
      .where('sender', '=', sender)
      .where('type', '=', eventType)
      .execute();
  }

  /**
   * Which of the parents have children of the given relation types, served or not (a superset:
   * callers then read the served ones). One index probe, so that the usual case — new events
   * nobody has related to yet — costs one query instead of one per relation type.
   */
  async parentsWithChildren(parentIds: readonly string[], relTypes: readonly string[]): Promise<Set<string>> {
    if (parentIds.length === 0 || relTypes.length === 0) return new Set();
    const rows = await this.q.parentsWithChildren.execute({ parentIds, relTypes });
    return new Set(rows.map((r) => r.relates_to!));
  }

  /**
   * Children of one relation type of many parents (edits, references). Grouped and validated
   * by the caller; oldest first.
   */
  childrenOfType(parentIds: readonly string[], relType: string, excludeSenders: readonly string[] = []): Promise<EventRow[]> {
    if (parentIds.length === 0) return Promise.resolve([]);
    return this.q.childrenOfType.execute({ parentIds, relType, excludeSenders });
  }

  /** Per thread root: number of m.thread children and the position of the newest (any room; caller matches rooms). */
  async threadCounts(rootIds: readonly string[], excludeSenders: readonly string[] = []): Promise<ThreadCount[]> {
    if (rootIds.length === 0) return [];
    const rows = await this.q.threadCounts.execute({ rootIds, excludeSenders });
    return rows.map((r) => ({ rootId: r.relates_to!, roomId: r.room_id, count: Number(r.n), latestPos: Number(r.latest) }));
  }

  /** The newest m.thread children of a root at or below `beforePos`, newest first. */
  threadEventsBefore(roomId: string, rootId: string, beforePos: number, limit: number, excludeSenders: readonly string[] = []): Promise<EventRow[]> {
    let q = served(this.db.selectFrom('events').selectAll())
      .where('relates_to', '=', rootId)
      .where('rel_type', '=', 'm.thread')
      .where('room_id', '=', roomId)
      .where('stream_pos', '<=', beforePos);
    if (excludeSenders.length > 0) q = q.where('sender', 'not in', excludeSenders);
    return q.orderBy('stream_pos', 'desc').limit(limit).execute();
  }

  /** Thread roots (among those given) in which the user sent an m.thread child. */
  async threadsWithChildFrom(rootIds: readonly string[], userId: string): Promise<Set<string>> {
    if (rootIds.length === 0) return new Set();
    const rows = await served(this.db.selectFrom('events').select('relates_to'))
      .distinct()
      .where('relates_to', 'in', rootIds)
      .where('rel_type', '=', 'm.thread')
      .where('sender', '=', userId)
      .execute();
    return new Set(rows.map((r) => r.relates_to!));
  }

  /**
   * Threads of a room ordered by their newest child, newest first: roots whose newest child
   * (counting children up to `upTo` only) is at or below `before`. With `participant`, only
   * threads that user started or replied in.
   */
  async threadRoots(roomId: string, opts: { upTo: number; before: number; limit: number; participant?: string }): Promise<ThreadRootRow[]> {
    const latest = sql<number>`max(child.stream_pos)`;
    let q = this.db
      .selectFrom('events as child')
      .innerJoin('events as root', (j) => j.onRef('root.event_id', '=', 'child.thread_id').onRef('root.room_id', '=', 'child.room_id'))
      .select(['child.thread_id as root_id', latest.as('latest')])
      .where('child.room_id', '=', roomId)
      .where('child.thread_id', 'is not', null)
      .where('child.stream_pos', 'is not', null)
      .where('child.stream_pos', '<=', opts.upTo)
      .where('child.soft_failed', '=', 0)
      .where('child.redacted_by', 'is', null)
      .where('root.stream_pos', 'is not', null)
      .where('root.soft_failed', '=', 0)
      .groupBy(['child.thread_id', 'root.sender'])
      .having(latest, '<=', opts.before);
    if (opts.participant !== undefined) {
      const user = opts.participant;
      q = q.having((eb) => eb.or([eb('root.sender', '=', user), eb(sql<number>`max(case when child.sender = ${user} then 1 else 0 end)`, '=', 1)]));
    }
    const rows = await q.orderBy(latest, 'desc').limit(opts.limit).execute();
    return rows.map((r) => ({ rootId: r.root_id!, latestPos: Number(r.latest) }));
  }
}

function preparedQueries(db0: Kysely<DB>) {
  return {
    parentsWithChildren: prepare(db0, (db, a: { parentIds: readonly string[]; relTypes: readonly string[] }) =>
      db.selectFrom('events').select('relates_to').distinct().where('relates_to', 'in', a.parentIds).where('rel_type', 'in', a.relTypes),
    ),
    childrenOfType: prepare(db0, (db, a: { parentIds: readonly string[]; relType: string; excludeSenders: readonly string[] }) => {
      let q = served(db.selectFrom('events').selectAll())
        .where('relates_to', 'in', a.parentIds)
        .where('rel_type', '=', a.relType);
      if (a.excludeSenders.length > 0) q = q.where('sender', 'not in', a.excludeSenders);
      return q.orderBy('stream_pos', 'asc');
    }),
    threadCounts: prepare(db0, (db, a: { rootIds: readonly string[]; excludeSenders: readonly string[] }) => {
      let q = served(db.selectFrom('events'))
        .select((eb) => ['relates_to', 'room_id', eb.fn.countAll().as('n'), eb.fn.max('stream_pos').as('latest')])
        .where('relates_to', 'in', a.rootIds)
        .where('rel_type', '=', 'm.thread');
      if (a.excludeSenders.length > 0) q = q.where('sender', 'not in', a.excludeSenders);
      return q.groupBy(['relates_to', 'room_id']);
    }),
  };
}
