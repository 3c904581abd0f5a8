// GET /_matrix/client/v3/sync
import type { ServerResponse } from 'node:http';
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Filter } from '../../core/filter.ts';
import type { Router } from '../router.ts';
import type { SyncService } from '../../services/sync/sync-service.ts';
import { compileSyncFilter } from '../../services/sync/sync-filter.ts';
import type { WaitSignal } from '../../services/streams/notifier.ts';
import type { SyncFilter } from '../../services/sync/types.ts';
import { LruCache } from '../../util/lru.ts';

const SyncQuery = Type.Object(
  {
    since: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Integer({ minimum: 0 })),
    full_state: Type.Optional(Type.Boolean()),
    set_presence: Type.Optional(Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('unavailable')])),
    filter: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export interface SyncRouteDeps {
  sync: SyncService;
  /** Loads a stored filter by ID (M_NOT_FOUND / M_INVALID_PARAM when unknown). */
  loadFilter?(userId: string, filterId: string): Promise<Filter>;
  /** Applies set_presence (presence feature). */
  setPresence?(userId: string, presence: 'online' | 'offline' | 'unavailable'): Promise<void>;
}

/** Compiled filters kept: clients send the same filter (usually by ID) with every /sync. */
const FILTER_CACHE_SIZE = 2_000;

export function syncRoutes(r: Router, deps: SyncRouteDeps): void {
  // Stored filters never change (POST /filter only creates), so a filter ID or a JSON filter
  // compiles to the same SyncFilter every time.
  const filters = new LruCache<string, SyncFilter>(FILTER_CACHE_SIZE);
  const noFilter = compileSyncFilter({});
  // Not async: a long-poll asks on every request and nearly always hits the cache.
  const filterFor = (userId: string, param: string | undefined): SyncFilter | Promise<SyncFilter> => {
    if (param === undefined) return noFilter;
    const inline = param.trim().startsWith('{');
    const key = inline ? param : `${userId}\u0000${param}`;
    const hit = filters.get(key);
    if (hit) return hit;
    return compileFilter(userId, param, inline, key);
  };
  const compileFilter = async (userId: string, param: string, inline: boolean, key: string): Promise<SyncFilter> => {
    let filter: Filter;
    if (inline) {
      try {
        filter = JSON.parse(param) as Filter;
      } catch {
        throw new MatrixError('M_INVALID_PARAM', 'filter is not valid JSON');
      }
      if (!filter || typeof filter !== 'object' || Array.isArray(filter)) throw new MatrixError('M_INVALID_PARAM', 'filter must be an object');
    } else if (deps.loadFilter) {
      filter = await deps.loadFilter(userId, param);
    } else {
      throw new MatrixError('M_NOT_FOUND', 'Unknown filter');
    }
    const compiled = compileSyncFilter(filter);
    filters.set(key, compiled);
    return compiled;
  };

  // GET /_matrix/client/v3/sync
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/sync',
    auth: 'guest',
    query: SyncQuery,
    handler: async ({ query, requester, reply }) => {
      const pendingFilter = filterFor(requester.userId, query.filter);
      const filter = pendingFilter instanceof Promise ? await pendingFilter : pendingFilter;
      if (query.set_presence && deps.setPresence) await deps.setPresence(requester.userId, query.set_presence);
      const gone = new ClientGone();
      // The response closing before we answered means the client went away ('close' also fires
      // after a normal answer: nothing is waiting then). One shared listener, no closure per poll.
      (reply.raw as WithClientGone)[CLIENT_GONE] = gone;
      reply.raw.on('close', abortIfUnanswered);
      return deps.sync.sync({
        userId: requester.userId,
        deviceId: requester.deviceId,
        since: query.since,
        timeoutMs: query.timeout ?? 0,
        fullState: query.full_state ?? false,
        filter,
        signal: gone,
      });
    },
  });
}

/** The poll's signal, on its response (not in a WeakMap: an ephemeron per poll for the GC to trace). */
const CLIENT_GONE = Symbol('clientGone');
type WithClientGone = ServerResponse & { [CLIENT_GONE]?: ClientGone };

function abortIfUnanswered(this: WithClientGone): void {
  if (!this.writableFinished) this[CLIENT_GONE]?.abort();
}

/** The one-listener cancellation signal a parked /sync waits on (cheaper than an AbortController). */
class ClientGone implements WaitSignal {
  aborted = false;
  private listener: { handleEvent(): void } | undefined;

  addEventListener(_type: 'abort', listener: { handleEvent(): void }): void {
    this.listener = listener;
  }

  removeEventListener(_type: 'abort', listener: { handleEvent(): void }): void {
    if (this.listener === listener) this.listener = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listener;
    this.listener = undefined;
    l?.handleEvent();
  }
}
