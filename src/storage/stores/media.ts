// Queries on media metadata (local uploads, remote cache, thumbnails). Which media may be served,
// kept or deleted is the media service's business; this file only reads and writes rows.
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';

export type LocalMediaRow = Selectable<DB['local_media']>;
export type RemoteMediaRow = Selectable<DB['remote_media_cache']>;
export type ThumbnailRow = Selectable<DB['media_thumbnails']>;

export interface ThumbnailKey {
  origin: string;
  mediaId: string;
  requestedWidth: number;
  requestedHeight: number;
  method: string;
  animated: boolean;
}

export type MediaOrderBy = 'media_id' | 'upload_name' | 'created_ts' | 'last_access_ts' | 'media_length' | 'media_type' | 'quarantined_by';

const COLUMN_OF_ORDER: Record<MediaOrderBy, keyof DB['local_media']> = {
  media_id: 'media_id',
  upload_name: 'upload_name',
  created_ts: 'created_ts',
  last_access_ts: 'last_access_ts',
  media_length: 'size',
  media_type: 'content_type',
  quarantined_by: 'quarantined_by',
};

/** Last use of a media item: its last download, or its upload if never downloaded. */
const lastUsed = sql<number>`coalesce(last_access_ts, created_ts)`;

export class MediaStore {
  constructor(private readonly db: Kysely<DB>) {}

  async insertLocal(row: Insertable<DB['local_media']>): Promise<void> {
    await this.db.insertInto('local_media').values(row).execute();
  }

  async getLocal(mediaId: string): Promise<LocalMediaRow | undefined> {
    return this.db.selectFrom('local_media').selectAll().where('media_id', '=', mediaId).executeTakeFirst();
  }

  async getRemote(origin: string, mediaId: string): Promise<RemoteMediaRow | undefined> {
    return this.db.selectFrom('remote_media_cache').selectAll().where('media_origin', '=', origin).where('media_id', '=', mediaId).executeTakeFirst();
  }

