// Uploads (client-server "Content repository": POST /upload, POST /create, PUT /upload/{s}/{id}).
// Bytes stream to disk (storage/media-files.ts) under the upload size limit and the user's quota,
// both enforced while streaming; the metadata row is written after the file is in place, under a
// per-file lock shared with deletion so that a file being reused is never unlinked.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MatrixError } from '../../core/errors.ts';
import type { MediaStore } from '../../storage/stores/media.ts';
import { TooManyBytesError, type MediaFiles, type ReceivedFile } from '../../storage/media-files.ts';
import type { KeyedQueue } from '../../util/keyed-queue.ts';

export interface UploadLimits {
  maxUploadBytes: number;
  /** 0 = no quota. */
  userQuotaBytes: number;
  maxPendingUploads: number;
  unusedExpirationMs: number;
}

export interface UploadRequest {
  userId: string;
  body: Readable;
  contentType: string | undefined;
  contentLength: number | undefined;
  fileName: string | undefined;
}

export interface UploadDeps {
  serverName: string;
  store: MediaStore;
  files: MediaFiles;
  /** Per file key: commits and deletions of one file never interleave. */
  fileLocks: KeyedQueue;
  limits: UploadLimits;
  now?: () => number;
}

/** 24 characters of [A-Za-z0-9_-]: 144 random bits. */
export function newMediaId(): string {
  return randomBytes(18).toString('base64url');
}

const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;[\x20-\x7e]*)?$/;

/** The declared content type if it looks like one (it is echoed back on download). */
export function normaliseContentType(value: string | undefined): string {
  if (!value || value.length > 255 || !CONTENT_TYPE.test(value.trim())) return 'application/octet-stream';
  return value.trim();
}

export function checkFileName(name: string | undefined): string | null {
  if (name === undefined || name === '') return null;
  // eslint-disable-next-line no-control-regex
  if (name.length > 255 || /[\x00-\x1f\x7f]/.test(name)) throw new MatrixError('M_INVALID_PARAM', 'Invalid file name');
  return name;
}

/** Wakes downloads waiting for an asynchronous upload to arrive. */
export class PendingUploadWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Resolves true when the media arrives, false when `ms` pass first. */
  wait(mediaId: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const set = this.waiters.get(mediaId) ?? new Set();
      this.waiters.set(mediaId, set);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(mediaId);
        resolve(false);
      }, ms);
      set.add(wake);
    });
  }

  notify(mediaId: string): void {
    const set = this.waiters.get(mediaId);
    this.waiters.delete(mediaId);
    for (const wake of set ?? []) wake();
  }
}

export class MediaUploads {
  readonly waiters = new PendingUploadWaiters();
  private readonly now: () => number;

  constructor(private readonly deps: UploadDeps) {
    this.now = deps.now ?? Date.now;
  }

  mxcOf(mediaId: string): string {
    return `mxc://${this.deps.serverName}/${mediaId}`;
  }

  /** POST /_matrix/media/v3/upload */
  async performUpload(req: UploadRequest): Promise<string> {
    const stored = await this.receive(req);
    const mediaId = newMediaId();
    const now = this.now();
    await this.commit(stored, (fileKey) =>
      this.deps.store.insertLocal({
        media_id: mediaId,
        user_id: req.userId,
        file_key: fileKey,
        encrypted: stored.encrypted ? 1 : 0,
        content_type: normaliseContentType(req.contentType),
        upload_name: checkFileName(req.fileName),
        size: stored.size,
        created_ts: now,
        uploaded_ts: now,
        unused_expires_ts: null,
        last_access_ts: null,
        quarantined_by: null,
      }),
    );
    return this.mxcOf(mediaId);
  }

