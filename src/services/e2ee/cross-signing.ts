// Cross-signing (spec "Cross-signing"): POST /keys/device_signing/upload stores a user's master,
// self-signing and user-signing keys; POST /keys/signatures/upload stores signatures made with
// them. Every signature is verified here — a client trusting an unverified signature from its
// server would be trusting the server.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { canonicalJson } from '../../core/canonical-json.ts';
import { serverNameOf } from '../../core/ids.ts';
import { verifyJsonSignature } from '../../core/signing.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { CrossSigningKeyRow, CrossSigningStore, SignatureRow } from '../../storage/stores/cross-signing.ts';
import type { E2eKeyStore } from '../../storage/stores/e2e-keys.ts';
import type { Requester } from '../auth/authenticator.ts';
import type { UiaService } from '../accounts/uia.ts';
import type { DeviceListService } from './device-lists.ts';
import { ed25519KeyOf, isObject, parseCrossSigningKey, type CrossSigningUsage, type Json, type ParsedCrossSigningKey } from './key-format.ts';
import { federationFailure } from './key-query.ts';

export interface CrossSigningDeps {
  db: Kysely<DB>;
  serverName: string;
  store: CrossSigningStore;
  keys: Pick<E2eKeyStore, 'getDeviceKeys'>;
  uia: Pick<UiaService, 'performAuth' | 'finish'>;
  deviceLists: Pick<DeviceListService, 'recordDeviceChange' | 'recordPrivateChange'>;
}

const FIELDS: ReadonlyArray<readonly [string, CrossSigningUsage]> = [
  ['master_key', 'master'],
  ['self_signing_key', 'self_signing'],
  ['user_signing_key', 'user_signing'],
];

type Failure = { errcode: string; error: string };

function stripped(obj: Json): string {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return canonicalJson(rest);
}

export class CrossSigningService {
  constructor(private readonly deps: CrossSigningDeps) {}

  /**
   * Stores new cross-signing keys. UIA (the account password) is needed to replace keys, but not
   * for the first upload nor for re-uploading identical keys (spec v1.11, MSC3967): a client
   * bootstrapping cross-signing right after login must not have to ask for the password.
   */
  async uploadDeviceSigningKeys(requester: Requester, body: Record<string, unknown>): Promise<void> {
    const userId = requester.userId;
    const uploaded: ParsedCrossSigningKey[] = [];
    for (const [field, usage] of FIELDS) {
      if (body[field] !== undefined) uploaded.push(parseCrossSigningKey(body[field], userId, usage, field));
    }
    const existing = new Map((await this.deps.store.keysOf([userId], ['master', 'self_signing', 'user_signing'])).map((k) => [k.usage, k]));
    const changedKeys = uploaded.filter((k) => existing.get(k.usage)?.key_json !== canonicalJson(k.json));

    // The self-signing and user-signing keys must be signed by the master key they will serve.
    const master = uploaded.find((k) => k.usage === 'master')?.publicKey ?? existing.get('master')?.public_key;
    for (const key of uploaded) {
      if (key.usage === 'master') continue;
      if (master === undefined) throw new MatrixError('M_MISSING_PARAM', 'Upload a master key first (or with this key)');
      if (!verifyJsonSignature(key.json, userId, `ed25519:${master}`, master)) {
        throw new MatrixError('M_INVALID_SIGNATURE', `The ${key.usage} key is not signed by the master key`, {}, 400);
      }
    }

    let uiaSession: string | undefined;
    if (existing.has('master') && changedKeys.length > 0 && !requester.appserviceId) {
      const auth = await this.deps.uia.performAuth(
        { method: 'POST', path: '/keys/device_signing/upload', body, userId, bindBody: true },
        [{ stages: ['m.login.password'] }],
      );
      uiaSession = auth.sessionId;
    }

    if (changedKeys.length === 0) return;
    await this.deps.deviceLists.recordDeviceChange(userId, async (trx) => {
      if (uiaSession) await this.deps.uia.finish(uiaSession, trx);
      for (const key of changedKeys) {
        await this.deps.store.putKey({ user_id: userId, usage: key.usage, public_key: key.publicKey, key_json: canonicalJson(key.json) }, trx);
      }
    });
  }

