// Server-side key backup (client-server "End-to-End Encryption" → "Server-side key backups").
// The server stores encrypted Megolm session keys it cannot read, per backup version. Writes go
// to the current version only (the newest not deleted); a write to an older version gets
// M_WRONG_ROOM_KEYS_VERSION with the current one, so a client notices that another device
// replaced the backup. Deleted versions are gone for good and their numbers never come back.
// Every change to a version's keys bumps its etag in the same transaction.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { BackupKeyRow, BackupKeyScope, BackupVersionRow, KeyBackupStore } from '../../storage/stores/key-backup.ts';
import { KeyedQueue } from '../../util/keyed-queue.ts';

export interface BackupVersionInfo {
  algorithm: string;
  auth_data: Record<string, unknown>;
  count: number;
  etag: string;
  version: string;
}

export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Record<string, unknown>;
}

export type RoomKeyBackup = { sessions: Record<string, KeyBackupData> };

export interface RoomKeysUpdate {
  etag: string;
  count: number;
}

/** rooms → sessions → key, the shape of PUT /room_keys/keys. */
export type BackupUpload = Record<string, Record<string, KeyBackupData>>;

const unknownVersion = () => new MatrixError('M_NOT_FOUND', 'Unknown backup version');

/** Versions are decimal strings we handed out; anything else names no backup. */
function parseVersion(version: string): number {
  if (!/^[1-9]\d{0,14}$/.test(version)) throw unknownVersion();
  return Number(version);
}

export class KeyBackupService {
  /** Version creation and key writes of one user run one at a time (version numbers, etag). */
  private readonly perUser = new KeyedQueue();

  constructor(private readonly deps: { db: Kysely<DB>; store: KeyBackupStore; now?: () => number }) {}

  // --- Versions ----------------------------------------------------------------------------------

  createVersion(userId: string, algorithm: string, authData: Record<string, unknown>): Promise<string> {
    return this.perUser.run(userId, async () => {
      const version = (await this.deps.store.highestVersion(userId)) + 1;
      await this.deps.store.insertVersion({ user_id: userId, version, algorithm, auth_data: JSON.stringify(authData), created_ts: (this.deps.now ?? Date.now)() });
      return String(version);
    });
  }

  /** The current version, or the given one; M_NOT_FOUND if there is none / it was deleted. */
  async versionInfo(userId: string, version?: string): Promise<BackupVersionInfo> {
    const row = version === undefined ? await this.deps.store.currentVersion(userId) : await this.liveVersion(userId, parseVersion(version));
    if (!row) throw new MatrixError('M_NOT_FOUND', 'No current backup version');
    return {
      algorithm: row.algorithm,
      auth_data: JSON.parse(row.auth_data) as Record<string, unknown>,
      count: await this.deps.store.countKeys(userId, row.version),
      etag: String(row.etag),
      version: String(row.version),
    };
  }

  /** Only auth_data changes; the algorithm (and a version in the body) must match. */
  async updateVersion(userId: string, version: string, body: { algorithm: string; auth_data: Record<string, unknown>; version?: string }): Promise<void> {
    const row = await this.liveVersion(userId, parseVersion(version));
    if (!row) throw unknownVersion();
    if (body.version !== undefined && body.version !== version) throw new MatrixError('M_INVALID_PARAM', 'The version in the body does not match the path');
    if (body.algorithm !== row.algorithm) throw new MatrixError('M_INVALID_PARAM', 'Algorithm does not match');
    await this.deps.store.updateAuthData(userId, row.version, JSON.stringify(body.auth_data));
  }

  /** Deletes a version and its keys; deleting an already deleted version succeeds. */
  deleteVersion(userId: string, version: string): Promise<void> {
    const number = parseVersion(version);
    return this.perUser.run(userId, async () => {
      const row = await this.deps.store.getVersion(userId, number);
      if (!row) throw unknownVersion();
      if (row.deleted) return;
      await this.deps.db.transaction().execute((trx) => this.deps.store.deleteVersion(userId, number, trx));
    });
  }

  // --- Keys --------------------------------------------------------------------------------------

  /** Stores keys in the current version, keeping the better of old and new for each session. */
  uploadKeys(userId: string, version: string, upload: BackupUpload): Promise<RoomKeysUpdate> {
    const number = parseVersion(version);
    return this.perUser.run(userId, async () => {
      const current = await this.deps.store.currentVersion(userId);
      if (!current) throw unknownVersion();
      if (current.version !== number) {
        if (!(await this.liveVersion(userId, number))) throw unknownVersion();
        throw new MatrixError('M_WRONG_ROOM_KEYS_VERSION', 'Wrong backup version', { current_version: String(current.version) }, 403);
      }
      return this.deps.db.transaction().execute(async (trx) => {
        let changed = false;
        for (const [roomId, sessions] of Object.entries(upload)) {
          for (const [sessionId, key] of Object.entries(sessions)) {
            const row: BackupKeyRow = {
              room_id: roomId,
              session_id: sessionId,
              first_message_index: key.first_message_index,
              forwarded_count: key.forwarded_count,
              is_verified: key.is_verified,
              session_data: JSON.stringify(key.session_data),
            };
            if (await this.deps.store.putKeyIfBetter(userId, number, row, trx)) changed = true;
          }
        }
        if (changed) await this.deps.store.bumpEtag(userId, number, trx);
        return this.updateResult(userId, number, trx);
      });
    });
  }

  /** All keys of a version, optionally of one room or one session. */
  async queryKeys(userId: string, version: string, scope: BackupKeyScope = {}): Promise<Record<string, RoomKeyBackup>> {
    const row = await this.liveVersion(userId, parseVersion(version));
    if (!row) throw unknownVersion();
    const rooms: Record<string, RoomKeyBackup> = {};
    for (const k of await this.deps.store.getKeys(userId, row.version, scope)) {
      (rooms[k.room_id] ??= { sessions: {} }).sessions[k.session_id] = {
        first_message_index: k.first_message_index,
        forwarded_count: k.forwarded_count,
        is_verified: k.is_verified,
        session_data: JSON.parse(k.session_data) as Record<string, unknown>,
      };
    }
    return rooms;
  }

  /** Deletes keys of a version (any live version, not only the current one). */
  deleteKeys(userId: string, version: string, scope: BackupKeyScope = {}): Promise<RoomKeysUpdate> {
    const number = parseVersion(version);
    return this.perUser.run(userId, async () => {
      if (!(await this.liveVersion(userId, number))) throw unknownVersion();
      return this.deps.db.transaction().execute(async (trx) => {
        if ((await this.deps.store.deleteKeys(userId, number, scope, trx)) > 0) await this.deps.store.bumpEtag(userId, number, trx);
        return this.updateResult(userId, number, trx);
      });
    });
  }

  private async updateResult(userId: string, version: number, trx: Kysely<DB>): Promise<RoomKeysUpdate> {
    const row = await this.deps.store.getVersion(userId, version, trx);
    return { etag: String(row?.etag ?? 0), count: await this.deps.store.countKeys(userId, version, trx) };
  }

  private async liveVersion(userId: string, version: number): Promise<BackupVersionRow | undefined> {
    const row = await this.deps.store.getVersion(userId, version);
    return row && !row.deleted ? row : undefined;
  }
}
