// The content repository: metadata of local uploads, of cached remote media (filled once
// federation exists) and of generated thumbnails. The bytes live on disk, content-addressed by
// `file_key` (storage/media-files.ts); several rows may share one file (identical uploads are
// stored once) and a file is deleted when no row of these three tables names it any more.
export interface MediaTables {
  local_media: {
    media_id: string;
    /** The uploader. */
    user_id: string;
    /** Name of the file on disk; null while an asynchronous upload (/create) is pending. */
    file_key: string | null;
    /** 1 when the file is AES-256-GCM encrypted at rest. */
    encrypted: number;
    content_type: string | null;
    upload_name: string | null;
    /** Plaintext size in bytes (0 while pending). */
    size: number;
    created_ts: number;
    /** When the bytes arrived; null while pending. */
    uploaded_ts: number | null;
    /** Pending uploads only: when the unused media ID expires. */
    unused_expires_ts: number | null;
    /** Last download or thumbnail (retention counts from here). */
    last_access_ts: number | null;
    /** The admin who quarantined it; quarantined media is never served. */
    quarantined_by: string | null;
  };
  remote_media_cache: {
    media_origin: string;
    media_id: string;
    file_key: string;
    encrypted: number;
    content_type: string | null;
    upload_name: string | null;
    size: number;
    created_ts: number;
    last_access_ts: number | null;
    quarantined_by: string | null;
  };
  media_thumbnails: {
    /** "" for local media, the origin server for remote media. */
    media_origin: string;
    media_id: string;
    width: number;
    height: number;
    /** "scale" or "crop". */
    method: string;
    /** 1 for an animated thumbnail (animated=true on a GIF or WebP). */
    animated: number;
    /** What the thumbnail was generated for (the snapped request), to find it again. */
    requested_width: number;
    requested_height: number;
    file_key: string;
    encrypted: number;
    content_type: string;
    size: number;
    created_ts: number;
  };
}
