// Account data (client-server "Client Config" and "Room Tagging"): per-user key/value data,
// global or per room, delivered through /sync at the global stream position.
import { MatrixError } from '../../core/errors.ts';
import type { AccountDataStore } from '../../storage/stores/account-data.ts';
import type { StreamPositions } from '../streams/positions.ts';
import type { Notifier } from '../streams/notifier.ts';
import { LruCache } from '../../util/lru.ts';
import { ChangeTracker } from '../../util/change-tracker.ts';

/** Types whose content the server manages itself and clients must set through their own APIs. */
const SERVER_MANAGED = new Set(['m.fully_read', 'm.push_rules']);

export class AccountDataService {
  private readonly listeners: Array<(userId: string, roomId: string, type: string) => void> = [];
  private readonly ignoredCache = new LruCache<string, ReadonlySet<string>>(10_000);

  constructor(
    private readonly deps: { store: AccountDataStore; positions: StreamPositions; notifier: Notifier },
  ) {
    this.changes = new ChangeTracker(deps.positions.current);
  }

  /** Per user: the last position their account data changed (lets sync skip the query). */
  readonly changes: ChangeTracker;

  /** Called after a change is stored (e.g. ignored users list changed). */
  onChange(listener: (userId: string, roomId: string, type: string) => void): void {
    this.listeners.push(listener);
  }

  async setFromClient(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<void> {
    if (SERVER_MANAGED.has(type)) throw new MatrixError('M_BAD_JSON', `Cannot set ${type} through this API`);
    await this.set(userId, roomId, type, content);
  }

  /** Stores without the client restrictions (read markers, push rules use this). */
  async set(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<void> {
    if (type === 'm.ignored_user_list') this.ignoredCache.delete(userId);
    const reservation = this.deps.positions.reserve();
    try {
      await this.deps.store.put(userId, roomId, type, JSON.stringify(content), reservation.position);
    } finally {
      this.deps.positions.release(reservation);
    }
    if (type === 'm.ignored_user_list') this.ignoredCache.delete(userId);
    this.changes.markChanged(userId, reservation.position);
    this.deps.notifier.notifyUsers([userId], reservation.position);
    for (const l of this.listeners) l(userId, roomId, type);
  }

  /** `ignoredUsers` if it is cached (no promise: the push evaluator asks per member per message). */
  cachedIgnoredUsers(userId: string): ReadonlySet<string> | undefined {
    return this.ignoredCache.get(userId);
  }

  /** Users in the user's m.ignored_user_list (cached; refreshed when the list changes). */
  async ignoredUsers(userId: string): Promise<ReadonlySet<string>> {
    let set = this.ignoredCache.get(userId);
    if (!set) {
      const content = await this.get(userId, '', 'm.ignored_user_list');
      const list = content?.ignored_users;
      set = new Set(list && typeof list === 'object' && !Array.isArray(list) ? Object.keys(list) : []);
      this.ignoredCache.set(userId, set);
    }
    return set;
  }

  async get(userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined> {
    const text = await this.deps.store.get(userId, roomId, type);
    return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  }

  /** Room tags live in the room's m.tag account data. */
  async tags(userId: string, roomId: string): Promise<Record<string, Record<string, unknown>>> {
    const content = await this.get(userId, roomId, 'm.tag');
    return (content?.tags as Record<string, Record<string, unknown>> | undefined) ?? {};
  }

  async setTag(userId: string, roomId: string, tag: string, info: Record<string, unknown>): Promise<void> {
    const tags = { ...(await this.tags(userId, roomId)), [tag]: info };
    await this.set(userId, roomId, 'm.tag', { tags });
  }

  async deleteTag(userId: string, roomId: string, tag: string): Promise<void> {
    const tags = { ...(await this.tags(userId, roomId)) };
    delete tags[tag];
    await this.set(userId, roomId, 'm.tag', { tags });
  }
}
