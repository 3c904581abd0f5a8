// End-to-end encryption keys (spec "End-to-End Encryption"): device identity keys, one-time and
// fallback keys, cross-signing keys with the signatures uploaded for them, and the device-list
// change stream. Key objects are stored as canonical JSON text, exactly as served.
import type { Generated } from 'kysely';

export interface E2eeKeyTables {
  /** Identity keys of a device (DeviceKeys), without `unsigned`; signatures by others live apart. */
  e2e_device_keys: {
    user_id: string;
    device_id: string;
    key_json: string;
  };
  /** Unclaimed one-time keys; a claim deletes the row it hands out. */
  e2e_one_time_keys: {
    id: Generated<number>;
    user_id: string;
    device_id: string;
    algorithm: string;
    key_id: string;
    key_json: string;
  };
  /** One fallback key per device and algorithm; `used` = 1 once it has been handed out. */
  e2e_fallback_keys: {
    user_id: string;
    device_id: string;
    algorithm: string;
    key_id: string;
    key_json: string;
    used: number;
  };
  /** The current master / self_signing / user_signing key of a user. */
  e2e_cross_signing_keys: {
    user_id: string;
    /** 'master' | 'self_signing' | 'user_signing' */
    usage: string;
    public_key: string;
    key_json: string;
  };
  /**
   * Signatures uploaded through /keys/signatures/upload. The target is a device (target_key_id =
   * device ID) or a cross-signing key (target_key_id = its public key), so signatures of a
   * replaced key are no longer found.
   */
  e2e_cross_signing_signatures: {
    signer_user_id: string;
    /** e.g. "ed25519:<public key>" or "ed25519:<device ID>" */
    signer_key_id: string;
    target_user_id: string;
    target_key_id: string;
    signature: string;
  };
  /**
   * The device-list stream: user_id's devices or cross-signing keys changed at stream_pos.
   * only_for = '' concerns everyone sharing a room with user_id; otherwise only that user (their
   * user-signing key signed user_id's master key).
   */
  device_list_changes: {
    stream_pos: number;
    user_id: string;
    only_for: string;
  };
}
