// Forward extremities per room, cached. Only the persister changes them, inside the room's
// write queue, and it updates this cache after each commit (or drops the entry on rollback),
// so the builder and the persister skip a query on every send.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { LruCache } from '../../util/lru.ts';

export class ForwardExtremities {
  private readonly cache = new LruCache<string, readonly string[]>(10_000);

  constructor(private readonly rooms: Pick<RoomStore, 'forwardExtremities'>) {}

  async get(roomId: string, trx?: Kysely<DB>): Promise<readonly string[]> {
    const hit = this.cache.get(roomId);
    if (hit) return hit;
    const ids = await this.rooms.forwardExtremities(roomId, trx);
    // Inside a transaction the value may not be committed yet: only cache committed reads.
    if (!trx) this.cache.set(roomId, ids);
    return ids;
  }

  set(roomId: string, ids: readonly string[]): void {
    this.cache.set(roomId, ids);
  }

  invalidate(roomId: string): void {
    this.cache.delete(roomId);
  }
}