  /** POST /_matrix/media/v1/create: reserves a media ID to upload to later. */
  async createPending(userId: string): Promise<{ content_uri: string; unused_expires_at: number }> {
    const now = this.now();
    if ((await this.deps.store.countPending(userId, now)) >= this.deps.limits.maxPendingUploads) {
      throw new MatrixError('M_LIMIT_EXCEEDED', 'Too many pending media uploads; upload to the ones you created first', { retry_after_ms: 60_000 });
    }
    const mediaId = newMediaId();
    const expires = now + this.deps.limits.unusedExpirationMs;
    await this.deps.store.insertLocal({
      media_id: mediaId,
      user_id: userId,
      file_key: null,
      encrypted: 0,
      content_type: null,
      upload_name: null,
      size: 0,
      created_ts: now,
      uploaded_ts: null,
      unused_expires_ts: expires,
      last_access_ts: null,
      quarantined_by: null,
    });
    return { content_uri: this.mxcOf(mediaId), unused_expires_at: expires };
  }

  /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId}: fills a media ID made by /create. */
  async performPendingUpload(serverName: string, mediaId: string, req: UploadRequest): Promise<void> {
    const row = serverName === this.deps.serverName ? await this.deps.store.getLocal(mediaId) : undefined;
    if (!row || (row.file_key === null && (row.unused_expires_ts ?? 0) <= this.now())) throw new MatrixError('M_NOT_FOUND', 'Unknown media ID');
    if (row.user_id !== req.userId) throw new MatrixError('M_FORBIDDEN', 'This media ID was created by another user');
    if (row.file_key !== null) throw new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 'Media already uploaded');
    const stored = await this.receive(req);
    await this.commit(stored, async (fileKey) => {
      const filled = await this.deps.store.completePending(mediaId, {
        file_key: fileKey,
        encrypted: stored.encrypted ? 1 : 0,
        content_type: normaliseContentType(req.contentType),
        upload_name: checkFileName(req.fileName),
        size: stored.size,
        uploaded_ts: this.now(),
      });
      if (!filled) throw new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 'Media already uploaded');
    });
    this.waiters.notify(mediaId);
  }

  /** Streams the body to a temp file within the size limit and the user's remaining quota. */
  private async receive(req: UploadRequest): Promise<ReceivedFile> {
    const { maxUploadBytes, userQuotaBytes } = this.deps.limits;
    checkFileName(req.fileName);
    const tooLarge = () => new MatrixError('M_TOO_LARGE', `Upload is larger than the limit of ${maxUploadBytes} bytes`);
    const overQuota = (used: number) =>
      new MatrixError('M_TOO_LARGE', `Upload would exceed your media storage quota (${used} of ${userQuotaBytes} bytes used)`);
    if (req.contentLength !== undefined && req.contentLength > maxUploadBytes) {
      req.body.resume();
      throw tooLarge();
    }
    const used = userQuotaBytes > 0 ? await this.deps.store.bytesOfUser(req.userId) : 0;
    const remaining = userQuotaBytes > 0 ? userQuotaBytes - used : Infinity;
    if (req.contentLength !== undefined && req.contentLength > remaining) {
      req.body.resume();
      throw overQuota(used);
    }
    let received: ReceivedFile;
    try {
      received = await this.deps.files.receive(req.body, Math.min(maxUploadBytes, remaining));
    } catch (error) {
      if (error instanceof TooManyBytesError) throw remaining < maxUploadBytes ? overQuota(used) : tooLarge();
      throw error;
    }
    // Concurrent uploads of the same user: check the quota again now that the size is known.
    if (userQuotaBytes > 0) {
      const usedNow = await this.deps.store.bytesOfUser(req.userId);
      if (usedNow + received.size > userQuotaBytes) {
        await this.deps.files.discard(received);
        throw overQuota(usedNow);
      }
    }
    return received;
  }

  private async commit(received: ReceivedFile, writeRow: (fileKey: string) => Promise<void>): Promise<void> {
    const fileKey = this.deps.files.fileKeyFor(received.sha256);
    await this.deps.fileLocks.run(fileKey, async () => {
      await this.deps.files.commit(received);
      try {
        await writeRow(fileKey);
      } catch (error) {
        // Lost a race (two PUTs to one media ID): drop the file unless another row uses it.
        if (!(await this.deps.store.isFileReferenced(fileKey))) await this.deps.files.remove(fileKey);
        throw error;
      }
    });
  }
}
