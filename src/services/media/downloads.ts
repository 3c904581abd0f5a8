// Serving media (client-server "Content repository": download, and the lookup thumbnails share).
// Local media only: remote media needs federation (server-server "Content repository"), which
// does not exist yet, so other server names answer 404 unless they are in the remote cache.
// Quarantined media, unknown IDs and expired /create IDs are all "not found".
import type { Readable } from 'node:stream';
import { MatrixError } from '../../core/errors.ts';
import type { MediaStore } from '../../storage/stores/media.ts';
import type { MediaFiles } from '../../storage/media-files.ts';
import type { PendingUploadWaiters } from './uploads.ts';

/** Where a request came from: the authenticated v1 endpoints or the legacy (frozen) ones. */
export type MediaAccess = 'authenticated' | 'legacy';

export interface StoredMedia {
  origin: string;
  mediaId: string;
  fileKey: string;
  encrypted: boolean;
  contentType: string;
  uploadName: string | null;
  size: number;
}

export interface DownloadDeps {
  serverName: string;
  store: MediaStore;
  files: MediaFiles;
  waiters: PendingUploadWaiters;
  /** Media created before this (ms) is served on legacy endpoints; null = nothing is. */
  legacyBeforeTs: number | null;
  now?: () => number;
}

/** The spec's default wait for an asynchronous upload, and our ceiling for `timeout_ms`. */
export const DEFAULT_TIMEOUT_MS = 20_000;
const MAX_TIMEOUT_MS = 120_000;
/** last_access_ts is rewritten at most this often per item (retention needs days, not seconds). */
const TOUCH_EVERY_MS = 60_000;

const notFound = () => new MatrixError('M_NOT_FOUND', 'Media not found');

export class MediaDownloads {
  private readonly now: () => number;

  constructor(private readonly deps: DownloadDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The stored media for a download or thumbnail request, waiting up to `timeoutMs` for an
   * asynchronous upload that has not arrived yet (then M_NOT_YET_UPLOADED).
   */
  async resolve(origin: string, mediaId: string, access: MediaAccess, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<StoredMedia> {
    if (origin !== this.deps.serverName) return this.resolveRemote(origin, mediaId, access);
    let row = await this.deps.store.getLocal(mediaId);
    if (!row || row.quarantined_by !== null) throw notFound();
    if (access === 'legacy' && (this.deps.legacyBeforeTs === null || row.created_ts >= this.deps.legacyBeforeTs)) throw notFound();
    if (row.file_key === null) {
      if ((row.unused_expires_ts ?? 0) <= this.now()) throw notFound();
      const arrived = await this.deps.waiters.wait(mediaId, Math.min(Math.max(timeoutMs, 0), MAX_TIMEOUT_MS));
      row = arrived ? await this.deps.store.getLocal(mediaId) : row;
      if (!row || row.quarantined_by !== null) throw notFound();
      if (row.file_key === null) throw new MatrixError('M_NOT_YET_UPLOADED', 'Media has not been uploaded yet');
    }
    if (row.last_access_ts === null || this.now() - row.last_access_ts > TOUCH_EVERY_MS) await this.deps.store.touchLocal(mediaId, this.now());
    // The checks above leave only rows whose upload has arrived.
    return storedMedia('', mediaId, { ...row, file_key: row.file_key });
  }

  async open(media: StoredMedia): Promise<Readable> {
    return this.deps.files.open(media.fileKey, media.encrypted);
  }

  private async resolveRemote(origin: string, mediaId: string, access: MediaAccess): Promise<StoredMedia> {
    // Fetching from the origin needs federation; until then only what is already cached is served.
    const row = await this.deps.store.getRemote(origin, mediaId);
    if (!row || row.quarantined_by !== null) throw notFound();
    if (access === 'legacy' && (this.deps.legacyBeforeTs === null || row.created_ts >= this.deps.legacyBeforeTs)) throw notFound();
    return storedMedia(origin, mediaId, row);
  }
}

/** What a download needs of a local or cached remote media row (its file is there). */
function storedMedia(
  origin: string,
  mediaId: string,
  row: { file_key: string; encrypted: number; content_type: string | null; upload_name: string | null; size: number | string },
): StoredMedia {
  return {
    origin,
    mediaId,
    fileKey: row.file_key,
    encrypted: row.encrypted === 1,
    contentType: row.content_type ?? 'application/octet-stream',
    uploadName: row.upload_name,
    size: Number(row.size),
  };
}
