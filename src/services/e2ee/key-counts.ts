// Per device: unclaimed one-time keys per algorithm and unused fallback key types, kept in memory.
// Every /sync carries both (spec "End-to-End Encryption" → "Extensions to /sync"), so a woken
// long-poll used to cost two queries for values that change only on upload, claim and device
// deletion. Those write paths invalidate the device (or the whole user) *after* their commit.
//
// A read that raced with a write must not cache what it read: a reader remembers the generation
// before its query and stores the result only if no invalidation happened meanwhile. A write
// inside a transaction invalidates after commit, so a reader that saw the uncommitted past can
// only have served it before that commit — as if it had read the database then.

export interface DeviceKeyCounts {
  /** signed_curve25519 is always present, as in Synapse. */
  readonly oneTimeKeys: Readonly<Record<string, number>>;
  readonly unusedFallbackTypes: readonly string[];
}

export interface KeyCountSource {
  countOneTimeKeys(userId: string, deviceId: string): Promise<Record<string, number>>;
  unusedFallbackAlgorithms(userId: string, deviceId: string): Promise<string[]>;
}

/**
 * Users kept (each with their devices' entries); a miss costs two small queries. The oldest
 * entry goes first: a plain Map read is cheaper than an LRU's move-to-end on every sync, and an
 * active user evicted is simply read again.
 */
const CAPACITY = 10_000;

export class KeyCountsCache {
  private readonly users = new Map<string, Map<string, DeviceKeyCounts>>();
  /** Bumped by every invalidation: a read that overlapped one does not fill the cache. */
  private generation = 0;

  constructor(private readonly source: KeyCountSource) {}

  async get(userId: string, deviceId: string): Promise<DeviceKeyCounts> {
    const cached = this.users.get(userId)?.get(deviceId);
    if (cached) return cached;
    const generation = this.generation;
    const [counts, fallback] = await Promise.all([this.source.countOneTimeKeys(userId, deviceId), this.source.unusedFallbackAlgorithms(userId, deviceId)]);
    const entry: DeviceKeyCounts = Object.freeze({
      oneTimeKeys: Object.freeze({ signed_curve25519: 0, ...counts }),
      unusedFallbackTypes: Object.freeze(fallback),
    });
    if (generation === this.generation) {
      let devices = this.users.get(userId);
      if (!devices) {
        if (this.users.size >= CAPACITY) this.users.delete(this.users.keys().next().value!);
        this.users.set(userId, (devices = new Map()));
      }
      devices.set(deviceId, entry);
    }
    return entry;
  }

  /** The device's entry if it is cached (a woken /sync then needs no promise), else undefined. */
  peek(userId: string, deviceId: string): DeviceKeyCounts | undefined {
    return this.users.get(userId)?.get(deviceId);
  }

  /** After a write to this device's keys has committed (or failed: forgetting is always safe). */
  invalidate(userId: string, deviceId: string): void {
    this.generation++;
    this.users.get(userId)?.delete(deviceId);
  }

  /** After a change to any of the user's devices (deletion is one: it goes through the device-list stream). */
  invalidateUser(userId: string): void {
    this.generation++;
    this.users.delete(userId);
  }
}
