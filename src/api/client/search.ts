// Server-side search (client-server "Server Side Search"): the room_events category.
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { RoomEventsCriteria, RoomEventSearch } from '../../services/search/room-event-search.ts';

const StringList = Type.Array(Type.String(), { maxItems: 1000 });
const RoomEventFilter = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  types: Type.Optional(StringList),
  not_types: Type.Optional(StringList),
  senders: Type.Optional(StringList),
  not_senders: Type.Optional(StringList),
  rooms: Type.Optional(StringList),
  not_rooms: Type.Optional(StringList),
  contains_url: Type.Optional(Type.Boolean()),
  lazy_load_members: Type.Optional(Type.Boolean()),
  include_redundant_members: Type.Optional(Type.Boolean()),
  unread_thread_notifications: Type.Optional(Type.Boolean()),
});
const RoomEventsCriteriaSchema = Type.Object({
  search_term: Type.String({ maxLength: 1000 }),
  keys: Type.Optional(Type.Array(Type.Union([Type.Literal('content.body'), Type.Literal('content.name'), Type.Literal('content.topic')]), { maxItems: 3 })),
  filter: Type.Optional(RoomEventFilter),
  order_by: Type.Optional(Type.Union([Type.Literal('rank'), Type.Literal('recent')])),
  event_context: Type.Optional(
    Type.Object({
      before_limit: Type.Optional(Type.Integer({ minimum: 0 })),
      after_limit: Type.Optional(Type.Integer({ minimum: 0 })),
      include_profile: Type.Optional(Type.Boolean()),
    }),
  ),
  include_state: Type.Optional(Type.Boolean()),
  groupings: Type.Optional(
    Type.Object({
      group_by: Type.Optional(Type.Array(Type.Object({ key: Type.Optional(Type.Union([Type.Literal('room_id'), Type.Literal('sender')])) }), { maxItems: 2 })),
    }),
  ),
});
const SearchBody = Type.Object({
  search_categories: Type.Object({ room_events: Type.Optional(RoomEventsCriteriaSchema) }),
});
const SearchQuery = Type.Object({ next_batch: Type.Optional(Type.String()) }, { additionalProperties: true });

export function searchRoutes(r: Router, deps: { search: RoomEventSearch }): void {
  // POST /_matrix/client/v3/search
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/search',
    auth: 'user',
    body: SearchBody,
    query: SearchQuery,
    handler: async ({ body, query, requester }) => {
      const criteria = body.search_categories.room_events as RoomEventsCriteria | undefined;
      // room_events is the only category the spec defines; others are ignored.
      if (!criteria) return { search_categories: {} };
      return { search_categories: { room_events: await deps.search.searchRoomEvents(requester, criteria, query.next_batch) } };
    },
  });
}
