// The state a /createRoom request implies, checked whole before anything is written. The room's
// events are written one after another (each through the persist pipeline), so a step that
// failed half-way — power levels the auth rules refuse, an initial_state event too large, an
// invite to a user who does not exist — used to leave a room behind that the client was told
// had not been made. Here every event the request implies is run through the same auth rules
// (core/auth) against the state the events before it make, in memory, with a stand-in PDU at
// least as large as the real one will be; invitees are looked up. Only then is the room written.
// The spec's answer for state the rules refuse is 400 M_INVALID_ROOM_STATE.
import { MatrixError } from '../../core/errors.ts';
import { AuthError, checkAuth, roomIdForCreateEventId } from '../../core/auth/check-auth.ts';
import { isStateEvent, MAX_PDU_BYTES, stateKeyOf, type PDU, type RoomEvent } from '../../core/pdu.ts';
import type { RoomVersion } from '../../core/room-versions.ts';

/** An event the request implies, in the order it will be sent. */
export interface PlannedEvent {
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
}

// Stand-ins as long as the real values can be: event IDs are "$" + 43 characters of unpadded
// base64, the content hash 43, an ed25519 signature 86; a state event cites at most five auth
// events (create, power levels, join rules, the sender's and the target's membership).
const STAND_IN_ID = '$' + 'x'.repeat(43);
const STAND_IN_AUTH_EVENTS = Array.from({ length: 5 }, () => STAND_IN_ID);
const STAND_IN_HASH = 'x'.repeat(43);
const STAND_IN_SIGNATURE = 'x'.repeat(86);
const STAND_IN_KEY_ID = 'ed25519:' + 'x'.repeat(24);
const STAND_IN_DEPTH = 9_999_999;

/**
 * Throws what writing the room would have failed with — M_INVALID_ROOM_STATE for an event the
 * auth rules refuse, M_TOO_LARGE for one over the size limit — without writing anything.
 */
export function checkCreationPlan(version: RoomVersion, creator: string, serverName: string, create: Record<string, unknown>, events: readonly PlannedEvent[]): void {
  const createId = '$plan-create';
  const roomId = version.roomIdIsCreateEventHash ? roomIdForCreateEventId(createId) : `!plan:${serverName}`;
  // The auth rules read prev_events (the creator's join must follow the create event alone), so
  // the PDU names the plan's own IDs; its size is measured with stand-in IDs of full length.
  const pduOf = (e: PlannedEvent, prevEvent: string): PDU => ({
    auth_events: STAND_IN_AUTH_EVENTS,
    content: e.content,
    depth: STAND_IN_DEPTH,
    hashes: { sha256: STAND_IN_HASH },
    origin_server_ts: Date.now(),
    prev_events: [prevEvent],
    room_id: roomId,
    sender: creator,
    signatures: { [serverName]: { [STAND_IN_KEY_ID]: STAND_IN_SIGNATURE } },
    ...(e.state_key !== undefined ? { state_key: e.state_key } : {}),
    type: e.type,
  });
  const state = new Map<string, RoomEvent>();
  const createPdu = { ...pduOf({ type: 'm.room.create', state_key: '', content: create }, STAND_IN_ID), prev_events: [] };
  state.set(stateKeyOf('m.room.create', ''), { eventId: createId, roomId, pdu: createPdu });
  let previous = createId;
  let n = 0;
  for (const planned of events) {
    const pdu = pduOf(planned, previous);
    if (Buffer.byteLength(JSON.stringify({ ...pdu, prev_events: [STAND_IN_ID] }), 'utf8') > MAX_PDU_BYTES) {
      throw new MatrixError('M_TOO_LARGE', `The ${planned.type} event would be larger than ${MAX_PDU_BYTES} bytes`);
    }
    const event: RoomEvent = { eventId: `$plan-${++n}`, roomId, pdu };
    previous = event.eventId;
    try {
      checkAuth(event, state, version);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      throw new MatrixError('M_INVALID_ROOM_STATE', `The ${planned.type} event ${planned.state_key ? `for ${planned.state_key} ` : ''}would not be allowed: ${err.message}`);
    }
    if (isStateEvent(pdu)) state.set(stateKeyOf(pdu.type, pdu.state_key!), event);
  }
}
