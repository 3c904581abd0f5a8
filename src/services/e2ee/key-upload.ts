// POST /keys/upload (spec "End-to-End Encryption" → "Key management API"): a device publishes its
// identity keys (once; they never change afterwards), one-time keys (each handed out once by
// /keys/claim) and fallback keys (one per algorithm, handed out when no one-time key is left).
// Also the entry point for devices created without a client request (dehydrated devices).
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { canonicalJson } from '../../core/canonical-json.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { E2eKeyStore } from '../../storage/stores/e2e-keys.ts';
import { parseDeviceKeys, parseOneTimeKeys, type ParsedKey } from './key-format.ts';
import type { DeviceListService } from './device-lists.ts';
import { KeyCountsCache, type DeviceKeyCounts } from './key-counts.ts';

export interface KeyUploadRequest {
  device_keys?: Record<string, unknown>;
  one_time_keys?: Record<string, unknown>;
  fallback_keys?: Record<string, unknown>;
}

export interface KeyUploadResult {
  /** Unclaimed one-time keys of the device per algorithm; signed_curve25519 is always present. */
  one_time_key_counts: Record<string, number>;
}

export interface KeyUploadDeps {
  db: Kysely<DB>;
  keys: E2eKeyStore;
  deviceLists: Pick<DeviceListService, 'recordDeviceChange' | 'onDeviceChange'>;
}

export class KeyUploadService {
  /** What every /sync reports; invalidated after each write that changes it. */
  private readonly counts: KeyCountsCache;

  constructor(private readonly deps: KeyUploadDeps) {
    this.counts = new KeyCountsCache(deps.keys);
    // Claims (POST /keys/claim) take keys; device deletion removes them with the device.
    deps.keys.onKeyClaimed((userId, deviceId) => this.counts.invalidate(userId, deviceId));
    deps.deviceLists.onDeviceChange((userId) => this.counts.invalidateUser(userId));
  }

  /**
   * Stores what a device uploads. Device keys must be the caller's, for this device, and
   * self-signed; once stored their `keys` cannot change. A one-time key ID reused with different
   * content is refused; the same content again is accepted (clients retry lost responses).
   */
  async uploadKeys(userId: string, deviceId: string, keys: KeyUploadRequest): Promise<KeyUploadResult> {
    const deviceKeys = keys.device_keys !== undefined ? parseDeviceKeys(keys.device_keys, userId, deviceId) : undefined;
    const oneTimeKeys = keys.one_time_keys !== undefined ? parseOneTimeKeys(keys.one_time_keys, 'one_time_keys') : [];
    const fallbackKeys = keys.fallback_keys !== undefined ? parseOneTimeKeys(keys.fallback_keys, 'fallback_keys') : [];
    const latestFallback = lastPerAlgorithm(fallbackKeys);

    const write = async (trx: Kysely<DB>): Promise<boolean> => {
      const changed = deviceKeys ? await this.storeDeviceKeys(userId, deviceId, deviceKeys, trx) : false;
      if (oneTimeKeys.length > 0) await this.storeOneTimeKeys(userId, deviceId, oneTimeKeys, trx);
      for (const key of latestFallback) await this.deps.keys.putFallbackKey(userId, deviceId, key.algorithm, key.keyId, canonicalJson(key.key), trx);
      return changed;
    };
    // New device keys are announced in the same transaction that stores them; uploads of
    // one-time and fallback keys alone (the frequent case) concern nobody else.
    try {
      if (deviceKeys) await this.deps.deviceLists.recordDeviceChange(userId, write);
      else await this.deps.db.transaction().execute(write);
    } finally {
      // After commit (or rollback): the next read sees the new counts.
      if (oneTimeKeys.length > 0 || latestFallback.length > 0) this.counts.invalidate(userId, deviceId);
    }
    return { one_time_key_counts: { ...(await this.countOneTimeKeys(userId, deviceId)) } };
  }

  /** Both /sync key fields if they are in memory (frozen, shared), else undefined: then use the two calls below. */
  cachedKeyCounts(userId: string, deviceId: string): DeviceKeyCounts | undefined {
    return this.counts.peek(userId, deviceId);
  }

  /**
   * Unclaimed one-time keys per algorithm (signed_curve25519 always present, as in Synapse).
   * The object is shared with other readers (frozen): copy it to change it.
   */
  async countOneTimeKeys(userId: string, deviceId: string): Promise<Record<string, number>> {
    return (await this.counts.get(userId, deviceId)).oneTimeKeys;
  }

  /** Algorithms of the device's fallback keys that have not been handed out yet (frozen, shared). */
  async unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]> {
    return (await this.counts.get(userId, deviceId)).unusedFallbackTypes as string[];
  }

  /** Stores the device keys; false if they were already stored as they are. */
  private async storeDeviceKeys(userId: string, deviceId: string, deviceKeys: Record<string, unknown>, trx: Kysely<DB>): Promise<boolean> {
    const existing = await this.deps.keys.getDeviceKeys(userId, deviceId, trx);
    const json = canonicalJson(withoutUnsigned(deviceKeys));
    if (existing !== undefined) {
      const old = JSON.parse(existing) as Record<string, unknown>;
      // Identity keys are what other devices pinned; changing them would look like an attack
      // to every peer (and matrix-sdk-crypto ignores it). Signatures may change.
      if (canonicalJson(old.keys) !== canonicalJson(deviceKeys.keys)) {
        throw new MatrixError('M_INVALID_PARAM', 'This device already has different identity keys; log in as a new device instead');
      }
      if (canonicalJson(old) === json) return false;
    }
    await this.deps.keys.putDeviceKeys(userId, deviceId, json, trx);
    return true;
  }

  private async storeOneTimeKeys(userId: string, deviceId: string, keys: ParsedKey[], trx: Kysely<DB>): Promise<void> {
    const existing = await this.deps.keys.getOneTimeKeys(userId, deviceId, keys.map((k) => `${k.algorithm}:${k.keyId}`), trx);
    const fresh: ParsedKey[] = [];
    const seen = new Set<string>();
    for (const key of keys) {
      const id = `${key.algorithm}:${key.keyId}`;
      const json = canonicalJson(key.key);
      const stored = existing.get(id);
      if (stored !== undefined) {
        if (canonicalJson(JSON.parse(stored)) !== json) throw new MatrixError('M_INVALID_PARAM', `One-time key ${id} already exists with different content`);
        continue;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      fresh.push(key);
    }
    if (fresh.length > 0) await this.deps.keys.insertOneTimeKeys(userId, deviceId, fresh.map((k) => ({ algorithm: k.algorithm, key_id: k.keyId, key_json: canonicalJson(k.key) })), trx);
  }
}

function withoutUnsigned(obj: Record<string, unknown>): Record<string, unknown> {
  const { unsigned: _u, ...rest } = obj;
  return rest;
}

/** A request may carry several fallback keys of one algorithm; only the last one counts. */
function lastPerAlgorithm(keys: ParsedKey[]): ParsedKey[] {
  const byAlgorithm = new Map<string, ParsedKey>();
  for (const k of keys) byAlgorithm.set(k.algorithm, k);
  return [...byAlgorithm.values()];
}
