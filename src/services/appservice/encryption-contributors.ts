// MSC3202 (encrypted appservices) and MSC4203 (to-device for appservices): the sections a bridge
// needs to run end-to-end encryption for its users without one /sync per user. Only for
// registrations with `org.matrix.msc3202: true`, and only about users the appservice owns
// exclusively (its exclusive users namespaces and its sender): those users do not /sync, so
// the transaction is the only way their to-device messages and key counts reach the bridge.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import type { QueuedToDeviceRow } from '../../storage/stores/to-device.ts';
import type { AppserviceRegistration } from './registration.ts';
import type { Contribution, ContributorContext, TransactionContributor } from './contributors.ts';
import { matchesExclusive } from './namespaces.ts';

/** Positions (sends) of to-device messages read per transaction. */
const TO_DEVICE_POSITIONS_PER_TXN = 100;
/** Positions of device-list changes, and membership changes, read per transaction. */
const DEVICE_LIST_POSITIONS_PER_TXN = 500;

/** Users whose devices the appservice alone drives (MSC4203's "exclusive namespace" case). */
export function ownsExclusively(reg: AppserviceRegistration, userId: string): boolean {
  return userId === reg.senderUserId || matchesExclusive(reg.users, userId);
}

export interface ToDevicePushDeps {
  queuedBetween(after: number, upTo: number, maxPositions: number): Promise<{ rows: QueuedToDeviceRow[]; readTo: number }>;
  deleteMessages(keys: QueuedToDeviceRow[], trx: Kysely<DB>): Promise<void>;
}

/**
 * `de.sorunome.msc2409.to_device` (and `org.matrix.msc2409.to_device`): messages queued for
 * devices of the appservice's exclusive users, each with `to_user_id` / `to_device_id`. They are
 * deleted from the device queues in the database transaction that stores the appservice
 * transaction (MSC4203's suggestion for exclusive namespaces): from then on the stored
 * transaction is their only copy and is resent until acknowledged, and /sync never sees them.
 */
export class ToDeviceContributor implements TransactionContributor {
  readonly name = 'to_device';
  /**
   * From the start of the queue: messages its users got before the registration was added (or
   * before the flag was set) are hidden from their /sync too, so they must come this way. The
   * queue holds only undelivered messages, so the first scan is short.
   */
  readonly initialCursor = 0;
  private readonly taken = new Map<string, QueuedToDeviceRow[]>();

  constructor(private readonly deps: ToDevicePushDeps) {}

  async contribute({ reg, cursor, to }: ContributorContext): Promise<Contribution> {
    this.taken.delete(reg.id);
    // Without the flag the cursor stays put, so setting it later misses nothing still queued.
    if (!reg.msc3202) return { sections: {}, count: 0, nextCursor: cursor };
    const { rows, readTo } = await this.deps.queuedBetween(cursor, to, TO_DEVICE_POSITIONS_PER_TXN);
    const mine = rows.filter((r) => ownsExclusively(reg, r.user_id));
    if (mine.length === 0) return { sections: {}, count: 0, nextCursor: readTo };
    this.taken.set(reg.id, mine);
    const events = mine.map((r) => ({ to_user_id: r.user_id, to_device_id: r.device_id, sender: r.sender, type: r.type, content: JSON.parse(r.content) as unknown }));
    return { sections: { 'de.sorunome.msc2409.to_device': events, 'org.matrix.msc2409.to_device': events }, count: events.length, nextCursor: readTo };
  }

  async persist(reg: AppserviceRegistration, trx: Kysely<DB>): Promise<void> {
    const taken = this.taken.get(reg.id);
    if (taken) await this.deps.deleteMessages(taken, trx);
  }

  committed(reg: AppserviceRegistration): void {
    this.taken.delete(reg.id);
  }
}

export interface DeviceListPushDeps {
  changesBetween(from: number, to: number, maxPositions: number): Promise<{ rows: Array<{ stream_pos: number; user_id: string; only_for: string }>; readTo: number }>;
  membershipChangesBetween(from: number, to: number, limit: number): Promise<Array<{ room_id: string; user_id: string; membership: string; stream_pos: number }>>;
  joinedMembersOf(roomIds: string[]): Promise<string[]>;
  /** Users joined to a room the user is joined to. */
  usersSharingRoomWith(userId: string): Promise<readonly string[]>;
}

/**
 * `org.matrix.msc3202.device_lists`: `changed` / `left` as /sync computes them, with the
 * appservice's exclusive users together as the observer. changed: users sharing a room with one
 * of them whose keys changed, or who newly share one (either side joined), and their own
 * changes; left: users who stopped sharing a room with them and share none now.
 */
export class DeviceListContributor implements TransactionContributor {
  readonly name = 'device_lists';

  constructor(private readonly deps: DeviceListPushDeps) {}

