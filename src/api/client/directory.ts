// Room aliases and the published room directory (client-server "Room aliases", "Listing rooms").
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { AliasService } from '../../services/rooms/aliases.ts';
import type { DirectoryService } from '../../services/rooms/directory.ts';

const AliasParams = Type.Object({ roomAlias: Type.String() });
const RoomIdParams = Type.Object({ roomId: Type.String() });
const ServerQuery = Type.Object({ server: Type.Optional(Type.String()) }, { additionalProperties: true });
const PublicRoomsGetQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    since: Type.Optional(Type.String()),
    server: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const PublicRoomsPostBody = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  since: Type.Optional(Type.String()),
  filter: Type.Optional(
    Type.Object({
      generic_search_term: Type.Optional(Type.String({ maxLength: 1000 })),
      room_types: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Null()]), { maxItems: 100 })),
    }),
  ),
  include_all_networks: Type.Optional(Type.Boolean()),
  third_party_instance_id: Type.Optional(Type.String()),
});

export function directoryRoutes(r: Router, deps: { aliases: AliasService; directory: DirectoryService }): void {
  // PUT /_matrix/client/v3/directory/room/{roomAlias}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/directory/room/:roomAlias',
    auth: 'user',
    params: AliasParams,
    body: Type.Object({ room_id: Type.String() }),
    handler: async ({ params, body, requester }) => {
      await deps.aliases.createAlias(requester, params.roomAlias, body.room_id);
      return {};
    },
  });

  // GET /_matrix/client/v3/directory/room/{roomAlias}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/directory/room/:roomAlias',
    auth: 'optional',
    params: AliasParams,
    handler: async ({ params }) => {
      const { roomId, servers } = await deps.aliases.resolve(params.roomAlias);
      return { room_id: roomId, servers };
    },
  });

  // DELETE /_matrix/client/v3/directory/room/{roomAlias}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/directory/room/:roomAlias',
    auth: 'user',
    params: AliasParams,
    handler: async ({ params, requester }) => {
      await deps.aliases.deleteAlias(requester, params.roomAlias);
      return {};
    },
  });

  // GET /_matrix/client/v3/rooms/{roomId}/aliases
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/aliases',
    auth: 'guest',
    params: RoomIdParams,
    handler: async ({ params, requester }) => ({ aliases: await deps.aliases.localAliases(requester, params.roomId) }),
  });

  // GET /_matrix/client/v3/directory/list/room/{roomId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/directory/list/room/:roomId',
    auth: 'optional',
    params: RoomIdParams,
    handler: async ({ params }) => ({ visibility: await deps.directory.getVisibility(params.roomId) }),
  });

  // PUT /_matrix/client/v3/directory/list/room/{roomId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/directory/list/room/:roomId',
    auth: 'user',
    params: RoomIdParams,
    body: Type.Object({ visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])) }),
    handler: async ({ params, body, requester }) => {
      await deps.directory.setVisibility(requester, params.roomId, body.visibility ?? 'public');
      return {};
    },
  });

  // PUT /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/directory/list/appservice/:networkId/:roomId',
    auth: 'user',
    params: Type.Object({ networkId: Type.String(), roomId: Type.String() }),
    body: Type.Object({ visibility: Type.Union([Type.Literal('public'), Type.Literal('private')]) }),
    handler: async ({ params, body, requester }) => {
      await deps.directory.setAppserviceVisibility(requester, params.networkId, params.roomId, body.visibility);
      return {};
    },
  });

  // GET /_matrix/client/v3/publicRooms
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/publicRooms',
    auth: 'optional',
    query: PublicRoomsGetQuery,
    handler: async ({ query }) => deps.directory.queryPublicRooms({ limit: query.limit, since: query.since, server: query.server }),
  });

  // POST /_matrix/client/v3/publicRooms
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/publicRooms',
    auth: 'guest',
    query: ServerQuery,
    body: PublicRoomsPostBody,
    handler: async ({ query, body }) =>
      deps.directory.queryPublicRooms({
        limit: body.limit,
        since: body.since,
        server: query.server,
        genericSearchTerm: body.filter?.generic_search_term,
        roomTypes: body.filter?.room_types,
        thirdPartyInstanceId: body.third_party_instance_id,
        includeAllNetworks: body.include_all_networks,
      }),
  });
}
