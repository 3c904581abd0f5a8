// Sync benchmarks: send→sync delivery latency with many long-polling clients, and the time of
// an initial sync for a user in many rooms.
import { performance } from 'node:perf_hooks';
import type { BenchClient, BenchUser } from './client.ts';
import { median, summarize, type LatencySummary } from './stats.ts';
import { LongPollListener } from './long-poll-listener.ts';

export interface DeliveryResult {
  clients: number;
  messages: number;
  /** From just before the sender's PUT until each client has read the /sync answer carrying the event. */
  fromSendStart: LatencySummary;
  /** From the sender's PUT response until each client has it (negative: sync won the race). */
  fromSendResponse: LatencySummary;
  /** The sender's own PUT round trip during this phase. */
  sendRequest: LatencySummary;
  /** Deliveries that never arrived within the per-message deadline. */
  missing: number;
  /** Server CPU time per probe message (its send plus waking and answering every listener). */
  serverCpuMsPerProbe?: number;
  /** The load generator's CPU per probe: the 100 listeners' HTTP and JSON work, in one process
   * (raw keep-alive sockets, see long-poll-listener.ts). */
  clientCpuMsPerProbe?: number;
}

/**
 * Each of `listeners` runs a /sync?timeout loop. The sender sends `messages` events one at a
 * time; the next is sent only when every client has the previous one and a short pause has let
 * them park their next long-poll again, so each sample measures the wake-up path, not a queue.
 */
export async function measureDelivery(
  client: BenchClient,
  sender: BenchUser,
  listeners: BenchUser[],
  roomId: string,
  messages: number,
): Promise<DeliveryResult> {
  const sentAt: number[] = [];
  const respondedAt: number[] = [];
  const received = new Map<number, number>();
  let waiting: { seq: number; resolve: () => void } | undefined;
  const fromStart: number[] = [];
  const fromResponse: number[] = [];
  let stopping = false;

  const onEvent = (seq: number, at: number) => {
    if (seq < 0 || sentAt[seq] === undefined) return;
    fromStart.push(at - sentAt[seq]);
    // The response time is filled in when the PUT returns; the pairs are matched afterwards.
    fromResponse.push(seq, at);
    const n = (received.get(seq) ?? 0) + 1;
    received.set(seq, n);
    if (waiting && waiting.seq === seq && n === listeners.length) waiting.resolve();
  };

  // Each listener long-polls over its own raw keep-alive socket (long-poll-listener.ts). Initial
  // syncs first (their tokens start the loops), all parked before the first send.
  const sockets = listeners.map((u) => new LongPollListener(client.baseUrl, u.accessToken));
  const tokens = await Promise.all(sockets.map(async (s) => (await s.sync('')).body.next_batch as string));
  const loops = sockets.map(async (socket, i) => {
    let since = tokens[i];
    while (!stopping) {
      const { readAt, body } = await socket.sync(`since=${encodeURIComponent(since)}&timeout=30000`);
      since = body.next_batch;
      // Stamped when the answer was read; counted only if it carries the probe's event.
      for (const ev of body.rooms?.join?.[roomId]?.timeline?.events ?? []) {
        if (typeof ev.content?.bench_seq === 'number') onEvent(ev.content.bench_seq, readAt);
      }
    }
  });
  await new Promise((r) => setTimeout(r, 300));

  const sendLatency: number[] = [];
  let missing = 0;
  for (let seq = 0; seq < messages; seq++) {
    const all = new Promise<void>((resolve) => (waiting = { seq, resolve }));
    sentAt[seq] = performance.now();
    await client.sendMessage(sender, roomId, { msgtype: 'm.text', body: `delivery probe ${seq}`, bench_seq: seq });
    respondedAt[seq] = performance.now();
    sendLatency.push(respondedAt[seq] - sentAt[seq]);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000))]);
    if (timedOut) missing += listeners.length - (received.get(seq) ?? 0);
    waiting = undefined;
    await new Promise((r) => setTimeout(r, 15));
  }

  // One last event wakes every loop so it can see `stopping` and end.
  stopping = true;
  await client.sendMessage(sender, roomId, { msgtype: 'm.text', body: 'stop', bench_seq: -1 });
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 15_000))]);
  for (const socket of sockets) socket.close();

  const responseSamples: number[] = [];
  for (let i = 0; i < fromResponse.length; i += 2) responseSamples.push(fromResponse[i + 1] - respondedAt[fromResponse[i]]);
  return {
    clients: listeners.length,
    messages,
    fromSendStart: summarize(fromStart),
    fromSendResponse: summarize(responseSamples),
    sendRequest: summarize(sendLatency),
    missing,
  };
}

export interface InitialSyncResult {
  rooms: number;
  eventsPerRoom: number;
  runs: number;
  firstMs: number;
  medianMs: number;
  minMs: number;
  responseBytes: number;
}

/** Builds `rooms` rooms for `user` (created with a name and topic, plus a few messages each). */
export async function populateRooms(client: BenchClient, user: BenchUser, rooms: number, messagesPerRoom: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < rooms; i++) {
    const roomId = await client.createRoom(user, { name: `Room ${i}`, topic: `Topic of room ${i}`, preset: 'private_chat' });
    for (let m = 0; m < messagesPerRoom; m++) await client.sendMessage(user, roomId, { msgtype: 'm.text', body: `message ${m} in room ${i}` });
    ids.push(roomId);
  }
  return ids;
}

export async function measureInitialSync(client: BenchClient, user: BenchUser, expectedRooms: number, runs: number): Promise<Omit<InitialSyncResult, 'eventsPerRoom'>> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const res = await client.sync(user);
    times.push(performance.now() - t0);
    const got = Object.keys(res.rooms?.join ?? {}).length;
    if (got !== expectedRooms) throw new Error(`initial sync returned ${got} joined rooms, expected ${expectedRooms}`);
    bytes = JSON.stringify(res).length;
  }
  return { rooms: expectedRooms, runs, firstMs: times[0], medianMs: median(times), minMs: Math.min(...times), responseBytes: bytes };
}
