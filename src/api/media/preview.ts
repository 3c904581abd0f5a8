// URL previews (client-server "Content repository": GET preview_url), authenticated on both the
// v1 path and the deprecated v3 one (which always required a token).
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { UrlPreviewer } from '../../services/media/url-preview.ts';

const PreviewQuery = Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }), ts: Type.Optional(Type.Integer()) });

export function mediaPreviewRoutes(r: Router, deps: { previewer: UrlPreviewer }): void {
  // GET /_matrix/client/v1/media/preview_url
  r.route({
    method: 'GET',
    path: '/_matrix/client/v1/media/preview_url',
    auth: 'guest',
    query: PreviewQuery,
    handler: ({ query }) => deps.previewer.preview(query.url),
  });

  // GET /_matrix/media/v3/preview_url
  r.route({
    method: 'GET',
    path: '/_matrix/media/v3/preview_url',
    auth: 'guest',
    query: PreviewQuery,
    handler: ({ query }) => deps.previewer.preview(query.url),
  });
}
