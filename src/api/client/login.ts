// Login and token refresh (spec "Login", "Refreshing access tokens").
import Type from 'typebox';
import type { Router } from '../router.ts';
import { accessTokenOf } from '../router.ts';
import type { LoginService } from '../../services/accounts/login.ts';
import type { SessionService } from '../../services/accounts/tokens.ts';

export interface LoginRouteDeps {
  login: Pick<LoginService, 'flows' | 'login'>;
  sessions: Pick<SessionService, 'refresh'>;
}

const Identifier = Type.Object({ type: Type.String() });

const LoginBody = Type.Object({
  type: Type.String(),
  identifier: Type.Optional(Identifier),
  /** Deprecated top-level forms (r0 clients). */
  user: Type.Optional(Type.String()),
  medium: Type.Optional(Type.String()),
  address: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  token: Type.Optional(Type.String()),
  device_id: Type.Optional(Type.String()),
  initial_device_display_name: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.Boolean()),
});

export function loginRoutes(r: Router, deps: LoginRouteDeps): void {
  // GET /_matrix/client/v3/login
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/login',
    auth: 'none',
    handler: () => ({ flows: deps.login.flows() }),
  });

  // POST /_matrix/client/v3/login
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/login',
    auth: 'none',
    rateLimit: 'login',
    body: LoginBody,
    handler: ({ body, req }) => deps.login.login(body as Record<string, unknown>, { accessToken: accessTokenOf(req) }),
  });

  // POST /_matrix/client/v3/refresh
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/refresh',
    auth: 'none',
    body: Type.Object({ refresh_token: Type.String() }),
    handler: ({ body }) => deps.sessions.refresh(body.refresh_token),
  });
}
