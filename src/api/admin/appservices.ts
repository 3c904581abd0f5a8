// Foyer admin API for bridges (no Synapse equivalent exists): list with status, one status with a
// live ping, add a registration (takes effect at once, no restart), remove one. Server admins only.
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Router } from '../router.ts';
import type { AppserviceOperations } from '../../services/appservice/operations.ts';
import { RegistrationError } from '../../services/appservice/registration.ts';

const IdParams = Type.Object({ appserviceId: Type.String({ minLength: 1, maxLength: 255 }) });
const PingQuery = Type.Object({ ping: Type.Optional(Type.Boolean()) });

export function adminAppserviceRoutes(r: Router, deps: { operations: AppserviceOperations }): void {
  // GET /_foyer/admin/v1/appservices
  r.route({
    method: 'GET',
    path: '/_foyer/admin/v1/appservices',
    auth: 'admin',
    query: PingQuery,
    handler: async ({ query }) => ({ appservices: await deps.operations.list({ ping: query.ping ?? false }) }),
  });

  // GET /_foyer/admin/v1/appservices/{appserviceId}
  r.route({
    method: 'GET',
    path: '/_foyer/admin/v1/appservices/:appserviceId',
    auth: 'admin',
    params: IdParams,
    query: PingQuery,
    handler: ({ params, query }) => deps.operations.status(params.appserviceId, { ping: query.ping ?? true }),
  });

  // POST /_foyer/admin/v1/appservices
  r.route({
    method: 'POST',
    path: '/_foyer/admin/v1/appservices',
    auth: 'admin',
    body: Type.Object({ registration: Type.String({ minLength: 1, maxLength: 1_000_000 }) }),
    handler: async ({ body }) => {
      try {
        const reg = await deps.operations.add(body.registration);
        return { id: reg.id };
      } catch (err) {
        if (err instanceof RegistrationError) throw new MatrixError('M_INVALID_PARAM', err.message);
        throw err;
      }
    },
  });

  // DELETE /_foyer/admin/v1/appservices/{appserviceId}
  r.route({
    method: 'DELETE',
    path: '/_foyer/admin/v1/appservices/:appserviceId',
    auth: 'admin',
    params: IdParams,
    handler: async ({ params }) => {
      await deps.operations.remove(params.appserviceId);
      return {};
    },
  });
}
