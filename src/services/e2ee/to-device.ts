// Send-to-device messaging (client-server "Send-to-Device messaging"). A send is idempotent per
// (user, device, transaction ID): the transaction ID is recorded in the same database
// transaction as the messages. All messages of one send share one global stream position; each
// recipient device keeps them until it acknowledges them by syncing with a `since` at or past
// that position (never earlier: a lost /sync response must not lose keys).
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { isCanonicalJsonValue } from '../../core/canonical-json.ts';
import { isValidUserId, serverNameOf } from '../../core/ids.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { ToDeviceInsert, ToDeviceStore } from '../../storage/stores/to-device.ts';
import type { StreamPositions } from '../streams/positions.ts';
import type { Notifier } from '../streams/notifier.ts';

/** Most messages one /sync response carries (Synapse's limit); the rest follow in the next. */
export const TO_DEVICE_SYNC_LIMIT = 100;

export type ToDeviceEvent = {
  sender: string;
  type: string;
  content: Record<string, unknown>;
};

export interface ToDeviceDeps {
  db: Kysely<DB>;
  store: ToDeviceStore;
  positions: StreamPositions;
  notifier: Pick<Notifier, 'notifyUsers'>;
  serverName: string;
  /** Debug log for messages that cannot be delivered (never their content). */
  logDebug?: (fields: Record<string, unknown>, message: string) => void;
  /** True for users whose messages an appservice receives in its transactions (MSC3202): /sync must not hand them out too. */
  pushedToAppservice?: (userId: string) => boolean;
  now?: () => number;
}

export type ToDeviceMessages = Record<string, Record<string, Record<string, unknown>>>;

const queueKey = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;

export class ToDeviceService {
  private readonly now: () => number;
  /** Per device: the highest position a message was stored at by this process. */
  private readonly lastStored = new Map<string, number>();
  /** Per device: every message at or below this position is known to be deleted. */
  private readonly ackedUpTo = new Map<string, number>();
  /** Rows written before this process started may exist at or below this position. */
  private readonly floor: number;

  constructor(private readonly deps: ToDeviceDeps) {
    this.now = deps.now ?? Date.now;
    this.floor = deps.positions.current;
  }

  /** PUT /sendToDevice/{eventType}/{txnId} after schema validation: checks, then queues. */
  async send(sender: { userId: string; deviceId: string }, type: string, txnId: string, messages: ToDeviceMessages): Promise<void> {
    const byUser = this.checkMessages(messages);
    if (await this.deps.store.hasTxn(sender.userId, sender.deviceId, txnId)) return;

    const reservation = this.deps.positions.reserve();
    let recipients: ToDeviceInsert[] = [];
    try {
      recipients = await this.deps.db.transaction().execute(async (trx) => {
        // A concurrent retry of the same transaction already queued the messages.
        if (!(await this.deps.store.insertTxn(sender.userId, sender.deviceId, txnId, this.now(), trx))) return [];
        const rows: ToDeviceInsert[] = [];
        for (const [userId, byDevice] of byUser) {
          const explicit = Object.keys(byDevice).filter((d) => d !== '*');
          const wildcard = byDevice['*'];
          const devices = await this.deps.store.existingDevices(userId, wildcard !== undefined ? null : explicit, trx);
          for (const deviceId of devices) {
            // A device named explicitly gets its own message; "*" covers all the others.
            const content = byDevice[deviceId] ?? wildcard;
            if (content === undefined) continue;
            rows.push({ user_id: userId, device_id: deviceId, sender: sender.userId, type, content: JSON.stringify(content) });
          }
          const unknown = explicit.filter((d) => !devices.includes(d));
          if (unknown.length > 0) this.deps.logDebug?.({ recipient: userId, devices: unknown.length }, 'to-device message for unknown devices dropped');
        }
        if (rows.length > 0) await this.deps.store.insertMessages(rows, reservation.position, trx);
        return rows;
      });
    } finally {
      this.deps.positions.release(reservation);
    }
    if (recipients.length === 0) return;
    for (const r of recipients) this.markStored(r.user_id, r.device_id, reservation.position);
    this.deps.notifier.notifyUsers(new Set(recipients.map((r) => r.user_id)), reservation.position);
  }

  /**
   * Where a /sync batch for this device must end so that it carries at most
   * TO_DEVICE_SYNC_LIMIT messages: the position of the last one that fits, or `to` if all fit.
   */
  async batchEnd(userId: string, deviceId: string, from: number | null, to: number): Promise<number> {
    if (!this.mayHaveNew(userId, deviceId, from) || this.deps.pushedToAppservice?.(userId)) return to;
    const positions = await this.deps.store.positionsFor(userId, deviceId, from ?? 0, to, TO_DEVICE_SYNC_LIMIT + 1);
    return positions.length > TO_DEVICE_SYNC_LIMIT ? positions[TO_DEVICE_SYNC_LIMIT - 1] : to;
  }

