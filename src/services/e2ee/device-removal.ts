// Deleting a device (logout, DELETE /devices, deactivation) removes its identity keys, its
// one-time and fallback keys and the signatures on it, and announces the change to everyone who
// shares a room with the owner — in one transaction with the device-list change row.
import type { E2eKeyStore } from '../../storage/stores/e2e-keys.ts';
import type { CrossSigningStore } from '../../storage/stores/cross-signing.ts';
import type { DeviceListService } from './device-lists.ts';

export interface DeviceRemovalDeps {
  keys: Pick<E2eKeyStore, 'deleteDevices'>;
  crossSigning: Pick<CrossSigningStore, 'deleteForDevices'>;
  deviceLists: Pick<DeviceListService, 'recordDeviceChange'>;
}

/** The accounts layer's onDevicesDeleted hook. */
export function removeDeviceKeys(deps: DeviceRemovalDeps): (userId: string, deviceIds: string[]) => Promise<void> {
  return async (userId, deviceIds) => {
    if (deviceIds.length === 0) return;
    await deps.deviceLists.recordDeviceChange(userId, async (trx) => {
      await deps.keys.deleteDevices(userId, deviceIds, trx);
      await deps.crossSigning.deleteForDevices(userId, deviceIds, trx);
    });
  };
}