  /** Unexpired /create media IDs of a user that have no content yet. */
  async countPending(userId: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom('local_media')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('file_key', 'is', null)
      .where('unused_expires_ts', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Fills a pending media ID; false if it was filled meanwhile (one upload wins). */
  async completePending(
    mediaId: string,
    fields: { file_key: string; encrypted: number; content_type: string | null; upload_name: string | null; size: number; uploaded_ts: number },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('local_media')
      .set({ ...fields, unused_expires_ts: null })
      .where('media_id', '=', mediaId)
      .where('file_key', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Bytes a user stores (quota), counting each upload even when files are shared. */
  async bytesOfUser(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('local_media')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('size'), eb.lit(0)).as('total'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  async touchLocal(mediaId: string, now: number): Promise<void> {
    await this.db.updateTable('local_media').set({ last_access_ts: now }).where('media_id', '=', mediaId).execute();
  }

  async listOfUser(userId: string, q: { from: number; limit: number; orderBy: MediaOrderBy; dir: 'f' | 'b' }): Promise<LocalMediaRow[]> {
    const direction = q.dir === 'b' ? 'desc' : 'asc';
    return this.db
      .selectFrom('local_media')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy(COLUMN_OF_ORDER[q.orderBy], direction)
      .orderBy('media_id', direction)
      .limit(q.limit)
      .offset(q.from)
      .execute();
  }

  async countOfUser(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('local_media')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async mediaIdsOfUser(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('local_media').select('media_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.media_id);
  }

  /** Local media last used before `ts` (uploaded ones; pending IDs expire separately). */
  async localUnusedSince(ts: number, sizeGreaterThan = -1): Promise<Array<Pick<LocalMediaRow, 'media_id' | 'user_id'>>> {
    return this.db
      .selectFrom('local_media')
      .select(['media_id', 'user_id'])
      .where('file_key', 'is not', null)
      .where(lastUsed, '<', ts)
      .where('size', '>', sizeGreaterThan)
      .execute();
  }

  async remoteUnusedSince(ts: number): Promise<Array<Pick<RemoteMediaRow, 'media_origin' | 'media_id'>>> {
    return this.db.selectFrom('remote_media_cache').select(['media_origin', 'media_id']).where(lastUsed, '<', ts).execute();
  }

  /** Pending /create media IDs that expired unused. */
  async expiredPending(now: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('local_media')
      .select('media_id')
      .where('file_key', 'is', null)
      .where('unused_expires_ts', '<=', now)
      .execute();
    return rows.map((r) => r.media_id);
  }

  /** Deletes a local media row and its thumbnails; returns the file keys they named. */
  async deleteLocal(mediaId: string): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      const media = await trx.deleteFrom('local_media').where('media_id', '=', mediaId).returning('file_key').execute();
      const thumbs = await trx.deleteFrom('media_thumbnails').where('media_origin', '=', '').where('media_id', '=', mediaId).returning('file_key').execute();
      return [...media, ...thumbs].map((r) => r.file_key).filter((k): k is string => k !== null);
    });
  }

  async deleteRemote(origin: string, mediaId: string): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      const media = await trx.deleteFrom('remote_media_cache').where('media_origin', '=', origin).where('media_id', '=', mediaId).returning('file_key').execute();
      const thumbs = await trx.deleteFrom('media_thumbnails').where('media_origin', '=', origin).where('media_id', '=', mediaId).returning('file_key').execute();
      return [...media, ...thumbs].map((r) => r.file_key);
    });
  }

  /** True while any row still names the file (reference counting by query). */
  async isFileReferenced(fileKey: string): Promise<boolean> {
    const local = await this.db.selectFrom('local_media').select('media_id').where('file_key', '=', fileKey).limit(1).executeTakeFirst();
    if (local) return true;
    const remote = await this.db.selectFrom('remote_media_cache').select('media_id').where('file_key', '=', fileKey).limit(1).executeTakeFirst();
    if (remote) return true;
    const thumb = await this.db.selectFrom('media_thumbnails').select('media_id').where('file_key', '=', fileKey).limit(1).executeTakeFirst();
    return thumb !== undefined;
  }

  async setLocalQuarantine(mediaId: string, by: string | null): Promise<boolean> {
    const result = await this.db.updateTable('local_media').set({ quarantined_by: by }).where('media_id', '=', mediaId).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setRemoteQuarantine(origin: string, mediaId: string, by: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('remote_media_cache')
      .set({ quarantined_by: by })
      .where('media_origin', '=', origin)
      .where('media_id', '=', mediaId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async getThumbnail(key: ThumbnailKey): Promise<ThumbnailRow | undefined> {
    return this.db
      .selectFrom('media_thumbnails')
      .selectAll()
      .where('media_origin', '=', key.origin)
      .where('media_id', '=', key.mediaId)
      .where('requested_width', '=', key.requestedWidth)
      .where('requested_height', '=', key.requestedHeight)
      .where('method', '=', key.method)
      .where('animated', '=', key.animated ? 1 : 0)
      .executeTakeFirst();
  }

  /** Stores a generated thumbnail; a concurrent identical one already stored wins. */
  async insertThumbnail(row: Insertable<DB['media_thumbnails']>): Promise<void> {
    await this.db
      .insertInto('media_thumbnails')
      .values(row)
      .onConflict((oc) => oc.columns(['media_origin', 'media_id', 'requested_width', 'requested_height', 'method', 'animated']).doNothing())
      .execute();
  }

  async countThumbnails(origin: string, mediaId: string): Promise<number> {
    const row = await this.db
      .selectFrom('media_thumbnails')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('media_origin', '=', origin)
      .where('media_id', '=', mediaId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** mxc URIs in use as avatars: every user's avatar_url and every room's current m.room.avatar. */
  async avatarUrls(): Promise<Set<string>> {
    const urls = new Set<string>();
    const users = await this.db.selectFrom('users').select('avatar_url').where('avatar_url', 'is not', null).execute();
    for (const u of users) if (u.avatar_url) urls.add(u.avatar_url);
    const rooms = await this.db
      .selectFrom('room_current_state')
      .innerJoin('events', 'events.event_nid', 'room_current_state.event_nid')
      .select('events.json')
      .where('room_current_state.type', '=', 'm.room.avatar')
      .execute();
    for (const r of rooms) {
      const url = (JSON.parse(r.json) as { content?: { url?: unknown } }).content?.url;
      if (typeof url === 'string') urls.add(url);
    }
    return urls;
  }
}
