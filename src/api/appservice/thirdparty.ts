// Third-party networks (client-server "Application Services" → "Third-party networks"): the
// client endpoints, answered by the application services that declare the protocol.
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Router } from '../router.ts';
import type { AppserviceQueries } from '../../services/appservice/queries.ts';

const ProtocolParams = Type.Object({ protocol: Type.String({ minLength: 1, maxLength: 255 }) });
/** Protocol-specific search fields: any string-valued query parameters. */
const Fields = Type.Record(Type.String(), Type.String());

function fieldsOf(query: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (k === 'access_token') continue;
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
  }
  return out;
}

export function thirdPartyRoutes(r: Router, deps: { queries: Pick<AppserviceQueries, 'protocols' | 'protocolInfo' | 'lookupByProtocol' | 'reverseLookup'> }): void {
  // GET /_matrix/client/v3/thirdparty/protocols
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/thirdparty/protocols',
    auth: 'user',
    handler: () => deps.queries.protocols(),
  });

  // GET /_matrix/client/v3/thirdparty/protocol/{protocol}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/thirdparty/protocol/:protocol',
    auth: 'user',
    params: ProtocolParams,
    handler: async ({ params }) => {
      const info = await deps.queries.protocolInfo(params.protocol);
      if (!info) throw new MatrixError('M_NOT_FOUND', 'The protocol is unknown');
      return info;
    },
  });

  for (const kind of ['location', 'user'] as const) {
    // GET /_matrix/client/v3/thirdparty/location/{protocol}
    // GET /_matrix/client/v3/thirdparty/user/{protocol}
    r.route({
      method: 'GET',
      path: `/_matrix/client/v3/thirdparty/${kind}/:protocol`,
      auth: 'user',
      params: ProtocolParams,
      query: Fields,
      handler: ({ params, query }) => deps.queries.lookupByProtocol(kind, params.protocol, fieldsOf(query)),
    });
  }

  // GET /_matrix/client/v3/thirdparty/location
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/thirdparty/location',
    auth: 'user',
    query: Type.Object({ alias: Type.String({ minLength: 1 }) }),
    handler: ({ query }) => deps.queries.reverseLookup('location', { alias: query.alias }),
  });

  // GET /_matrix/client/v3/thirdparty/user
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/thirdparty/user',
    auth: 'user',
    query: Type.Object({ userid: Type.String({ minLength: 1 }) }),
    handler: ({ query }) => deps.queries.reverseLookup('user', { userid: query.userid }),
  });
}
