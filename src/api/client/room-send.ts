// Sending events: messages with per-device transaction idempotency, state events, redactions
// (client-server "Rooms" → "Sending events to a room", "Redactions").
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidEventId, isValidRoomId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { RoomSender } from '../../services/rooms/send.ts';

const Content = Type.Object({}, { additionalProperties: true });
const SendParams = Type.Object({ roomId: Type.String(), eventType: Type.String({ minLength: 1, maxLength: 255 }), txnId: Type.String({ minLength: 1, maxLength: 255 }) });
const StateParams = Type.Object({ roomId: Type.String(), eventType: Type.String({ minLength: 1, maxLength: 255 }), stateKey: Type.Optional(Type.String({ maxLength: 255 })) });
const RedactParams = Type.Object({ roomId: Type.String(), eventId: Type.String(), txnId: Type.String({ minLength: 1, maxLength: 255 }) });
const TsQuery = Type.Object({ ts: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: true });

/** Timestamp massaging: only application services may set origin_server_ts (`ts`). */
const massagedTs = (requester: { viaAppservice?: unknown }, ts: number | undefined) => (requester.viaAppservice ? ts : undefined);

export function roomSendRoutes(r: Router, deps: { sender: RoomSender }): void {
  const roomIdOf = (roomId: string) => {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    return roomId;
  };

  // PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId',
    auth: 'guest',
    params: SendParams,
    query: TsQuery,
    body: Content,
    rateLimit: 'message',
    handler: async ({ params, body, query, requester }) => {
      const eventId = await deps.sender.sendMessage(requester, roomIdOf(params.roomId), params.eventType, body as Record<string, unknown>, params.txnId, {
        originServerTs: massagedTs(requester, query.ts),
      });
      return { event_id: eventId };
    },
  });

  // PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}
  const putState = (path: string) =>
    r.route({
      method: 'PUT',
      path,
      auth: 'user',
      params: StateParams,
      query: TsQuery,
      body: Content,
      rateLimit: 'message',
      handler: async ({ params, body, query, requester }) => {
        const eventId = await deps.sender.sendState(requester, roomIdOf(params.roomId), params.eventType, params.stateKey ?? '', body as Record<string, unknown>, {
          originServerTs: massagedTs(requester, query.ts),
        });
        return { event_id: eventId };
      },
    });
  putState('/_matrix/client/v3/rooms/:roomId/state/:eventType');
  putState('/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey');

  // PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/rooms/:roomId/redact/:eventId/:txnId',
    auth: 'user',
    params: RedactParams,
    body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: true }),
    rateLimit: 'message',
    handler: async ({ params, body, requester }) => {
      if (!isValidEventId(params.eventId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid event ID');
      const eventId = await deps.sender.redact(requester, roomIdOf(params.roomId), params.eventId, body.reason, params.txnId);
      return { event_id: eventId };
    },
  });
}
