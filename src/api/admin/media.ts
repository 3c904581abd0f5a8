// Media administration, Synapse-compatible (Synapse's "Media Admin API" and "Users: list media"):
// the shapes synapse-admin / Ketesa and synadm expect. Every route needs a server admin.
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Router } from '../router.ts';
import type { MediaAdmin } from '../../services/media/media-admin.ts';

const MediaParams = Type.Object({ serverName: Type.String({ minLength: 1 }), mediaId: Type.String({ minLength: 1, maxLength: 255 }) });
const UserParams = Type.Object({ userId: Type.String({ minLength: 1 }) });
const OrderBy = Type.Union(
  ['media_id', 'upload_name', 'created_ts', 'last_access_ts', 'media_length', 'media_type', 'quarantined_by'].map((k) => Type.Literal(k)),
);
const ListQuery = Type.Object({
  from: Type.Integer({ minimum: 0, default: 0 }),
  limit: Type.Integer({ minimum: 0, maximum: 1000, default: 100 }),
  order_by: Type.Optional(OrderBy),
  dir: Type.Union([Type.Literal('f'), Type.Literal('b')], { default: 'f' }),
});

export interface AdminMediaDeps {
  admin: MediaAdmin;
  userExists(userId: string): Promise<boolean>;
}

export function adminMediaRoutes(r: Router, deps: AdminMediaDeps): void {
  const { admin } = deps;

  const requireLocalUser = async (userId: string) => {
    const serverName = userId.slice(userId.indexOf(':') + 1);
    if (!userId.startsWith('@') || !admin.isLocal(serverName)) throw new MatrixError('M_INVALID_PARAM', 'Can only look up local users', {}, 400);
    if (!(await deps.userExists(userId))) throw new MatrixError('M_NOT_FOUND', 'Unknown user');
  };

  // GET /_synapse/admin/v1/users/{userId}/media
  r.route({
    method: 'GET',
    path: '/_synapse/admin/v1/users/:userId/media',
    auth: 'admin',
    params: UserParams,
    query: ListQuery,
    handler: async ({ params, query }) => {
      await requireLocalUser(params.userId);
      return admin.listUserMedia(params.userId, {
        from: query.from,
        limit: query.limit,
        orderBy: (query.order_by ?? 'created_ts') as Parameters<MediaAdmin['listUserMedia']>[1]['orderBy'],
        dir: query.dir,
      });
    },
  });

  // DELETE /_synapse/admin/v1/users/{userId}/media
  r.route({
    method: 'DELETE',
    path: '/_synapse/admin/v1/users/:userId/media',
    auth: 'admin',
    params: UserParams,
    handler: async ({ params }) => {
      await requireLocalUser(params.userId);
      return admin.deleteUserMedia(params.userId);
    },
  });

  // GET /_synapse/admin/v1/media/{serverName}/{mediaId}
  r.route({
    method: 'GET',
    path: '/_synapse/admin/v1/media/:serverName/:mediaId',
    auth: 'admin',
    params: MediaParams,
    handler: async ({ params }) => ({ media_info: await admin.mediaInfo(params.serverName, params.mediaId) }),
  });

  // DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}
  r.route({
    method: 'DELETE',
    path: '/_synapse/admin/v1/media/:serverName/:mediaId',
    auth: 'admin',
    params: MediaParams,
    handler: ({ params }) => admin.deleteMedia(params.serverName, params.mediaId),
  });

  // POST /_synapse/admin/v1/media/delete
  r.route({
    method: 'POST',
    path: '/_synapse/admin/v1/media/delete',
    auth: 'admin',
    query: Type.Object({
      before_ts: Type.Integer({ minimum: 0 }),
      size_gt: Type.Integer({ minimum: 0, default: 0 }),
      keep_profiles: Type.Boolean({ default: true }),
    }),
    handler: ({ query }) => admin.deleteOlderThan(query.before_ts, query.size_gt, query.keep_profiles),
  });

  // POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}
  r.route({
    method: 'POST',
    path: '/_synapse/admin/v1/media/quarantine/:serverName/:mediaId',
    auth: 'admin',
    params: MediaParams,
    handler: async ({ params, requester }) => {
      await admin.setQuarantine(params.serverName, params.mediaId, requester.userId);
      return {};
    },
  });

  // POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}
  r.route({
    method: 'POST',
    path: '/_synapse/admin/v1/media/unquarantine/:serverName/:mediaId',
    auth: 'admin',
    params: MediaParams,
    handler: async ({ params }) => {
      await admin.setQuarantine(params.serverName, params.mediaId, null);
      return {};
    },
  });

  // POST /_synapse/admin/v1/purge_media_cache
  r.route({
    method: 'POST',
    path: '/_synapse/admin/v1/purge_media_cache',
    auth: 'admin',
    query: Type.Object({ before_ts: Type.Integer({ minimum: 0 }) }),
    handler: ({ query }) => admin.purgeRemoteCache(query.before_ts),
  });
}
