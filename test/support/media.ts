// Helpers for media tests: raw uploads and downloads (bytes, not JSON), and test images made
// with sharp.
import sharp from 'sharp';
import type { TestServer } from '../harness.ts';

export interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json: any;
}

async function toRaw(res: Response): Promise<RawResponse> {
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, bytes, json };
}

export async function rawRequest(
  server: TestServer,
  method: string,
  path: string,
  opts: { token?: string; body?: Buffer; contentType?: string; query?: Record<string, string | number | boolean | undefined> } = {},
): Promise<RawResponse> {
  const url = new URL(path, server.baseUrl);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const res = await fetch(url, { method, headers, body: opts.body, signal: AbortSignal.timeout(60_000) });
  return toRaw(res);
}

export async function upload(server: TestServer, token: string, body: Buffer, contentType = 'application/octet-stream', filename?: string): Promise<RawResponse> {
  return rawRequest(server, 'POST', '/_matrix/media/v3/upload', { token, body, contentType, query: { filename } });
}

/** Uploads and returns the media ID (fails the test on a non-200). */
export async function uploadOk(server: TestServer, token: string, body: Buffer, contentType = 'application/octet-stream', filename?: string): Promise<string> {
  const res = await upload(server, token, body, contentType, filename);
  if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${res.bytes.toString()}`);
  const uri = res.json.content_uri as string;
  return uri.slice(`mxc://${server.serverName}/`.length);
}

export async function download(server: TestServer, token: string | undefined, mediaId: string, fileName?: string): Promise<RawResponse> {
  return rawRequest(server, 'GET', `/_matrix/client/v1/media/download/${server.serverName}/${mediaId}${fileName ? `/${encodeURIComponent(fileName)}` : ''}`, { token });
}

export async function testImage(format: 'png' | 'jpeg' | 'webp' | 'gif', width: number, height: number): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 60, b: 30 } } });
  return image.toFormat(format).toBuffer();
}

/** An animated GIF or WebP of `frames` frames of different colours. */
export async function animatedImage(format: 'gif' | 'webp', width: number, height: number, frames: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < width * height; i++) {
      const o = (f * width * height + i) * 4;
      raw[o] = (f * 70) % 256;
      raw[o + 1] = 120;
      raw[o + 2] = 220 - f * 40;
      raw[o + 3] = 255;
    }
  }
  return sharp(raw, { raw: { width, height: height * frames, channels: 4, pageHeight: height } }).toFormat(format, { loop: 0 } as object).toBuffer();
}

export async function imageInfo(bytes: Buffer): Promise<{ width: number; height: number; format: string; pages: number }> {
  const m = await sharp(bytes, { animated: true }).metadata();
  return { width: m.width!, height: m.pageHeight ?? m.height!, format: m.format!, pages: m.pages ?? 1 };
}
