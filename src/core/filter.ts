// Event filters (client-server "Filtering"): matching events against the type/sender/room
// lists of an EventFilter or RoomEventFilter. Type patterns may use "*" as a wildcard.

export interface EventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

export interface RoomEventFilter extends EventFilter {
  rooms?: string[];
  not_rooms?: string[];
  contains_url?: boolean;
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  unread_thread_notifications?: boolean;
}

export interface RoomFilter {
  rooms?: string[];
  not_rooms?: string[];
  include_leave?: boolean;
  timeline?: RoomEventFilter;
  state?: RoomEventFilter;
  ephemeral?: RoomEventFilter;
  account_data?: RoomEventFilter;
}

export interface Filter {
  event_fields?: string[];
  event_format?: 'client' | 'federation';
  presence?: EventFilter;
  account_data?: EventFilter;
  room?: RoomFilter;
}

export interface FilterableEvent {
  type: string;
  sender?: string;
  room_id?: string;
  content?: Record<string, unknown>;
}

const patternCache = new Map<string, RegExp>();

function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re.test(type);
}

export function eventMatchesFilter(filter: RoomEventFilter | EventFilter | undefined, ev: FilterableEvent): boolean {
  if (!filter) return true;
  if (filter.not_types?.some((p) => typeMatches(p, ev.type))) return false;
  if (filter.types && !filter.types.some((p) => typeMatches(p, ev.type))) return false;
  if (ev.sender !== undefined) {
    if (filter.not_senders?.includes(ev.sender)) return false;
    if (filter.senders && !filter.senders.includes(ev.sender)) return false;
  }
  const rf = filter as RoomEventFilter;
  if (ev.room_id !== undefined) {
    if (rf.not_rooms?.includes(ev.room_id)) return false;
    if (rf.rooms && !rf.rooms.includes(ev.room_id)) return false;
  }
  if (rf.contains_url !== undefined) {
    const hasUrl = typeof ev.content?.url === 'string';
    if (rf.contains_url !== hasUrl) return false;
  }
  return true;
}

export function roomAllowedByFilter(filter: RoomFilter | undefined, roomId: string): boolean {
  if (!filter) return true;
  if (filter.not_rooms?.includes(roomId)) return false;
  if (filter.rooms && !filter.rooms.includes(roomId)) return false;
  return true;
}
