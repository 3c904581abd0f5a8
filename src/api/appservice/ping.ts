// Client-server endpoints for application services: POST /appservice/{appserviceId}/ping
// (spec "Application Service API" → "Pinging", MSC2659).
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Router } from '../router.ts';
import type { AppserviceQueries } from '../../services/appservice/queries.ts';
import type { AppserviceRegistration } from '../../services/appservice/registration.ts';

export interface PingRouteDeps {
  queries: Pick<AppserviceQueries, 'ping'>;
  registration(id: string): AppserviceRegistration | undefined;
}

export function appservicePingRoutes(r: Router, deps: PingRouteDeps): void {
  // POST /_matrix/client/v1/appservice/{appserviceId}/ping
  r.route({
    method: 'POST',
    path: '/_matrix/client/v1/appservice/:appserviceId/ping',
    auth: 'user',
    params: Type.Object({ appserviceId: Type.String() }),
    body: Type.Object({ transaction_id: Type.Optional(Type.String({ maxLength: 255 })) }),
    handler: async ({ params, body, requester }) => {
      // Only the appservice itself, with its own as_token, may ping through us.
      if (requester.viaAppservice?.id !== params.appserviceId) {
        throw new MatrixError('M_FORBIDDEN', 'Provided access token is not the as_token of this application service');
      }
      const reg = deps.registration(params.appserviceId);
      if (!reg) throw new MatrixError('M_FORBIDDEN', 'Unknown application service');
      return { duration_ms: await deps.queries.ping(reg, body.transaction_id) };
    },
  });
}
