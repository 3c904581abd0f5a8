// Dehydrated devices (MSC3814, unstable prefix org.matrix.msc3814.v1): a device a client parks on
// the server so that room keys sent while every real device is offline are not lost. It is an
// ordinary device without access tokens (its keys are served by /keys/query and it receives
// to-device messages); at most one per user, and a new one replaces the old one. Its queue is
// read with `events`, which pages and — as the MSC asks — deletes nothing, so an interrupted
// rehydration can start again; the queue goes when the device is replaced or deleted.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { DehydratedDeviceStore } from '../../storage/stores/dehydrated-devices.ts';
import type { DeviceStore } from '../../storage/stores/devices.ts';
import { checkDeviceDisplayName, type DeviceService } from '../accounts/devices.ts';
import { KeyedQueue } from '../../util/keyed-queue.ts';
import type { KeyUploadRequest, KeyUploadService } from './key-upload.ts';
import type { ToDeviceEvent, ToDeviceService } from './to-device.ts';

/** Messages per page of POST /dehydrated_device/{deviceId}/events. */
export const DEHYDRATED_EVENTS_LIMIT = 100;

export interface DehydratedDeviceUpload extends KeyUploadRequest {
  device_id: string;
  device_data: Record<string, unknown>;
  initial_device_display_name?: string;
}

export interface DehydratedDeviceDeps {
  db: Kysely<DB>;
  store: DehydratedDeviceStore;
  devices: Pick<DeviceStore, 'get' | 'ensure'>;
  deviceService: Pick<DeviceService, 'deleteDevices'>;
  keyUpload: Pick<KeyUploadService, 'uploadKeys'>;
  toDevice: Pick<ToDeviceService, 'peek'>;
  now?: () => number;
}

export class DehydratedDeviceService {
  /** PUT and DELETE of one user run one at a time: there is never more than one such device. */
  private readonly perUser = new KeyedQueue();

  constructor(private readonly deps: DehydratedDeviceDeps) {}

  /** PUT /dehydrated_device: creates the device with its keys, then retires the previous one. */
  put(userId: string, upload: DehydratedDeviceUpload): Promise<{ device_id: string }> {
    if (upload.initial_device_display_name !== undefined) checkDeviceDisplayName(upload.initial_device_display_name);
    return this.perUser.run(userId, async () => {
      const previous = await this.deps.store.get(userId);
      // Re-uploading under the same ID replaces the device from scratch (old keys and queue go).
      if (previous && previous.device_id === upload.device_id) await this.deps.deviceService.deleteDevices(userId, [previous.device_id]);
      if (await this.deps.devices.get(userId, upload.device_id)) {
        throw new MatrixError('M_INVALID_PARAM', 'A device with this ID already exists');
      }
      await this.deps.db.transaction().execute(async (trx) => {
        const now = (this.deps.now ?? Date.now)();
        await this.deps.devices.ensure({ user_id: userId, device_id: upload.device_id, display_name: upload.initial_device_display_name ?? null, now }, trx);
        await this.deps.store.put({ user_id: userId, device_id: upload.device_id, device_data: JSON.stringify(upload.device_data), created_ts: now }, trx);
      });
      try {
        await this.deps.keyUpload.uploadKeys(userId, upload.device_id, {
          device_keys: upload.device_keys,
          one_time_keys: upload.one_time_keys,
          fallback_keys: upload.fallback_keys,
        });
      } catch (err) {
        // Keys refused: the new device never existed as far as clients can tell; keep the old one.
        await this.deps.deviceService.deleteDevices(userId, [upload.device_id]);
        if (previous && previous.device_id !== upload.device_id) await this.deps.store.put(previous);
        throw err;
      }
      if (previous && previous.device_id !== upload.device_id) await this.deps.deviceService.deleteDevices(userId, [previous.device_id]);
      return { device_id: upload.device_id };
    });
  }

  /** GET /dehydrated_device */
  async get(userId: string): Promise<{ device_id: string; device_data: Record<string, unknown> }> {
    const row = await this.deps.store.get(userId);
    if (!row) throw new MatrixError('M_NOT_FOUND', 'No dehydrated device');
    return { device_id: row.device_id, device_data: JSON.parse(row.device_data) as Record<string, unknown> };
  }

  /** DELETE /dehydrated_device: deletes the device like any other (keys, queue, device lists). */
  delete(userId: string): Promise<{ device_id: string }> {
    return this.perUser.run(userId, async () => {
      const row = await this.deps.store.get(userId);
      if (!row) throw new MatrixError('M_NOT_FOUND', 'No dehydrated device');
      await this.deps.deviceService.deleteDevices(userId, [row.device_id]);
      return { device_id: row.device_id };
    });
  }

  /**
   * POST /dehydrated_device/{deviceId}/events: a page of the device's to-device messages after
   * `nextBatch`. The answer carries a next_batch while it has events; the page after the last
   * one is empty and has none, which tells the client it has everything.
   */
  async events(userId: string, deviceId: string, nextBatch?: string): Promise<{ events: ToDeviceEvent[]; next_batch?: string }> {
    const row = await this.deps.store.get(userId);
    if (!row || row.device_id !== deviceId) throw new MatrixError('M_FORBIDDEN', 'Not your dehydrated device');
    let after = 0;
    if (nextBatch !== undefined) {
      const m = /^d(\d{1,15})$/.exec(nextBatch);
      if (!m) throw new MatrixError('M_INVALID_PARAM', 'Invalid next_batch token');
      after = Number(m[1]);
    }
    const page = await this.deps.toDevice.peek(userId, deviceId, after, DEHYDRATED_EVENTS_LIMIT);
    return page.last === null ? { events: [] } : { events: page.events, next_batch: `d${page.last}` };
  }

  /** Device deletion hook: a deleted dehydrated device stops being the user's dehydrated device. */
  async onDevicesDeleted(userId: string, deviceIds: string[]): Promise<void> {
    await this.deps.store.deleteIfAmong(userId, deviceIds);
  }
}
