// Profiles (spec "Profiles"): the whole profile, and one field at a time (displayname,
// avatar_url, m.tz and custom namespaced keys since v1.16).
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { ProfileService } from '../../services/accounts/profile.ts';

const UserParams = Type.Object({ userId: Type.String() });
const FieldParams = Type.Object({ userId: Type.String(), keyName: Type.String() });

export function profileRoutes(r: Router, deps: { profiles: Pick<ProfileService, 'getProfile' | 'getField' | 'setField' | 'deleteField'> }): void {
  // GET /_matrix/client/v3/profile/{userId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/profile/:userId',
    auth: 'none',
    params: UserParams,
    handler: ({ params }) => deps.profiles.getProfile(params.userId),
  });

  // GET /_matrix/client/v3/profile/{userId}/{keyName}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/profile/:userId/:keyName',
    auth: 'none',
    params: FieldParams,
    handler: ({ params }) => deps.profiles.getField(params.userId, params.keyName),
  });

  // PUT /_matrix/client/v3/profile/{userId}/{keyName}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/profile/:userId/:keyName',
    auth: 'guest',
    params: FieldParams,
    body: Type.Object({}),
    handler: async ({ params, body, requester }) => {
      await deps.profiles.setField(requester.userId, params.userId, params.keyName, body as Record<string, unknown>);
      return {};
    },
  });

  // DELETE /_matrix/client/v3/profile/{userId}/{keyName}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/profile/:userId/:keyName',
    auth: 'guest',
    params: FieldParams,
    handler: async ({ params, requester }) => {
      await deps.profiles.deleteField(requester.userId, params.userId, params.keyName);
      return {};
    },
  });
}
