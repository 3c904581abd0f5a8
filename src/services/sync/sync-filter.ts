// Compiles a client filter into the SyncFilter that sync and its providers consult.
import { eventMatchesFilter, roomAllowedByFilter, type Filter } from '../../core/filter.ts';
import type { SyncFilter } from './types.ts';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;

export function compileSyncFilter(filter: Filter = {}): SyncFilter {
  const room = filter.room ?? {};
  const limit = room.timeline?.limit;
  return {
    timelineLimit: Math.max(1, Math.min(MAX_TIMELINE_LIMIT, typeof limit === 'number' ? limit : DEFAULT_TIMELINE_LIMIT)),
    lazyLoadMembers: !!room.state?.lazy_load_members,
    includeLeave: !!room.include_leave,
    timelineAllows: (ev) => eventMatchesFilter(room.timeline, ev),
    stateAllows: (ev) => eventMatchesFilter(room.state, ev),
    roomAllowed: (roomId) => roomAllowedByFilter(room, roomId),
    raw: filter as Record<string, unknown>,
  };
}
