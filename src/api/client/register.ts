// Registration endpoints (spec "Account registration"): POST /register with user-interactive
// auth, GET /register/available, and the registration-token validity check.
import Type from 'typebox';
import { AuthDict } from './auth-dict.ts';
import type { Router } from '../router.ts';
import { accessTokenOf } from '../router.ts';
import type { RegistrationService } from '../../services/accounts/registration.ts';
import type { RegistrationTokenStore } from '../../storage/stores/registration-tokens.ts';
import { REGISTRATION_TOKEN_PATTERN } from '../../services/accounts/stages.ts';

export interface RegisterRouteDeps {
  registration: Pick<RegistrationService, 'register' | 'checkAvailable' | 'assertOpen'>;
  registrationTokens: Pick<RegistrationTokenStore, 'get'>;
  /** `type: m.login.application_service`: an appservice registers a user of its namespace (as_token auth). */
  appserviceRegister?: (asToken: string | undefined, body: Record<string, unknown>) => Promise<unknown>;
  now?: () => number;
}


const RegisterBody = Type.Object({
  /** Only m.login.application_service (appservices registering their users). */
  type: Type.Optional(Type.String()),
  auth: Type.Optional(AuthDict),
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  device_id: Type.Optional(Type.String()),
  initial_device_display_name: Type.Optional(Type.String()),
  inhibit_login: Type.Optional(Type.Boolean()),
  refresh_token: Type.Optional(Type.Boolean()),
});

export function registerRoutes(r: Router, deps: RegisterRouteDeps): void {
  const now = deps.now ?? Date.now;

  // POST /_matrix/client/v3/register
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/register',
    auth: 'none',
    body: RegisterBody,
    query: Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('guest')])) }),
    handler: ({ body, query, req }) => {
      if (body.type === 'm.login.application_service' && deps.appserviceRegister) {
        return deps.appserviceRegister(accessTokenOf(req), body as Record<string, unknown>);
      }
      return deps.registration.register({ kind: query.kind ?? 'user', body: body as Record<string, unknown>, ip: req.ip });
    },
  });

  // GET /_matrix/client/v3/register/available
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/register/available',
    auth: 'none',
    query: Type.Object({ username: Type.String() }),
    handler: async ({ query }) => {
      // Closed servers do not answer who exists (as Synapse).
      deps.registration.assertOpen();
      await deps.registration.checkAvailable(query.username);
      return { available: true };
    },
  });

  // GET /_matrix/client/v1/register/m.login.registration_token/validity
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/register/m.login.registration_token/validity',
    auth: 'none',
    rateLimit: 'registration',
    query: Type.Object({ token: Type.String() }),
    handler: async ({ query }) => {
      deps.registration.assertOpen();
      // A token outside the spec's grammar can never have been issued: simply not valid.
      const row = REGISTRATION_TOKEN_PATTERN.test(query.token) ? await deps.registrationTokens.get(query.token) : undefined;
      const valid =
        !!row &&
        (row.expiry_time === null || Number(row.expiry_time) > now()) &&
        (row.uses_allowed === null || row.pending + row.completed < row.uses_allowed);
      return { valid };
    },
  });
}
