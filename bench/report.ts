// Output of a benchmark run: a plain-text table (one column per database, targets beside the
// numbers they apply to) and JSON files under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ThroughputResult } from './send-bench.ts';
import type { DeliveryResult, InitialSyncResult } from './sync-bench.ts';
import type { ProfileSummary } from './profile.ts';
import type { MemoryReading } from './server-handle.ts';
import type { MediaBenchResult } from './media-bench.ts';
import type { DeliveryFloor } from './delivery-floor.ts';

export interface StorageResult {
  bytesPerMessage: number;
  /** Where a message's bytes went: event rows, event indexes, push actions, search index, other. */
  bytesPerMessageBreakdown?: Record<string, number>;
  messages: number;
  /** Topic changes in a room of `smallRoomMembers` members. */
  bytesPerStateChangeSmallRoom: number;
  smallRoomMembers: number;
  /** Topic changes in a room of `largeRoomMembers` members. */
  bytesPerStateChangeLargeRoom: number;
  largeRoomMembers: number;
  stateChanges: number;
  /** Joins into a room growing from 1 to `largeRoomMembers` members. */
  bytesPerJoin: number;
  totalBytesAtEnd: number;
}

export interface EngineResult {
  engine: 'sqlite' | 'postgres';
  /** 1/5/15-minute load averages around this engine's run (others' work skews timings). */
  loadAverage: { before: number[]; after: number[] };
  sendSequential: ThroughputResult;
  sendConcurrent: ThroughputResult;
  /** Sequential sends into the 101-member delivery room (push rules and counters of 100 members). */
  sendLargeRoom?: ThroughputResult;
  delivery: DeliveryResult;
  initialSync: InitialSyncResult;
  memory: {
    afterStart: MemoryReading;
    /** 2 s after start, before the start-up's young generation and checkpointer have gone. */
    justStarted: MemoryReading;
    /** 50 s after start, nothing asked of the server meanwhile: what an idle server holds. */
    idle: MemoryReading;
    afterLoad: MemoryReading;
  };
  storage: StorageResult;
  /** Upload and download of a 100 MB file: throughput and RSS (bench/media-bench.ts). */
  media?: MediaBenchResult;
  phaseSeconds: Record<string, number>;
}

export interface RunReport {
  startedAt: string;
  environment: Record<string, string | number>;
  engines: EngineResult[];
  /** The same delivery measurement against a bare server that only writes (delivery-floor.ts). */
  deliveryFloor?: DeliveryFloor;
  profile?: {
    send: ProfileSummary & { sendSequential: ThroughputResult; sendConcurrent: ThroughputResult };
    syncFanout: ProfileSummary & { listeners: number; probes: number; delivery: DeliveryResult };
  };
}

/** `meets` answers undefined where the target does not apply to that engine. */
type Row = [label: string, value: (r: EngineResult) => string, target?: string, meets?: (r: EngineResult) => boolean | undefined];

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const ms = (n: number) => `${n.toFixed(2)} ms`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

