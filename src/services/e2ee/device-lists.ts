// The device-list stream (spec "Tracking the device list for a user"): clients learn from
// /sync `device_lists` and GET /keys/changes which users' devices or cross-signing keys may have
// changed (`changed`) and which users they no longer share a room with (`left`).
//
// A change is a row at the one global stream position; the users who care (the owner and
// everyone sharing a room with them) are woken through the notifier. Membership changes need no
// rows of their own: they are read from room state, and a per-room tracker fed by the write path
// lets a sync skip that query when no membership changed in the caller's rooms.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { DeviceListStore } from '../../storage/stores/device-lists.ts';
import type { StreamPositions } from '../streams/positions.ts';
import type { Notifier } from '../streams/notifier.ts';
import { ChangeTracker } from '../../util/change-tracker.ts';

export interface Membership {
  room_id: string;
  membership: string;
  stream_pos: number;
}

export interface DeviceListDeps {
  db: Kysely<DB>;
  store: DeviceListStore;
  positions: StreamPositions;
  notifier: Pick<Notifier, 'notifyUsers'>;
  /** Users joined to a room the user is joined to (the user included if joined anywhere). */
  usersSharingRoomWith(userId: string): Promise<readonly string[]>;
}

export interface DeviceListChanges {
  changed: string[];
  left: string[];
}

/** Key of the tracker entry for changes anyone may see. */
const PUBLIC = '*';

export class DeviceListService {
  /** '*': last public change; '@user': last change recorded only for that observer. */
  private readonly changes: ChangeTracker;
  /** Per room: the last position a membership changed. */
  private readonly membershipChanges: ChangeTracker;
  private readonly deviceChangeListeners: Array<(userId: string) => void> = [];

  constructor(private readonly deps: DeviceListDeps) {
    this.changes = new ChangeTracker(deps.positions.current);
    this.membershipChanges = new ChangeTracker(deps.positions.current);
  }

  /**
   * Called after every device change of a user has committed (or failed), whatever its cause:
   * caches of per-device data (key counts) forget the user's devices then.
   */
  onDeviceChange(listener: (userId: string) => void): void {
    this.deviceChangeListeners.push(listener);
  }

  /** The write path tells us about every persisted membership event. */
  onMembershipChanged(roomId: string, position: number): void {
    this.membershipChanges.markChanged(roomId, position);
  }

