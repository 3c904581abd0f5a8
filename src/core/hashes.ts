// Content hashes, reference hashes and event IDs (spec "Server-Server API" → "Signing events"
// and room versions 3/4 "Event IDs").
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { encodeBase64, encodeBase64Url } from './base64.ts';
import { redactEvent } from './redaction.ts';
import type { RoomVersion } from './room-versions.ts';
import type { PDU } from './pdu.ts';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** sha256 of the event without unsigned, signatures and hashes, as unpadded base64. */
export function computeContentHash(event: Record<string, unknown>): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event;
  return encodeBase64(sha256(canonicalJson(rest)));
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

/** Room versions with roomIdIsCreateEventHash: the room ID is "!" + the create event's hash. */
export function roomIdFromCreateEvent(createEvent: Record<string, unknown>, version: RoomVersion): string {
  return '!' + encodeBase64Url(computeReferenceHash(createEvent, version));
}
