// Real ed25519 keys for E2EE tests: device identity keys, signed one-time keys and
// cross-signing keys, all signed with node:crypto so the server's verification is exercised.
import { randomBytes } from 'node:crypto';
import { signingKeyFromSeed, signJson, type SigningKey } from '../../src/core/signing.ts';
import type { TestServer, TestUser } from '../harness.ts';

export type Json = Record<string, any>;

export function newKey(keyId?: (publicKey: string) => string): SigningKey {
  const seed = randomBytes(32);
  const probe = signingKeyFromSeed('ed25519:probe', seed);
  return signingKeyFromSeed(keyId ? keyId(probe.publicKeyBase64) : `ed25519:${probe.publicKeyBase64}`, seed);
}

/** A fake curve25519 key: the server never uses it, only stores it. */
export function curveKey(): string {
  return randomBytes(32).toString('base64').replace(/=+$/, '');
}

export class TestDevice {
  readonly key: SigningKey;
  readonly curve = curveKey();
  constructor(readonly user: TestUser) {
    this.key = newKey(() => `ed25519:${user.deviceId}`);
  }

  get userId(): string {
    return this.user.userId;
  }
  get deviceId(): string {
    return this.user.deviceId;
  }

  deviceKeys(extra: Json = {}): Json {
    return signJson(
      {
        user_id: this.userId,
        device_id: this.deviceId,
        algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
        keys: { [`curve25519:${this.deviceId}`]: this.curve, [`ed25519:${this.deviceId}`]: this.key.publicKeyBase64 },
        ...extra,
      },
      this.userId,
      this.key,
    );
  }

  /** `n` signed curve25519 one-time keys with IDs prefix0…prefix(n-1). */
  oneTimeKeys(n: number, prefix = 'AAAA'): Json {
    const out: Json = {};
    for (let i = 0; i < n; i++) out[`signed_curve25519:${prefix}${i}`] = signJson({ key: curveKey() }, this.userId, this.key);
    return out;
  }

  fallbackKey(id = 'FB1'): Json {
    return { [`signed_curve25519:${id}`]: signJson({ key: curveKey(), fallback: true }, this.userId, this.key) };
  }

  upload(server: TestServer, body: Json) {
    return server.request('POST', '/_matrix/client/v3/keys/upload', { token: this.user.accessToken, body });
  }
}

export interface CrossSigningKeys {
  master: SigningKey;
  selfSigning: SigningKey;
  userSigning: SigningKey;
  body: { master_key: Json; self_signing_key: Json; user_signing_key: Json };
}

export function crossSigningKeyObject(userId: string, usage: string, key: SigningKey): Json {
  return { user_id: userId, usage: [usage], keys: { [key.keyId]: key.publicKeyBase64 } };
}

export function makeCrossSigningKeys(userId: string): CrossSigningKeys {
  const master = newKey();
  const selfSigning = newKey();
  const userSigning = newKey();
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: crossSigningKeyObject(userId, 'master', master),
      self_signing_key: signJson(crossSigningKeyObject(userId, 'self_signing', selfSigning), userId, master),
      user_signing_key: signJson(crossSigningKeyObject(userId, 'user_signing', userSigning), userId, master),
    },
  };
}

export { signJson };

/** Runs an initial sync and returns its body. */
export async function initialSync(server: TestServer, user: TestUser): Promise<Json> {
  const res = await server.request('GET', '/_matrix/client/v3/sync', { token: user.accessToken });
  if (res.status !== 200) throw new Error(`sync failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function incrementalSync(server: TestServer, user: TestUser, since: string, timeout = 0): Promise<Json> {
  const res = await server.request('GET', '/_matrix/client/v3/sync', { token: user.accessToken, query: { since, timeout } });
  if (res.status !== 200) throw new Error(`sync failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
