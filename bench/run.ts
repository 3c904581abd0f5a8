// `npm run bench` — benchmarks (not tests) of a real Foyer server running in a child process,
// driven over HTTP: send throughput, send→sync delivery latency with 100 long-polling clients,
// initial sync for a user in 100 rooms, RSS, database bytes per message and per state change,
// and a CPU profile of the send path. SQLite always; PostgreSQL when reachable.
//
//   npm run bench                       both databases + profile
//   npm run bench -- --engine sqlite    one database
//   npm run bench -- --no-profile       skip the profiling run
//   npm run bench -- --engine none      only the profiling run
//   npm run bench -- --media-only       only the media upload/download (SQLite)
//
// Results: a table on stdout, JSON in bench/results/<engine>-<timestamp>.json and latest.json.
import { performance } from 'node:perf_hooks';
import { cpus, totalmem, release, loadavg } from 'node:os';
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { BenchServer, postgresReachable } from './server-handle.ts';
import { BenchClient, inParallel, type BenchUser } from './client.ts';
import { sendConcurrent, sendSequential } from './send-bench.ts';
import { measureDelivery, measureInitialSync, populateRooms } from './sync-bench.ts';
import { summarizeProfile } from './profile.ts';
import { measureMedia, type MediaBenchResult } from './media-bench.ts';
import { measureDeliveryFloor } from './delivery-floor.ts';
import { renderProfile, renderTable, writeResults, type EngineResult, type RunReport } from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = join(here, 'results');
const POSTGRES_URL = process.env.FOYER_BENCH_POSTGRES_URL ?? process.env.FOYER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const args = process.argv.slice(2);
const argValue = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${name}=`))?.split('=')[1];
};
const engineArg = argValue('--engine') ?? 'all';
const withProfile = !args.includes('--no-profile');
const mediaOnly = args.includes('--media-only');

// Sizes of each phase (the brief's numbers).
const N = {
  // Sends before anything is measured, half one by one and half from all senders at once: the
  // first thousands of requests run partly in V8's interpreter and baseline tiers while its
  // optimising compiler works on other threads (measured 2026-11-22, server CPU per sequential
  // message by windows of 1,000 sends: 1.38, 1.25, 0.82, 0.72, then 0.64–0.80 ms), and the
  // figures are about a running server, not one that just started.
  warmup: 4000,
  // Delivery probes before the measured ones: the woken /sync path gets its own warm-up.
  deliveryWarmup: 20,
  sequential: 500,
  concurrent: 500,
  concurrentSenders: 10,
  listeners: 100,
  deliveryMessages: 50,
  stateChanges: 200,
  initialSyncRooms: 100,
  messagesPerRoom: 5,
  initialSyncRuns: 5,
  largeRoomMessages: 300,
};

/** How long the server sits idle after start before its idle memory is read (see where it is used). */
const IDLE_SETTLE_MS = 50_000;

const PROFILE_LISTENERS = 50;
const PROFILE_PROBES = 20;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function changeTopics(client: BenchClient, user: BenchUser, roomId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await client.sendState(user, roomId, 'm.room.topic', '', { topic: `Topic revision ${i} — what we talk about here` });
}

/** Growth of each part of the database (by table and index), per message. */
function perPart(before: Record<string, number>, after: Record<string, number>, messages: number): Record<string, number> {
  const partOf = (name: string): string => {
    const [table, index] = name.split('/');
    if (table === 'events') return index ? 'event indexes' : 'event rows';
    if (table === 'event_edges') return 'event edges';
    if (table === 'event_push_actions') return 'push actions';
    if (table.startsWith('event_search')) return 'search index';
    if (table === 'event_txns') return 'transaction ids';
    return 'other';
  };
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const part = partOf(name);
    out[part] = (out[part] ?? 0) + ((after[name] ?? 0) - (before[name] ?? 0)) / messages;
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]);
  return out;
}

async function benchEngine(engine: 'sqlite' | 'postgres'): Promise<EngineResult> {
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart) / 1000;
    phaseStart = now;
    log(`${engine}: ${name} done (${phases[name].toFixed(1)} s)`);
  };

  const loadBefore = loadavg().map((l) => Math.round(l * 100) / 100);
  if (loadBefore[0] > cpus().length) log(`warning: load average ${loadBefore[0]} on ${cpus().length} CPUs — other work will skew the timings`);
  log(`${engine}: starting server`);
  const server = await BenchServer.start({ engine, postgresUrl: POSTGRES_URL });
  const client = new BenchClient(server.url, { connections: 32, syncConnections: N.listeners + 16 });
  try {
    const afterStart = await server.memory();
    await sleep(2000);
    const justStarted = await server.memory();
    // An idle server's memory settles only after start-up's own work is over: the WAL
    // checkpointer's worker thread (~9 MB) runs from 10 s after the start-up writes until 30 s
    // after the last one, and V8's memory reducer shrinks the young generation that start-up
    // grew (up to the semi-space limit) once allocation stops. Measured 2026-11-22 every 3 s
    // for 75 s: RSS rose ~9 MB at 10 s and fell to its floor at ~42 s, where it stayed.
    await sleep(IDLE_SETTLE_MS - 2000);
    const idle = await server.memory();
    phase('start + idle');

    const senders = await client.registerMany('sender', N.concurrentSenders);
    const listeners = await client.registerMany('listener', N.listeners);
    const roomsUser = await client.register('many_rooms');
    phase('register users');

    // Throughput room: the senders, nobody long-polling.
    const owner = senders[0];
    const room = await client.createRoom(owner, { name: 'Throughput', preset: 'public_chat' });
    for (const u of senders.slice(1)) await client.join(u, room);
    await sendSequential(client, owner, room, N.warmup / 2, 'warmup');
    await sendConcurrent(client, senders, room, N.warmup / 2, 'warmup');
    const bytesBeforeMessages = await server.dbBytes();
    const objectsBeforeMessages = await server.dbObjectBytes();
    let cpu = await server.cpuMs();
    const seq = await sendSequential(client, owner, room, N.sequential);
    seq.serverCpuMsPerMessage = ((await server.cpuMs()) - cpu) / seq.messages;
    cpu = await server.cpuMs();
    const conc = await sendConcurrent(client, senders, room, N.concurrent);
    conc.serverCpuMsPerMessage = ((await server.cpuMs()) - cpu) / conc.messages;
    const bytesAfterMessages = await server.dbBytes();
    const objectsAfterMessages = await server.dbObjectBytes();
    phase('send throughput');

    await changeTopics(client, owner, room, N.stateChanges);
    const bytesAfterSmallState = await server.dbBytes();

    // Delivery room: 100 listeners join; the owner sends.
    const lobby = await client.createRoom(owner, { name: 'Lobby', preset: 'public_chat' });
    const bytesBeforeJoins = await server.dbBytes();
    await inParallel(listeners.length, 10, (i) => client.join(listeners[i], lobby));
    const bytesAfterJoins = await server.dbBytes();
    phase('state changes + joins');

    await measureDelivery(client, owner, listeners, lobby, N.deliveryWarmup);
    cpu = await server.cpuMs();
    const clientCpu = process.cpuUsage();
    const delivery = await measureDelivery(client, owner, listeners, lobby, N.deliveryMessages);
    // Includes the probes' sends, the 100 woken /sync builds per probe, and the parked polls.
    delivery.serverCpuMsPerProbe = ((await server.cpuMs()) - cpu) / (N.deliveryMessages + 1);
    // The 100 listeners live in this one process: the time it takes to read and parse their
    // answers is part of every measured delivery (a floor under the p99 that is not the server's).
    const clientUsed = process.cpuUsage(clientCpu);
    delivery.clientCpuMsPerProbe = (clientUsed.user + clientUsed.system) / 1000 / (N.deliveryMessages + 1);
    phase('delivery latency');

    const bytesBeforeLargeState = await server.dbBytes();
    await changeTopics(client, owner, lobby, N.stateChanges);
    const bytesAfterLargeState = await server.dbBytes();
    phase('state changes (large room)');

    // Sends into the 101-member room: every message is evaluated against 100 members' push
    // rules and raises their unread counters, so this shows what room size costs a send.
    cpu = await server.cpuMs();
    const largeRoom = await sendSequential(client, owner, lobby, N.largeRoomMessages, 'large');
    largeRoom.serverCpuMsPerMessage = ((await server.cpuMs()) - cpu) / largeRoom.messages;
    phase('sends (large room)');

    await populateRooms(client, roomsUser, N.initialSyncRooms, N.messagesPerRoom);
    const initial = await measureInitialSync(client, roomsUser, N.initialSyncRooms, N.initialSyncRuns);
    phase('initial sync');

    const media = await measureMedia(client, await client.register('media_user'), server.pid);
    phase('media upload + download');

    const afterLoad = await server.memory();
    const totalBytes = await server.dbBytes();
    const messages = seq.messages + conc.messages;
    return {
      engine,
      loadAverage: { before: loadBefore, after: loadavg().map((l) => Math.round(l * 100) / 100) },
      sendSequential: seq,
      sendConcurrent: conc,
      sendLargeRoom: largeRoom,
      delivery,
      initialSync: { ...initial, eventsPerRoom: N.messagesPerRoom },
      media,
      memory: { afterStart, justStarted, idle, afterLoad },
      storage: {
        messages,
        bytesPerMessage: (bytesAfterMessages - bytesBeforeMessages) / messages,
        bytesPerMessageBreakdown: perPart(objectsBeforeMessages, objectsAfterMessages, messages),
        stateChanges: N.stateChanges,
        smallRoomMembers: senders.length,
        bytesPerStateChangeSmallRoom: (bytesAfterSmallState - bytesAfterMessages) / N.stateChanges,
        largeRoomMembers: listeners.length + 1,
        bytesPerStateChangeLargeRoom: (bytesAfterLargeState - bytesBeforeLargeState) / N.stateChanges,
        bytesPerJoin: (bytesAfterJoins - bytesBeforeJoins) / listeners.length,
        totalBytesAtEnd: totalBytes,
      },
      phaseSeconds: phases,
    };
  } finally {
    await client.close().catch(() => {});
    await server.stop();
  }
}

/**
 * A separate SQLite server, profiled in two windows: the send path (sequential, then concurrent
 * sends), and the fan-out of sends to long-polling clients. Timings under the profiler are not
 * comparable with the table; the profiles are for finding hot spots.
 */
async function profileHotPaths(): Promise<NonNullable<RunReport['profile']>> {
  const dir = join(RESULTS_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  log('profile: starting a SQLite server to profile');
  // From the sources, so that the profile names src/ files rather than bundle chunks.
  const server = await BenchServer.start({ engine: 'sqlite', postgresUrl: POSTGRES_URL, fromSources: true });
  const client = new BenchClient(server.url, { syncConnections: PROFILE_LISTENERS + 16 });
  try {
    const senders = await client.registerMany('prof', N.concurrentSenders);
    const listeners = await client.registerMany('proflisten', PROFILE_LISTENERS);
    const room = await client.createRoom(senders[0], { preset: 'public_chat' });
    for (const u of senders.slice(1)) await client.join(u, room);
    await sendSequential(client, senders[0], room, N.warmup / 2, 'warmup');
    await sendConcurrent(client, senders, room, N.warmup / 2, 'warmup');

    const sendFile = join(dir, 'send-path.cpuprofile');
    await server.profileStart();
    const seq = await sendSequential(client, senders[0], room, 1000);
    const conc = await sendConcurrent(client, senders, room, 2000);
    await server.profileStop(sendFile);
    log('profile: send path done');

    const lobby = await client.createRoom(senders[0], { preset: 'public_chat' });
    await inParallel(listeners.length, 10, (i) => client.join(listeners[i], lobby));
    const deliveryFile = join(dir, 'sync-fanout.cpuprofile');
    await measureDelivery(client, senders[0], listeners, lobby, N.deliveryWarmup);
    await server.profileStart();
    const delivery = await measureDelivery(client, senders[0], listeners, lobby, PROFILE_PROBES);
    await server.profileStop(deliveryFile);
    log('profile: sync fan-out done');
    return {
      send: { ...summarizeProfile(sendFile), sendSequential: seq, sendConcurrent: conc },
      syncFanout: { ...summarizeProfile(deliveryFile), listeners: listeners.length, probes: PROFILE_PROBES, delivery },
    };
  } finally {
    await client.close().catch(() => {});
    await server.stop();
  }
}

/** RSS of an empty Node process, with and without the tsx loader Foyer runs under (context for the idle figure). */
function baselineRssMB(withTsx: boolean): number {
  try {
    const out = execFileSync(process.execPath, [...(withTsx ? ['--import', 'tsx'] : []), '-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 200)'], {
      cwd: here,
      encoding: 'utf8',
    });
    return Math.round(Number(out.trim()) / 1024 / 102.4) / 10;
  } catch {
    return NaN;
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function describeMedia(m: MediaBenchResult): string {
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  return [
    `media, ${mb(m.sizeBytes)} file — RSS before ${mb(m.rssBeforeBytes)}`,
    `  upload:   ${m.upload.mbPerSec.toFixed(0)} MB/s, peak RSS ${mb(m.upload.peakRssBytes)} (+${mb(m.upload.rssGrowthBytes)})`,
    `  download: ${m.download.mbPerSec.toFixed(0)} MB/s, peak RSS ${mb(m.download.peakRssBytes)} (+${mb(m.download.rssGrowthBytes)})`,
  ].join('\n');
}

/** `--media-only`: one SQLite server, the media scenario alone (a quick check while working on media). */
async function mediaOnlyRun(): Promise<void> {
  const server = await BenchServer.start({ engine: 'sqlite', postgresUrl: POSTGRES_URL });
  const client = new BenchClient(server.url, { connections: 4, syncConnections: 1 });
  try {
    const result = await measureMedia(client, await client.register('media_user'), server.pid, Number(process.env.FOYER_BENCH_MEDIA_MB ?? 100));
    console.log(describeMedia(result));
    mkdirSync(RESULTS_DIR, { recursive: true });
    const path = join(RESULTS_DIR, `media-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(path, JSON.stringify({ startedAt: new Date().toISOString(), commit: gitCommit(), engine: 'sqlite', media: result }, null, 2) + '\n');
    console.log(`wrote ${path}`);
  } finally {
    await client.close().catch(() => {});
    await server.stop();
  }
}

