// Builds and persists local events, one room at a time (per-room queue), so prev_events,
// depth and auth_events always reflect the room as it is when the event is built.
//
// Group commit: messages (non-state events) that are waiting in a room's queue together are
// built as a chain (each one's only prev event is the one before) and written in ONE
// transaction, since a commit costs more than the rows of a message. Only what is already
// queued is batched, never by waiting on a timer, so a lone send is not delayed. "Already
// queued" includes requests that have reached the server but not yet been read: on SQLite a
// send runs start to end without yielding to I/O (statements are synchronous), so a group
// starts only after the event loop has read the connections that are ready (setImmediate runs
// after the poll phase); otherwise concurrent senders would each commit alone. Each event is checked
// (auth, size) before it joins the batch, so a refused one fails alone; if the transaction
// itself fails, the batch's events are retried one at a time so only the culprit fails.
import { MatrixError } from '../../core/errors.ts';
import { roomVersion, type RoomVersion } from '../../core/room-versions.ts';
import type { RoomEvent } from '../../core/pdu.ts';
import type { RoomStore } from '../../storage/stores/rooms.ts';
import { KeyedQueue } from '../../util/keyed-queue.ts';
import type { EventBuilder, EventDraft } from './event-builder.ts';
import type { EventPersister, PersistOptions, PersistResult, PreparedEvent } from './persist.ts';

/** Most events written by one transaction (bounds the latency of the first one). */
const MAX_BATCH = 64;

type SendOptions = Omit<PersistOptions, 'origin' | 'newRoom'>;

interface PendingSend {
  draft: EventDraft;
  options: SendOptions;
  resolve(result: PersistResult): void;
  reject(err: unknown): void;
}

/** Resolves after the event loop has handled the I/O that is ready now (see the top). */
function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class RoomWriter {
  private readonly queue = new KeyedQueue();
  private readonly versions = new Map<string, RoomVersion>();
  /** Per room: messages queued behind the last task of the room's queue, still open to join. */
  private readonly open = new Map<string, PendingSend[]>();

  constructor(
    private readonly deps: { builder: EventBuilder; persister: EventPersister; rooms: Pick<RoomStore, 'getRoom'> },
  ) {}

  /** The room's version, or undefined if the room is unknown here. */
  async versionOf(roomId: string): Promise<RoomVersion | undefined> {
    let v = this.versions.get(roomId);
    if (!v) {
      const row = await this.deps.rooms.getRoom(roomId);
      if (!row) return undefined;
      v = roomVersion(row.room_version);
      if (!v) throw new Error(`room ${roomId} has unknown version ${row.room_version}`);
      this.versions.set(roomId, v);
    }
    return v;
  }

  async requireVersion(roomId: string): Promise<RoomVersion> {
    const v = await this.versionOf(roomId);
    if (!v) throw new MatrixError('M_NOT_FOUND', 'Unknown room');
    return v;
  }

  /** Builds the event against the room's current state and persists it. */
  async send(roomId: string, draft: EventDraft, options: SendOptions = {}): Promise<PersistResult> {
    const version = await this.requireVersion(roomId);
    if (draft.state_key !== undefined) {
      return this.run(roomId, () => this.buildAndPersist(roomId, version, draft, options));
    }
    return new Promise<PersistResult>((resolve, reject) => {
      const pending = this.open.get(roomId);
      if (pending) {
        pending.push({ draft, options, resolve, reject });
        return;
      }
      const group: PendingSend[] = [{ draft, options, resolve, reject }];
      this.run(roomId, () => afterPendingIo().then(() => this.flush(roomId, version, group)));
      // After `run`, which closes any earlier open group: this one stays open until it starts.
      this.open.set(roomId, group);
    });
  }

  /** Persists the create event of a new room (the room row is written in the same transaction). */
  async create(event: RoomEvent, version: RoomVersion): Promise<PersistResult> {
    this.versions.set(event.roomId, version);
    return this.run(event.roomId, () =>
      this.deps.persister.persist(event, version, { origin: 'local', newRoom: { roomVersion: version.id, creator: event.pdu.sender } }),
    );
  }

  /** Runs `task` in the room's queue (e.g. several events that must be consecutive). */
  exclusive<T>(roomId: string, task: () => Promise<T>): Promise<T> {
    return this.run(roomId, task);
  }

  /**
   * Every task enters the room's queue here. A task queued after an open group of messages
   * closes it, so later messages queue behind the task: sends run in the order they came.
   */
  private run<T>(roomId: string, task: () => Promise<T>): Promise<T> {
    this.open.delete(roomId);
    return this.queue.run(roomId, task);
  }

  private async buildAndPersist(roomId: string, version: RoomVersion, draft: EventDraft, options: SendOptions): Promise<PersistResult> {
    const event = await this.deps.builder.build(roomId, version, draft);
    return this.deps.persister.persist(event, version, { ...options, origin: 'local' });
  }

  /** Writes a group of queued messages, in batches of at most MAX_BATCH events per transaction. */
  private async flush(roomId: string, version: RoomVersion, group: PendingSend[]): Promise<void> {
    if (this.open.get(roomId) === group) this.open.delete(roomId);
    const { builder, persister } = this.deps;
    let i = 0;
    while (i < group.length) {
      const batch: Array<{ send: PendingSend; prepared: PreparedEvent }> = [];
      // A repeat of a transaction ID already in the batch (a client retrying) shares its result.
      const byTxn = new Map<string, number>();
      const repeats: Array<{ send: PendingSend; of: number }> = [];
      let head: PreparedEvent | undefined;
      for (; i < group.length && batch.length < MAX_BATCH; i++) {
        const send = group[i];
        const txn = send.options.txn;
        const txnKey = txn ? JSON.stringify([txn.userId, txn.deviceId, txn.txnId]) : undefined;
        const of = txnKey === undefined ? undefined : byTxn.get(txnKey);
        if (of !== undefined) {
          repeats.push({ send, of });
          continue;
        }
        try {
          const event = await builder.build(roomId, version, send.draft, head?.event);
          const prepared = await persister.prepareLocal(event, version, send.options, head);
          if (txnKey !== undefined) byTxn.set(txnKey, batch.length);
          batch.push({ send, prepared });
          head = prepared;
        } catch (err) {
          send.reject(err);
        }
        // An event later ones cannot build on (e.g. after several prev events, whose state
        // snapshot is only known once written) ends the batch.
        if (head && !head.chainable) {
          i++;
          break;
        }
      }
      if (batch.length === 0) continue;
      let results: PersistResult[];
      try {
        results = await persister.commitBatch(batch.map((b) => b.prepared));
      } catch (err) {
        if (batch.length === 1) batch[0].send.reject(err);
        else await this.retryOneByOne(roomId, version, batch.map((b) => b.send));
        // Repeats retry too: RoomSender answers them with the event of their transaction ID.
        await this.retryOneByOne(roomId, version, repeats.map((r) => r.send));
        continue;
      }
      for (let k = 0; k < batch.length; k++) batch[k].send.resolve(results[k]);
      for (const r of repeats) r.send.resolve(results[r.of]);
    }
  }

  /** After a failed batch transaction (e.g. a duplicate transaction ID): one event at a time. */
  private async retryOneByOne(roomId: string, version: RoomVersion, sends: PendingSend[]): Promise<void> {
    for (const send of sends) {
      try {
        send.resolve(await this.buildAndPersist(roomId, version, send.draft, send.options));
      } catch (err) {
        send.reject(err);
      }
    }
  }

  drain(): Promise<void> {
    return this.queue.drain();
  }
}
