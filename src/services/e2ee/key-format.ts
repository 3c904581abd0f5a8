// Shapes of the key objects clients upload (spec "End-to-End Encryption": DeviceKeys,
// OneTimeKeys, CrossSigningKey) and their checks. Everything a client can get wrong answers a
// Matrix error: M_BAD_JSON for a malformed object, M_INVALID_PARAM for a key that is not the
// caller's, M_INVALID_SIGNATURE for a signature that does not verify.
import { MatrixError } from '../../core/errors.ts';
import { isCanonicalJsonValue } from '../../core/canonical-json.ts';
import { decodeBase64 } from '../../core/base64.ts';
import { verifyJsonSignature } from '../../core/signing.ts';

export type Json = Record<string, unknown>;

export interface ParsedKey {
  algorithm: string;
  keyId: string;
  /** The key as uploaded: a base64 string or a signed object. */
  key: unknown;
}

export type CrossSigningUsage = 'master' | 'self_signing' | 'user_signing';

export interface ParsedCrossSigningKey {
  usage: CrossSigningUsage;
  /** Unpadded base64 ed25519 public key (also the key ID's second half). */
  publicKey: string;
  json: Json;
}

const MAX_KEY_ID_LENGTH = 255;

const badJson = (msg: string) => new MatrixError('M_BAD_JSON', msg);

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True if the text is unpadded-or-padded base64 of an ed25519 public key (32 bytes). */
export function isEd25519PublicKey(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    return decodeBase64(text).length === 32;
  } catch {
    return false;
  }
}

function requireSignaturesMap(obj: Json, what: string): Record<string, Json> {
  const sigs = obj.signatures;
  if (!isObject(sigs)) throw badJson(`${what}.signatures must be an object`);
  for (const [entity, byKey] of Object.entries(sigs)) {
    if (!isObject(byKey)) throw badJson(`${what}.signatures.${entity} must be an object`);
    for (const v of Object.values(byKey)) if (typeof v !== 'string') throw badJson(`${what}.signatures values must be strings`);
  }
  return sigs as Record<string, Json>;
}

function requireCanonical(obj: unknown, what: string): void {
  if (!isCanonicalJsonValue(obj)) throw badJson(`${what} contains values that are not allowed in canonical JSON`);
}

/**
 * Checks device keys uploaded by (userId, deviceId): right owner, both identity keys, and a
 * valid self-signature by the device's ed25519 key.
 */
export function parseDeviceKeys(raw: unknown, userId: string, deviceId: string): Json {
  if (!isObject(raw)) throw badJson('device_keys must be an object');
  requireCanonical(raw, 'device_keys');
  if (typeof raw.user_id !== 'string' || typeof raw.device_id !== 'string') throw badJson('device_keys needs user_id and device_id');
  if (raw.user_id !== userId) throw new MatrixError('M_INVALID_PARAM', 'user_id in device_keys does not match the logged-in user');
  if (raw.device_id !== deviceId) throw new MatrixError('M_INVALID_PARAM', 'device_id in device_keys does not match the logged-in device');
  if (!Array.isArray(raw.algorithms) || !raw.algorithms.every((a) => typeof a === 'string')) throw badJson('device_keys.algorithms must be a list of strings');
  const keys = raw.keys;
  if (!isObject(keys) || Object.keys(keys).length === 0) throw badJson('device_keys.keys must be a non-empty object');
  for (const [id, value] of Object.entries(keys)) {
    if (!/^[^:]+:.+$/.test(id) || typeof value !== 'string') throw badJson('device_keys.keys must map "<algorithm>:<device_id>" to a key string');
  }
  const ed25519 = keys[`ed25519:${deviceId}`];
  if (!isEd25519PublicKey(ed25519)) throw badJson(`device_keys.keys needs a valid ed25519:${deviceId} key`);
  if (typeof keys[`curve25519:${deviceId}`] !== 'string') throw badJson(`device_keys.keys needs a curve25519:${deviceId} key`);
  requireSignaturesMap(raw, 'device_keys');
  if (!verifyJsonSignature(raw, userId, `ed25519:${deviceId}`, ed25519)) {
    throw new MatrixError('M_INVALID_SIGNATURE', "device_keys are not signed by the device's ed25519 key", {}, 400);
  }
  if (raw.unsigned !== undefined && !isObject(raw.unsigned)) throw badJson('device_keys.unsigned must be an object');
  return raw;
}

/** Parses a one_time_keys or fallback_keys map ("<algorithm>:<key_id>" → key). */
export function parseOneTimeKeys(raw: unknown, field: string): ParsedKey[] {
  if (!isObject(raw)) throw badJson(`${field} must be an object`);
  requireCanonical(raw, field);
  const out: ParsedKey[] = [];
  for (const [id, key] of Object.entries(raw)) {
    const sep = id.indexOf(':');
    if (sep <= 0 || sep === id.length - 1 || id.length > MAX_KEY_ID_LENGTH) throw badJson(`${field}: key IDs must read "<algorithm>:<key_id>"`);
    const algorithm = id.slice(0, sep);
    if (typeof key === 'string') {
      if (algorithm.startsWith('signed_')) throw badJson(`${field}: ${id} must be a signed key object`);
    } else if (isObject(key)) {
      if (typeof key.key !== 'string') throw badJson(`${field}: ${id} needs a "key" string`);
      requireSignaturesMap(key, `${field}.${id}`);
    } else {
      throw badJson(`${field}: ${id} must be a key string or a signed key object`);
    }
    out.push({ algorithm, keyId: id.slice(sep + 1), key });
  }
  return out;
}

/** Checks a cross-signing key of `userId` with the given usage; signatures are checked by the caller. */
export function parseCrossSigningKey(raw: unknown, userId: string, usage: CrossSigningUsage, field: string): ParsedCrossSigningKey {
  if (!isObject(raw)) throw badJson(`${field} must be an object`);
  requireCanonical(raw, field);
  if (raw.user_id !== userId) throw new MatrixError('M_INVALID_PARAM', `${field}.user_id must be your own user ID`);
  if (!Array.isArray(raw.usage) || !raw.usage.includes(usage) || !raw.usage.every((u) => typeof u === 'string')) {
    throw badJson(`${field}.usage must contain "${usage}"`);
  }
  const keys = raw.keys;
  if (!isObject(keys) || Object.keys(keys).length !== 1) throw badJson(`${field}.keys must hold exactly one key`);
  const [[id, publicKey]] = Object.entries(keys);
  if (!id.startsWith('ed25519:') || id.slice('ed25519:'.length) !== publicKey || !isEd25519PublicKey(publicKey)) {
    throw badJson(`${field}.keys must map "ed25519:<public key>" to that ed25519 public key`);
  }
  if (raw.signatures !== undefined) requireSignaturesMap(raw, field);
  return { usage, publicKey, json: raw };
}

/** The ed25519 key ID and public key of a stored cross-signing key or device key object. */
export function ed25519KeyOf(obj: Json, deviceId?: string): { keyId: string; publicKey: string } | undefined {
  const keys = obj.keys;
  if (!isObject(keys)) return undefined;
  for (const [id, value] of Object.entries(keys)) {
    if (!id.startsWith('ed25519:') || typeof value !== 'string') continue;
    if (deviceId !== undefined && id !== `ed25519:${deviceId}`) continue;
    return { keyId: id, publicKey: value };
  }
  return undefined;
}