  /**
   * Verifies and stores signatures: of the user's own devices by their self-signing key, of
   * their own master key by one of their devices, of other users' master keys by their
   * user-signing key. Each object that fails lands in `failures`; the rest is stored.
   */
  async uploadSignatures(userId: string, body: Record<string, unknown>): Promise<{ failures: Record<string, Record<string, Failure>> }> {
    const failures: Record<string, Record<string, Failure>> = {};
    const fail = (target: string, keyId: string, errcode: string, error: string) => ((failures[target] ??= {})[keyId] = { errcode, error });
    const own = new Map((await this.deps.store.keysOf([userId], ['master', 'self_signing', 'user_signing'])).map((k) => [k.usage, k]));
    const accepted: SignatureRow[] = [];
    const othersSigned = new Set<string>();

    for (const [targetUser, objects] of Object.entries(body)) {
      if (!isObject(objects)) {
        fail(targetUser, '', 'M_BAD_JSON', 'Expected a map of key IDs to signed objects');
        continue;
      }
      const remote = serverNameOf(targetUser) !== this.deps.serverName;
      const targetKeys = remote ? new Map<string, CrossSigningKeyRow>() : new Map((await this.deps.store.keysOf([targetUser], ['master'])).map((k) => [k.usage, k]));
      for (const [keyId, signed] of Object.entries(objects)) {
        if (remote) {
          fail(targetUser, keyId, 'M_UNKNOWN', String(federationFailure().message));
          continue;
        }
        if (!isObject(signed) || !isObject(signed.signatures) || signed.user_id !== targetUser) {
          fail(targetUser, keyId, 'M_BAD_JSON', 'Expected a signed key object of that user');
          continue;
        }
        const result =
          targetUser === userId
            ? await this.checkOwnSignature(userId, keyId, signed, own)
            : this.checkOtherUserSignature(userId, keyId, signed, targetKeys.get('master'), own.get('user_signing'));
        if ('errcode' in result) fail(targetUser, keyId, result.errcode, result.error);
        else {
          accepted.push({ signer_user_id: userId, signer_key_id: result.signerKeyId, target_user_id: targetUser, target_key_id: keyId, signature: result.signature });
          if (targetUser !== userId) othersSigned.add(targetUser);
        }
      }
    }

    const ownSignatures = accepted.filter((s) => s.target_user_id === userId);
    const otherSignatures = accepted.filter((s) => s.target_user_id !== userId);
    if (ownSignatures.length > 0) await this.deps.deviceLists.recordDeviceChange(userId, (trx) => this.deps.store.putSignatures(ownSignatures, trx));
    if (otherSignatures.length > 0) {
      await this.deps.db.transaction().execute((trx) => this.deps.store.putSignatures(otherSignatures, trx));
      await this.deps.deviceLists.recordPrivateChange(userId, [...othersSigned]);
    }
    return { failures };
  }

  /** A device signed by the self-signing key, or the master key signed by a device. */
  private async checkOwnSignature(userId: string, keyId: string, signed: Json, own: Map<string, CrossSigningKeyRow>): Promise<Failure | { signerKeyId: string; signature: string }> {
    const master = own.get('master');
    if (master && keyId === master.public_key) {
      if (stripped(signed) !== stripped(JSON.parse(master.key_json) as Json)) return { errcode: 'M_INVALID_SIGNATURE', error: 'The signed object is not your current master key' };
      // Signatures by a device of the user: each must verify against that device's key.
      const bySelf = isObject(signed.signatures) ? (signed.signatures[userId] as Json | undefined) : undefined;
      for (const signerKeyId of Object.keys(isObject(bySelf) ? bySelf : {})) {
        if (signerKeyId === `ed25519:${master.public_key}`) continue;
        const deviceId = signerKeyId.startsWith('ed25519:') ? signerKeyId.slice('ed25519:'.length) : '';
        const deviceJson = deviceId ? await this.deps.keys.getDeviceKeys(userId, deviceId) : undefined;
        const deviceKey = deviceJson ? ed25519KeyOf(JSON.parse(deviceJson) as Json, deviceId) : undefined;
        if (!deviceKey) continue;
        if (!verifyJsonSignature(signed, userId, signerKeyId, deviceKey.publicKey)) return { errcode: 'M_INVALID_SIGNATURE', error: `Invalid signature by ${signerKeyId}` };
        return { signerKeyId, signature: (bySelf as Record<string, string>)[signerKeyId] };
      }
      return { errcode: 'M_INVALID_SIGNATURE', error: 'No signature by one of your devices' };
    }
    const deviceJson = await this.deps.keys.getDeviceKeys(userId, keyId);
    if (!deviceJson) return { errcode: 'M_NOT_FOUND', error: 'Unknown device or key' };
    if (signed.device_id !== keyId || stripped(signed) !== stripped(JSON.parse(deviceJson) as Json)) {
      return { errcode: 'M_INVALID_SIGNATURE', error: 'The signed object does not match the stored device keys' };
    }
    const ssk = own.get('self_signing');
    if (!ssk) return { errcode: 'M_INVALID_SIGNATURE', error: 'You have no self-signing key' };
    return this.signatureBy(signed, userId, ssk.public_key);
  }

  /** Another user's master key, signed by the requester's user-signing key. */
  private checkOtherUserSignature(
    userId: string,
    keyId: string,
    signed: Json,
    targetMaster: CrossSigningKeyRow | undefined,
    userSigning: CrossSigningKeyRow | undefined,
  ): Failure | { signerKeyId: string; signature: string } {
    if (!targetMaster || keyId !== targetMaster.public_key) return { errcode: 'M_NOT_FOUND', error: "Only a user's current master key can be signed" };
    if (stripped(signed) !== stripped(JSON.parse(targetMaster.key_json) as Json)) return { errcode: 'M_INVALID_SIGNATURE', error: 'The signed object is not their current master key' };
    if (!userSigning) return { errcode: 'M_INVALID_SIGNATURE', error: 'You have no user-signing key' };
    return this.signatureBy(signed, userId, userSigning.public_key);
  }

  private signatureBy(signed: Json, signer: string, publicKey: string): Failure | { signerKeyId: string; signature: string } {
    const signerKeyId = `ed25519:${publicKey}`;
    if (!verifyJsonSignature(signed, signer, signerKeyId, publicKey)) return { errcode: 'M_INVALID_SIGNATURE', error: `Missing or invalid signature by ${signerKeyId}` };
    const sigs = signed.signatures as Record<string, Record<string, string>>;
    return { signerKeyId, signature: sigs[signer][signerKeyId] };
  }
}
