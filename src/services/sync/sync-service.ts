// GET /sync: runs every stream provider for (since, now]; when nothing is new and the client
// asked to wait, sleeps on the notifier until woken, the timeout, or the client going away.
// The waiter is registered *before* the current position is read, so nothing can slip between.
import { MatrixError } from '../../core/errors.ts';
import type { Notifier, Waiter, WaitSignal } from '../streams/notifier.ts';
import type { StreamPositions } from '../streams/positions.ts';
import { emptyJoinedRoom, joinedRoomHasData, type SyncContext, type SyncFilter, type SyncProvider, type SyncResponse, type JoinedRoomSync } from './types.ts';

export interface SyncRequest {
  userId: string;
  deviceId: string;
  since?: string;
  timeoutMs: number;
  fullState: boolean;
  filter: SyncFilter;
  /** Aborted when the client goes away. */
  signal?: WaitSignal;
}

export interface SyncDeps {
  positions: StreamPositions;
  notifier: Notifier;
  providers: SyncProvider[];
  /** The user's current membership in every room they have one in. */
  memberships(userId: string): Promise<SyncContext['memberships']>;
}

const MAX_TIMEOUT_MS = 5 * 60_000;

/**
 * One event wakes every member of its room at once. Built all together, their queries interleave
 * and every answer leaves at the end of the burst; a few at a time, the first answers leave
 * after a few builds and the last no later than before. Several stay in flight so PostgreSQL's
 * connection pool still overlaps round trips.
 */
const WOKEN_BUILDS_AT_ONCE = 8;

class BuildSlots {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /**
   * Takes a slot: undefined when one is free now, else a promise of the slot. (No closure per
   * build: the bundle names every closure it creates, and a fan-out runs hundreds of builds.)
   */
  acquire(): Promise<void> | undefined {
    if (this.active < this.limit) {
      this.active++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }

  /** A slot is handed from a finishing build straight to the next queued one. */
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}

/** The context providers see; a class so that `joinedRoom` is a method, not a closure per build. */
class BuildContext implements SyncContext {
  constructor(
    readonly userId: string,
    readonly deviceId: string,
    readonly memberships: SyncContext['memberships'],
    readonly joinedRoomIds: readonly string[],
    readonly filter: SyncFilter,
    readonly fullState: boolean,
    readonly current: number,
    private readonly response: SyncResponse,
  ) {}

  joinedRoom(roomId: string): JoinedRoomSync {
    return (this.response.rooms.join[roomId] ??= emptyJoinedRoom());
  }
}

/**
 * The joined rooms of a memberships list. The list comes from a cache (rooms/user-memberships.ts)
 * and is the same array until the user's memberships change, so its joined rooms are derived once.
 */
const joinedRoomsOf = new WeakMap<SyncContext['memberships'], readonly string[]>();
function joinedRoomIds(memberships: SyncContext['memberships']): readonly string[] {
  let ids = joinedRoomsOf.get(memberships);
  if (!ids) {
    const list: string[] = [];
    for (const m of memberships) if (m.membership === 'join') list.push(m.room_id);
    joinedRoomsOf.set(memberships, (ids = list));
  }
  return ids;
}

/** `s` and 1 to 15 digits (what /^s(\d{1,15})$/ accepts), read without a match array. */
export function parseSyncToken(token: string): number {
  const n = token.length;
  if (n < 2 || n > 16 || token.charCodeAt(0) !== 115 /* s */) throw new MatrixError('M_INVALID_PARAM', 'Invalid sync token');
  let value = 0;
  for (let i = 1; i < n; i++) {
    const digit = token.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) throw new MatrixError('M_INVALID_PARAM', 'Invalid sync token');
    value = value * 10 + digit;
  }
  return value;
}

export class SyncService {
  private readonly wokenBuilds = new BuildSlots(WOKEN_BUILDS_AT_ONCE);

  constructor(private readonly deps: SyncDeps) {}

