// Signing and verifying events (spec "Signing Events"): the signature covers the *redacted*
// event, so a redacted copy of an event still verifies. The content hash covers the rest.
import { redactEvent } from './redaction.ts';
import { signDetached, signJson, verifyJsonSignature, type SigningKey } from './signing.ts';
import { canonicalJson } from './canonical-json.ts';
import { computeEventId, eventIdFromReferenceBytes } from './hashes.ts';
import type { RoomVersion } from './room-versions.ts';

/** Returns the event with this server's signature (over its redacted form) added. */
export function signEvent<T extends Record<string, unknown>>(event: T, version: RoomVersion, serverName: string, key: SigningKey): T {
  const { unsigned: _u, ...withoutUnsigned } = event;
  const redacted = redactEvent(withoutUnsigned, version);
  const signed = signJson(redacted, serverName, key);
  return { ...event, signatures: signed.signatures };
}

export function verifyEventSignature(event: Record<string, unknown>, version: RoomVersion, serverName: string, keyId: string, publicKeyBase64: string): boolean {
  const { unsigned: _u, ...withoutUnsigned } = event;
  return verifyJsonSignature(redactEvent(withoutUnsigned, version), serverName, keyId, publicKeyBase64);
}

/**
 * `signEvent` and `computeEventId` of the signed event, from one canonical encoding: the
 * signature covers the redacted event without signatures and unsigned, and the reference hash
 * (the event ID, room versions 3+) is the sha256 of exactly those bytes — signatures are left
 * out of it, so adding ours changes nothing hashed. Events carrying a top-level age_ts (which
 * the reference hash leaves out but a signature covers) or room versions 1–2 (event_id in the
 * event) take the general path.
 */
export function signEventWithId<T extends Record<string, unknown>>(event: T, version: RoomVersion, serverName: string, key: SigningKey): { signed: T; eventId: string } {
  if (version.eventIdFormat === 'v1' || 'age_ts' in event) {
    const signed = signEvent(event, version, serverName, key);
    return { signed, eventId: computeEventId(signed, version) };
  }
  const { unsigned: _u, signatures: existing, ...unsignedless } = event;
  const bytes = canonicalJson(redactEvent(unsignedless, version));
  const signature = signDetached(bytes, key);
  const all = (existing ?? {}) as Record<string, Record<string, string>>;
  const signatures = { ...all, [serverName]: { ...(all[serverName] ?? {}), [key.keyId]: signature } };
  return { signed: { ...event, signatures }, eventId: eventIdFromReferenceBytes(bytes, version) };
}
