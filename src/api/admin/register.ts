// Shared-secret registration, Synapse's admin endpoint (used by register_new_matrix_user,
// synadm, deployment scripts): GET a nonce, POST the account with an HMAC over it.
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { SharedSecretRegistration } from '../../services/accounts/shared-secret.ts';

export function adminRegisterRoutes(r: Router, deps: { sharedSecret: Pick<SharedSecretRegistration, 'issueNonce' | 'register'> }): void {
  // GET /_synapse/admin/v1/register
  r.route({
    method: 'GET',
    path: '/_synapse/admin/v1/register',
    auth: 'none',
    handler: async () => ({ nonce: await deps.sharedSecret.issueNonce() }),
  });

  // POST /_synapse/admin/v1/register
  r.route({
    method: 'POST',
    path: '/_synapse/admin/v1/register',
    auth: 'none',
    // Fields are checked by the service in Synapse's order (the nonce is spent first).
    body: Type.Object({}),
    handler: ({ body }) => deps.sharedSecret.register(body as Record<string, unknown>),
  });
}
