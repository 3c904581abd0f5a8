// Server-side key backup (client-server "Server-side key backups"). Created by 0071_to_device_backup.
export interface KeyBackupTables {
  /**
   * Backup versions per user. Deleted versions keep their row (deleted = 1) so that their number
   * is never handed out again and a repeated DELETE still succeeds; their keys are gone.
   */
  room_key_backup_versions: {
    user_id: string;
    version: number;
    algorithm: string;
    auth_data: string;
    /** Bumped whenever the keys of this version change; served as the opaque `etag`. */
    etag: number;
    deleted: number;
    created_ts: number;
  };
  /** One encrypted Megolm session key per (version, room, session). */
  room_key_backup_keys: {
    user_id: string;
    version: number;
    room_id: string;
    session_id: string;
    first_message_index: number;
    forwarded_count: number;
    is_verified: number;
    session_data: string;
  };
}
