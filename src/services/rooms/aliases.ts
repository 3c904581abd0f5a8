// Room aliases (client-server "Room aliases"): local alias ↔ room ID mappings, who may create
// and delete them, resolving aliases (for GET /directory/room and joins by alias), the
// `room_alias_name` of /createRoom, and the checks on m.room.canonical_alias content.
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomAlias, isValidRoomId, serverNameOf, splitId } from '../../core/ids.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import { requiredPowerLevel, userPowerLevel } from '../../core/auth/power-levels.ts';
import type { RoomVersion } from '../../core/room-versions.ts';
import type { AliasStore } from '../../storage/stores/aliases.ts';
import type { AliasReservations } from './create-room.ts';
import type { CurrentState, CurrentStateCache } from './current-state.ts';
import { joinedMembersOf, membershipOf } from './current-state.ts';
import type { RoomWriter } from './room-writer.ts';
import type { StateValidator } from './send.ts';

export interface AliasRequester {
  userId: string;
  isAdmin: boolean;
  /** Set when an application service makes the request with its as_token. */
  viaAppservice?: { id: string };
}

export interface AliasServiceDeps {
  serverName: string;
  store: Pick<AliasStore, 'insertAlias' | 'getAlias' | 'aliasesOfRoom' | 'deleteAlias'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  writer: Pick<RoomWriter, 'versionOf' | 'send'>;
  /** Seam for application services: the alias is in an exclusive namespace of another appservice. */
  isExclusive?: (alias: string, appserviceId: string | undefined) => boolean;
  /** Seam for application services: asked when a local alias is not found; true if it now exists. */
  queryMissingAlias?: (alias: string) => Promise<boolean>;
  now?: () => number;
}

const CANONICAL_ALIAS_KEY = stateKeyOf('m.room.canonical_alias', '');
const HISTORY_VISIBILITY_KEY = stateKeyOf('m.room.history_visibility', '');

/**
 * Whether the user may edit the room's m.room.canonical_alias: joined, with at least the power
 * the event needs. The same power gates deleting others' aliases and publishing the room.
 */
export function mayEditCanonicalAlias(state: CurrentState, version: RoomVersion, userId: string): boolean {
  if (membershipOf(state, userId) !== 'join') return false;
  try {
    return userPowerLevel(userId, state, version) >= requiredPowerLevel({ eventType: 'm.room.canonical_alias', isState: true }, state);
  } catch {
    // Malformed power levels: the auth rules would refuse the event too.
    return false;
  }
}

/** Checks an alias's syntax (appendix "Room aliases"): "#localpart:server", at most 255 bytes, no NUL. */
export function checkAliasSyntax(alias: unknown): string {
  if (typeof alias !== 'string' || !isValidRoomAlias(alias) || alias.includes('\u0000') || Buffer.byteLength(alias, 'utf8') > 255) {
    throw new MatrixError('M_INVALID_PARAM', `Invalid room alias: ${String(alias).slice(0, 300)}`);
  }
  return alias;
}

export class AliasService {
  private readonly now: () => number;

