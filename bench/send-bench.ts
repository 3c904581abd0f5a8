// Send throughput into one room: messages sent one after another by one user, then by several
// users at once (each user's sends sequential, the users concurrent: how real clients behave,
// since a client waits for its own send before the next one to keep ordering).
import { performance } from 'node:perf_hooks';
import type { BenchClient, BenchUser } from './client.ts';
import { summarize, type LatencySummary } from './stats.ts';

export interface ThroughputResult {
  messages: number;
  senders: number;
  seconds: number;
  msgPerSec: number;
  /** Per-request latency as the sender saw it. */
  requestLatency: LatencySummary;
  /**
   * Server CPU time (all threads) per message during the phase: unlike msg/s this barely depends
   * on what else the machine is doing, so it shows what the server costs when the box is shared.
   */
  serverCpuMsPerMessage?: number;
  /**
   * The load generator's own CPU per message (this process: building requests, undici, parsing
   * answers). On a 2-core machine it runs beside the server, so a sequential round trip is at
   * least server + client + the kernel's wake-ups of both.
   */
  clientCpuMsPerMessage: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

let seq = 0;

/** A typical short chat message (~60 bytes of body). */
export function messageContent(tag: string): Record<string, unknown> {
  return { msgtype: 'm.text', body: `Benchmark message ${++seq} (${tag}): the quick brown fox jumps` };
}

export async function sendSequential(client: BenchClient, user: BenchUser, roomId: string, count: number, tag = 'seq'): Promise<ThroughputResult> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await client.sendMessage(user, roomId, messageContent(tag));
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - start) / 1000;
  return { messages: count, senders: 1, seconds, msgPerSec: count / seconds, requestLatency: summarize(latencies), clientCpuMsPerMessage: cpuMsSince(cpu) / count };
}

export async function sendConcurrent(client: BenchClient, users: BenchUser[], roomId: string, total: number, tag = 'conc'): Promise<ThroughputResult> {
  const perUser = Math.ceil(total / users.length);
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    users.map(async (user) => {
      for (let i = 0; i < perUser; i++) {
        const t0 = performance.now();
        await client.sendMessage(user, roomId, messageContent(tag));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const messages = perUser * users.length;
  return { messages, senders: users.length, seconds, msgPerSec: messages / seconds, requestLatency: summarize(latencies), clientCpuMsPerMessage: cpuMsSince(cpu) / messages };
}
