// Typing, receipts and read markers (client-server "Typing Notifications", "Receipts",
// "Fully read markers").
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidEventId, isValidRoomId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { TypingService } from '../../services/ephemeral/typing.ts';
import type { ReceiptService } from '../../services/ephemeral/receipts.ts';
import type { CurrentStateCache } from '../../services/rooms/current-state.ts';
import { membershipOf } from '../../services/rooms/current-state.ts';

function requireRoomId(roomId: string): string {
  if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
  return roomId;
}

function requireEventId(eventId: string): string {
  if (!isValidEventId(eventId)) throw new MatrixError('M_INVALID_PARAM', `${eventId} is not an event ID`);
  return eventId;
}

export function ephemeralRoutes(r: Router, deps: { typing: TypingService; receipts: ReceiptService; currentState: Pick<CurrentStateCache, 'get'> }): void {
  // PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/rooms/:roomId/typing/:userId',
    auth: 'guest',
    params: Type.Object({ roomId: Type.String(), userId: Type.String() }),
    body: Type.Object({ typing: Type.Boolean(), timeout: Type.Optional(Type.Integer({ minimum: 0 })) }),
    handler: async ({ params, body, requester }) => {
      if (params.userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'Cannot set typing for other users');
      const roomId = requireRoomId(params.roomId);
      const state = await deps.currentState.get(roomId);
      if (membershipOf(state, requester.userId) !== 'join') throw new MatrixError('M_FORBIDDEN', 'You are not in this room');
      deps.typing.setTyping(roomId, requester.userId, body.typing, body.timeout);
      return {};
    },
  });

  // POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/receipt/:receiptType/:eventId',
    auth: 'guest',
    params: Type.Object({ roomId: Type.String(), receiptType: Type.String(), eventId: Type.String() }),
    body: Type.Object({ thread_id: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: true }),
    handler: async ({ params, body, requester }) => {
      const type = params.receiptType;
      if (type !== 'm.read' && type !== 'm.read.private' && type !== 'm.fully_read') {
        throw new MatrixError('M_INVALID_PARAM', `Unknown receipt type ${type}`);
      }
      await deps.receipts.setReceipt(requester.userId, requireRoomId(params.roomId), type, requireEventId(params.eventId), body.thread_id);
      return {};
    },
  });

  // POST /_matrix/client/v3/rooms/{roomId}/read_markers
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/read_markers',
    auth: 'guest',
    params: Type.Object({ roomId: Type.String() }),
    body: Type.Object(
      {
        'm.fully_read': Type.Optional(Type.String()),
        'm.read': Type.Optional(Type.String()),
        'm.read.private': Type.Optional(Type.String()),
      },
      { additionalProperties: true },
    ),
    handler: async ({ params, body, requester }) => {
      const roomId = requireRoomId(params.roomId);
      // Checked here too, not only by each receipt: a body with no marker must not answer 200
      // to someone outside the room.
      if (membershipOf(await deps.currentState.get(roomId), requester.userId) !== 'join') throw new MatrixError('M_FORBIDDEN', 'You are not in this room');
      for (const type of ['m.read', 'm.read.private', 'm.fully_read'] as const) {
        const eventId = body[type];
        if (eventId !== undefined) await deps.receipts.setReceipt(requester.userId, roomId, type, requireEventId(eventId));
      }
      return {};
    },
  });
}
