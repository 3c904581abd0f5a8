// POST /keys/query and POST /keys/claim (spec "Key management API"): reading other devices'
// identity and cross-signing keys, and taking one-time keys to start Olm sessions.
import type { E2eKeyStore } from '../../storage/stores/e2e-keys.ts';
import type { CrossSigningStore, SignatureRow } from '../../storage/stores/cross-signing.ts';
import { serverNameOf } from '../../core/ids.ts';
import { isObject, type Json } from './key-format.ts';

export interface KeyQueryResult {
  device_keys: Record<string, Record<string, Json>>;
  failures: Record<string, Json>;
  master_keys: Record<string, Json>;
  self_signing_keys: Record<string, Json>;
  user_signing_keys: Record<string, Json>;
}

export interface KeyClaimResult {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, Json>;
}

export interface KeyQueryDeps {
  serverName: string;
  keys: Pick<E2eKeyStore, 'queryDeviceKeys' | 'claimOneTimeKey' | 'claimFallbackKey'>;
  crossSigning: Pick<CrossSigningStore, 'keysOf' | 'signaturesFor'>;
}

/** There is no federation yet: remote servers are reported as unreachable, as the spec allows. */
export function federationFailure(): Json {
  return { status: 503, message: 'Federation is not available on this server yet' };
}

/** Adds stored signatures (uploaded through /keys/signatures/upload) to a key object. */
export function withSignatures(json: Json, signatures: SignatureRow[]): Json {
  if (signatures.length === 0) return json;
  const merged: Record<string, Record<string, unknown>> = {};
  if (isObject(json.signatures)) for (const [k, v] of Object.entries(json.signatures)) if (isObject(v)) merged[k] = { ...v };
  for (const s of signatures) (merged[s.signer_user_id] ??= {})[s.signer_key_id] = s.signature;
  return { ...json, signatures: merged };
}

export class KeyQueryService {
  constructor(private readonly deps: KeyQueryDeps) {}

  private isLocal(userId: string): boolean {
    return serverNameOf(userId) === this.deps.serverName;
  }

  async queryKeys(requesterId: string, request: Record<string, string[]>): Promise<KeyQueryResult> {
    const out: KeyQueryResult = { device_keys: {}, failures: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {} };
    const local = new Map<string, string[]>();
    for (const [userId, devices] of Object.entries(request)) {
      if (this.isLocal(userId)) {
        local.set(userId, devices);
        out.device_keys[userId] = {};
      } else {
        const server = serverNameOf(userId);
        if (server) out.failures[server] = federationFailure();
      }
    }
    const users = [...local.keys()];
    if (users.length === 0) return out;
    const signatures = groupByTarget(await this.deps.crossSigning.signaturesFor(users, [requesterId]));
    for (const row of await this.deps.keys.queryDeviceKeys(local)) {
      const json = withSignatures(JSON.parse(row.key_json) as Json, signatures.get(`${row.user_id}\u0000${row.device_id}`) ?? []);
      const unsigned: Json = isObject(json.unsigned) ? { ...json.unsigned } : {};
      if (row.display_name !== null) unsigned.device_display_name = row.display_name;
      out.device_keys[row.user_id][row.device_id] = { ...json, unsigned };
    }
    // The user-signing key is private to its owner (it reveals whom they verified).
    const usages = users.includes(requesterId) ? ['master', 'self_signing', 'user_signing'] : ['master', 'self_signing'];
    for (const key of await this.deps.crossSigning.keysOf(users, usages)) {
      if (key.usage === 'user_signing' && key.user_id !== requesterId) continue;
      const json = withSignatures(JSON.parse(key.key_json) as Json, signatures.get(`${key.user_id}\u0000${key.public_key}`) ?? []);
      const section = key.usage === 'master' ? out.master_keys : key.usage === 'self_signing' ? out.self_signing_keys : out.user_signing_keys;
      section[key.user_id] = json;
    }
    return out;
  }

  /**
   * Hands out one key per requested device: the oldest one-time key, or — when none is left —
   * the fallback key, which is marked used but stays claimable.
   */
  async claimKeys(request: Record<string, Record<string, string>>): Promise<KeyClaimResult> {
    const out: KeyClaimResult = { one_time_keys: {}, failures: {} };
    for (const [userId, devices] of Object.entries(request)) {
      if (!this.isLocal(userId)) {
        const server = serverNameOf(userId);
        if (server) out.failures[server] = federationFailure();
        continue;
      }
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        const key = (await this.deps.keys.claimOneTimeKey(userId, deviceId, algorithm)) ?? (await this.deps.keys.claimFallbackKey(userId, deviceId, algorithm));
        if (!key) continue;
        ((out.one_time_keys[userId] ??= {})[deviceId] ??= {})[`${key.algorithm}:${key.key_id}`] = JSON.parse(key.key_json) as unknown;
      }
    }
    return out;
  }
}

function groupByTarget(rows: SignatureRow[]): Map<string, SignatureRow[]> {
  const map = new Map<string, SignatureRow[]>();
  for (const r of rows) {
    const k = `${r.target_user_id}\u0000${r.target_key_id}`;
    let list = map.get(k);
    if (!list) map.set(k, (list = []));
    list.push(r);
  }
  return map;
}
