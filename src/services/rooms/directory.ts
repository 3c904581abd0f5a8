// The published room directory (client-server "Published room directory"): which rooms are
// listed, who may list them, and /publicRooms with its filter and pagination. Entries are read
// from the rooms' current state, so names, topics and member counts are always up to date.
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomId } from '../../core/ids.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import type { AliasStore, DirectoryScope } from '../../storage/stores/aliases.ts';
import type { CurrentState, CurrentStateCache } from './current-state.ts';
import type { RoomWriter } from './room-writer.ts';
import { mayEditCanonicalAlias, type AliasRequester } from './aliases.ts';

export type Visibility = 'public' | 'private';

export interface PublicRoomsQuery {
  limit?: number;
  since?: string;
  server?: string;
  genericSearchTerm?: string;
  /** Room types to include; null stands for rooms without a type. Undefined = all. */
  roomTypes?: Array<string | null>;
  thirdPartyInstanceId?: string;
  includeAllNetworks?: boolean;
}

export interface PublicRoomsChunkEntry {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  join_rule?: string;
  room_type?: string;
}

export interface PublicRoomsResponse {
  chunk: PublicRoomsChunkEntry[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate: number;
}

export interface DirectoryServiceDeps {
  serverName: string;
  store: Pick<AliasStore, 'isPublished' | 'setPublished' | 'publishedRoomsWithJoinedCounts' | 'setAppserviceListed'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  writer: Pick<RoomWriter, 'versionOf'>;
}

/** The most rooms one /publicRooms page returns, whatever the client asks for. */
const MAX_PAGE = 500;

/** A position in the directory's order: by joined members (most first), then room ID. */
interface Key {
  joined: number;
  roomId: string;
}

function compareKeys(a: Key, b: Key): number {
  if (a.joined !== b.joined) return b.joined - a.joined;
  return a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0;
}

// Pagination tokens are keyset positions, not offsets, so rooms joining or leaving the directory
// between pages do not shift later pages. "n" continues after the key, "p" ends before it.
function encodeToken(direction: 'n' | 'p', key: Key): string {
  return Buffer.from(JSON.stringify([direction, key.joined, key.roomId]), 'utf8').toString('base64url');
}

function decodeToken(token: string): { direction: 'n' | 'p'; key: Key } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 3 && (parsed[0] === 'n' || parsed[0] === 'p') && Number.isSafeInteger(parsed[1]) && typeof parsed[2] === 'string') {
      return { direction: parsed[0], key: { joined: parsed[1], roomId: parsed[2] } };
    }
  } catch {
    // fall through
  }
  throw new MatrixError('M_INVALID_PARAM', 'Invalid pagination token');
}

