// Presence (client-server "Presence"): online / unavailable / offline plus a status message,
// visible to the user and to everyone who shares a room with them.
import { MatrixError } from '../../core/errors.ts';
import type { PresenceRow, PresenceStore } from '../../storage/stores/presence.ts';
import type { StreamPositions } from '../streams/positions.ts';
import { ChangeTracker } from '../../util/change-tracker.ts';

export type PresenceState = 'online' | 'unavailable' | 'offline';

/** A sync only refreshes last_active in the database this often, to keep syncs write-free. */
const ACTIVITY_WRITE_INTERVAL_MS = 60_000;
/** Shown as currently_active while the last activity is this recent. */
const CURRENTLY_ACTIVE_MS = 60_000;

export interface PresenceDeps {
  store: PresenceStore;
  positions: StreamPositions;
  /** Users who share a room with userId (including userId). */
  usersSharingRoomWith(userId: string): Promise<readonly string[]>;
  notifyUsers(userIds: Iterable<string>, position: number): void;
  userExists(userId: string): Promise<boolean>;
  now?: () => number;
}

export class PresenceService {
  /** Per user: the last position their presence changed (lets sync skip the queries). */
  readonly changes: ChangeTracker;

  constructor(private readonly deps: PresenceDeps) {
    this.changes = new ChangeTracker(deps.positions.current);
  }

  async setPresence(userId: string, state: PresenceState, statusMsg?: string | null): Promise<void> {
    const current = await this.deps.store.get(userId);
    await this.write(userId, state, statusMsg === undefined ? (current?.status_msg ?? null) : statusMsg);
  }

  /** Called on /sync with set_presence: writes only on a change or after a quiet minute. */
  async touchFromSync(userId: string, state: PresenceState): Promise<void> {
    const current = await this.deps.store.get(userId);
    if (current && current.state === state && this.now() - Number(current.last_active_ts) < ACTIVITY_WRITE_INTERVAL_MS) return;
    await this.write(userId, state, current?.status_msg ?? null);
  }

  async getPresence(requesterId: string, userId: string): Promise<Record<string, unknown>> {
    if (!(await this.deps.userExists(userId))) throw new MatrixError('M_NOT_FOUND', 'Unknown user');
    if (requesterId !== userId && !(await this.deps.usersSharingRoomWith(requesterId)).includes(userId)) {
      throw new MatrixError('M_FORBIDDEN', 'You are not allowed to see their presence');
    }
    const row = await this.deps.store.get(userId);
    if (!row) return { presence: 'offline' };
    const { content } = this.asEvent(row);
    const { user_id: _u, ...rest } = content as Record<string, unknown>;
    return rest;
  }

  asEvent(row: PresenceRow): { type: 'm.presence'; sender: string; content: Record<string, unknown> } {
    const ago = Math.max(0, this.now() - Number(row.last_active_ts));
    const content: Record<string, unknown> = { presence: row.state, last_active_ago: ago, currently_active: row.state === 'online' && ago < CURRENTLY_ACTIVE_MS };
    if (row.status_msg !== null) content.status_msg = row.status_msg;
    return { type: 'm.presence', sender: row.user_id, content };
  }

  private async write(userId: string, state: PresenceState, statusMsg: string | null): Promise<void> {
    const reservation = this.deps.positions.reserve();
    try {
      await this.deps.store.upsert({ user_id: userId, state, status_msg: statusMsg, last_active_ts: this.now(), stream_pos: reservation.position });
    } finally {
      this.deps.positions.release(reservation);
    }
    this.changes.markChanged(userId, reservation.position);
    this.changes.markChanged('*', reservation.position);
    this.deps.notifyUsers(await this.deps.usersSharingRoomWith(userId), reservation.position);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
