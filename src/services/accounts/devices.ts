// Devices (spec "Device management"): listing, renaming, deleting. Deleting a device deletes its
// access and refresh tokens in the same transaction, then tells the token cache and the E2EE
// layer (onDevicesDeleted) once committed. Also tracks last-seen time and IP, written at most
// once a minute per access token so requests do not each cost a database write.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { LruCache } from '../../util/lru.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { DeviceRow, DeviceStore } from '../../storage/stores/devices.ts';
import type { TokenStore } from '../../storage/stores/tokens.ts';
import type { Authenticator, Requester } from '../auth/authenticator.ts';
import type { UiaService } from './uia.ts';

export interface DeviceInfo {
  device_id: string;
  display_name?: string;
  last_seen_ip?: string;
  last_seen_ts?: number;
}

/** Synapse's limit; longer names are refused with 400 M_TOO_LARGE. */
export const MAX_DEVICE_DISPLAY_NAME_LENGTH = 100;

export interface DeviceServiceDeps {
  db: Kysely<DB>;
  devices: DeviceStore;
  tokens: Pick<TokenStore, 'deleteTokensOfDevices' | 'deleteTokensOfUserExcept' | 'markAccessTokenUsed'>;
  authenticator: Pick<Authenticator, 'invalidate'>;
  uia: Pick<UiaService, 'performAuth' | 'finish'>;
  /** E2EE cleanup (device keys, to-device messages, device-list updates). */
  onDevicesDeleted?: (userId: string, deviceIds: string[]) => Promise<void>;
  /** A device was renamed (E2EE: its display name is served with its keys). */
  onDeviceRenamed?: (userId: string, deviceId: string) => Promise<void>;
  now?: () => number;
}

export function deviceInfo(row: DeviceRow): DeviceInfo {
  const out: DeviceInfo = { device_id: row.device_id };
  if (row.display_name !== null) out.display_name = row.display_name;
  if (row.last_seen_ip !== null) out.last_seen_ip = row.last_seen_ip;
  if (row.last_seen_ts !== null) out.last_seen_ts = Number(row.last_seen_ts);
  return out;
}

export function checkDeviceDisplayName(name: string): void {
  if (name.length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
    throw new MatrixError('M_TOO_LARGE', `Device display name is too long (max ${MAX_DEVICE_DISPLAY_NAME_LENGTH})`, {}, 400);
  }
}

const TOUCH_INTERVAL_MS = 60_000;

export class DeviceService {
  private readonly now: () => number;
  /** token id → when it was last written to the database. */
  private readonly lastTouched = new LruCache<number, number>(100_000);

  constructor(private readonly deps: DeviceServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async list(userId: string): Promise<DeviceInfo[]> {
    return (await this.deps.devices.listForUser(userId)).map(deviceInfo);
  }

  async get(userId: string, deviceId: string): Promise<DeviceInfo> {
    const row = await this.deps.devices.get(userId, deviceId);
    if (!row) throw new MatrixError('M_NOT_FOUND', 'Unknown device');
    return deviceInfo(row);
  }

  async rename(userId: string, deviceId: string, displayName: string | null): Promise<void> {
    if (displayName !== null) checkDeviceDisplayName(displayName);
    if (!(await this.deps.devices.setDisplayName(userId, deviceId, displayName))) throw new MatrixError('M_NOT_FOUND', 'Unknown device');
    await this.deps.onDeviceRenamed?.(userId, deviceId);
  }

  /**
   * DELETE /devices/{deviceId} and POST /delete_devices: UIA (m.login.password) bound to the
   * operation and its body, then deletion. Users an application service manages have no
   * password, so their requests skip UIA (as in Synapse).
   */
  async deleteDevicesWithAuth(requester: Requester, operation: string, body: Record<string, unknown>, deviceIds: string[]): Promise<void> {
    let uiaSession: string | undefined;
    if (!requester.appserviceId) {
      const auth = await this.deps.uia.performAuth(
        { method: 'POST', path: operation, body, userId: requester.userId, bindBody: true },
        [{ stages: ['m.login.password'] }],
      );
      uiaSession = auth.sessionId;
    }
    await this.deleteDevices(requester.userId, deviceIds, uiaSession);
  }

  /** Deletes devices and their tokens; unknown device IDs are ignored. Returns the IDs that existed. */
  async deleteDevices(userId: string, deviceIds: string[], uiaSession?: string): Promise<string[]> {
    const ids = [...new Set(deviceIds)];
    const deleted = await this.deps.db.transaction().execute(async (trx) => {
      if (uiaSession) await this.deps.uia.finish(uiaSession, trx);
      if (ids.length === 0) return [];
      const existed = await this.deps.devices.delete(userId, ids, trx);
      await this.deps.tokens.deleteTokensOfDevices(userId, ids, trx);
      return existed;
    });
    await this.afterDelete(userId, ids);
    return deleted;
  }

  /** Deletes every device of the user except `keepDeviceId`, with their tokens. */
  async deleteAllDevices(userId: string, keepDeviceId: string | null = null): Promise<string[]> {
    const deleted = await this.deps.db.transaction().execute(async (trx) => {
      const ids = await this.deps.devices.deleteAllExcept(userId, keepDeviceId, trx);
      await this.deps.tokens.deleteTokensOfUserExcept(userId, keepDeviceId, trx);
      return ids;
    });
    await this.afterDelete(userId, deleted, keepDeviceId === null);
    return deleted;
  }

  /** After a commit that deleted devices: forget cached tokens, run the E2EE hook. */
  async afterDelete(userId: string, deviceIds: string[], allOfUser = false): Promise<void> {
    if (allOfUser) this.deps.authenticator.invalidate(userId);
    else for (const id of deviceIds) this.deps.authenticator.invalidate(userId, id);
    if (deviceIds.length > 0) await this.deps.onDevicesDeleted?.(userId, deviceIds);
  }

  /**
   * Records that a token was used from an IP: device last_seen and the token's last_used_ts
   * (which retires the refresh token it replaced). At most once a minute per token per process.
   */
  async touch(requester: Requester, ip: string | null): Promise<void> {
    const now = this.now();
    const last = this.lastTouched.get(requester.tokenId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(requester.tokenId, now);
    await this.deps.tokens.markAccessTokenUsed(requester.tokenId, now);
    await this.deps.devices.touch(requester.userId, requester.deviceId, now, ip);
  }
}
