// Relations and threads (client-server "Event relationships" and "Threading"): the children of
// an event, with or without a relation type and event type, and the threads of a room.
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidEventId, isValidRoomId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { RelationsService } from '../../services/rooms/relations.ts';
import { MAX_LIMIT } from '../../services/rooms/room-history.ts';

const RelationParams = Type.Object({
  roomId: Type.String(),
  eventId: Type.String(),
  relType: Type.Optional(Type.String({ minLength: 1 })),
  eventType: Type.Optional(Type.String({ minLength: 1 })),
});
const RelationsQuery = Type.Object(
  {
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    dir: Type.Optional(Type.Union([Type.Literal('b'), Type.Literal('f')])),
    recurse: Type.Optional(Type.Boolean()),
    // Unstable name (MSC3981) still sent by some clients.
    'org.matrix.msc3981.recurse': Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
const ThreadsQuery = Type.Object(
  {
    include: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('participated')])),
    from: Type.Optional(Type.String()),
    // Spec: "an integer greater than zero".
    limit: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: true },
);
const RoomParams = Type.Object({ roomId: Type.String() });

/** Defaults as Synapse's, which clients are tuned to; maxima keep one answer bounded. */
const DEFAULT_RELATIONS_LIMIT = 5;
const DEFAULT_THREADS_LIMIT = 5;
const MAX_THREADS_LIMIT = 100;

export interface RelationRouteDeps {
  relations: RelationsService;
}

export function relationRoutes(r: Router, deps: RelationRouteDeps): void {
  const { relations } = deps;

  // GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}
  // GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}
  // GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}
  for (const path of [
    '/_matrix/client/v1/rooms/:roomId/relations/:eventId',
    '/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType',
    '/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType/:eventType',
  ]) {
    r.route({
      method: 'GET',
      path,
      // Guests read relations of the rooms they may read (as Synapse allows); /threads is not
      // in the spec's guest list.
      auth: 'guest',
      params: RelationParams,
      query: RelationsQuery,
      handler: async ({ params, query, requester }) => {
        const roomId = roomIdOf(params.roomId);
        if (!isValidEventId(params.eventId)) throw new MatrixError('M_NOT_FOUND', 'Event not found');
        return relations.queryRelations(requester, roomId, params.eventId, {
          relType: params.relType,
          eventType: params.eventType,
          from: query.from,
          to: query.to,
          dir: query.dir ?? 'b',
          limit: Math.min(query.limit ?? DEFAULT_RELATIONS_LIMIT, MAX_LIMIT),
          recurse: query.recurse ?? query['org.matrix.msc3981.recurse'],
        });
      },
    });
  }

  // GET /_matrix/client/v1/rooms/{roomId}/threads
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/rooms/:roomId/threads',
    auth: 'user',
    params: RoomParams,
    query: ThreadsQuery,
    handler: async ({ params, query, requester }) =>
      relations.queryThreads(requester, roomIdOf(params.roomId), {
        include: query.include ?? 'all',
        from: query.from,
        limit: Math.min(query.limit ?? DEFAULT_THREADS_LIMIT, MAX_THREADS_LIMIT),
      }),
  });
}

function roomIdOf(roomId: string): string {
  if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
  return roomId;
}
