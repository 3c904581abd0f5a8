// GET /.well-known/matrix/client and /.well-known/matrix/server (spec "Server Discovery").
import { MatrixError } from '../core/errors.ts';
import type { Router } from './router.ts';

export function wellKnownRoutes(r: Router, deps: { clientBaseUrl?: string; server?: string }): void {
  // GET /.well-known/matrix/client
  r.route({
    method: 'GET',
    path: '/.well-known/matrix/client',
    auth: 'none',
    handler: () => {
      if (!deps.clientBaseUrl) throw new MatrixError('M_NOT_FOUND', 'No client discovery information configured');
      return { 'm.homeserver': { base_url: deps.clientBaseUrl } };
    },
  });

  // GET /.well-known/matrix/server
  r.route({
    method: 'GET',
    path: '/.well-known/matrix/server',
    auth: 'none',
    handler: () => {
      if (!deps.server) throw new MatrixError('M_NOT_FOUND', 'No server delegation configured');
      return { 'm.server': deps.server };
    },
  });
}
