// Account endpoints (spec "Account management", "Current account information"): whoami,
// password change and deactivation (both with user-interactive auth).
import Type from 'typebox';
import { AuthDict } from './auth-dict.ts';
import type { Router } from '../router.ts';
import type { AccountService } from '../../services/accounts/account.ts';


export function accountRoutes(r: Router, deps: { accounts: Pick<AccountService, 'changePassword' | 'deactivate'> }): void {
  // GET /_matrix/client/v3/account/whoami
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/account/whoami',
    auth: 'guest',
    handler: ({ requester }) => ({ user_id: requester.userId, device_id: requester.deviceId, is_guest: requester.isGuest }),
  });

  // POST /_matrix/client/v3/account/password
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/account/password',
    auth: 'user',
    body: Type.Object({ new_password: Type.String(), logout_devices: Type.Optional(Type.Boolean()), auth: Type.Optional(AuthDict) }),
    handler: async ({ body, requester }) => {
      await deps.accounts.changePassword(requester, body as Record<string, unknown>);
      return {};
    },
  });

  // POST /_matrix/client/v3/account/deactivate
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/account/deactivate',
    auth: 'user',
    body: Type.Object({ auth: Type.Optional(AuthDict), id_server: Type.Optional(Type.String()), erase: Type.Optional(Type.Boolean()) }),
    handler: ({ body, requester }) => deps.accounts.deactivate(requester, body as Record<string, unknown>),
  });
}
