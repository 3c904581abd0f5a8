// Reading rooms (client-server "Getting events for a room" and "Room history visibility"):
// single events, state, members, /messages, /context and /timestamp_to_event. Guests may use
// the endpoints the guest-access module lists; visibility rules decide the rest.
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidEventId, isValidRoomId } from '../../core/ids.ts';
import type { RoomEventFilter } from '../../core/filter.ts';
import type { Router } from '../router.ts';
import type { RoomReads } from '../../services/rooms/room-reads.ts';
import { parsePositionToken, type RoomHistory } from '../../services/rooms/room-history.ts';

const Membership = Type.Union([Type.Literal('join'), Type.Literal('invite'), Type.Literal('knock'), Type.Literal('leave'), Type.Literal('ban')]);
const Dir = Type.Union([Type.Literal('b'), Type.Literal('f')]);
const RoomParams = Type.Object({ roomId: Type.String() });
const EventParams = Type.Object({ roomId: Type.String(), eventId: Type.String() });
const StateKeyParams = Type.Object({ roomId: Type.String(), eventType: Type.String({ minLength: 1 }), stateKey: Type.Optional(Type.String()) });
const AnyQuery = Type.Object({}, { additionalProperties: true });
const StateQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('content'), Type.Literal('event')])) }, { additionalProperties: true });
const MembersQuery = Type.Object(
  { at: Type.Optional(Type.String()), membership: Type.Optional(Membership), not_membership: Type.Optional(Membership) },
  { additionalProperties: true },
);
const MessagesQuery = Type.Object(
  {
    dir: Dir,
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    filter: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const ContextQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0 })), filter: Type.Optional(Type.String()) }, { additionalProperties: true });
const TimestampQuery = Type.Object({ ts: Type.Integer({ minimum: 0 }), dir: Dir }, { additionalProperties: true });

const DEFAULT_LIMIT = 10;

export interface RoomReadRouteDeps {
  reads: RoomReads;
  history: RoomHistory;
}

export function roomReadRoutes(r: Router, deps: RoomReadRouteDeps): void {
  const { reads, history } = deps;

  // GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/event/:eventId',
    auth: 'guest',
    params: EventParams,
    query: AnyQuery,
    handler: async ({ params, requester }) => {
      if (!isValidEventId(params.eventId)) throw new MatrixError('M_NOT_FOUND', 'Event not found');
      return reads.queryEvent(requester, roomIdOf(params.roomId), params.eventId);
    },
  });

  // GET /_matrix/client/v3/rooms/{roomId}/state
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/state',
    auth: 'guest',
    params: RoomParams,
    query: AnyQuery,
    handler: async ({ params, requester }) => reads.queryState(requester, roomIdOf(params.roomId)),
  });

  // GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}
  // (the state key defaults to "" and then the trailing slash is optional)
  for (const path of ['/_matrix/client/v3/rooms/:roomId/state/:eventType', '/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey']) {
    r.route({
      method: 'GET',
      path,
      auth: 'guest',
      params: StateKeyParams,
      query: StateQuery,
      handler: async ({ params, query, requester }) =>
        reads.queryStateEvent(requester, roomIdOf(params.roomId), params.eventType, params.stateKey ?? '', query.format ?? 'content'),
    });
  }

  // GET /_matrix/client/v3/rooms/{roomId}/members
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/members',
    auth: 'guest',
    params: RoomParams,
    query: MembersQuery,
    handler: async ({ params, query, requester }) => {
      const chunk = await reads.queryMembers(requester, roomIdOf(params.roomId), {
        at: query.at !== undefined ? parsePositionToken(query.at, 'at') : undefined,
        membership: query.membership,
        notMembership: query.not_membership,
      });
      return { chunk };
    },
  });

  // GET /_matrix/client/v3/rooms/{roomId}/joined_members
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/joined_members',
    auth: 'user',
    params: RoomParams,
    query: AnyQuery,
    handler: async ({ params, requester }) => ({ joined: await reads.queryJoinedMembers(requester, roomIdOf(params.roomId)) }),
  });

  // GET /_matrix/client/v3/rooms/{roomId}/messages
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/messages',
    auth: 'guest',
    params: RoomParams,
    query: MessagesQuery,
    handler: async ({ params, query, requester }) => {
      const filter = query.filter !== undefined ? parseRoomEventFilter(query.filter) : undefined;
      return history.queryMessages(requester, roomIdOf(params.roomId), {
        dir: query.dir,
        from: query.from,
        to: query.to,
        limit: query.limit ?? filter?.limit ?? DEFAULT_LIMIT,
        filter,
      });
    },
  });

  // GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/rooms/:roomId/context/:eventId',
    auth: 'guest',
    params: EventParams,
    query: ContextQuery,
    handler: async ({ params, query, requester }) => {
      if (!isValidEventId(params.eventId)) throw new MatrixError('M_NOT_FOUND', 'Event not found');
      const filter = query.filter !== undefined ? parseRoomEventFilter(query.filter) : undefined;
      return history.queryContext(requester, roomIdOf(params.roomId), params.eventId, query.limit ?? DEFAULT_LIMIT, filter);
    },
  });

  // GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/rooms/:roomId/timestamp_to_event',
    auth: 'user',
    params: RoomParams,
    query: TimestampQuery,
    handler: async ({ params, query, requester }) => history.queryTimestampToEvent(requester, roomIdOf(params.roomId), query.ts, query.dir),
  });
}

function roomIdOf(roomId: string): string {
  if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
  return roomId;
}

const STRING_LISTS = ['types', 'not_types', 'senders', 'not_senders', 'rooms', 'not_rooms'] as const;
const BOOLEANS = ['contains_url', 'lazy_load_members', 'include_redundant_members', 'unread_thread_notifications'] as const;

/** The `filter` query parameter: a RoomEventFilter as JSON, checked so matching cannot throw. */
export function parseRoomEventFilter(json: string): RoomEventFilter {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 'filter is not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new MatrixError('M_INVALID_PARAM', 'filter must be a JSON object');
  const f = value as Record<string, unknown>;
  for (const key of STRING_LISTS) {
    const v = f[key];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      throw new MatrixError('M_INVALID_PARAM', `filter.${key} must be a list of strings`);
    }
  }
  for (const key of BOOLEANS) {
    if (f[key] !== undefined && typeof f[key] !== 'boolean') throw new MatrixError('M_INVALID_PARAM', `filter.${key} must be a boolean`);
  }
  if (f.limit !== undefined && !(Number.isInteger(f.limit) && (f.limit as number) >= 0)) {
    throw new MatrixError('M_INVALID_PARAM', 'filter.limit must be a non-negative integer');
  }
  return f as RoomEventFilter;
}
