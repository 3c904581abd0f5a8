// GET/PUT /_matrix/client/v3/presence/{userId}/status
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidUserId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { PresenceService } from '../../services/ephemeral/presence.ts';

const PresenceState = Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('unavailable')]);

export function presenceRoutes(r: Router, deps: { presence: PresenceService }): void {
  // PUT /_matrix/client/v3/presence/{userId}/status
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/presence/:userId/status',
    auth: 'guest',
    params: Type.Object({ userId: Type.String() }),
    body: Type.Object({ presence: PresenceState, status_msg: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])) }),
    handler: async ({ params, body, requester }) => {
      if (params.userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'Cannot set presence for other users');
      await deps.presence.setPresence(requester.userId, body.presence, body.status_msg);
      return {};
    },
  });

  // GET /_matrix/client/v3/presence/{userId}/status
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/presence/:userId/status',
    auth: 'guest',
    params: Type.Object({ userId: Type.String() }),
    handler: async ({ params, requester }) => {
      if (!isValidUserId(params.userId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid user ID');
      return deps.presence.getPresence(requester.userId, params.userId);
    },
  });
}