  constructor(private readonly deps: AliasServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  private isLocal(alias: string): boolean {
    return splitId(alias, '#')?.server === this.deps.serverName;
  }

  private async requireRoom(roomId: string): Promise<RoomVersion> {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    const version = await this.deps.writer.versionOf(roomId);
    if (!version) throw new MatrixError('M_NOT_FOUND', 'Unknown room');
    return version;
  }

  /** PUT /directory/room/{roomAlias}: only aliases on this server, for rooms the requester is in. */
  async createAlias(requester: AliasRequester, alias: string, roomId: string): Promise<void> {
    checkAliasSyntax(alias);
    if (!this.isLocal(alias)) throw new MatrixError('M_INVALID_PARAM', `Room aliases must be on this server (${this.deps.serverName})`);
    if (this.deps.isExclusive?.(alias, requester.viaAppservice?.id)) {
      throw new MatrixError('M_EXCLUSIVE', 'This alias is reserved by an application service');
    }
    await this.requireRoom(roomId);
    if (!requester.isAdmin) {
      const state = await this.deps.currentState.get(roomId);
      if (membershipOf(state, requester.userId) !== 'join') throw new MatrixError('M_FORBIDDEN', 'You must be in the room to create an alias for it');
    }
    const inserted = await this.deps.store.insertAlias({ room_alias: alias, room_id: roomId, creator: requester.userId, created_ts: this.now() });
    if (!inserted) throw new MatrixError('M_UNKNOWN', `Room alias ${alias} already exists`, {}, 409);
  }

  /** GET /directory/room/{roomAlias}. Remote aliases need federation, which is not available yet. */
  async resolve(alias: string): Promise<{ roomId: string; servers: string[] }> {
    checkAliasSyntax(alias);
    let row = this.isLocal(alias) ? await this.deps.store.getAlias(alias) : undefined;
    if (!row && this.isLocal(alias) && (await this.deps.queryMissingAlias?.(alias))) row = await this.deps.store.getAlias(alias);
    if (!row) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
    // Servers that can help a joining server: ours first, then every server with a joined member.
    const servers = new Set([this.deps.serverName]);
    for (const member of joinedMembersOf(await this.deps.currentState.get(row.room_id))) {
      const server = serverNameOf(member);
      if (server) servers.add(server);
    }
    return { roomId: row.room_id, servers: [...servers] };
  }

  /** For joins by alias. */
  async resolveRoomId(alias: string): Promise<string> {
    return (await this.resolve(alias)).roomId;
  }

  /**
   * DELETE /directory/room/{roomAlias}: by its creator, a server admin, or a member with power to
   * edit the room's canonical alias. The alias is then dropped from m.room.canonical_alias too,
   * as far as the requester's power allows (the spec recommends deleting regardless).
   */
  async deleteAlias(requester: AliasRequester, alias: string): Promise<void> {
    checkAliasSyntax(alias);
    const row = this.isLocal(alias) ? await this.deps.store.getAlias(alias) : undefined;
    if (!row) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
    const version = await this.deps.writer.versionOf(row.room_id);
    const state = await this.deps.currentState.get(row.room_id);
    const allowed = requester.isAdmin || row.creator === requester.userId || (version !== undefined && mayEditCanonicalAlias(state, version, requester.userId));
    if (!allowed) throw new MatrixError('M_FORBIDDEN', 'You may not delete this alias');
    if (!(await this.deps.store.deleteAlias(alias))) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
    if (version) await this.dropFromCanonicalAlias(requester.userId, row.room_id, alias);
  }

  private async dropFromCanonicalAlias(userId: string, roomId: string, alias: string): Promise<void> {
    const content = (await this.deps.currentState.get(roomId)).get(CANONICAL_ALIAS_KEY)?.pdu.content;
    if (!content) return;
    const alt = Array.isArray(content.alt_aliases) ? content.alt_aliases : undefined;
    if (content.alias !== alias && !alt?.includes(alias)) return;
    const updated: Record<string, unknown> = { ...content };
    if (updated.alias === alias) delete updated.alias;
    if (alt) updated.alt_aliases = alt.filter((a) => a !== alias);
    try {
      await this.deps.writer.send(roomId, { type: 'm.room.canonical_alias', state_key: '', sender: userId, content: updated });
    } catch (err) {
      // Not allowed to edit the event (e.g. a server admin outside the room): the alias is gone
      // anyway; the stale entry in the event is only advisory.
      if (!(err instanceof MatrixError)) throw err;
    }
  }

  /** GET /rooms/{roomId}/aliases: for members, or anyone when the room is world-readable. */
  async localAliases(requester: AliasRequester, roomId: string): Promise<string[]> {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    const state = await this.deps.currentState.get(roomId);
    const worldReadable = state.get(HISTORY_VISIBILITY_KEY)?.pdu.content.history_visibility === 'world_readable';
    // Unknown rooms answer like rooms the user is not in, so room IDs cannot be probed.
    if (!requester.isAdmin && !worldReadable && membershipOf(state, requester.userId) !== 'join') {
      throw new MatrixError('M_FORBIDDEN', 'You are not in the room');
    }
    return this.deps.store.aliasesOfRoom(roomId);
  }

  /** /createRoom's room_alias_name: checked before the room exists, recorded after. */
  reservations(): AliasReservations {
    return {
      check: async (localpart: string) => {
        const alias = `#${localpart}:${this.deps.serverName}`;
        if (/[\s:]/.test(localpart)) throw new MatrixError('M_INVALID_PARAM', 'room_alias_name must not contain whitespace or ":"');
        checkAliasSyntax(alias);
        if (await this.deps.store.getAlias(alias)) throw new MatrixError('M_ROOM_IN_USE', `Room alias ${alias} already exists`);
        return alias;
      },
      create: async (alias: string, roomId: string, creator: string) => {
        // Taken between check and create by a concurrent request: the room exists but has no alias.
        const inserted = await this.deps.store.insertAlias({ room_alias: alias, room_id: roomId, creator, created_ts: this.now() });
        if (!inserted) throw new MatrixError('M_ROOM_IN_USE', `Room alias ${alias} already exists`);
      },
    };
  }

  /**
   * m.room.canonical_alias content (PUT /rooms/{roomId}/state): every alias must be well formed
   * (M_INVALID_PARAM) and point to this room (M_BAD_ALIAS). Only aliases that are new compared to
   * the current event are resolved: aliases drift, and an old one that no longer resolves must
   * not block unrelated edits such as removing it.
   */
  canonicalAliasValidator(): StateValidator {
    return async (roomId, _sender, type, stateKey, content) => {
      if (type !== 'm.room.canonical_alias' || stateKey !== '') return;
      const previous = (await this.deps.currentState.get(roomId)).get(CANONICAL_ALIAS_KEY)?.pdu.content ?? {};
      const toCheck: string[] = [];
      const alias = content.alias;
      if (alias !== undefined && alias !== null && alias !== '') {
        checkAliasSyntax(alias);
        if (alias !== previous.alias) toCheck.push(alias as string);
      }
      if (content.alt_aliases !== undefined) {
        if (!Array.isArray(content.alt_aliases)) throw new MatrixError('M_INVALID_PARAM', 'alt_aliases must be a list of room aliases');
        const before = new Set(Array.isArray(previous.alt_aliases) ? previous.alt_aliases : []);
        for (const a of content.alt_aliases) {
          checkAliasSyntax(a);
          if (!before.has(a)) toCheck.push(a as string);
        }
      }
      for (const a of new Set(toCheck)) {
        const row = this.isLocal(a) ? await this.deps.store.getAlias(a) : undefined;
        if (!row || row.room_id !== roomId) throw new MatrixError('M_BAD_ALIAS', `The alias ${a} does not point to this room`);
      }
    };
  }
}
