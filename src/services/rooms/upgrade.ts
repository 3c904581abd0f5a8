// Room upgrades (client-server "Room Upgrades", server behaviour steps 1–6):
//   1. the user must be allowed to send m.room.tombstone in the old room;
//   2. a new room whose m.room.create carries `predecessor`, the new room_version, the old room's
//      `type` (and m.federate: false when the old room had it), and — for versions with
//      privileged creators — the additional_creators the request names (never copied);
//   3. the transferable state is copied; power levels first with the upgrading user temporarily
//      raised high enough to send the rest, then restored exactly; bans are carried over too so
//      an upgrade is no way around them; no memberships, no invites;
//   4. local aliases, the canonical alias and the directory listing move to the new room;
//   5. m.room.tombstone in the old room;
//   6. the old room's events_default and invite are raised so it goes quiet.
// predecessor.event_id is deprecated since v1.16 but "SHOULD still be populated where practical":
// it names the last event of the old room before the upgrade.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomId, isValidUserId } from '../../core/ids.ts';
import { stateKeyOf } from '../../core/pdu.ts';
import { roomVersion, SUPPORTED_ROOM_VERSIONS, type RoomVersion } from '../../core/room-versions.ts';
import { NAMED_LEVELS, parsePowerLevel, requiredPowerLevel, roomCreators, userPowerLevel } from '../../core/auth/power-levels.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { AliasStore, RoomAliasRow } from '../../storage/stores/aliases.ts';
import type { RoomCreator } from './create-room.ts';
import type { CurrentState, CurrentStateCache } from './current-state.ts';
import { membershipOf } from './current-state.ts';
import type { EventReader } from './event-reader.ts';
import type { ForwardExtremities } from './extremities.ts';
import type { RoomWriter } from './room-writer.ts';

/** State copied as it is (spec's recommended list, minus power levels, which are handled apart). */
export const TRANSFERRED_STATE_TYPES = [
  'm.room.server_acl',
  'm.room.encryption',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.guest_access',
  'm.room.history_visibility',
  'm.room.join_rules',
] as const;

const TOMBSTONE_BODY = 'This room has been replaced';

export interface UpgradeDeps {
  db: Kysely<DB>;
  creator: Pick<RoomCreator, 'create'>;
  writer: Pick<RoomWriter, 'send' | 'versionOf'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  extremities: Pick<ForwardExtremities, 'get'>;
  reader: Pick<EventReader, 'getEvents'>;
  aliases: Pick<AliasStore, 'aliasesOfRoom' | 'getAlias' | 'deleteAlias' | 'insertAlias' | 'isPublished' | 'setPublished'>;
}

export interface UpgradeRequest {
  newVersion: string;
  additionalCreators?: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Power levels as a v10+ room accepts them: every level an integer. Rooms of versions 1–9 may
 * hold integer strings or floats; those are converted, anything unreadable is dropped (it would
 * have read as the default anyway). Unknown keys are kept.
 */
export function normalisedPowerLevels(content: Json): Json {
  const out: Json = { ...content };
  for (const key of NAMED_LEVELS) {
    if (!(key in out)) continue;
    const level = parsePowerLevel(out[key]);
    if (level === undefined) delete out[key];
    else out[key] = level;
  }
  for (const mapKey of ['events', 'users', 'notifications']) {
    if (!(mapKey in out)) continue;
    const map = out[mapKey];
    if (!isObject(map)) {
      delete out[mapKey];
      continue;
    }
    const levels: Record<string, number> = {};
    for (const [k, v] of Object.entries(map)) {
      const level = parsePowerLevel(v);
      if (level !== undefined) levels[k] = level;
    }
    out[mapKey] = levels;
  }
  return out;
}

/** The level needed to send the copied state and the bans (a temporary grant to the upgrader). */
function levelNeededToCopy(pl: Json): number {
  const events = isObject(pl.events) ? Object.values(pl.events).filter((v): v is number => typeof v === 'number') : [];
  const stateDefault = typeof pl.state_default === 'number' ? pl.state_default : 50;
  const ban = typeof pl.ban === 'number' ? pl.ban : 50;
  return Math.max(stateDefault, ban, ...events);
}

function levelIn(pl: Json, userId: string): number {
  const users = isObject(pl.users) ? pl.users : {};
  if (typeof users[userId] === 'number') return users[userId] as number;
  return typeof pl.users_default === 'number' ? pl.users_default : 0;
}

export class RoomUpgrader {
  /** Upgrades in progress per old room: repeats of the same request share its outcome. */
  private readonly inFlight = new Map<string, { key: string; result: Promise<string> }>();

  constructor(private readonly deps: UpgradeDeps) {}

