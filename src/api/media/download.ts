// Downloads, thumbnails and the upload limits (client-server "Content repository"):
// authenticated under /_matrix/client/v1/media (spec v1.11), and the legacy unauthenticated
// /_matrix/media/v3 endpoints, which serve only media created before the configured freeze date
// (Synapse's "media freeze"): everything newer, or everything when no date is set, is 404.
import { Readable } from 'node:stream';
import Type from 'typebox';
import type { Router } from '../router.ts';
import { mediaResponse } from './headers.ts';
import { DEFAULT_TIMEOUT_MS, type MediaAccess, type MediaDownloads } from '../../services/media/downloads.ts';
import type { Thumbnailer, ThumbnailMethod } from '../../services/media/thumbnails.ts';
import type { MediaFiles } from '../../storage/media-files.ts';

const MediaParams = Type.Object({ serverName: Type.String({ minLength: 1 }), mediaId: Type.String({ minLength: 1, maxLength: 255 }) });
const NamedMediaParams = Type.Object({
  serverName: Type.String({ minLength: 1 }),
  mediaId: Type.String({ minLength: 1, maxLength: 255 }),
  fileName: Type.String({ minLength: 1, maxLength: 255 }),
});
const Timeout = Type.Optional(Type.Integer({ minimum: 0 }));
const DownloadQuery = Type.Object({
  timeout_ms: Timeout,
  allow_redirect: Type.Optional(Type.Boolean()),
  allow_remote: Type.Optional(Type.Boolean()),
});
const ThumbnailQuery = Type.Object({
  width: Type.Integer({ minimum: 1, maximum: 10_000 }),
  height: Type.Integer({ minimum: 1, maximum: 10_000 }),
  method: Type.Optional(Type.Union([Type.Literal('scale'), Type.Literal('crop')])),
  animated: Type.Optional(Type.Boolean()),
  timeout_ms: Timeout,
  allow_redirect: Type.Optional(Type.Boolean()),
  allow_remote: Type.Optional(Type.Boolean()),
});

export interface MediaDownloadDeps {
  downloads: MediaDownloads;
  thumbnails: Thumbnailer;
  files: MediaFiles;
  maxUploadBytes: number;
}

export function mediaDownloadRoutes(r: Router, deps: MediaDownloadDeps): void {
  const { downloads, thumbnails, files } = deps;

  const download = async (access: MediaAccess, p: { serverName: string; mediaId: string; fileName?: string }, timeoutMs: number | undefined) => {
    const media = await downloads.resolve(p.serverName, p.mediaId, access, timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const body = await downloads.open(media);
    return mediaResponse({ body, contentType: media.contentType, size: media.size, fileName: p.fileName ?? media.uploadName }, access === 'authenticated');
  };

  const thumbnail = async (access: MediaAccess, p: { serverName: string; mediaId: string }, q: { width: number; height: number; method?: ThumbnailMethod; animated?: boolean; timeout_ms?: number }) => {
    const media = await downloads.resolve(p.serverName, p.mediaId, access, q.timeout_ms ?? DEFAULT_TIMEOUT_MS);
    const thumb = await thumbnails.thumbnailOf(media, { width: q.width, height: q.height, method: q.method ?? 'scale', animated: q.animated ?? false });
    const body = thumb.data ? Readable.from([thumb.data]) : await files.open(thumb.fileKey, thumb.encrypted);
    // The spec wants thumbnails inline with a file name (v1.12).
    const fileName = `thumbnail.${thumb.contentType.slice('image/'.length).replace('jpeg', 'jpg')}`;
    return mediaResponse({ body, contentType: thumb.contentType, size: thumb.size, fileName }, access === 'authenticated');
  };

  // GET /_matrix/client/v1/media/download/{serverName}/{mediaId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/media/download/:serverName/:mediaId',
    auth: 'guest',
    params: MediaParams,
    query: DownloadQuery,
    handler: ({ params, query }) => download('authenticated', params, query.timeout_ms),
  });

  // GET /_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/media/download/:serverName/:mediaId/:fileName',
    auth: 'guest',
    params: NamedMediaParams,
    query: DownloadQuery,
    handler: ({ params, query }) => download('authenticated', params, query.timeout_ms),
  });

  // GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/media/thumbnail/:serverName/:mediaId',
    auth: 'guest',
    params: MediaParams,
    query: ThumbnailQuery,
    handler: ({ params, query }) => thumbnail('authenticated', params, query),
  });

  // GET /_matrix/client/v1/media/config
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/media/config',
    auth: 'guest',
    handler: () => ({ 'm.upload.size': deps.maxUploadBytes }),
  });

  // GET /_matrix/media/v3/download/{serverName}/{mediaId}
  r.route({
    method: 'GET',
    path: '/_matrix/media/v3/download/:serverName/:mediaId',
    auth: 'none',
    params: MediaParams,
    query: DownloadQuery,
    handler: ({ params, query }) => download('legacy', params, query.timeout_ms),
  });

  // GET /_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}
  r.route({
    method: 'GET',
    path: '/_matrix/media/v3/download/:serverName/:mediaId/:fileName',
    auth: 'none',
    params: NamedMediaParams,
    query: DownloadQuery,
    handler: ({ params, query }) => download('legacy', params, query.timeout_ms),
  });

  // GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId}
  r.route({
    method: 'GET',
    path: '/_matrix/media/v3/thumbnail/:serverName/:mediaId',
    auth: 'none',
    params: MediaParams,
    query: ThumbnailQuery,
    handler: ({ params, query }) => thumbnail('legacy', params, query),
  });

  // GET /_matrix/media/v3/config
  // Deprecated but still authenticated in the spec (it never was open), so it stays served.
  r.route({
    method: 'GET',
    path: '/_matrix/media/v3/config',
    auth: 'guest',
    handler: () => ({ 'm.upload.size': deps.maxUploadBytes }),
  });
}
