// Response headers for served media (client-server "Content repository": serving content
// safely). Media is user-controlled content on the homeserver's origin: browsers must never run
// it as a page. Only types a browser displays without running code are `inline`; everything else
// (HTML, SVG, PDF, JavaScript, unknown types) downloads as an attachment, and a sandboxing CSP
// plus nosniff cover the rest.
import type { Readable } from 'node:stream';
import { HttpResponse } from '../router.ts';

const INLINE_TYPES = new Set([
  'text/plain',
  'text/csv',
  'application/json',
  'application/ld+json',
  'image/jpeg',
  'image/gif',
  'image/png',
  'image/apng',
  'image/webp',
  'image/avif',
  'video/mp4',
  'video/webm',
  'video/ogg',
  'video/quicktime',
  'audio/mp4',
  'audio/webm',
  'audio/aac',
  'audio/mpeg',
  'audio/ogg',
  'audio/wave',
  'audio/wav',
  'audio/x-wav',
  'audio/x-pn-wav',
  'audio/flac',
  'audio/x-flac',
]);

const CONTENT_SECURITY_POLICY =
  "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';";

export function isInlineType(contentType: string): boolean {
  return INLINE_TYPES.has(contentType.split(';')[0].trim().toLowerCase());
}

/** RFC 6266 / RFC 5987: `filename*=utf-8''…`, plus a plain `filename` when the name is simple ASCII. */
export function contentDisposition(contentType: string, fileName: string | null): string {
  const kind = isInlineType(contentType) ? 'inline' : 'attachment';
  if (!fileName) return kind;
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const simple = /^[\x20-\x7e]+$/.test(fileName) && !/["\\]/.test(fileName);
  return simple ? `${kind}; filename="${fileName}"; filename*=utf-8''${encoded}` : `${kind}; filename*=utf-8''${encoded}`;
}

export interface ServedContent {
  body: Readable | Buffer;
  contentType: string;
  size: number;
  fileName: string | null;
}

/** A 200 with the media bytes and the safety headers; authenticated responses are cached privately only. */
export function mediaResponse(content: ServedContent, authenticated: boolean): HttpResponse {
  return new HttpResponse(200, content.body, {
    'content-type': content.contentType,
    'content-length': String(content.size),
    'content-disposition': contentDisposition(content.contentType, content.fileName),
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'cross-origin',
    // Media never changes once uploaded (a deletion or quarantine makes it 404, not different).
    'cache-control': `${authenticated ? 'private' : 'public'}, max-age=86400, immutable`,
  });
}