const ROWS: Row[] = [
  ['send, sequential (1 sender)', (r) => `${int(r.sendSequential.msgPerSec)} msg/s`, '≥ 2,500 msg/s', (r) => r.sendSequential.msgPerSec >= 2500],
  ['  request p50 / p99', (r) => `${ms(r.sendSequential.requestLatency.p50Ms)} / ${ms(r.sendSequential.requestLatency.p99Ms)}`],
  ['  server CPU per message', (r) => cpuPerMsg(r.sendSequential.serverCpuMsPerMessage)],
  ['  load generator CPU per message', (r) => (r.sendSequential.clientCpuMsPerMessage === undefined ? '?' : ms(r.sendSequential.clientCpuMsPerMessage))],
  ['send, 10 concurrent senders', (r) => `${int(r.sendConcurrent.msgPerSec)} msg/s`, '≥ 6,000 msg/s (SQLite)', (r) => (r.engine === 'sqlite' ? r.sendConcurrent.msgPerSec >= 6000 : undefined)],
  ['  request p50 / p99', (r) => `${ms(r.sendConcurrent.requestLatency.p50Ms)} / ${ms(r.sendConcurrent.requestLatency.p99Ms)}`],
  ['  server CPU per message', (r) => cpuPerMsg(r.sendConcurrent.serverCpuMsPerMessage)],
  ['  load generator CPU per message', (r) => (r.sendConcurrent.clientCpuMsPerMessage === undefined ? '?' : ms(r.sendConcurrent.clientCpuMsPerMessage))],
  ['send, sequential into a 101-member room', (r) => (r.sendLargeRoom ? `${int(r.sendLargeRoom.msgPerSec)} msg/s` : '?')],
  ['  server CPU per message', (r) => cpuPerMsg(r.sendLargeRoom?.serverCpuMsPerMessage)],
  ['send→sync delivery p50 (100 clients)', (r) => ms(r.delivery.fromSendStart.p50Ms)],
  ['send→sync delivery p99 (100 clients)', (r) => ms(r.delivery.fromSendStart.p99Ms), '≤ 5 ms', (r) => r.delivery.fromSendStart.p99Ms <= 5],
  ['  delivery max / missing', (r) => `${ms(r.delivery.fromSendStart.maxMs)} / ${r.delivery.missing}`],
  ['  after send response p50 / p99', (r) => `${ms(r.delivery.fromSendResponse.p50Ms)} / ${ms(r.delivery.fromSendResponse.p99Ms)}`],
  ['  server CPU per probe (send + 100 syncs)', (r) => (r.delivery.serverCpuMsPerProbe === undefined ? '?' : ms(r.delivery.serverCpuMsPerProbe))],
  ['  load generator CPU per probe (100 listeners)', (r) => (r.delivery.clientCpuMsPerProbe === undefined ? '?' : ms(r.delivery.clientCpuMsPerProbe))],
  ['initial sync, 100 rooms (median)', (r) => ms(r.initialSync.medianMs)],
  ['  first run / response size', (r) => `${ms(r.initialSync.firstMs)} / ${(r.initialSync.responseBytes / 1024).toFixed(0)} KiB`],
  ['RSS idle (50 s after start)', (r) => mb(r.memory.idle.rssBytes), '≤ 80 MB', (r) => r.memory.idle.rssBytes <= 80 * 1024 * 1024],
  ['  RSS 2 s after start', (r) => mb(r.memory.justStarted.rssBytes)],
  ['  V8 heap used / external (idle)', (r) => `${mb(r.memory.idle.heapUsedBytes)} / ${mb(r.memory.idle.externalBytes)}`],
  ['RSS after load / peak', (r) => `${mb(r.memory.afterLoad.rssBytes)} / ${r.memory.afterLoad.peakRssBytes ? mb(r.memory.afterLoad.peakRssBytes) : '?'}`],
  ['media upload 100 MB', (r) => (r.media ? `${r.media.upload.mbPerSec.toFixed(0)} MB/s` : '?')],
  ['  peak RSS during upload (vs before)', (r) => (r.media ? `${mb(r.media.upload.peakRssBytes)} (before ${mb(r.media.rssBeforeBytes)}, +${mb(r.media.upload.rssGrowthBytes)})` : '?'), 'flat: ≤ +40 MB', (r) => (r.media ? r.media.upload.rssGrowthBytes <= 40 * 1024 * 1024 : undefined)],
  ['media download 100 MB', (r) => (r.media ? `${r.media.download.mbPerSec.toFixed(0)} MB/s` : '?')],
  ['  peak RSS during download (vs before)', (r) => (r.media ? `${mb(r.media.download.peakRssBytes)} (+${mb(r.media.download.rssGrowthBytes)})` : '?'), 'flat: ≤ +40 MB', (r) => (r.media ? r.media.download.rssGrowthBytes <= 40 * 1024 * 1024 : undefined)],
  ['DB bytes per message', (r) => `${int(r.storage.bytesPerMessage)} B`],
  ['  by part', (r) => breakdown(r.storage.bytesPerMessageBreakdown)],
  ['DB bytes per state change (11 members)', (r) => `${int(r.storage.bytesPerStateChangeSmallRoom)} B`],
  ['DB bytes per state change (101 members)', (r) => `${int(r.storage.bytesPerStateChangeLargeRoom)} B`],
  ['DB bytes per join (room → 101 members)', (r) => `${int(r.storage.bytesPerJoin)} B`],
  ['DB size at end', (r) => mb(r.storage.totalBytesAtEnd)],
  ['load average before → after', (r) => `${r.loadAverage.before[0]} → ${r.loadAverage.after[0]}`],
];