async function main(): Promise<void> {
  if (mediaOnly) return mediaOnlyRun();
  const started = performance.now();
  const engines: Array<'sqlite' | 'postgres'> = [];
  if (engineArg === 'all' || engineArg === 'sqlite') engines.push('sqlite');
  if (engineArg === 'all' || engineArg === 'postgres') {
    if (await postgresReachable(POSTGRES_URL)) engines.push('postgres');
    else log(`PostgreSQL not reachable at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')}; skipping it`);
  }
  const report: RunReport = {
    startedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      commit: gitCommit(),
      loadAverageAtStart: loadavg()[0].toFixed(2),
      baselineRssNodeMB: baselineRssMB(false),
      baselineRssNodeTsxMB: baselineRssMB(true),
    },
    engines: [],
  };
  for (const engine of engines) report.engines.push(await benchEngine(engine));
  if (engines.length > 0) {
    log('delivery floor: a bare server answering the same listeners');
    report.deliveryFloor = await measureDeliveryFloor();
  }
  if (withProfile) report.profile = await profileHotPaths();

  const env = report.environment;
  console.log(`\nFoyer benchmarks — ${env.node}, ${env.cpus} × ${env.cpu}, commit ${env.commit}, load average at start ${env.loadAverageAtStart}`);
  console.log(`(RSS of an empty node process: ${env.baselineRssNodeMB} MB; with the tsx loader Foyer runs under: ${env.baselineRssNodeTsxMB} MB)\n`);
  if (report.engines.length > 0) console.log(renderTable(report));
  if (report.profile) console.log(`\n${renderProfile(report.profile)}`);
  const files = writeResults(RESULTS_DIR, report);
  console.log(`\nwrote ${files.join(', ')} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
