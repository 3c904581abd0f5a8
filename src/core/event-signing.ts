// Signing and verifying events (spec "Signing Events"): the signature covers the *redacted*
// event, so a redacted copy of an event still verifies. The content hash covers the rest.
import { redactEvent } from './redaction.ts';
import { signJson, verifyJsonSignature, type SigningKey } from './signing.ts';
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
