// Content hashes, reference hashes and event IDs (spec "Server-Server API" → "Signing events"
// and room versions 3/4 "Event IDs").
import * as crypto from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { encodeBase64, encodeBase64Url } from './base64.ts';
import { redactEvent } from './redaction.ts';
import type { RoomVersion } from './room-versions.ts';
import type { PDU } from './pdu.ts';

export function sha256(text: string): Buffer {
  return crypto.createHash('sha256').update(text, 'utf8').digest();
}

// crypto.hash (Node >= 20.12) hashes a string (as UTF-8) in one call and returns the encoded
// digest: no Hash object, no digest Buffer, no second pass to encode it. Every send hashes
// twice (content hash, event ID); this took a third of what createHash did. Older Node (the
// engines field allows 20.11) takes createHash.
const oneShotHash: ((algorithm: string, data: string, encoding: 'base64' | 'base64url') => string) | undefined =
  typeof (crypto as { hash?: unknown }).hash === 'function' ? crypto.hash : undefined;

/** sha256 of `text` (UTF-8) as unpadded base64, standard or URL-safe alphabet. */
function sha256Text(text: string, encoding: 'base64' | 'base64url'): string {
  const digest = oneShotHash ? oneShotHash('sha256', text, encoding) : crypto.createHash('sha256').update(text, 'utf8').digest(encoding);
  // 32 bytes are 43 characters of base64 and one '=' of padding (base64url has none).
  return digest.length > 43 ? digest.slice(0, 43) : digest;
}

/** sha256 of the event without unsigned, signatures and hashes, as unpadded base64. */
export function computeContentHash(event: Record<string, unknown>): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event;
  return sha256Text(canonicalJson(rest), 'base64');
}

export function checkContentHash(event: PDU): boolean {
  return event.hashes?.sha256 === computeContentHash(event);
}

/** The reference hash: sha256 of the redacted event without signatures and unsigned. */
export function computeReferenceHash(event: Record<string, unknown>, version: RoomVersion): Buffer {
  const redacted = redactEvent(event, version);
  const { signatures: _s, unsigned: _u, age_ts: _a, ...rest } = redacted as Record<string, unknown>;
  return sha256(canonicalJson(rest));
}

export function computeEventId(event: Record<string, unknown>, version: RoomVersion): string {
  if (version.eventIdFormat === 'v1') {
    const id = event.event_id;
    if (typeof id !== 'string') throw new Error('room versions 1 and 2 carry event_id in the event');
    return id;
  }
  return eventIdFromReferenceHash(computeReferenceHash(event, version), version);
}

/** The event ID of room versions 3+ from the event's reference hash. */
export function eventIdFromReferenceHash(hash: Buffer, version: RoomVersion): string {
  return '$' + (version.eventIdFormat === 'v3' ? encodeBase64(hash) : encodeBase64Url(hash));
}

/**
 * The event ID of room versions 3+ from the canonical JSON its reference hash is taken of (the
 * redacted event without signatures, unsigned and age_ts).
 */
export function eventIdFromReferenceBytes(canonical: string, version: RoomVersion): string {
  return '$' + sha256Text(canonical, version.eventIdFormat === 'v3' ? 'base64' : 'base64url');
}

/** Room versions with roomIdIsCreateEventHash: the room ID is "!" + the create event's hash. */
export function roomIdFromCreateEvent(createEvent: Record<string, unknown>, version: RoomVersion): string {
  return '!' + encodeBase64Url(computeReferenceHash(createEvent, version));
}
