// Deleting media: one item, a user's, everything unused since a date, the retention job.
// A row goes first; its files go once no row names them any more (reference counting by
// query, under the per-file lock that uploads also take, so a file an upload is about to reuse
// is never unlinked).
//
// Retention (media_retention.local_media_lifetime / remote_media_lifetime): media not downloaded
// for longer than the lifetime is deleted, counting from the upload when never downloaded. Media
// in use as an avatar is kept: every user's avatar_url (deactivated users too — their profile
// may still be shown) and every room's current m.room.avatar. Per-room member avatars are copies
// of profile avatars and are not looked up separately.
import type { Logger } from 'pino';
import type { MediaStore } from '../../storage/stores/media.ts';
import type { MediaFiles } from '../../storage/media-files.ts';
import type { KeyedQueue } from '../../util/keyed-queue.ts';

export interface RetentionSettings {
  localLifetimeMs: number | null;
  remoteLifetimeMs: number | null;
}

export interface RetentionResult {
  local: number;
  remote: number;
  expiredPending: number;
}

export class MediaDeletion {
  constructor(
    private readonly deps: {
      serverName: string;
      store: MediaStore;
      files: MediaFiles;
      fileLocks: KeyedQueue;
    },
  ) {}

  /** Deletes a local media item, its thumbnails and the files nobody else uses. */
  async deleteLocal(mediaId: string): Promise<boolean> {
    const row = await this.deps.store.getLocal(mediaId);
    if (!row) return false;
    await this.releaseFiles(await this.deps.store.deleteLocal(mediaId));
    return true;
  }

  async deleteRemote(origin: string, mediaId: string): Promise<boolean> {
    const row = await this.deps.store.getRemote(origin, mediaId);
    if (!row) return false;
    await this.releaseFiles(await this.deps.store.deleteRemote(origin, mediaId));
    return true;
  }

  /** mxc URIs in use as avatars, as local media IDs. */
  async avatarMediaIds(): Promise<Set<string>> {
    const prefix = `mxc://${this.deps.serverName}/`;
    const ids = new Set<string>();
    for (const url of await this.deps.store.avatarUrls()) if (url.startsWith(prefix)) ids.add(url.slice(prefix.length));
    return ids;
  }

  /** Local media last used before `beforeTs`; avatars kept when `keepAvatars`. Returns the deleted IDs. */
  async deleteLocalUnusedSince(beforeTs: number, opts: { sizeGreaterThan?: number; keepAvatars: boolean }): Promise<string[]> {
    const keep = opts.keepAvatars ? await this.avatarMediaIds() : new Set<string>();
    const deleted: string[] = [];
    for (const { media_id } of await this.deps.store.localUnusedSince(beforeTs, opts.sizeGreaterThan ?? -1)) {
      if (keep.has(media_id)) continue;
      if (await this.deleteLocal(media_id)) deleted.push(media_id);
    }
    return deleted;
  }

  async deleteRemoteUnusedSince(beforeTs: number): Promise<number> {
    let n = 0;
    for (const r of await this.deps.store.remoteUnusedSince(beforeTs)) if (await this.deleteRemote(r.media_origin, r.media_id)) n++;
    return n;
  }

  async deleteExpiredPending(now: number): Promise<number> {
    let n = 0;
    for (const id of await this.deps.store.expiredPending(now)) if (await this.deleteLocal(id)) n++;
    return n;
  }

  private async releaseFiles(fileKeys: string[]): Promise<void> {
    for (const fileKey of new Set(fileKeys)) {
      await this.deps.fileLocks.run(fileKey, async () => {
        if (!(await this.deps.store.isFileReferenced(fileKey))) await this.deps.files.remove(fileKey);
      });
    }
  }
}

/** The background job: runs every `intervalMs` from start() until stop(); also callable on demand. */
export class MediaRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionResult> | undefined;

  constructor(
    private readonly deps: {
      deletion: MediaDeletion;
      settings: RetentionSettings;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      void this.run().catch((err: unknown) => this.deps.logger.error({ err }, 'media retention job failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass; concurrent callers share the pass in progress. */
  run(): Promise<RetentionResult> {
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(): Promise<RetentionResult> {
    const now = (this.deps.now ?? Date.now)();
    const { localLifetimeMs, remoteLifetimeMs } = this.deps.settings;
    const { deletion } = this.deps;
    const result: RetentionResult = { local: 0, remote: 0, expiredPending: await deletion.deleteExpiredPending(now) };
    if (localLifetimeMs !== null) result.local = (await deletion.deleteLocalUnusedSince(now - localLifetimeMs, { keepAvatars: true })).length;
    if (remoteLifetimeMs !== null) result.remote = await deletion.deleteRemoteUnusedSince(now - remoteLifetimeMs);
    if (result.local + result.remote + result.expiredPending > 0) this.deps.logger.info(result, 'media retention: deleted unused media');
    return result;
  }
}
