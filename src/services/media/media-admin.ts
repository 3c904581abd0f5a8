// The media part of the Synapse-compatible admin API and of `foyer media`: list a user's media,
// delete by ID, by user or by date, quarantine. Quarantined media stays stored but is served to
// nobody (404), so that it can be inspected or restored; deleting is final.
import { MatrixError } from '../../core/errors.ts';
import type { LocalMediaRow, MediaOrderBy, MediaStore } from '../../storage/stores/media.ts';
import type { MediaDeletion } from './retention.ts';

/** A media item as Synapse's admin API shows it. */
export interface AdminMediaInfo {
  media_id: string;
  media_type: string | null;
  media_length: number;
  upload_name: string | null;
  created_ts: number;
  last_access_ts: number | null;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
}

export function adminMediaInfo(row: LocalMediaRow): AdminMediaInfo {
  return {
    media_id: row.media_id,
    media_type: row.content_type,
    media_length: Number(row.size),
    upload_name: row.upload_name,
    created_ts: Number(row.created_ts),
    last_access_ts: row.last_access_ts === null ? null : Number(row.last_access_ts),
    quarantined_by: row.quarantined_by,
    safe_from_quarantine: false,
  };
}

export class MediaAdmin {
  constructor(
    private readonly deps: {
      serverName: string;
      store: MediaStore;
      deletion: MediaDeletion;
    },
  ) {}

  isLocal(serverName: string): boolean {
    return serverName === this.deps.serverName;
  }

  async listUserMedia(userId: string, q: { from: number; limit: number; orderBy: MediaOrderBy; dir: 'f' | 'b' }): Promise<{ media: AdminMediaInfo[]; total: number; next_token?: number }> {
    const rows = await this.deps.store.listOfUser(userId, q);
    const total = await this.deps.store.countOfUser(userId);
    const next = q.from + rows.length;
    return { media: rows.map(adminMediaInfo), total, ...(next < total ? { next_token: next } : {}) };
  }

  async deleteUserMedia(userId: string): Promise<{ deleted_media: string[]; total: number }> {
    const deleted: string[] = [];
    for (const id of await this.deps.store.mediaIdsOfUser(userId)) if (await this.deps.deletion.deleteLocal(id)) deleted.push(id);
    return { deleted_media: deleted, total: deleted.length };
  }

  async mediaInfo(serverName: string, mediaId: string): Promise<AdminMediaInfo> {
    const row = this.isLocal(serverName) ? await this.deps.store.getLocal(mediaId) : undefined;
    if (!row) throw new MatrixError('M_NOT_FOUND', 'Unknown media');
    return adminMediaInfo(row);
  }

  async deleteMedia(serverName: string, mediaId: string): Promise<{ deleted_media: string[]; total: number }> {
    // Synapse deletes only local media here (remote copies go through purge_media_cache).
    if (!this.isLocal(serverName)) throw new MatrixError('M_INVALID_PARAM', 'Can only delete local media');
    if (!(await this.deps.deletion.deleteLocal(mediaId))) throw new MatrixError('M_NOT_FOUND', 'Unknown media');
    return { deleted_media: [mediaId], total: 1 };
  }

  async deleteOlderThan(beforeTs: number, sizeGreaterThan: number, keepProfiles: boolean): Promise<{ deleted_media: string[]; total: number }> {
    const deleted = await this.deps.deletion.deleteLocalUnusedSince(beforeTs, { sizeGreaterThan, keepAvatars: keepProfiles });
    return { deleted_media: deleted, total: deleted.length };
  }

  async purgeRemoteCache(beforeTs: number): Promise<{ deleted: number }> {
    return { deleted: await this.deps.deletion.deleteRemoteUnusedSince(beforeTs) };
  }

  /** Quarantines (by = the admin) or releases (by = null) one media item. */
  async setQuarantine(serverName: string, mediaId: string, by: string | null): Promise<void> {
    const found = this.isLocal(serverName)
      ? await this.deps.store.setLocalQuarantine(mediaId, by)
      : await this.deps.store.setRemoteQuarantine(serverName, mediaId, by);
    if (!found) throw new MatrixError('M_NOT_FOUND', 'Unknown media');
  }
}
