// Client sends: messages (idempotent per device and transaction ID), state events and
// redactions. Builds a draft and hands it to the room's writer; the auth rules decide.
import { MatrixError } from '../../core/errors.ts';
import { isCanonicalJsonValue } from '../../core/canonical-json.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { requiredPowerLevel, userPowerLevel } from '../../core/auth/power-levels.ts';
import type { RoomWriter } from './room-writer.ts';
import type { EventReader } from './event-reader.ts';
import type { CurrentStateCache } from './current-state.ts';

export interface SendRequester {
  userId: string;
  deviceId: string;
}

/** Hook for state content checks owned by other features (e.g. canonical alias validation). */
export type StateValidator = (roomId: string, sender: string, type: string, stateKey: string, content: Record<string, unknown>) => Promise<void>;
/** Hook for message content checks owned by other features (e.g. relations: relations.ts). */
export type MessageValidator = (roomId: string, sender: string, type: string, content: Record<string, unknown>) => Promise<void>;

export class RoomSender {
  private readonly stateValidators: StateValidator[] = [];
  private readonly messageValidators: MessageValidator[] = [];

  constructor(
    private readonly deps: {
      writer: Pick<RoomWriter, 'send' | 'requireVersion'>;
      rooms: Pick<RoomStore, 'findTxn'>;
      reader: Pick<EventReader, 'getEvent'>;
      currentState: Pick<CurrentStateCache, 'get'>;
    },
  ) {}

  addStateValidator(v: StateValidator): void {
    this.stateValidators.push(v);
  }

  addMessageValidator(v: MessageValidator): void {
    this.messageValidators.push(v);
  }

  /** `originServerTs`: timestamp massaging, for application services only (the route decides). */
  async sendMessage(requester: SendRequester, roomId: string, type: string, content: Record<string, unknown>, txnId: string, opts: { originServerTs?: number } = {}): Promise<string> {
    // No lookup of the transaction ID first: a repeat is rare (a client retrying), and the
    // event's transaction records it in event_txns under a unique key, so a repeat fails
    // there and is answered below with the first event. A lookup on every send cost more
    // than the rest of this method.
    try {
      checkContent(content);
      for (const validate of this.messageValidators) await validate(roomId, requester.userId, type, content);
      const result = await this.deps.writer.send(
        roomId,
        { type, sender: requester.userId, content, origin_server_ts: opts.originServerTs },
        { txn: { userId: requester.userId, deviceId: requester.deviceId, txnId } },
      );
      return result.event.eventId;
    } catch (err) {
      // An earlier or concurrent request with the same transaction ID: answer with its event.
      const raced = await this.deps.rooms.findTxn(requester.userId, requester.deviceId, txnId);
      if (raced) return raced.event_id;
      throw err;
    }
  }

  async sendState(
    requester: SendRequester,
    roomId: string,
    type: string,
    stateKey: string,
    content: Record<string, unknown>,
    opts: { originServerTs?: number } = {},
  ): Promise<string> {
    checkContent(content);
    for (const validate of this.stateValidators) await validate(roomId, requester.userId, type, stateKey, content);
    const result = await this.deps.writer.send(roomId, { type, state_key: stateKey, sender: requester.userId, content, origin_server_ts: opts.originServerTs });
    return result.event.eventId;
  }

  async redact(requester: SendRequester, roomId: string, targetId: string, reason: string | undefined, txnId: string): Promise<string> {
    const previous = await this.deps.rooms.findTxn(requester.userId, requester.deviceId, txnId);
    if (previous) return previous.event_id;
    // The auth rules let a redaction through on domain alone; the spec then requires that,
    // below the "redact" level, users only redact their own events in this room.
    const target = await this.deps.reader.getEvent(targetId);
    if (target && target.roomId !== roomId) throw new MatrixError('M_NOT_FOUND', 'Event not found in this room');
    const version = await this.deps.writer.requireVersion(roomId);
    const state = await this.deps.currentState.get(roomId);
    const mayRedactOthers = userPowerLevel(requester.userId, state, version) >= requiredPowerLevel('redact', state);
    if (!mayRedactOthers && target && target.pdu.sender !== requester.userId) {
      throw new MatrixError('M_FORBIDDEN', 'You may only redact your own events');
    }
    const content: Record<string, unknown> = {};
    if (reason !== undefined) content.reason = reason;
    const result = await this.deps.writer.send(
      roomId,
      { type: 'm.room.redaction', sender: requester.userId, content, redacts: targetId },
      { txn: { userId: requester.userId, deviceId: requester.deviceId, txnId } },
    );
    return result.event.eventId;
  }
}

function checkContent(content: Record<string, unknown>): void {
  if (!isCanonicalJsonValue(content)) {
    throw new MatrixError('M_BAD_JSON', 'Event content must not contain floats or integers outside ±(2^53-1)');
  }
}
