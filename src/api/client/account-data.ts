// Account data, room tags and filters (client-server "Client Config", "Room Tagging", "Filtering").
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomId } from '../../core/ids.ts';
import type { Filter } from '../../core/filter.ts';
import type { Router } from '../router.ts';
import type { AccountDataService } from '../../services/account-data/account-data-service.ts';
import type { AccountDataStore } from '../../storage/stores/account-data.ts';
import type { Requester } from '../../services/auth/authenticator.ts';

const Content = Type.Object({}, { additionalProperties: true });
const TypeParam = Type.String({ minLength: 1, maxLength: 255 });

const EventFilterSchema = {
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  types: Type.Optional(Type.Array(Type.String())),
  not_types: Type.Optional(Type.Array(Type.String())),
  senders: Type.Optional(Type.Array(Type.String())),
  not_senders: Type.Optional(Type.Array(Type.String())),
};
const RoomEventFilterSchema = Type.Object(
  {
    ...EventFilterSchema,
    rooms: Type.Optional(Type.Array(Type.String())),
    not_rooms: Type.Optional(Type.Array(Type.String())),
    contains_url: Type.Optional(Type.Boolean()),
    lazy_load_members: Type.Optional(Type.Boolean()),
    include_redundant_members: Type.Optional(Type.Boolean()),
    unread_thread_notifications: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
export const FilterSchema = Type.Object(
  {
    event_fields: Type.Optional(Type.Array(Type.String())),
    event_format: Type.Optional(Type.Union([Type.Literal('client'), Type.Literal('federation')])),
    presence: Type.Optional(Type.Object(EventFilterSchema, { additionalProperties: true })),
    account_data: Type.Optional(Type.Object(EventFilterSchema, { additionalProperties: true })),
    room: Type.Optional(
      Type.Object(
        {
          rooms: Type.Optional(Type.Array(Type.String())),
          not_rooms: Type.Optional(Type.Array(Type.String())),
          include_leave: Type.Optional(Type.Boolean()),
          timeline: Type.Optional(RoomEventFilterSchema),
          state: Type.Optional(RoomEventFilterSchema),
          ephemeral: Type.Optional(RoomEventFilterSchema),
          account_data: Type.Optional(RoomEventFilterSchema),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

function requireSelf(requester: Requester, userId: string, action: string): void {
  if (requester.userId !== userId) throw new MatrixError('M_FORBIDDEN', `Cannot ${action} for other users`);
}

function requireRoomId(roomId: string): string {
  if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
  return roomId;
}

export function accountDataRoutes(r: Router, deps: { accountData: AccountDataService; store: Pick<AccountDataStore, 'insertFilter' | 'getFilter'> }): void {
  const { accountData } = deps;

  // PUT /_matrix/client/v3/user/{userId}/account_data/{type}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/user/:userId/account_data/:type',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), type: TypeParam }),
    body: Content,
    handler: async ({ params, body, requester }) => {
      requireSelf(requester, params.userId, 'add account data');
      await accountData.setFromClient(requester.userId, '', params.type, body as Record<string, unknown>);
      return {};
    },
  });

  // GET /_matrix/client/v3/user/{userId}/account_data/{type}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/user/:userId/account_data/:type',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), type: TypeParam }),
    handler: async ({ params, requester }) => {
      requireSelf(requester, params.userId, 'get account data');
      const content = await accountData.get(requester.userId, '', params.type);
      if (!content) throw new MatrixError('M_NOT_FOUND', 'Account data not found');
      return content;
    },
  });

  // PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), roomId: Type.String(), type: TypeParam }),
    body: Content,
    handler: async ({ params, body, requester }) => {
      requireSelf(requester, params.userId, 'add account data');
      await accountData.setFromClient(requester.userId, requireRoomId(params.roomId), params.type, body as Record<string, unknown>);
      return {};
    },
  });

  // GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), roomId: Type.String(), type: TypeParam }),
    handler: async ({ params, requester }) => {
      requireSelf(requester, params.userId, 'get account data');
      const content = await accountData.get(requester.userId, requireRoomId(params.roomId), params.type);
      if (!content) throw new MatrixError('M_NOT_FOUND', 'Room account data not found');
      return content;
    },
  });

  // GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/user/:userId/rooms/:roomId/tags',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), roomId: Type.String() }),
    handler: async ({ params, requester }) => {
      requireSelf(requester, params.userId, 'get tags');
      return { tags: await accountData.tags(requester.userId, requireRoomId(params.roomId)) };
    },
  });

  // PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/user/:userId/rooms/:roomId/tags/:tag',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), roomId: Type.String(), tag: Type.String({ minLength: 1, maxLength: 255 }) }),
    body: Type.Object({ order: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })) }, { additionalProperties: true }),
    handler: async ({ params, body, requester }) => {
      requireSelf(requester, params.userId, 'set tags');
      await accountData.setTag(requester.userId, requireRoomId(params.roomId), params.tag, body as Record<string, unknown>);
      return {};
    },
  });

  // DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/user/:userId/rooms/:roomId/tags/:tag',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), roomId: Type.String(), tag: Type.String({ minLength: 1 }) }),
    handler: async ({ params, requester }) => {
      requireSelf(requester, params.userId, 'delete tags');
      await accountData.deleteTag(requester.userId, requireRoomId(params.roomId), params.tag);
      return {};
    },
  });

  // POST /_matrix/client/v3/user/{userId}/filter
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/user/:userId/filter',
    auth: 'guest',
    params: Type.Object({ userId: Type.String() }),
    body: FilterSchema,
    handler: async ({ params, body, requester }) => {
      requireSelf(requester, params.userId, 'create filters');
      const id = await deps.store.insertFilter(requester.userId, JSON.stringify(body));
      return { filter_id: String(id) };
    },
  });

  // GET /_matrix/client/v3/user/{userId}/filter/{filterId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/user/:userId/filter/:filterId',
    auth: 'guest',
    params: Type.Object({ userId: Type.String(), filterId: Type.String() }),
    handler: async ({ params, requester }) => {
      requireSelf(requester, params.userId, 'get filters');
      return loadFilter(deps.store, requester.userId, params.filterId);
    },
  });
}

/** Loads a stored filter of the user (404 M_NOT_FOUND if there is none with that ID). */
export async function loadFilter(store: Pick<AccountDataStore, 'getFilter'>, userId: string, filterId: string): Promise<Filter> {
  if (!/^\d{1,15}$/.test(filterId)) throw new MatrixError('M_NOT_FOUND', 'No such filter');
  const json = await store.getFilter(userId, Number(filterId));
  if (json === undefined) throw new MatrixError('M_NOT_FOUND', 'No such filter');
  return JSON.parse(json) as Filter;
}