  /**
   * The device's messages in (from, to] for /sync. A `from` is the client's acknowledgement of
   * everything at or below it: those messages are deleted first.
   */
  async syncEvents(userId: string, deviceId: string, from: number | null, to: number): Promise<ToDeviceEvent[]> {
    if (from !== null) await this.acknowledge(userId, deviceId, from);
    if (!this.mayHaveNew(userId, deviceId, from) || this.deps.pushedToAppservice?.(userId)) return [];
    const rows = await this.deps.store.messagesFor(userId, deviceId, from ?? 0, to, TO_DEVICE_SYNC_LIMIT);
    return rows.map((r) => ({ sender: r.sender, type: r.type, content: JSON.parse(r.content) as Record<string, unknown> }));
  }

  /**
   * Up to `limit` messages after position `after` that are visible now, without deleting any
   * (dehydrated devices read their queue this way). Returns the position of the last one.
   */
  async peek(userId: string, deviceId: string, after: number, limit: number): Promise<{ events: ToDeviceEvent[]; last: number | null }> {
    const rows = await this.deps.store.messagesFor(userId, deviceId, after, this.deps.positions.current, limit);
    return {
      events: rows.map((r) => ({ sender: r.sender, type: r.type, content: JSON.parse(r.content) as Record<string, unknown> })),
      last: rows.length > 0 ? rows[rows.length - 1].stream_pos : null,
    };
  }

  /** Device deletion (DeviceService.onDevicesDeleted): its queue and transaction IDs go. */
  async dropDevices(userId: string, deviceIds: string[]): Promise<void> {
    await this.deps.store.deleteDevices(userId, deviceIds);
    for (const d of deviceIds) {
      this.lastStored.delete(queueKey(userId, d));
      this.ackedUpTo.delete(queueKey(userId, d));
    }
  }

  /**
   * True when a /sync from `from` has nothing to acknowledge nor to deliver for this device,
   * decided in memory (`batchEnd` would answer `to`, `syncEvents` nothing, with no write).
   */
  syncIsIdle(userId: string, deviceId: string, from: number | null): boolean {
    if (from === null) return false;
    const key = queueKey(userId, deviceId);
    const acked = this.ackedUpTo.get(key) ?? -1;
    const lastStored = this.lastStored.get(key) ?? this.floor;
    return (from <= acked || lastStored <= acked) && lastStored <= from;
  }

  private async acknowledge(userId: string, deviceId: string, upTo: number): Promise<void> {
    const key = queueKey(userId, deviceId);
    const acked = this.ackedUpTo.get(key) ?? -1;
    // Skip the write when every message this device could have at or below `upTo` is gone.
    if (upTo <= acked || (this.lastStored.get(key) ?? this.floor) <= acked) return;
    await this.deps.store.deleteUpTo(userId, deviceId, upTo);
    if ((this.ackedUpTo.get(key) ?? -1) < upTo) this.ackedUpTo.set(key, upTo);
  }

  private mayHaveNew(userId: string, deviceId: string, from: number | null): boolean {
    return from === null || (this.lastStored.get(queueKey(userId, deviceId)) ?? this.floor) > from;
  }

  private markStored(userId: string, deviceId: string, position: number): void {
    const key = queueKey(userId, deviceId);
    if ((this.lastStored.get(key) ?? 0) < position) this.lastStored.set(key, position);
  }

  /** Validates the whole request before anything is stored; drops recipients on other servers. */
  private checkMessages(messages: ToDeviceMessages): Map<string, Record<string, Record<string, unknown>>> {
    const local = new Map<string, Record<string, Record<string, unknown>>>();
    for (const [userId, byDevice] of Object.entries(messages)) {
      if (!isValidUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `${userId} is not a valid user ID`);
      for (const [deviceId, content] of Object.entries(byDevice)) {
        if (deviceId.length === 0 || deviceId.length > 255) throw new MatrixError('M_INVALID_PARAM', 'Invalid device ID');
        if (!content || typeof content !== 'object' || Array.isArray(content)) throw new MatrixError('M_BAD_JSON', 'Message content must be an object');
        if (!isCanonicalJsonValue(content)) throw new MatrixError('M_BAD_JSON', 'Message content must not contain floats or integers outside ±(2^53-1)');
      }
      if (serverNameOf(userId) !== this.deps.serverName) {
        // No federation yet: like a server that cannot be reached, the message is dropped.
        this.deps.logDebug?.({ recipient_server: serverNameOf(userId) }, 'to-device message for a remote user dropped');
        continue;
      }
      local.set(userId, byDevice);
    }
    return local;
  }
}
