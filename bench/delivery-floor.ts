// The floor under the delivery benchmark on this machine: what p50/p99 a server would get if
// answering 100 parked long-polls cost it nothing but the writes. A bare node:http server (a
// child process) parks 100 requests; each probe answers them all in one loop with a fixed ~700-byte
// JSON body. The listeners are the delivery benchmark's own (long-poll-listener.ts, or undici
// with --undici), in this one process, stamping each answer when fully read, as bench/run.ts does.
//
// `npm run bench` reports it under the delivery rows; alone:
//   node --import tsx bench/delivery-floor.ts [--undici]
import http from 'node:http';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LongPollListener } from './long-poll-listener.ts';
import { summarize } from './stats.ts';

const LISTENERS = 100;
const PROBES = 40;

export interface DeliveryFloor {
  listeners: number;
  probes: number;
  client: 'raw socket' | 'undici';
  p50Ms: number;
  p99Ms: number;
  /** The bare server's loop writing the 100 answers (p50). */
  writeLoopMs: number;
  clientCpuMsPerProbe: number;
}

if (process.argv[2] === '--serve') {
  const parked: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    if (!req.url!.startsWith('/answer')) {
      parked.push(res);
      return;
    }
    const seq = Number(new URL(req.url!, 'http://x').searchParams.get('seq'));
    const body = JSON.stringify({ next_batch: `s${seq}`, rooms: { join: { '!r:x': { timeline: { events: [{ type: 'm.room.message', content: { body: 'x'.repeat(600), bench_seq: seq } }] } } } } });
    const started = performance.now();
    for (const r of parked.splice(0)) {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.end(body);
    }
    res.end(String(performance.now() - started));
  });
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const floor = await measureDeliveryFloor(process.argv.includes('--undici'));
  console.log(
    `${floor.client} listeners: delivery p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms; ` +
      `server write loop p50 ${floor.writeLoopMs.toFixed(2)} ms; load generator CPU per probe ${floor.clientCpuMsPerProbe.toFixed(2)} ms`,
  );
  process.exit(0);
}

export async function measureDeliveryFloor(useUndici = false): Promise<DeliveryFloor> {
  const { Pool } = await import('undici');
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  const port: number = await new Promise((resolve) => child.once('message', (p) => resolve(p as number)));
  const base = `http://127.0.0.1:${port}`;
  const pool = new Pool(base, { connections: LISTENERS + 5, headersTimeout: 0, bodyTimeout: 0 });
  const trigger = new Pool(base, { connections: 1 });
  const listeners = Array.from({ length: LISTENERS }, () => new LongPollListener(base, 'floor'));
  let want = -1;
  let got = 0;
  let allIn: () => void = () => undefined;
  let start = 0;
  let stopping = false;
  const latencies: number[] = [];
  const loops = listeners.map(async (listener) => {
    while (!stopping) {
      let body: any;
      let at: number;
      if (useUndici) {
        const res = await pool.request({ method: 'GET', path: '/sync' });
        body = JSON.parse(await res.body.text());
        at = performance.now();
      } else {
        ({ body, readAt: at } = await listener.sync('floor'));
      }
      if (body.rooms.join['!r:x'].timeline.events[0].content.bench_seq === want) {
        latencies.push(at - start);
        if (++got === LISTENERS) allIn();
      }
    }
  });
  // Closing the listeners at the end fails their pending polls: expected, not an error.
  void Promise.allSettled(loops);
  await new Promise((r) => setTimeout(r, 300));
  const writeLoopMs: number[] = [];
  const cpu = process.cpuUsage();
  for (let seq = 1; seq <= PROBES; seq++) {
    want = seq;
    got = 0;
    const all = new Promise<void>((resolve) => (allIn = resolve));
    start = performance.now();
    const res = await trigger.request({ method: 'GET', path: `/answer?seq=${seq}` });
    writeLoopMs.push(Number(await res.body.text()));
    await all;
    await new Promise((r) => setTimeout(r, 15));
  }
  const used = process.cpuUsage(cpu);
  stopping = true;
  for (const l of listeners) l.close();
  child.kill();
  await Promise.all([pool.close(), trigger.close()]).catch(() => undefined);
  return {
    listeners: LISTENERS,
    probes: PROBES,
    client: useUndici ? 'undici' : 'raw socket',
    p50Ms: summarize(latencies).p50Ms,
    p99Ms: summarize(latencies).p99Ms,
    writeLoopMs: summarize(writeLoopMs).p50Ms,
    clientCpuMsPerProbe: (used.user + used.system) / 1000 / PROBES,
  };
}
