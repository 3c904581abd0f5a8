// End-to-end encryption key management (spec "End-to-End Encryption" → "Key management API"
// and "Cross-signing"): uploading, querying and claiming device keys, device-list changes, and
// cross-signing keys and signatures.
import Type from 'typebox';
import { AuthDict } from './auth-dict.ts';
import { MatrixError } from '../../core/errors.ts';
import { isValidUserId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { KeyUploadService } from '../../services/e2ee/key-upload.ts';
import type { KeyQueryService } from '../../services/e2ee/key-query.ts';
import type { CrossSigningService } from '../../services/e2ee/cross-signing.ts';
import type { DeviceListService, Membership } from '../../services/e2ee/device-lists.ts';
import { parseSyncToken } from '../../services/sync/sync-service.ts';

const KeyObject = Type.Object({}, { additionalProperties: true });
/** Users (and devices) one query or claim may name: enough for the largest rooms' members. */
const MAX_USERS_PER_REQUEST = 10_000;

export interface KeyRouteDeps {
  upload: Pick<KeyUploadService, 'uploadKeys'>;
  query: Pick<KeyQueryService, 'queryKeys' | 'claimKeys'>;
  crossSigning: Pick<CrossSigningService, 'uploadDeviceSigningKeys' | 'uploadSignatures'>;
  deviceLists: Pick<DeviceListService, 'queryChanges'>;
  memberships(userId: string): Promise<readonly Membership[]>;
}

function checkUserIds(userIds: string[]): void {
  if (userIds.length > MAX_USERS_PER_REQUEST) throw new MatrixError('M_TOO_LARGE', `At most ${MAX_USERS_PER_REQUEST} users per request`, {}, 400);
  for (const u of userIds) if (!isValidUserId(u)) throw new MatrixError('M_INVALID_PARAM', `${u} is not a user ID`);
}

export function keyRoutes(r: Router, deps: KeyRouteDeps): void {
  // POST /_matrix/client/v3/keys/upload
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/keys/upload',
    auth: 'guest',
    bodyLimit: 4 * 1024 * 1024,
    body: Type.Object({
      device_keys: Type.Optional(KeyObject),
      one_time_keys: Type.Optional(KeyObject),
      fallback_keys: Type.Optional(KeyObject),
    }),
    handler: ({ requester, body }) => deps.upload.uploadKeys(requester.userId, requester.deviceId, body as Parameters<KeyUploadService['uploadKeys']>[2]),
  });

  // POST /_matrix/client/v3/keys/query
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/keys/query',
    auth: 'guest',
    body: Type.Object({
      device_keys: Type.Record(Type.String(), Type.Array(Type.String())),
      timeout: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
    handler: async ({ requester, body }) => {
      checkUserIds(Object.keys(body.device_keys));
      return deps.query.queryKeys(requester.userId, body.device_keys);
    },
  });

  // POST /_matrix/client/v3/keys/claim
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/keys/claim',
    auth: 'guest',
    body: Type.Object({
      one_time_keys: Type.Record(Type.String(), Type.Record(Type.String(), Type.String({ minLength: 1 }))),
      timeout: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
    handler: async ({ body }) => {
      checkUserIds(Object.keys(body.one_time_keys));
      const devices = Object.values(body.one_time_keys).reduce((n, d) => n + Object.keys(d).length, 0);
      if (devices > MAX_USERS_PER_REQUEST) throw new MatrixError('M_TOO_LARGE', `At most ${MAX_USERS_PER_REQUEST} devices per claim`, {}, 400);
      return deps.query.claimKeys(body.one_time_keys);
    },
  });

  // GET /_matrix/client/v3/keys/changes
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/keys/changes',
    auth: 'guest',
    query: Type.Object({ from: Type.String(), to: Type.String() }),
    handler: async ({ requester, query }) => {
      const from = parseSyncToken(query.from);
      const to = parseSyncToken(query.to);
      return deps.deviceLists.queryChanges(requester.userId, await deps.memberships(requester.userId), from, to);
    },
  });

  // POST /_matrix/client/v3/keys/device_signing/upload
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/keys/device_signing/upload',
    auth: 'user',
    body: Type.Object({
      master_key: Type.Optional(KeyObject),
      self_signing_key: Type.Optional(KeyObject),
      user_signing_key: Type.Optional(KeyObject),
      auth: Type.Optional(AuthDict),
    }),
    handler: async ({ requester, body }) => {
      await deps.crossSigning.uploadDeviceSigningKeys(requester, body as Record<string, unknown>);
      return {};
    },
  });

  // POST /_matrix/client/v3/keys/signatures/upload
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/keys/signatures/upload',
    auth: 'user',
    body: Type.Record(Type.String(), Type.Record(Type.String(), KeyObject)),
    handler: async ({ requester, body }) => {
      checkUserIds(Object.keys(body));
      return deps.crossSigning.uploadSignatures(requester.userId, body as Record<string, unknown>);
    },
  });
}
