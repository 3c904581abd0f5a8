// E2EE fields of /sync: device_lists (changed / left, incremental syncs only, as in Synapse)
// and the calling device's one-time key counts and unused fallback key types, which are always
// present so clients know when to upload more.
import type { DeviceListService } from '../e2ee/device-lists.ts';
import type { KeyUploadService } from '../e2ee/key-upload.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class DeviceListsSyncProvider implements SyncProvider {
  readonly name = 'device_lists';
  constructor(
    private readonly deps: {
      deviceLists: Pick<DeviceListService, 'queryChanges' | 'mayHaveChanges'>;
      keyCounts: Pick<KeyUploadService, 'countOneTimeKeys' | 'unusedFallbackKeyTypes' | 'cachedKeyCounts'>;
    },
  ) {}

  contribute(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> | undefined {
    // A woken sync usually has no device-list news and its key counts in memory: no promise.
    const cached = this.deps.keyCounts.cachedKeyCounts(ctx.userId, ctx.deviceId);
    if (cached && from !== null && !this.deps.deviceLists.mayHaveChanges(ctx.userId, ctx.memberships, from, to)) {
      response.device_one_time_keys_count = cached.oneTimeKeys as Record<string, number>;
      response.device_unused_fallback_key_types = cached.unusedFallbackTypes as string[];
      return undefined;
    }
    return this.addAll(ctx, from, to, response);
  }

  private async addAll(ctx: SyncContext, from: number | null, to: number, response: SyncResponse): Promise<void> {
    if (from !== null) response.device_lists = await this.deps.deviceLists.queryChanges(ctx.userId, ctx.memberships, from, to);
    response.device_one_time_keys_count = await this.deps.keyCounts.countOneTimeKeys(ctx.userId, ctx.deviceId);
    response.device_unused_fallback_key_types = await this.deps.keyCounts.unusedFallbackKeyTypes(ctx.userId, ctx.deviceId);
  }
}
