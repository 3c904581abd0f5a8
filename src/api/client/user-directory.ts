// User directory (client-server "User directory").
import Type from 'typebox';
import type { Router } from '../router.ts';
import { DEFAULT_DIRECTORY_LIMIT, type UserDirectory } from '../../services/users/user-directory.ts';

const SearchBody = Type.Object({
  search_term: Type.String({ maxLength: 1000 }),
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
});

export function userDirectoryRoutes(r: Router, deps: { directory: UserDirectory }): void {
  // POST /_matrix/client/v3/user_directory/search
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/user_directory/search',
    auth: 'user',
    body: SearchBody,
    handler: async ({ body, requester }) => deps.directory.search(requester.userId, body.search_term, body.limit ?? DEFAULT_DIRECTORY_LIMIT),
  });
}
