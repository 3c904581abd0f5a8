// Invites that redeem a third-party invite (rules 5.4.1.2–5.4.1.8): the identity server that
// stored the invite signed { mxid, token }, and the room holds its public keys in the
// m.room.third_party_invite event whose state_key is the token. Signature checking here is pure
// computation on data in the event and the state, so it belongs to the auth rules.
import { stateKeyOf, type PDU } from '../pdu.ts';
import { verifyJsonSignature } from '../signing.ts';
import { AuthError } from './auth-error.ts';
import { hasOwn, isJsonObject, type AuthState, type JsonObject } from './state-access.ts';

/** The public keys of an m.room.third_party_invite event: public_key plus public_keys[].public_key. */
export function thirdPartyInvitePublicKeys(content: unknown): string[] {
  if (!isJsonObject(content)) return [];
  const keys: string[] = [];
  if (typeof content.public_key === 'string' && hasOwn(content, 'public_key')) keys.push(content.public_key);
  const list = hasOwn(content, 'public_keys') ? content.public_keys : undefined;
  if (Array.isArray(list)) {
    for (const entry of list) {
      if (isJsonObject(entry) && typeof entry.public_key === 'string' && hasOwn(entry, 'public_key')) keys.push(entry.public_key);
    }
  }
  return keys;
}

/** True if any ed25519 signature in `signed` verifies with any of the keys. */
function signedByAnyKey(signed: JsonObject, publicKeys: string[]): boolean {
  const signatures = signed.signatures;
  if (!isJsonObject(signatures)) return false;
  for (const [entity, byKeyId] of Object.entries(signatures)) {
    if (!isJsonObject(byKeyId)) continue;
    for (const keyId of Object.keys(byKeyId)) {
      // Only ed25519 exists; another algorithm's signature cannot be checked against these keys.
      if (!keyId.startsWith('ed25519:')) continue;
      for (const key of publicKeys) {
        if (verifyJsonSignature(signed, entity, keyId, key)) return true;
      }
    }
  }
  return false;
}

/**
 * Allows (returns) or rejects (throws) an invite whose content has third_party_invite. The caller
 * has already rejected invites of banned users (rule 5.4.1.1).
 */
export function checkThirdPartyInvite(pdu: PDU, authState: AuthState): void {
  const tpi = isJsonObject(pdu.content) ? pdu.content.third_party_invite : undefined;
  // 5.4.1.2
  const signed = isJsonObject(tpi) && hasOwn(tpi, 'signed') ? tpi.signed : undefined;
  if (!isJsonObject(signed)) throw new AuthError('third-party invite has no signed object');
  // 5.4.1.3
  const mxid = hasOwn(signed, 'mxid') ? signed.mxid : undefined;
  const token = hasOwn(signed, 'token') ? signed.token : undefined;
  if (typeof mxid !== 'string' || typeof token !== 'string') throw new AuthError('third-party invite: signed needs mxid and token');
  // 5.4.1.4
  if (mxid !== pdu.state_key) throw new AuthError('third-party invite: signed.mxid does not match the invited user');
  // 5.4.1.5
  const inviteEvent = authState.get(stateKeyOf('m.room.third_party_invite', token));
  if (!inviteEvent) throw new AuthError('third-party invite: no m.room.third_party_invite event for this token');
  // 5.4.1.6: only whoever issued the third-party invite may turn it into a membership invite.
  if (inviteEvent.pdu.sender !== pdu.sender) throw new AuthError('third-party invite: sender differs from the third-party invite sender');
  // 5.4.1.7–5.4.1.8
  if (!signedByAnyKey(signed, thirdPartyInvitePublicKeys(inviteEvent.pdu.content))) {
    throw new AuthError('third-party invite: signed is not signed by any of the invite’s public keys');
  }
}
