// Turns stored PDUs into the client-server event format: the fields clients see, plus the
// unsigned block (age, transaction_id for the sender's own device, prev_content,
// redacted_because). Redacted events are served redacted.
import { redactEvent } from '../../core/redaction.ts';
import { roomVersion } from '../../core/room-versions.ts';
import { redactsOf } from '../../core/pdu.ts';
import type { StoredEvent } from './event-reader.ts';

export interface ClientEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  room_id?: string;
  state_key?: string;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface SerializeOptions {
  /** Omit room_id (sync timelines). */
  omitRoomId?: boolean;
  /** The requesting device, to add transaction_id to its own sends. */
  requester?: { userId: string; deviceId: string };
  /** Redaction events and replaced state events, looked up by the caller in one batch. */
  related?: ReadonlyMap<string, StoredEvent>;
  roomVersionId?: string;
  now?: number;
}

export function toClientEvent(ev: StoredEvent, opts: SerializeOptions = {}): ClientEvent {
  const pdu = ev.pdu;
  const version = roomVersion(opts.roomVersionId ?? '10')!;
  let content = pdu.content;
  const unsigned: Record<string, unknown> = {};
  if (ev.redactedBy) {
    content = (redactEvent(pdu as unknown as Record<string, unknown>, version) as { content: Record<string, unknown> }).content;
    const because = opts.related?.get(ev.redactedBy);
    if (because) unsigned.redacted_because = toClientEvent(because, { ...opts, related: undefined });
  }
  const out: ClientEvent = {
    event_id: ev.eventId,
    type: pdu.type,
    sender: pdu.sender,
    origin_server_ts: pdu.origin_server_ts,
    content,
  };
  if (!opts.omitRoomId) out.room_id = ev.roomId;
  if (pdu.state_key !== undefined) out.state_key = pdu.state_key;
  if (pdu.type === 'm.room.redaction') {
    const target = redactsOf(pdu);
    if (target) out.redacts = target;
  }
  unsigned.age = Math.max(0, (opts.now ?? Date.now()) - pdu.origin_server_ts);
  const replaces = pdu.unsigned?.replaces_state;
  if (typeof replaces === 'string') {
    unsigned.replaces_state = replaces;
    const prev = opts.related?.get(replaces);
    if (prev) {
      unsigned.prev_content = prev.redactedBy ? {} : prev.pdu.content;
      unsigned.prev_sender = prev.pdu.sender;
    }
  }
  if (pdu.type === 'm.room.member' && pdu.unsigned?.invite_room_state) unsigned.invite_room_state = pdu.unsigned.invite_room_state;
  if (ev.txn && opts.requester && opts.requester.userId === pdu.sender && opts.requester.deviceId === ev.txn.deviceId) {
    unsigned.transaction_id = ev.txn.txnId;
  }
  out.unsigned = unsigned;
  return out;
}

/** IDs of events that serializing `events` needs in `related` (redactions, replaced state). */
export function relatedIdsOf(events: Iterable<StoredEvent>): string[] {
  const ids = new Set<string>();
  for (const ev of events) {
    if (ev.redactedBy) ids.add(ev.redactedBy);
    const replaces = ev.pdu.unsigned?.replaces_state;
    if (typeof replaces === 'string') ids.add(replaces);
  }
  return [...ids];
}