  async contribute({ reg, cursor, to }: ContributorContext): Promise<Contribution> {
    if (!reg.msc3202) return { sections: {}, count: 0, nextCursor: to };
    const keys = await this.deps.changesBetween(cursor, to, DEVICE_LIST_POSITIONS_PER_TXN);
    let readTo = keys.readTo;
    const members = await this.deps.membershipChangesBetween(cursor, readTo, DEVICE_LIST_POSITIONS_PER_TXN);
    // Membership rows past a full page are read next time; key rows past them too.
    if (members.length >= DEVICE_LIST_POSITIONS_PER_TXN) readTo = members[members.length - 1].stream_pos;

    const maybeChanged = new Set<string>();
    const maybeLeft = new Set<string>();
    const changed = new Set<string>();
    for (const row of keys.rows) {
      if (row.stream_pos > readTo) break;
      if (row.only_for !== '' && !ownsExclusively(reg, row.only_for)) continue;
      if (ownsExclusively(reg, row.user_id) || row.only_for !== '') changed.add(row.user_id);
      else maybeChanged.add(row.user_id);
    }
    for (const m of members) {
      const bridged = ownsExclusively(reg, m.user_id);
      const joined = m.membership === 'join';
      if (!joined && m.membership !== 'leave' && m.membership !== 'ban') continue;
      // One of its users joined or left: everyone in that room may be new or gone to it.
      const affected = bridged ? await this.deps.joinedMembersOf([m.room_id]) : [m.user_id];
      for (const u of affected) (joined ? maybeChanged : maybeLeft).add(u);
    }

    const sharing = new Map<string, boolean>();
    const sharesRoom = async (userId: string): Promise<boolean> => {
      let answer = sharing.get(userId);
      if (answer === undefined) {
        answer = (await this.deps.usersSharingRoomWith(userId)).some((u) => u !== userId && ownsExclusively(reg, u));
        sharing.set(userId, answer);
      }
      return answer;
    };
    for (const u of maybeChanged) if (!ownsExclusively(reg, u) && (await sharesRoom(u))) changed.add(u);
    const left: string[] = [];
    for (const u of maybeLeft) if (!ownsExclusively(reg, u) && !changed.has(u) && !(await sharesRoom(u))) left.push(u);
    const count = changed.size + left.length;
    if (count === 0) return { sections: {}, count: 0, nextCursor: readTo };
    return { sections: { 'org.matrix.msc3202.device_lists': { changed: [...changed].sort(), left: left.sort() } }, count, nextCursor: readTo };
  }
}

export interface KeyCountDeps {
  devicesOf(userId: string): Promise<string[]>;
  countOneTimeKeys(userId: string, deviceId: string): Promise<Record<string, number>>;
  unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]>;
}

/**
 * `org.matrix.msc3202.device_one_time_keys_count` (also under the older
 * `device_one_time_key_counts` name, which Synapse sends too) and
 * `org.matrix.msc3202.device_unused_fallback_key_types`, user → device → counts. Like Synapse, a
 * transaction carries them for the exclusive users it is about (recipients of its to-device
 * messages, senders of its events): a peer that claimed a key sends an olm message next, so
 * the bridge hears of the claim with it. Never a reason to send a transaction by itself.
 */
export class KeyCountContributor implements TransactionContributor {
  readonly name = 'key_counts';
  readonly runsWhenCaughtUp = true;

  constructor(private readonly deps: KeyCountDeps) {}

  async contribute({ reg, to, body }: ContributorContext): Promise<Contribution> {
    if (!reg.msc3202 || !body) return { sections: {}, count: 0, nextCursor: to };
    const devices = new Map<string, Set<string> | null>();
    const toDevice = (body['de.sorunome.msc2409.to_device'] ?? []) as Array<{ to_user_id: string; to_device_id: string }>;
    for (const m of toDevice) {
      const set = devices.get(m.to_user_id);
      if (set === null) continue;
      if (set) set.add(m.to_device_id);
      else devices.set(m.to_user_id, new Set([m.to_device_id]));
    }
    for (const ev of (body.events ?? []) as Array<{ sender?: string }>) {
      if (typeof ev.sender === 'string' && ownsExclusively(reg, ev.sender)) devices.set(ev.sender, null);
    }
    const otk: Record<string, Record<string, Record<string, number>>> = {};
    const fallback: Record<string, Record<string, string[]>> = {};
    for (const [userId, named] of devices) {
      const deviceIds = named ? [...named] : await this.deps.devicesOf(userId);
      for (const deviceId of deviceIds) {
        (otk[userId] ??= {})[deviceId] = await this.deps.countOneTimeKeys(userId, deviceId);
        (fallback[userId] ??= {})[deviceId] = await this.deps.unusedFallbackKeyTypes(userId, deviceId);
      }
    }
    if (Object.keys(otk).length === 0) return { sections: {}, count: 0, nextCursor: to };
    return {
      sections: {
        'org.matrix.msc3202.device_one_time_keys_count': otk,
        'org.matrix.msc3202.device_one_time_key_counts': otk,
        'org.matrix.msc3202.device_unused_fallback_key_types': fallback,
      },
      count: 0,
      nextCursor: to,
    };
  }
}
