// End-to-end encryption: device keys, one-time and fallback keys, cross-signing, device lists,
// send-to-device, server-side key backup and dehydrated devices (MSC3814), with their routes.
import { E2eKeyStore } from '../storage/stores/e2e-keys.ts';
import { CrossSigningStore } from '../storage/stores/cross-signing.ts';
import { DeviceListStore } from '../storage/stores/device-lists.ts';
import { ToDeviceStore } from '../storage/stores/to-device.ts';
import { KeyBackupStore } from '../storage/stores/key-backup.ts';
import { DehydratedDeviceStore } from '../storage/stores/dehydrated-devices.ts';
import type { DeviceStore } from '../storage/stores/devices.ts';
import { DeviceListService } from '../services/e2ee/device-lists.ts';
import { KeyUploadService } from '../services/e2ee/key-upload.ts';
import { KeyQueryService } from '../services/e2ee/key-query.ts';
import { CrossSigningService } from '../services/e2ee/cross-signing.ts';
import { removeDeviceKeys } from '../services/e2ee/device-removal.ts';
import { ToDeviceService } from '../services/e2ee/to-device.ts';
import { KeyBackupService } from '../services/e2ee/key-backup.ts';
import { DehydratedDeviceService } from '../services/e2ee/dehydrated.ts';
import type { DeviceService } from '../services/accounts/devices.ts';
import type { UiaService } from '../services/accounts/uia.ts';
import type { AppserviceRegistry } from '../services/appservice/registry.ts';
import { ownsExclusively } from '../services/appservice/encryption-contributors.ts';
import { keyRoutes } from '../api/client/keys.ts';
import { toDeviceRoutes } from '../api/client/to-device.ts';
import { keyBackupRoutes } from '../api/client/key-backup.ts';
import { dehydratedDeviceRoutes } from '../api/client/dehydrated-device.ts';
import type { RoomsWiring } from './rooms.ts';
import type { WiringContext } from './context.ts';

export interface E2eeDeps {
  rooms: RoomsWiring;
  devices: DeviceStore;
  deviceService: DeviceService;
  uia: UiaService;
  appserviceRegistry: AppserviceRegistry;
}

export function wireE2ee(ctx: WiringContext, deps: E2eeDeps) {
  const { config, database, db, router, logger } = ctx;
  const { positions, notifier, persister, roomStore, usersSharingRoomWith } = deps.rooms;

  // Device keys, one-time and fallback keys, cross-signing, device lists
  const e2eKeyStore = new E2eKeyStore(db, database.engine);
  const crossSigningStore = new CrossSigningStore(db);
  const deviceListStore = new DeviceListStore(db);
  const deviceLists = new DeviceListService({ db, store: deviceListStore, positions, notifier, usersSharingRoomWith });
  persister.onPersisted((event) => {
    if (event.pdu.type === 'm.room.member') deviceLists.onMembershipChanged(event.roomId, event.streamPos!);
  });
  const keyUpload = new KeyUploadService({ db, keys: e2eKeyStore, deviceLists });
  const removeE2eeDeviceKeys = removeDeviceKeys({ keys: e2eKeyStore, crossSigning: crossSigningStore, deviceLists });
  keyRoutes(router, {
    upload: keyUpload,
    query: new KeyQueryService({ serverName: config.server_name, keys: e2eKeyStore, crossSigning: crossSigningStore }),
    crossSigning: new CrossSigningService({ db, serverName: config.server_name, store: crossSigningStore, keys: e2eKeyStore, uia: deps.uia, deviceLists }),
    deviceLists,
    memberships: (userId) => roomStore.roomsOfUser(userId, ['join', 'invite', 'leave', 'ban', 'knock']),
  });

  // Send-to-device, server-side key backup and dehydrated devices (MSC3814)
  const toDeviceStore = new ToDeviceStore(db);
  const toDevice = new ToDeviceService({
    db,
    store: toDeviceStore,
    positions,
    notifier,
    serverName: config.server_name,
    logDebug: (fields, message) => logger.debug(fields, message),
    pushedToAppservice: (userId) => deps.appserviceRegistry.all().some((r) => r.msc3202 && !!r.url && ownsExclusively(r, userId)),
  });
  toDeviceRoutes(router, { toDevice });
  keyBackupRoutes(router, { backup: new KeyBackupService({ db, store: new KeyBackupStore(db) }) });
  const dehydratedDevices = new DehydratedDeviceService({
    db,
    store: new DehydratedDeviceStore(db),
    devices: deps.devices,
    deviceService: deps.deviceService,
    keyUpload,
    toDevice,
  });
  dehydratedDeviceRoutes(router, { dehydrated: dehydratedDevices });

  /** A user deleted devices: their keys, queued messages and dehydrated copies go too. */
  async function onDevicesDeleted(userId: string, deviceIds: string[]): Promise<void> {
    await removeE2eeDeviceKeys(userId, deviceIds);
    await toDevice.dropDevices(userId, deviceIds);
    await dehydratedDevices.onDevicesDeleted(userId, deviceIds);
  }

  return { deviceListStore, deviceLists, keyUpload, toDeviceStore, toDevice, onDevicesDeleted };
}

export type E2eeWiring = ReturnType<typeof wireE2ee>;
