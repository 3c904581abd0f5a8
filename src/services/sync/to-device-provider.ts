// to_device.events in /sync: the caller's device's queue in (since, to], at most
// TO_DEVICE_SYNC_LIMIT per response. When more are waiting, `limitBatch` ends the whole batch at
// the last message that fits, so next_batch never skips the rest and every other stream simply
// answers for the shorter range. Syncing with a `since` acknowledges (deletes) what it covers.
// A woken sync whose device has nothing queued nor to acknowledge costs no promise.
import type { ToDeviceService } from '../e2ee/to-device.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class ToDeviceSyncProvider implements SyncProvider {
  readonly name = 'to_device';
  constructor(private readonly toDevice: Pick<ToDeviceService, 'batchEnd' | 'syncEvents' | 'syncIsIdle'>) {}

  limitBatch(ctx: SyncContext, from: number | null, to: number): Promise<number> | number {
    if (this.toDevice.syncIsIdle(ctx.userId, ctx.deviceId, from)) return to;
    return this.toDevice.batchEnd(ctx.userId, ctx.deviceId, from, to);
  }

  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | undefined {
    if (this.toDevice.syncIsIdle(ctx.userId, ctx.deviceId, from)) return undefined;
    return this.addEvents(ctx, from, to, response);
  }

  private async addEvents(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> {
    response.to_device.events.push(...(await this.toDevice.syncEvents(ctx.userId, ctx.deviceId, from, to)));
  }
}
