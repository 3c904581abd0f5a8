// Server-side key backup (client-server "End-to-End Encryption" → "Server-side key backups"):
// backup versions and the encrypted session keys stored in them. Every route acts on the
// caller's own backup only.
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import { isValidRoomId } from '../../core/ids.ts';
import type { Router } from '../router.ts';
import type { BackupUpload, KeyBackupData, KeyBackupService } from '../../services/e2ee/key-backup.ts';

const AuthData = Type.Object({}, { additionalProperties: true });
const Algorithm = Type.String({ minLength: 1, maxLength: 255 });
const KeyBackupDataSchema = Type.Object(
  {
    first_message_index: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    forwarded_count: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    is_verified: Type.Boolean(),
    session_data: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true },
);
const SessionId = Type.String({ minLength: 1, maxLength: 255 });
const RoomKeyBackupSchema = Type.Object({ sessions: Type.Record(SessionId, KeyBackupDataSchema) }, { additionalProperties: true });
const VersionQuery = Type.Object({ version: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true });
const RoomParams = Type.Object({ roomId: Type.String() });
const SessionParams = Type.Object({ roomId: Type.String(), sessionId: SessionId });

/** Key backups hold every room key of an account: allow large uploads (Synapse allows far more). */
const BACKUP_BODY_LIMIT = 50 * 1024 * 1024;

function roomIdOf(roomId: string): string {
  if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
  return roomId;
}

const keyData = (k: KeyBackupData): KeyBackupData => ({
  first_message_index: k.first_message_index,
  forwarded_count: k.forwarded_count,
  is_verified: k.is_verified,
  session_data: k.session_data,
});

export function keyBackupRoutes(r: Router, deps: { backup: KeyBackupService }): void {
  const { backup } = deps;

  // POST /_matrix/client/v3/room_keys/version
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/room_keys/version',
    auth: 'user',
    body: Type.Object({ algorithm: Algorithm, auth_data: AuthData }, { additionalProperties: true }),
    handler: async ({ body, requester }) => ({ version: await backup.createVersion(requester.userId, body.algorithm, body.auth_data as Record<string, unknown>) }),
  });

  // GET /_matrix/client/v3/room_keys/version
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/room_keys/version',
    auth: 'user',
    handler: ({ requester }) => backup.versionInfo(requester.userId),
  });

  // GET /_matrix/client/v3/room_keys/version/{version}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/room_keys/version/:version',
    auth: 'user',
    params: Type.Object({ version: Type.String() }),
    handler: ({ params, requester }) => backup.versionInfo(requester.userId, params.version),
  });

  // PUT /_matrix/client/v3/room_keys/version/{version}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/room_keys/version/:version',
    auth: 'user',
    params: Type.Object({ version: Type.String() }),
    body: Type.Object({ algorithm: Algorithm, auth_data: AuthData, version: Type.Optional(Type.String()) }, { additionalProperties: true }),
    handler: async ({ params, body, requester }) => {
      await backup.updateVersion(requester.userId, params.version, { ...body, auth_data: body.auth_data as Record<string, unknown> });
      return {};
    },
  });

  // DELETE /_matrix/client/v3/room_keys/version/{version}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/room_keys/version/:version',
    auth: 'user',
    params: Type.Object({ version: Type.String() }),
    handler: async ({ params, requester }) => {
      await backup.deleteVersion(requester.userId, params.version);
      return {};
    },
  });

  // PUT /_matrix/client/v3/room_keys/keys
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/room_keys/keys',
    auth: 'user',
    query: VersionQuery,
    bodyLimit: BACKUP_BODY_LIMIT,
    body: Type.Object({ rooms: Type.Record(Type.String(), RoomKeyBackupSchema) }, { additionalProperties: true }),
    handler: ({ query, body, requester }) => {
      const upload: BackupUpload = {};
      for (const [roomId, room] of Object.entries(body.rooms)) {
        upload[roomIdOf(roomId)] = Object.fromEntries(Object.entries(room.sessions).map(([s, k]) => [s, keyData(k as KeyBackupData)]));
      }
      return backup.uploadKeys(requester.userId, query.version, upload);
    },
  });

  // GET /_matrix/client/v3/room_keys/keys
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/room_keys/keys',
    auth: 'user',
    query: VersionQuery,
    handler: async ({ query, requester }) => ({ rooms: await backup.queryKeys(requester.userId, query.version) }),
  });

  // DELETE /_matrix/client/v3/room_keys/keys
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/room_keys/keys',
    auth: 'user',
    query: VersionQuery,
    handler: ({ query, requester }) => backup.deleteKeys(requester.userId, query.version),
  });

  // PUT /_matrix/client/v3/room_keys/keys/{roomId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/room_keys/keys/:roomId',
    auth: 'user',
    params: RoomParams,
    query: VersionQuery,
    bodyLimit: BACKUP_BODY_LIMIT,
    body: RoomKeyBackupSchema,
    handler: ({ params, query, body, requester }) => {
      const sessions = Object.fromEntries(Object.entries(body.sessions).map(([s, k]) => [s, keyData(k as KeyBackupData)]));
      return backup.uploadKeys(requester.userId, query.version, { [roomIdOf(params.roomId)]: sessions });
    },
  });

  // GET /_matrix/client/v3/room_keys/keys/{roomId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/room_keys/keys/:roomId',
    auth: 'user',
    params: RoomParams,
    query: VersionQuery,
    handler: async ({ params, query, requester }) => {
      const roomId = roomIdOf(params.roomId);
      const rooms = await backup.queryKeys(requester.userId, query.version, { roomId });
      return rooms[roomId] ?? { sessions: {} };
    },
  });

  // DELETE /_matrix/client/v3/room_keys/keys/{roomId}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/room_keys/keys/:roomId',
    auth: 'user',
    params: RoomParams,
    query: VersionQuery,
    handler: ({ params, query, requester }) => backup.deleteKeys(requester.userId, query.version, { roomId: roomIdOf(params.roomId) }),
  });

  // PUT /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/room_keys/keys/:roomId/:sessionId',
    auth: 'user',
    params: SessionParams,
    query: VersionQuery,
    body: KeyBackupDataSchema,
    handler: ({ params, query, body, requester }) =>
      backup.uploadKeys(requester.userId, query.version, { [roomIdOf(params.roomId)]: { [params.sessionId]: keyData(body as KeyBackupData) } }),
  });

  // GET /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/room_keys/keys/:roomId/:sessionId',
    auth: 'user',
    params: SessionParams,
    query: VersionQuery,
    handler: async ({ params, query, requester }) => {
      const roomId = roomIdOf(params.roomId);
      const rooms = await backup.queryKeys(requester.userId, query.version, { roomId, sessionId: params.sessionId });
      const key = rooms[roomId]?.sessions[params.sessionId];
      if (!key) throw new MatrixError('M_NOT_FOUND', 'Key not found');
      return key;
    },
  });

  // DELETE /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/room_keys/keys/:roomId/:sessionId',
    auth: 'user',
    params: SessionParams,
    query: VersionQuery,
    handler: ({ params, query, requester }) => backup.deleteKeys(requester.userId, query.version, { roomId: roomIdOf(params.roomId), sessionId: params.sessionId }),
  });
}