function stringField(content: Record<string, unknown> | undefined, field: string): string | undefined {
  const v = content?.[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The plain-text topic: m.topic's text/plain representation, else the legacy `topic` field. */
function plainTopic(content: Record<string, unknown> | undefined): string | undefined {
  const blocks = content?.['m.topic'];
  if (Array.isArray(blocks)) {
    for (const b of blocks) {
      if (b && typeof b === 'object' && typeof b.body === 'string' && (b.mimetype === undefined || b.mimetype === 'text/plain')) return b.body;
    }
  }
  return stringField(content, 'topic');
}

export function publicRoomEntry(roomId: string, joined: number, state: CurrentState): PublicRoomsChunkEntry {
  const content = (type: string) => state.get(stateKeyOf(type, ''))?.pdu.content;
  const entry: PublicRoomsChunkEntry = {
    room_id: roomId,
    num_joined_members: joined,
    world_readable: content('m.room.history_visibility')?.history_visibility === 'world_readable',
    guest_can_join: content('m.room.guest_access')?.guest_access === 'can_join',
  };
  const name = stringField(content('m.room.name'), 'name');
  if (name) entry.name = name;
  const topic = plainTopic(content('m.room.topic'));
  if (topic) entry.topic = topic;
  const alias = stringField(content('m.room.canonical_alias'), 'alias');
  if (alias) entry.canonical_alias = alias;
  const avatar = stringField(content('m.room.avatar'), 'url');
  if (avatar) entry.avatar_url = avatar;
  const joinRule = stringField(content('m.room.join_rules'), 'join_rule');
  if (joinRule) entry.join_rule = joinRule;
  const roomType = stringField(content('m.room.create'), 'type');
  if (roomType) entry.room_type = roomType;
  return entry;
}

function matchesSearch(entry: PublicRoomsChunkEntry, term: string): boolean {
  const needle = term.toLowerCase();
  return [entry.name, entry.topic, entry.canonical_alias].some((field) => field !== undefined && field.toLowerCase().includes(needle));
}

/**
 * The directory a /publicRooms request reads: the server's own, every appservice network's as
 * well (include_all_networks), or one network, named like the `instance_id` of the third-party
 * protocol responses ("appservice id|network id", as Synapse names them).
 */
function directoryScope(q: PublicRoomsQuery): DirectoryScope {
  if (q.thirdPartyInstanceId === undefined) return q.includeAllNetworks ? 'all' : 'local';
  if (q.includeAllNetworks) throw new MatrixError('M_INVALID_PARAM', 'include_all_networks and third_party_instance_id cannot be used together');
  const bar = q.thirdPartyInstanceId.indexOf('|');
  if (bar <= 0) throw new MatrixError('M_INVALID_PARAM', 'Invalid third_party_instance_id');
  return { appserviceId: q.thirdPartyInstanceId.slice(0, bar), networkId: q.thirdPartyInstanceId.slice(bar + 1) };
}

export class DirectoryService {
  constructor(private readonly deps: DirectoryServiceDeps) {}

  /** GET /directory/list/room/{roomId} */
  async getVisibility(roomId: string): Promise<Visibility> {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    const published = await this.deps.store.isPublished(roomId);
    if (published === undefined) throw new MatrixError('M_NOT_FOUND', 'Room not found');
    return published ? 'public' : 'private';
  }

  /** PUT /directory/list/room/{roomId}: server admins, or members with power over the canonical alias. */
  async setVisibility(requester: AliasRequester, roomId: string, visibility: Visibility): Promise<void> {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    const version = await this.deps.writer.versionOf(roomId);
    if (!version) throw new MatrixError('M_NOT_FOUND', 'Room not found');
    if (!requester.isAdmin && !mayEditCanonicalAlias(await this.deps.currentState.get(roomId), version, requester.userId)) {
      throw new MatrixError('M_FORBIDDEN', 'You may not change this room\'s visibility in the directory');
    }
    if (!(await this.deps.store.setPublished(roomId, visibility === 'public'))) throw new MatrixError('M_NOT_FOUND', 'Room not found');
  }

  /**
   * PUT /directory/list/appservice/{networkId}/{roomId}: an appservice lists a room in its own
   * directory of a third-party network (only appservices may, with their as_token).
   */
  async setAppserviceVisibility(requester: { viaAppservice?: { id: string } }, networkId: string, roomId: string, visibility: Visibility): Promise<void> {
    if (!requester.viaAppservice) throw new MatrixError('M_FORBIDDEN', 'Only application services may edit their room directories');
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    if (networkId === '' || networkId.length > 255) throw new MatrixError('M_INVALID_PARAM', 'Invalid network ID');
    if (!(await this.deps.writer.versionOf(roomId))) throw new MatrixError('M_NOT_FOUND', 'Room not found');
    await this.deps.store.setAppserviceListed(requester.viaAppservice.id, networkId, roomId, visibility === 'public');
  }

  /** /createRoom with visibility=public (the creator's permission is implied). */
  async publish(roomId: string): Promise<void> {
    await this.deps.store.setPublished(roomId, true);
  }

  /** GET and POST /publicRooms. */
  async queryPublicRooms(q: PublicRoomsQuery): Promise<PublicRoomsResponse> {
    if (q.server !== undefined && q.server !== this.deps.serverName) {
      throw new MatrixError('M_INVALID_PARAM', 'Only this server\'s room directory can be queried');
    }
    const cursor = q.since !== undefined ? decodeToken(q.since) : undefined;
    const limit = q.limit === undefined || q.limit <= 0 ? MAX_PAGE : Math.min(q.limit, MAX_PAGE);
    // Rooms nobody is in any more are not worth advertising.
    const rows = (await this.deps.store.publishedRoomsWithJoinedCounts(directoryScope(q))).filter((r) => r.joinedMembers > 0);
    let entries = await Promise.all(rows.map(async (r) => publicRoomEntry(r.roomId, r.joinedMembers, await this.deps.currentState.get(r.roomId))));
    if (q.genericSearchTerm) entries = entries.filter((e) => matchesSearch(e, q.genericSearchTerm!));
    if (q.roomTypes) {
      const types = new Set(q.roomTypes);
      entries = entries.filter((e) => types.has(e.room_type ?? null));
    }
    const keyOf = (e: PublicRoomsChunkEntry): Key => ({ joined: e.num_joined_members, roomId: e.room_id });
    entries.sort((a, b) => compareKeys(keyOf(a), keyOf(b)));

    let start = 0;
    let end = Math.min(entries.length, limit);
    if (cursor?.direction === 'n') {
      start = entries.findIndex((e) => compareKeys(keyOf(e), cursor.key) > 0);
      if (start < 0) start = entries.length;
      end = Math.min(entries.length, start + limit);
    } else if (cursor?.direction === 'p') {
      end = entries.findIndex((e) => compareKeys(keyOf(e), cursor.key) >= 0);
      if (end < 0) end = entries.length;
      start = Math.max(0, end - limit);
    }
    const chunk = entries.slice(start, end);
    const response: PublicRoomsResponse = { chunk, total_room_count_estimate: entries.length };
    if (end < entries.length && chunk.length > 0) response.next_batch = encodeToken('n', keyOf(chunk[chunk.length - 1]));
    if (start > 0 && chunk.length > 0) response.prev_batch = encodeToken('p', keyOf(chunk[0]));
    return response;
  }
}
