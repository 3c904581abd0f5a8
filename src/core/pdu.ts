// The persistent data unit (PDU): the full federation form of a room event, for room
// versions 3 and later (event ID = reference hash, not a field of the event).

export interface PDU {
  /** Absent only on m.room.create in room versions whose room ID is the create event's hash. */
  room_id?: string;
  sender: string;
  origin_server_ts: number;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  prev_events: string[];
  auth_events: string[];
  depth: number;
  hashes: { sha256: string };
  signatures: Record<string, Record<string, string>>;
  unsigned?: Record<string, unknown>;
  /** Top-level in room versions before 11; inside content from v11. */
  redacts?: string;
  [legacy: string]: unknown;
}

/** The largest a PDU may be, as JSON in UTF-8 (spec "Size limits"). */
export const MAX_PDU_BYTES = 65_536;

/** A PDU together with the facts derived from it that every consumer needs. */
export interface RoomEvent {
  eventId: string;
  roomId: string;
  pdu: PDU;
}

/** Key of a (type, state_key) pair in maps of room state. */
export function stateKeyOf(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

export function splitStateKey(key: string): [type: string, stateKey: string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}

export function isStateEvent(pdu: PDU): boolean {
  return typeof pdu.state_key === 'string';
}

/** The event a redaction targets, wherever this room version puts it. */
export function redactsOf(pdu: PDU): string | undefined {
  const inContent = pdu.content?.redacts;
  if (typeof inContent === 'string') return inContent;
  return typeof pdu.redacts === 'string' ? pdu.redacts : undefined;
}