  /** POST /rooms/{roomId}/upgrade. Returns the new room's ID. */
  async performUpgrade(userId: string, oldRoomId: string, req: UpgradeRequest): Promise<string> {
    if (!isValidRoomId(oldRoomId)) throw new MatrixError('M_INVALID_PARAM', `${oldRoomId} is not a room ID`);
    const target = roomVersion(req.newVersion);
    if (!target || !(SUPPORTED_ROOM_VERSIONS as readonly string[]).includes(req.newVersion)) {
      throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room version ${req.newVersion} is not supported by this server`);
    }
    // Ignored (as the spec says) for versions without additional creators.
    const additionalCreators = target.privilegedCreators ? [...new Set(req.additionalCreators ?? [])].filter((c) => c !== userId) : [];
    for (const c of additionalCreators) {
      if (!isValidUserId(c)) throw new MatrixError('M_INVALID_PARAM', `additional_creators: ${c} is not a user ID`);
    }

    const key = JSON.stringify([userId, req.newVersion, additionalCreators]);
    const running = this.inFlight.get(oldRoomId);
    if (running) {
      if (running.key === key) return running.result;
      throw new MatrixError('M_UNKNOWN', 'This room is already being upgraded');
    }
    const result = this.upgrade(userId, oldRoomId, target, additionalCreators);
    this.inFlight.set(oldRoomId, { key, result });
    try {
      return await result;
    } finally {
      this.inFlight.delete(oldRoomId);
    }
  }

  private async upgrade(userId: string, oldRoomId: string, target: RoomVersion, additionalCreators: string[]): Promise<string> {
    const oldVersion = await this.deps.writer.versionOf(oldRoomId);
    if (!oldVersion) throw new MatrixError('M_NOT_FOUND', 'Unknown room');
    const oldState = await this.deps.currentState.get(oldRoomId);

    // 1. Permission to send the tombstone.
    if (!this.maySendTombstone(oldState, oldVersion, userId)) throw new MatrixError('M_FORBIDDEN', 'You cannot upgrade this room');

    // 2. The create event's content.
    const oldCreate = oldState.get(stateKeyOf('m.room.create', ''))!.pdu.content;
    const predecessor: Json = { room_id: oldRoomId };
    const lastEventId = await this.lastEventOf(oldRoomId);
    if (lastEventId) predecessor.event_id = lastEventId;
    const creationContent: Json = { predecessor };
    if (typeof oldCreate.type === 'string') creationContent.type = oldCreate.type;
    if (oldCreate['m.federate'] === false) creationContent['m.federate'] = false;
    if (additionalCreators.length > 0) creationContent.additional_creators = additionalCreators;

    // 3. Power levels: the final content, and the temporary one the state is copied under.
    const oldPl = oldState.get(stateKeyOf('m.room.power_levels', ''))?.pdu.content;
    const finalPl = oldPl ? this.carriedPowerLevels(oldPl, oldState, oldVersion, target, userId, additionalCreators) : undefined;
    let tempPl = finalPl;
    if (finalPl && !target.privilegedCreators) {
      const needed = levelNeededToCopy(finalPl);
      if (levelIn(finalPl, userId) < needed) tempPl = { ...finalPl, users: { ...(finalPl.users as Json), [userId]: needed } };
    }

    const initialState: Array<{ type: string; state_key: string; content: Json }> = [];
    for (const type of TRANSFERRED_STATE_TYPES) {
      const ev = oldState.get(stateKeyOf(type, ''));
      // Empty content is how a state event is "removed"; nothing to carry.
      if (ev && Object.keys(ev.pdu.content).length > 0) initialState.push({ type, state_key: '', content: ev.pdu.content });
    }
    const { roomId: newRoomId } = await this.deps.creator.create(
      userId,
      {
        room_version: target.id,
        creation_content: creationContent,
        power_level_content_override: tempPl,
        initial_state: initialState,
        preset: 'private_chat',
      },
      { presetState: false },
    );

    // Bans, so the upgrade cannot be used to get back in; then the power levels as they were.
    const creators = target.privilegedCreators ? new Set([userId, ...additionalCreators]) : new Set([userId]);
    for (const [stateKey, ev] of oldState) {
      if (!stateKey.startsWith('m.room.member\u0000') || ev.pdu.content.membership !== 'ban') continue;
      const banned = ev.pdu.state_key!;
      if (creators.has(banned)) continue;
      const content: Json = { membership: 'ban' };
      if (typeof ev.pdu.content.reason === 'string') content.reason = ev.pdu.content.reason;
      await this.trySend(newRoomId, { type: 'm.room.member', state_key: banned, sender: userId, content });
    }
    if (finalPl && tempPl !== finalPl) {
      await this.deps.writer.send(newRoomId, { type: 'm.room.power_levels', state_key: '', sender: userId, content: finalPl });
    }

    // 4. Aliases and the directory listing.
    await this.moveAliases(userId, oldRoomId, newRoomId, oldState);
    if (await this.deps.aliases.isPublished(oldRoomId)) {
      await this.deps.aliases.setPublished(newRoomId, true);
      await this.deps.aliases.setPublished(oldRoomId, false);
    }

    // 5. The tombstone.
    await this.deps.writer.send(oldRoomId, {
      type: 'm.room.tombstone',
      state_key: '',
      sender: userId,
      content: { body: TOMBSTONE_BODY, replacement_room: newRoomId },
    });

    // 6. Quieten the old room, if the user's power allows.
    if (oldPl) await this.restrictOldRoom(userId, oldRoomId);
    return newRoomId;
  }

  private maySendTombstone(state: CurrentState, version: RoomVersion, userId: string): boolean {
    if (membershipOf(state, userId) !== 'join') return false;
    try {
      return userPowerLevel(userId, state, version) >= requiredPowerLevel({ eventType: 'm.room.tombstone', isState: true }, state);
    } catch {
      return false; // malformed power levels: the auth rules would refuse the tombstone too
    }
  }

  /** The most recent event of the room (the deepest forward extremity). */
  private async lastEventOf(roomId: string): Promise<string | undefined> {
    const events = await this.deps.reader.getEvents(await this.deps.extremities.get(roomId));
    let best: { id: string; depth: number } | undefined;
    for (const ev of events.values()) if (!best || ev.pdu.depth > best.depth) best = { id: ev.eventId, depth: ev.pdu.depth };
    return best?.id;
  }

  /**
   * The old room's power levels as the new room should hold them. Creators of a v12+ target have
   * infinite power and must not be listed; when moving from such a room to a version without
   * privileged creators, the old room's creators keep top rank as level 100.
   */
  private carriedPowerLevels(oldPl: Json, oldState: CurrentState, oldVersion: RoomVersion, target: RoomVersion, userId: string, additional: string[]): Json {
    const pl = normalisedPowerLevels(oldPl);
    const users: Record<string, number> = { ...((pl.users as Record<string, number> | undefined) ?? {}) };
    if (target.privilegedCreators) {
      for (const c of [userId, ...additional]) delete users[c];
    } else if (oldVersion.privilegedCreators) {
      for (const c of roomCreators(oldState, oldVersion)) users[c] = Math.max(users[c] ?? 0, 100);
    }
    pl.users = users;
    return pl;
  }

  /**
   * Re-points the old room's local aliases in one transaction, then moves the canonical alias:
   * removed from the old room (so clients stop offering it there) and set in the new one.
   */
  private async moveAliases(userId: string, oldRoomId: string, newRoomId: string, oldState: CurrentState): Promise<void> {
    // Rows are read before the transaction: on SQLite a read outside it would wait for it.
    const rows: RoomAliasRow[] = [];
    for (const alias of await this.deps.aliases.aliasesOfRoom(oldRoomId)) {
      const row = await this.deps.aliases.getAlias(alias);
      if (row) rows.push(row);
    }
    if (rows.length > 0) {
      await this.deps.db.transaction().execute(async (trx) => {
        for (const row of rows) {
          // Deleted meanwhile: leave it deleted.
          if (!(await this.deps.aliases.deleteAlias(row.room_alias, trx))) continue;
          await this.deps.aliases.insertAlias({ ...row, room_id: newRoomId }, trx);
        }
      });
    }
    const canonical = oldState.get(stateKeyOf('m.room.canonical_alias', ''))?.pdu.content;
    if (!canonical || Object.keys(canonical).length === 0) return;
    await this.trySend(oldRoomId, { type: 'm.room.canonical_alias', state_key: '', sender: userId, content: {} });
    await this.trySend(newRoomId, { type: 'm.room.canonical_alias', state_key: '', sender: userId, content: canonical });
  }

  /** Raises events_default and invite to max(50, users_default + 1), as the spec suggests. */
  private async restrictOldRoom(userId: string, roomId: string): Promise<void> {
    const pl = (await this.deps.currentState.get(roomId)).get(stateKeyOf('m.room.power_levels', ''))?.pdu.content;
    if (!pl) return;
    const usersDefault = parsePowerLevel(pl.users_default) ?? 0;
    const restricted = Math.max(50, usersDefault + 1);
    const content: Json = { ...pl };
    let changed = false;
    for (const key of ['events_default', 'invite'] as const) {
      if ((parsePowerLevel(pl[key]) ?? 0) < restricted) {
        content[key] = restricted;
        changed = true;
      }
    }
    if (changed) await this.trySend(roomId, { type: 'm.room.power_levels', state_key: '', sender: userId, content });
  }

  /** Sends an event the upgrade can do without (the auth rules may refuse it); other errors propagate. */
  private async trySend(roomId: string, draft: { type: string; state_key: string; sender: string; content: Json }): Promise<void> {
    try {
      await this.deps.writer.send(roomId, draft);
    } catch (err) {
      if (!(err instanceof MatrixError)) throw err;
    }
  }
}
