// Media repository: files under <data_dir>/media, metadata in the database
// (services/media/README.md): uploads, downloads and thumbnails, URL previews, the retention
// job and the media admin API.
import { join } from 'node:path';
import { durationMs } from '../config/schema.ts';
import { ConfigError } from '../config/load.ts';
import { mediaEncryptionKey } from '../config/media-key.ts';
import { MediaStore } from '../storage/stores/media.ts';
import { MediaFiles } from '../storage/media-files.ts';
import type { UserStore } from '../storage/stores/users.ts';
import { MediaUploads } from '../services/media/uploads.ts';
import { MediaDownloads } from '../services/media/downloads.ts';
import { Thumbnailer } from '../services/media/thumbnails.ts';
import { MediaDeletion, MediaRetention } from '../services/media/retention.ts';
import { MediaAdmin } from '../services/media/media-admin.ts';
import { AddressPolicy, SafeFetcher } from '../services/media/safe-fetch.ts';
import { UrlPreviewer } from '../services/media/url-preview.ts';
import { KeyedQueue } from '../util/keyed-queue.ts';
import { mediaUploadRoutes } from '../api/media/upload.ts';
import { mediaDownloadRoutes } from '../api/media/download.ts';
import { mediaPreviewRoutes } from '../api/media/preview.ts';
import { adminMediaRoutes } from '../api/admin/media.ts';
import type { WiringContext } from './context.ts';

/** media.legacy_unauthenticated_before as a timestamp; a date that does not parse must not open everything. */
function legacyMediaBefore(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ts = Date.parse(value);
  if (Number.isNaN(ts)) throw new ConfigError(`media.legacy_unauthenticated_before: not a date: ${value}`);
  return ts;
}

export function wireMedia(ctx: WiringContext, deps: { users: Pick<UserStore, 'exists'> }) {
  const { config, db, router, logger } = ctx;
  const mediaConfig = config.media;
  const store = new MediaStore(db);
  const files = new MediaFiles(join(config.data_dir, 'media'), mediaEncryptionKey(mediaConfig), true);
  const fileLocks = new KeyedQueue();
  const uploads = new MediaUploads({
    serverName: config.server_name,
    store,
    files,
    fileLocks,
    limits: {
      maxUploadBytes: mediaConfig.max_upload_size,
      userQuotaBytes: mediaConfig.user_quota_bytes,
      maxPendingUploads: mediaConfig.max_pending_uploads,
      unusedExpirationMs: durationMs(mediaConfig.unused_expiration),
    },
  });
  const downloads = new MediaDownloads({
    serverName: config.server_name,
    store,
    files,
    waiters: uploads.waiters,
    legacyBeforeTs: legacyMediaBefore(mediaConfig.legacy_unauthenticated_before),
  });
  const thumbnails = new Thumbnailer({ store, files, fileLocks, maxImagePixels: mediaConfig.max_image_pixels });
  const deletion = new MediaDeletion({ serverName: config.server_name, store, files, fileLocks });
  const retentionConfig = config.media_retention;
  const retention = new MediaRetention({
    deletion,
    logger,
    settings: {
      localLifetimeMs: retentionConfig.local_media_lifetime === undefined ? null : durationMs(retentionConfig.local_media_lifetime),
      remoteLifetimeMs: retentionConfig.remote_media_lifetime === undefined ? null : durationMs(retentionConfig.remote_media_lifetime),
    },
  });
  retention.start(durationMs(retentionConfig.check_interval));
  mediaUploadRoutes(router, { uploads });
  mediaDownloadRoutes(router, { downloads, thumbnails, files, maxUploadBytes: mediaConfig.max_upload_size });
  const previewConfig = mediaConfig.url_preview;
  const previewFetcher = new SafeFetcher(new AddressPolicy({ allow: previewConfig.ip_range_whitelist, deny: previewConfig.ip_range_blacklist }), {
    maxBytes: previewConfig.max_spider_size,
    timeoutMs: durationMs(previewConfig.timeout),
  });
  mediaPreviewRoutes(router, { previewer: new UrlPreviewer({ enabled: previewConfig.enabled, fetcher: previewFetcher }) });
  adminMediaRoutes(router, {
    admin: new MediaAdmin({ serverName: config.server_name, store, deletion }),
    userExists: (userId) => deps.users.exists(userId),
  });

  return {
    retention,
    /** Stops the retention timer and lets in-flight file work finish. */
    async stop(): Promise<void> {
      await retention.stop();
      await previewFetcher.close();
      await fileLocks.drain();
    },
  };
}
