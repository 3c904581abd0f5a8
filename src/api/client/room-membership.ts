// Room creation and membership endpoints (client-server "Rooms" → "Creation", "Room membership").
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomAlias, isValidRoomId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { RoomCreator, CreateRoomRequest } from '../../services/rooms/create-room.ts';
import type { MembershipService, MembershipAction } from '../../services/rooms/membership.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';

const RoomIdParams = Type.Object({ roomId: Type.String() });
const StateEvent = Type.Object({
  type: Type.String({ minLength: 1 }),
  state_key: Type.Optional(Type.String()),
  content: Type.Object({}, { additionalProperties: true }),
});

const CreateRoomBody = Type.Object({
  visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
  room_alias_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  name: Type.Optional(Type.String({ maxLength: 255 })),
  topic: Type.Optional(Type.String({ maxLength: 4096 })),
  invite: Type.Optional(Type.Array(Type.String(), { maxItems: 500 })),
  invite_3pid: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  room_version: Type.Optional(Type.String()),
  creation_content: Type.Optional(Type.Object({}, { additionalProperties: true })),
  initial_state: Type.Optional(Type.Array(StateEvent, { maxItems: 100 })),
  preset: Type.Optional(Type.Union([Type.Literal('private_chat'), Type.Literal('public_chat'), Type.Literal('trusted_private_chat')])),
  is_direct: Type.Optional(Type.Boolean()),
  power_level_content_override: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

const ReasonBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: true });
const TargetBody = Type.Object({ user_id: Type.String(), reason: Type.Optional(Type.String({ maxLength: 1024 })) });

export interface RoomMembershipRouteDeps {
  creator: RoomCreator;
  membership: MembershipService;
  rooms: Pick<RoomStore, 'roomsOfUser'>;
  forget(userId: string, roomId: string): Promise<void>;
  /** Resolves a room alias to a room ID (M_NOT_FOUND if unknown). */
  resolveAlias?(alias: string): Promise<string>;
}

export function roomMembershipRoutes(r: Router, deps: RoomMembershipRouteDeps): void {
  const roomIdFrom = async (idOrAlias: string): Promise<string> => {
    if (isValidRoomId(idOrAlias)) return idOrAlias;
    if (isValidRoomAlias(idOrAlias)) {
      if (!deps.resolveAlias) throw new MatrixError('M_NOT_FOUND', 'Room alias not found');
      return deps.resolveAlias(idOrAlias);
    }
    throw new MatrixError('M_INVALID_PARAM', `${idOrAlias} is not a room ID or alias`);
  };
  const requireRoomId = (roomId: string): string => {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    return roomId;
  };

  // POST /_matrix/client/v3/createRoom
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/createRoom',
    auth: 'user',
    body: CreateRoomBody,
    handler: async ({ body, requester }) => {
      const { roomId, alias } = await deps.creator.create(requester.userId, body as CreateRoomRequest);
      return alias ? { room_id: roomId, room_alias: alias } : { room_id: roomId };
    },
  });

  // GET /_matrix/client/v3/joined_rooms
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/joined_rooms',
    auth: 'guest',
    handler: async ({ requester }) => ({
      joined_rooms: (await deps.rooms.roomsOfUser(requester.userId, ['join'])).map((r) => r.room_id),
    }),
  });

  const selfAction = (action: 'join' | 'knock', path: string) =>
    // POST /_matrix/client/v3/join/{roomIdOrAlias}, POST /_matrix/client/v3/knock/{roomIdOrAlias}
    r.route({
      method: 'POST',
      path,
      auth: 'user',
      params: Type.Object({ roomIdOrAlias: Type.String() }),
      body: ReasonBody,
      handler: async ({ params, body, requester }) => {
        const roomId = await roomIdFrom(params.roomIdOrAlias);
        await deps.membership.perform(action, roomId, requester.userId, { reason: body.reason });
        return { room_id: roomId };
      },
    });
  selfAction('join', '/_matrix/client/v3/join/:roomIdOrAlias');
  selfAction('knock', '/_matrix/client/v3/knock/:roomIdOrAlias');

  // POST /_matrix/client/v3/rooms/{roomId}/join
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/join',
    auth: 'user',
    params: RoomIdParams,
    body: ReasonBody,
    handler: async ({ params, body, requester }) => {
      const roomId = requireRoomId(params.roomId);
      await deps.membership.perform('join', roomId, requester.userId, { reason: body.reason });
      return { room_id: roomId };
    },
  });

  // POST /_matrix/client/v3/rooms/{roomId}/leave
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/leave',
    auth: 'guest',
    params: RoomIdParams,
    body: ReasonBody,
    handler: async ({ params, body, requester }) => {
      await deps.membership.perform('leave', requireRoomId(params.roomId), requester.userId, { reason: body.reason });
      return {};
    },
  });

  // POST /_matrix/client/v3/rooms/{roomId}/invite|kick|ban|unban
  for (const action of ['invite', 'kick', 'ban', 'unban'] as const satisfies readonly MembershipAction[]) {
    r.route({
      method: 'POST',
      path: `/_matrix/client/v3/rooms/:roomId/${action}`,
      auth: 'user',
      params: RoomIdParams,
      body: TargetBody,
      handler: async ({ params, body, requester }) => {
        await deps.membership.perform(action, requireRoomId(params.roomId), requester.userId, { target: body.user_id, reason: body.reason });
        return {};
      },
    });
  }

  // POST /_matrix/client/v3/rooms/{roomId}/forget
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/forget',
    auth: 'guest',
    params: RoomIdParams,
    handler: async ({ params, requester }) => {
      await deps.forget(requester.userId, requireRoomId(params.roomId));
      return {};
    },
  });
}