  /**
   * Records that the user's devices or cross-signing keys changed. `write` runs inside the same
   * transaction (e.g. deleting the device's keys), so the change and its cause commit together;
   * if it returns false nothing changed after all, and no change is recorded.
   */
  async recordDeviceChange(userId: string, write?: (trx: Kysely<DB>) => Promise<boolean | void>): Promise<void> {
    const reservation = this.deps.positions.reserve();
    let changed = true;
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        changed = (await write?.(trx)) !== false;
        if (changed) await this.deps.store.insertChanges([{ stream_pos: reservation.position, user_id: userId, only_for: '' }], trx);
      });
    } finally {
      // Unused when nothing changed: a harmless gap in the sequence.
      this.deps.positions.release(reservation);
      for (const l of this.deviceChangeListeners) l(userId);
    }
    if (!changed) return;
    this.changes.markChanged(PUBLIC, reservation.position);
    const audience = new Set(await this.deps.usersSharingRoomWith(userId));
    audience.add(userId);
    this.deps.notifier.notifyUsers(audience, reservation.position);
  }

  /** The observer signed these users' master keys: only the observer needs to look again. */
  async recordPrivateChange(observer: string, userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    const reservation = this.deps.positions.reserve();
    try {
      await this.deps.store.insertChanges(userIds.map((user_id) => ({ stream_pos: reservation.position, user_id, only_for: observer })));
    } finally {
      this.deps.positions.release(reservation);
    }
    this.changes.markChanged(observer, reservation.position);
    this.deps.notifier.notifyUsers([observer], reservation.position);
  }

  /**
   * What `userId` should hear about in (from, to], given their memberships (as /sync reads them).
   * changed: users sharing a room with them whose keys changed, or who newly share a room (they
   * joined one of the user's rooms, or the user joined theirs); the user's own changes too.
   * left: users with whom a room stopped being shared and who share none any more.
   */
  async queryChanges(userId: string, memberships: readonly Membership[], from: number, to: number): Promise<DeviceListChanges> {
    if (to <= from) return { changed: [], left: [] };
    // The common case (a woken sync for a message): nothing to look at, decided without allocating.
    if (!this.changes.changedSince(PUBLIC, from) && !this.changes.changedSince(userId, from) && !this.membershipMayMatter(memberships, from, to)) return { changed: [], left: [] };
    const ownChanges = memberships.filter((m) => m.stream_pos > from && m.stream_pos <= to);
    const roomsJoinedNow = new Set(ownChanges.filter((m) => m.membership === 'join').map((m) => m.room_id));
    const roomsLeftNow = ownChanges.filter((m) => m.membership === 'leave' || m.membership === 'ban').map((m) => m.room_id);
    const roomsWithMemberChanges = memberships
      .filter((m) => m.membership === 'join' && !roomsJoinedNow.has(m.room_id) && this.membershipChanges.changedSince(m.room_id, from))
      .map((m) => m.room_id);
    const keysChanged = this.changes.changedSince(PUBLIC, from) || this.changes.changedSince(userId, from);
    if (!keysChanged && roomsJoinedNow.size === 0 && roomsLeftNow.length === 0 && roomsWithMemberChanges.length === 0) return { changed: [], left: [] };

    const maybeChanged = new Set<string>();
    const maybeLeft = new Set<string>();
    const alwaysChanged = new Set<string>();
    for (const u of await this.deps.store.joinedMembersOf([...roomsJoinedNow])) maybeChanged.add(u);
    // In rooms the user left: everyone still there, and whoever left before the user did.
    for (const u of await this.deps.store.joinedMembersOf(roomsLeftNow)) maybeLeft.add(u);
    const leftRooms = new Set(roomsLeftNow);
    for (const m of await this.deps.store.membershipChangesIn([...roomsWithMemberChanges, ...roomsLeftNow], from, to)) {
      if (leftRooms.has(m.room_id)) maybeLeft.add(m.user_id);
      else if (m.membership === 'join') maybeChanged.add(m.user_id);
      else if (m.membership === 'leave' || m.membership === 'ban') maybeLeft.add(m.user_id);
    }
    if (keysChanged) {
      for (const row of await this.deps.store.changedBetween(userId, from, to)) {
        if (row.only_for === userId || row.user_id === userId) alwaysChanged.add(row.user_id);
        else maybeChanged.add(row.user_id);
      }
    }
    maybeChanged.delete(userId);
    maybeLeft.delete(userId);
    if (maybeChanged.size === 0 && maybeLeft.size === 0) return { changed: [...alwaysChanged].sort(), left: [] };

    const sharing = new Set(await this.deps.usersSharingRoomWith(userId));
    const changed = new Set(alwaysChanged);
    for (const u of maybeChanged) if (sharing.has(u)) changed.add(u);
    const left = [...maybeLeft].filter((u) => !sharing.has(u) && !changed.has(u));
    return { changed: [...changed].sort(), left: left.sort() };
  }

  /**
   * False when `queryChanges` would surely answer nothing for (from, to] — decided in memory,
   * without a promise (every woken /sync asks).
   */
  mayHaveChanges(userId: string, memberships: readonly Membership[], from: number, to: number): boolean {
    if (to <= from) return false;
    return this.changes.changedSince(PUBLIC, from) || this.changes.changedSince(userId, from) || this.membershipMayMatter(memberships, from, to);
  }

  /** True if the user joined, left or was banned in (from, to], or a member of one of their rooms changed after `from`. */
  private membershipMayMatter(memberships: readonly Membership[], from: number, to: number): boolean {
    for (const m of memberships) {
      const own = m.stream_pos > from && m.stream_pos <= to;
      if (own && (m.membership === 'join' || m.membership === 'leave' || m.membership === 'ban')) return true;
      if (m.membership === 'join' && this.membershipChanges.changedSince(m.room_id, from)) return true;
    }
    return false;
  }
}