/** "events 1,200 · event indexes 600 · …" (bytes per message, largest first). */
function breakdown(parts: Record<string, number> | undefined): string {
  if (!parts) return '?';
  return Object.entries(parts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(' · ');
}

/** "0.42 ms (≈ 2,381 msg/s per core)": the throughput one core would reach at that cost. */
function cpuPerMsg(v: number | undefined): string {
  if (v === undefined) return '?';
  return `${ms(v)} (≈ ${int(1000 / v)}/s/core)`;
}

export function renderTable(report: RunReport): string {
  const engines = report.engines;
  const header = ['metric', ...engines.map((e) => e.engine), 'target'];
  const lines: string[][] = [header];
  for (const [label, value, target, meets] of ROWS) {
    const cells = engines.map((e) => {
      const v = value(e);
      const verdict = target && meets ? meets(e) : undefined;
      return verdict === undefined ? v : `${v} ${verdict ? 'ok' : 'MISS'}`;
    });
    lines.push([label, ...cells, target ?? '']);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [fmt(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(fmt)];
  const f = report.deliveryFloor;
  if (f) {
    out.push(
      '',
      `Delivery floor of this machine and load generator: a bare node:http server that answers ${f.listeners} parked long-polls in one`,
      `loop (${ms(f.writeLoopMs)}) and does nothing else, read by the same listeners: p50 ${ms(f.p50Ms)}, p99 ${ms(f.p99Ms)}; load generator`,
      `CPU per probe ${ms(f.clientCpuMsPerProbe)}: what a server whose own work took no time would measure here (bench/delivery-floor.ts).`,
    );
  }
  return out.join('\n');
}

function renderHotSpots(p: ProfileSummary): string {
  const list = (title: string, spots: ProfileSummary['topSelf']) =>
    [title, ...spots.map((s) => `  ${s.percent.toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(6)} ms  ${s.name}`)].join('\n');
  return [
    `  busy ${p.busyMs} ms, idle ${p.idleMs} ms of ${p.wallMs} ms; percentages are of busy time`,
    list('top functions by self time:', p.topSelf),
    list('top modules by self time:', p.topModules),
    list('Foyer functions by inclusive time:', p.topFoyerInclusive),
    `  profile file (open in Chrome DevTools → Performance): ${p.file}`,
  ].join('\n');
}

export function renderProfile(p: NonNullable<RunReport['profile']>): string {
  const { send, syncFanout } = p;
  return [
    `CPU profile 1 — send path (SQLite): ${send.sendSequential.messages} sequential + ${send.sendConcurrent.messages} concurrent sends` +
      ` (under the profiler: ${int(send.sendSequential.msgPerSec)} and ${int(send.sendConcurrent.msgPerSec)} msg/s)`,
    renderHotSpots(send),
    '',
    `CPU profile 2 — sync fan-out (SQLite): ${syncFanout.probes} sends, each woken in ${syncFanout.listeners} long-polls` +
      ` (under the profiler: delivery p50 ${ms(syncFanout.delivery.fromSendStart.p50Ms)})`,
    renderHotSpots(syncFanout),
  ].join('\n');
}

export function writeResults(dir: string, report: RunReport): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const written: string[] = [];
  for (const engine of report.engines) {
    const path = join(dir, `${engine.engine}-${stamp}.json`);
    writeFileSync(path, JSON.stringify({ ...report, engines: [engine] }, null, 2) + '\n');
    written.push(path);
  }
  const latest = join(dir, 'latest.json');
  writeFileSync(latest, JSON.stringify(report, null, 2) + '\n');
  written.push(latest);
  return written;
}