  async sync(req: SyncRequest): Promise<SyncResponse> {
    const from = req.since !== undefined ? parseSyncToken(req.since) : null;
    const deadline = Date.now() + Math.min(Math.max(req.timeoutMs, 0), MAX_TIMEOUT_MS);
    let to = Math.max(this.deps.positions.current, from ?? 0);
    let woken = false;
    // Nothing at all happened after the token: every provider answers for (from, to], which is
    // empty, so the response would be empty too. A client re-polling right after a response is
    // the common case; go straight to waiting instead of building it. (Building later also
    // acknowledges the to-device messages up to `from`; nothing is lost by doing it then.)
    if (from !== null && to === from && !req.fullState && deadline > Date.now() && !req.signal?.aborted) {
      const waiter = this.deps.notifier.waiterFor(req.userId);
      // Registered before the position is read again: nothing slips between the read and the wait.
      if (this.deps.positions.current > from) waiter.cancel();
      else if (!(await waiter.wait(deadline - Date.now(), req.signal))) return this.build(req, from, Math.max(this.deps.positions.current, from));
      woken = true;
    }
    // Registered before `to` was last read, once a build came back empty. Not before a woken
    // build: that nearly always has news, and the waiter would only be cancelled.
    let waiter: Waiter | undefined;
    for (;;) {
      let response: SyncResponse;
      try {
        if (woken) {
          // A woken sync reads the position again once its turn comes: news that arrived while
          // it queued goes into this answer.
          const slot = this.wokenBuilds.acquire();
          if (slot) await slot;
          try {
            to = Math.max(this.deps.positions.current, to);
            response = await this.build(req, from, to);
          } finally {
            this.wokenBuilds.release();
          }
        } else {
          response = await this.build(req, from, to);
        }
      } catch (err) {
        // A failed build must not leave its waiter registered (woken forever, never removed).
        waiter?.cancel();
        throw err;
      }
      const remaining = deadline - Date.now();
      if (from === null || req.fullState || hasData(response) || remaining <= 0 || req.signal?.aborted) {
        waiter?.cancel();
        return response;
      }
      if (!waiter) {
        // Nothing for this user up to `to`. Anything after the position read now wakes the
        // waiter; what came in between is built once more (at most once: the waiter stays).
        waiter = this.deps.notifier.waiterFor(req.userId);
        const now = this.deps.positions.current;
        if (now > to) {
          to = now;
          woken = true;
          continue;
        }
      }
      if (!(await waiter.wait(remaining, req.signal))) {
        // Timed out or the client left: answer with what we have (nothing new, a fresh token).
        return this.build(req, from, Math.max(this.deps.positions.current, from));
      }
      waiter = undefined;
      woken = true;
    }
  }

  private async build(req: SyncRequest, from: number | null, to: number): Promise<SyncResponse> {
    const response: SyncResponse = {
      next_batch: '',
      rooms: { join: {}, invite: {}, leave: {}, knock: {} },
      presence: { events: [] },
      account_data: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    };
    const memberships = await this.deps.memberships(req.userId);
    const ctx = new BuildContext(req.userId, req.deviceId, memberships, joinedRoomIds(memberships), req.filter, req.fullState, to, response);
    // Indexed loops: an array iterator held across an await is one more object per build.
    const providers = this.deps.providers;
    for (let i = 0; i < providers.length; i++) {
      const provider = providers[i];
      if (!provider.limitBatch) continue;
      const end = provider.limitBatch(ctx, from, to);
      to = Math.min(to, typeof end === 'number' ? end : await end);
    }
    response.next_batch = `s${to}`;
    // Providers with nothing to add answer synchronously: no promise to wait for.
    for (let i = 0; i < providers.length; i++) {
      const pending = providers[i].contribute(ctx, from, to, response);
      if (pending) await pending;
    }
    // Providers may have created sections for rooms that ended up with nothing to say.
    if (from !== null) {
      const join = response.rooms.join;
      for (const roomId in join) if (!joinedRoomHasData(join[roomId])) delete join[roomId];
    }
    return response;
  }
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

function hasData(r: SyncResponse): boolean {
  return (
    !isEmpty(r.rooms.join) ||
    !isEmpty(r.rooms.invite) ||
    !isEmpty(r.rooms.leave) ||
    !isEmpty(r.rooms.knock) ||
    r.presence.events.length > 0 ||
    r.account_data.events.length > 0 ||
    r.to_device.events.length > 0 ||
    r.device_lists.changed.length > 0 ||
    r.device_lists.left.length > 0
  );
}
