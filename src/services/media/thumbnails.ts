// Thumbnails (client-server "Content repository: thumbnails"), generated with sharp on first
// request and cached (a file plus a media_thumbnails row) for every later one.
//
// Requests are snapped to the next standard size at least as large as asked (the sizes Synapse
// pre-generates: 32x32, 96x96, 320x240, 640x480, 800x600), so one media item costs at most ten
// thumbnails per animated flag however many sizes clients ask for. Generating them on demand
// rather than at upload means uploads that are never viewed as thumbnails cost nothing.
//
// Only PNG, JPEG, GIF and WebP are decoded, recognised by their magic bytes (not the declared
// type): SVG, HEIF, TIFF and the rest are refused before libvips sees them. Decoding is bounded by
// `limitInputPixels`; nothing is enlarged past the original.
import type { OutputInfo, default as Sharp } from 'sharp';
import { MatrixError } from '../../core/errors.ts';
import type { MediaStore, ThumbnailKey } from '../../storage/stores/media.ts';
import type { MediaFiles } from '../../storage/media-files.ts';
import type { StoredMedia } from './downloads.ts';
import type { KeyedQueue } from '../../util/keyed-queue.ts';

// sharp (libvips) is loaded on the first thumbnail, not at start-up: it adds tens of MB of
// resident memory that a server nobody asks for thumbnails would carry for nothing. Thumbnailing
// runs beside request handling on small machines: one libvips thread per operation, no operation
// cache holding decoded images.
let sharpModule: Promise<typeof Sharp> | undefined;
function loadSharp(): Promise<typeof Sharp> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  });
  return sharpModule;
}

export type ThumbnailMethod = 'scale' | 'crop';

export const STANDARD_SIZES: ReadonlyArray<readonly [number, number]> = [
  [32, 32],
  [96, 96],
  [320, 240],
  [640, 480],
  [800, 600],
];

/** Sources larger than this are not thumbnailed (sharp holds the whole input in memory). */
const MAX_SOURCE_BYTES = 32 * 1024 * 1024;

type DecodableFormat = 'png' | 'jpeg' | 'gif' | 'webp';

/** The image format by magic bytes, or null for anything we refuse to decode. */
export function sniffImageFormat(head: Buffer): DecodableFormat | null {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 6 && (head.subarray(0, 6).toString('latin1') === 'GIF87a' || head.subarray(0, 6).toString('latin1') === 'GIF89a')) return 'gif';
  if (head.length >= 12 && head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return null;
}

const THUMBNAILABLE_TYPES = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/gif', 'image/webp', 'image/apng']);

/** The standard size a request is served from. */
export function snapToStandardSize(width: number, height: number): readonly [number, number] {
  return STANDARD_SIZES.find(([w, h]) => w >= width && h >= height) ?? STANDARD_SIZES[STANDARD_SIZES.length - 1];
}

export interface Thumbnail {
  data: Buffer | null;
  fileKey: string;
  encrypted: boolean;
  contentType: string;
  size: number;
  width: number;
  height: number;
}

export interface ThumbnailRequest {
  width: number;
  height: number;
  method: ThumbnailMethod;
  animated: boolean;
}

export class Thumbnailer {
  private readonly inFlight = new Map<string, Promise<Thumbnail>>();

  constructor(
    private readonly deps: {
      store: MediaStore;
      files: MediaFiles;
      fileLocks: KeyedQueue;
      maxImagePixels: number;
      now?: () => number;
    },
  ) {}

  /** The cached thumbnail, or a new one generated (once, however many ask at the same time). */
  async thumbnailOf(media: StoredMedia, req: ThumbnailRequest): Promise<Thumbnail> {
    const baseType = media.contentType.split(';')[0].trim().toLowerCase();
    if (!THUMBNAILABLE_TYPES.has(baseType)) throw new MatrixError('M_UNKNOWN', `Cannot generate thumbnails for ${baseType} content`, {}, 400);
    const [width, height] = snapToStandardSize(req.width, req.height);
    const key: ThumbnailKey = { origin: media.origin, mediaId: media.mediaId, requestedWidth: width, requestedHeight: height, method: req.method, animated: req.animated };
    const cached = await this.deps.store.getThumbnail(key);
    if (cached) {
      return {
        data: null,
        fileKey: cached.file_key,
        encrypted: cached.encrypted === 1,
        contentType: cached.content_type,
        size: Number(cached.size),
        width: cached.width,
        height: cached.height,
      };
    }
    const flightKey = JSON.stringify(key);
    let flight = this.inFlight.get(flightKey);
    if (!flight) {
      flight = this.generate(media, key).finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, flight);
    }
    return flight;
  }

  private async generate(media: StoredMedia, key: ThumbnailKey): Promise<Thumbnail> {
    if (media.size > MAX_SOURCE_BYTES) throw new MatrixError('M_TOO_LARGE', 'Content is too large to thumbnail');
    const source = await this.deps.files.readAll(media.fileKey, media.encrypted);
    const format = sniffImageFormat(source.subarray(0, 16));
    if (!format) throw new MatrixError('M_UNKNOWN', 'Cannot generate thumbnails for this image format', {}, 400);
    const animated = key.animated && (format === 'gif' || format === 'webp');
    let output: { data: Buffer; info: OutputInfo };
    const sharp = await loadSharp();
    try {
      let pipeline = sharp(source, { limitInputPixels: this.deps.maxImagePixels, animated, failOn: 'error' })
        .autoOrient()
        .resize(key.requestedWidth, key.requestedHeight, { fit: key.method === 'crop' ? 'cover' : 'inside', withoutEnlargement: true });
      if (animated) pipeline = format === 'gif' ? pipeline.gif() : pipeline.webp();
      else pipeline = format === 'jpeg' ? pipeline.jpeg({ quality: 80, mozjpeg: false }) : pipeline.png();
      output = await pipeline.toBuffer({ resolveWithObject: true });
    } catch {
      throw new MatrixError('M_UNKNOWN', 'Cannot decode this image', {}, 400);
    }
    const contentType = animated ? `image/${format}` : format === 'jpeg' ? 'image/jpeg' : 'image/png';
    const height = output.info.pageHeight ?? output.info.height;
    const fileKey = this.deps.files.keyOfBuffer(output.data);
    const stored = await this.deps.fileLocks.run(fileKey, async () => {
      const file = await this.deps.files.storeBuffer(output.data);
      await this.deps.store.insertThumbnail({
        media_origin: key.origin,
        media_id: key.mediaId,
        width: output.info.width,
        height,
        method: key.method,
        animated: key.animated ? 1 : 0,
        requested_width: key.requestedWidth,
        requested_height: key.requestedHeight,
        file_key: file.fileKey,
        encrypted: file.encrypted ? 1 : 0,
        content_type: contentType,
        size: file.size,
        created_ts: (this.deps.now ?? Date.now)(),
      });
      return file;
    });
    return { data: output.data, fileKey: stored.fileKey, encrypted: stored.encrypted, contentType, size: stored.size, width: output.info.width, height };
  }
}
