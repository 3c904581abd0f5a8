// GET /_matrix/client/v3/sync
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Filter } from '../../core/filter.ts';
import type { Router } from '../router.ts';
import type { SyncService } from '../../services/sync/sync-service.ts';
import { compileSyncFilter } from '../../services/sync/sync-filter.ts';
import type { WaitSignal } from '../../services/streams/notifier.ts';

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

export function syncRoutes(r: Router, deps: SyncRouteDeps): void {
  // GET /_matrix/client/v3/sync
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/sync',
    auth: 'guest',
    query: SyncQuery,
    handler: async ({ query, requester, reply }) => {
      let filter: Filter = {};
      if (query.filter !== undefined) {
        if (query.filter.trim().startsWith('{')) {
          try {
            filter = JSON.parse(query.filter) as Filter;
          } catch {
            throw new MatrixError('M_INVALID_PARAM', 'filter is not valid JSON');
          }
          if (!filter || typeof filter !== 'object' || Array.isArray(filter)) throw new MatrixError('M_INVALID_PARAM', 'filter must be an object');
        } else if (deps.loadFilter) {
          filter = await deps.loadFilter(requester.userId, query.filter);
        } else {
          throw new MatrixError('M_NOT_FOUND', 'Unknown filter');
        }
      }
      if (query.set_presence && deps.setPresence) await deps.setPresence(requester.userId, query.set_presence);
      const gone = new ClientGone();
      // The response closing before we answered means the client went away ('close' also fires
      // after a normal answer: nothing is waiting then).
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      return deps.sync.sync({
        userId: requester.userId,
        deviceId: requester.deviceId,
        since: query.since,
        timeoutMs: query.timeout ?? 0,
        fullState: query.full_state ?? false,
        filter: compileSyncFilter(filter),
        signal: gone,
      });
    },
  });
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
