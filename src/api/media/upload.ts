// Uploads (client-server "Content repository": POST /upload, POST /create, PUT /upload/{s}/{id}).
// Bodies are never buffered: the upload routes get the raw request stream (Router.streamingBodies)
// and the service writes it to disk under the size limit and the uploader's quota.
import { Readable } from 'node:stream';
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { Router } from '../router.ts';
import type { MediaUploads, UploadRequest } from '../../services/media/uploads.ts';

const UploadQuery = Type.Object({ filename: Type.Optional(Type.String({ maxLength: 255 })) });
const MediaParams = Type.Object({ serverName: Type.String({ minLength: 1 }), mediaId: Type.String({ minLength: 1, maxLength: 255 }) });

function uploadRequestOf(req: FastifyRequest, userId: string, fileName: string | undefined): UploadRequest {
  const length = req.headers['content-length'];
  const body = req.body instanceof Readable ? req.body : Readable.from([]);
  return {
    userId,
    body,
    contentType: req.headers['content-type'],
    contentLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
    fileName,
  };
}

export function mediaUploadRoutes(r: Router, deps: { uploads: MediaUploads }): void {
  const { uploads } = deps;

  r.streamingBodies((s) => {
    // POST /_matrix/media/v3/upload
    s.route({
      method: 'POST',
      path: '/_matrix/media/v3/upload',
      auth: 'user',
      rateLimit: 'media_upload',
      query: UploadQuery,
      handler: async ({ req, requester, query }) => ({
        content_uri: await uploads.performUpload(uploadRequestOf(req, requester.userId, query.filename)),
      }),
    });

    // PUT /_matrix/media/v3/upload/{serverName}/{mediaId}
    s.route({
      method: 'PUT',
      path: '/_matrix/media/v3/upload/:serverName/:mediaId',
      auth: 'user',
      rateLimit: 'media_upload',
      query: UploadQuery,
      params: MediaParams,
      handler: async ({ req, requester, query, params }) => {
        await uploads.performPendingUpload(params.serverName, params.mediaId, uploadRequestOf(req, requester.userId, query.filename));
        return {};
      },
    });
  });

  // POST /_matrix/media/v1/create
  r.route({
    method: 'POST',
    path: '/_matrix/media/v1/create',
    auth: 'user',
    rateLimit: 'media_upload',
    handler: ({ requester }) => uploads.createPending(requester.userId),
  });
}
