// Ed25519 signing of JSON objects (spec appendix "Signing JSON"). Key objects are created once
// and cached: re-importing a seed on every call is ten times slower.
//
// Signatures are made with libsodium (sodium-native): every event the server creates is signed,
// and libsodium signs in ~16 µs where node:crypto's one-shot sign took ~25–45 µs (it sets up
// an OpenSSL context per call). Ed25519 signatures are deterministic, so both give the same
// bytes (the spec appendix vectors in core-vectors.test.ts check them). Verification stays on
// node:crypto. sodium-native is pinned to 4.3.0, the last release that loads its prebuilt
// addon with node-gyp-build: later ones load it through require-addon and its Bare runtime
// helpers, which cost ~7 MB of resident memory at start (1.4 MB with 4.3.0).
import { createPrivateKey, createPublicKey, verify, randomBytes, type KeyObject } from 'node:crypto';
import sodium from 'sodium-native';
import { canonicalJson } from './canonical-json.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';

export interface SigningKey {
  /** e.g. "ed25519:a_XXXX" */
  keyId: string;
  seed: Buffer;
  privateKey: KeyObject;
  /** libsodium's 64-byte secret key (seed followed by the public key). */
  secretKey: Buffer;
  publicKey: KeyObject;
  /** unpadded base64 of the 32-byte public key */
  publicKeyBase64: string;
}

// PKCS#8 / SPKI DER prefixes for raw Ed25519 keys (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function signingKeyFromSeed(keyId: string, seed: Buffer): SigningKey {
  if (seed.length !== 32) throw new Error('ed25519 seed must be 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES), secretKey, seed);
  return { keyId, seed, privateKey, secretKey, publicKey, publicKeyBase64: encodeBase64(spki.subarray(SPKI_PREFIX.length)) };
}

export function generateSigningKey(): SigningKey {
  const version = 'a_' + randomBytes(3).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 4);
  return signingKeyFromSeed(`ed25519:${version}`, randomBytes(32));
}

/** Synapse's signing key file format: one line "ed25519 <version> <unpadded base64 seed>". */
export function parseSigningKeyFile(text: string): SigningKey {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  const parts = line?.split(/\s+/) ?? [];
  if (parts.length !== 3 || parts[0] !== 'ed25519') throw new Error('signing key file must read "ed25519 <version> <seed>"');
  return signingKeyFromSeed(`ed25519:${parts[1]}`, decodeBase64(parts[2]));
}

export function formatSigningKeyFile(key: SigningKey): string {
  return `ed25519 ${key.keyId.slice('ed25519:'.length)} ${encodeBase64(key.seed)}\n`;
}

const publicKeyCache = new Map<string, KeyObject>();

export function publicKeyFromBase64(b64: string): KeyObject {
  let key = publicKeyCache.get(b64);
  if (!key) {
    const raw = decodeBase64(b64);
    if (raw.length !== 32) throw new Error('ed25519 public key must be 32 bytes');
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeyCache.size > 10_000) publicKeyCache.clear();
    publicKeyCache.set(b64, key);
  }
  return key;
}

function withoutUnsignedAndSignatures(obj: Record<string, unknown>): Record<string, unknown> {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return rest;
}

export function signDetached(bytes: string, key: SigningKey): string {
  const signature = Buffer.allocUnsafe(sodium.crypto_sign_BYTES);
  sodium.crypto_sign_detached(signature, Buffer.from(bytes, 'utf8'), key.secretKey);
  return encodeBase64(signature);
}

/** Returns a copy of obj with this server's signature added (existing signatures kept). */
export function signJson<T extends Record<string, unknown>>(obj: T, entity: string, key: SigningKey): T {
  const signature = signDetached(canonicalJson(withoutUnsignedAndSignatures(obj)), key);
  const existing = (obj.signatures ?? {}) as Record<string, Record<string, string>>;
  return {
    ...obj,
    signatures: { ...existing, [entity]: { ...(existing[entity] ?? {}), [key.keyId]: signature } },
  };
}

/** Verifies entity's signature with keyId on obj. Returns false on any mismatch or malformed input. */
export function verifyJsonSignature(obj: Record<string, unknown>, entity: string, keyId: string, publicKeyBase64: string): boolean {
  const sigs = obj.signatures as Record<string, Record<string, unknown>> | undefined;
  const sig = sigs?.[entity]?.[keyId];
  if (typeof sig !== 'string') return false;
  try {
    const signature = decodeBase64(sig);
    if (signature.length !== 64) return false;
    return verify(null, Buffer.from(canonicalJson(withoutUnsignedAndSignatures(obj)), 'utf8'), publicKeyFromBase64(publicKeyBase64), signature);
  } catch {
    return false;
  }
}
