// Starts bench/server-process.ts as a child process and talks to it over IPC: memory, CPU time,
// database size on disk, stop. RSS and peak RSS come from /proc/<pid>/status (VmRSS, VmHWM) when
// available; heap figures and CPU time from the process itself.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ServerSpec } from './server-process.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/**
 * Node flags the server runs with under `npm start` (package.json "start"; keep the two in step).
 * --max-semi-space-size=4: V8's young generation may grow to 4 MB per semi-space under load, so
 * that the objects of a burst of work (a group commit, the 100 syncs one message wakes: ~2.5 MB)
 * mostly die before a scavenge has to copy them. Start-up grows it too, but V8's memory reducer
 * shrinks it again once the server is idle: 50 s after start the RSS is within ~1 MB of a
 * server capped at 1 MB (the cap used until 2026-11-22, which held the RSS read 2 s after start
 * under 80 MB; docs/performance.md has the A/B figures).
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=4'];

let built = false;
function buildOnce(): void {
  if (built) return;
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  built = true;
}

export interface StartOptions {
  engine: 'sqlite' | 'postgres';
  postgresUrl: string;
  /** Run bench/server-process.ts through tsx instead of the bundle: CPU profiles then name
   * source files (src/…) instead of dist/ chunks. */
  fromSources?: boolean;
}

export interface MemoryReading {
  rssBytes: number;
  /** Peak RSS since the process started (VmHWM), when /proc is available. */
  peakRssBytes?: number;
  /** V8 heap in use and memory outside it (Buffers, native addons), from the process itself. */
  heapUsedBytes: number;
  externalBytes: number;
}

export class BenchServer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly pid: number,
    readonly engine: 'sqlite' | 'postgres',
    private readonly cleanup: () => Promise<void>,
  ) {
    child.on('message', (msg: { id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error ?? 'server error'));
    });
    child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error('server process exited'));
      this.pending.clear();
    });
  }

  static async start(opts: StartOptions): Promise<BenchServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'foyer-bench-'));
    const pgSchema = opts.engine === 'postgres' ? `bench_${randomBytes(6).toString('hex')}` : undefined;
    const spec: ServerSpec = {
      engine: opts.engine,
      dataDir,
      databaseUrl: opts.engine === 'sqlite' ? `sqlite:${join(dataDir, 'foyer.db')}` : opts.postgresUrl,
      pgSchema,
    };
    // The server runs from the same bundle and with the same Node flags as `npm start`, so the
    // figures are what users get (bench/server-process.ts is built into dist/bench-server.js
    // alongside dist/main.js; see scripts/build.mjs). FOYER_BENCH_NODE_FLAGS overrides the flags
    // to compare settings.
    const flags = process.env.FOYER_BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? SERVER_NODE_FLAGS;
    if (!opts.fromSources) buildOnce();
    const execArgv = opts.fromSources ? [...flags, '--import', 'tsx'] : flags;
    const entry = opts.fromSources ? join(here, 'server-process.ts') : join(root, 'dist', 'bench-server.js');
    const child = fork(entry, [], {
      execArgv,
      env: { ...process.env, FOYER_BENCH_SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const cleanup = async () => {
      rmSync(dataDir, { recursive: true, force: true });
      if (pgSchema) {
        const client = new pg.Client({ connectionString: opts.postgresUrl });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
        } finally {
          await client.end();
        }
      }
    };
    const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`server process exited during start (code ${code})`)));
      child.on('message', (m: { ready?: boolean; url?: string; pid?: number }) => {
        if (m.ready) {
          clearTimeout(timer);
          resolve({ url: m.url!, pid: m.pid! });
        }
      });
    }).catch(async (err) => {
      child.kill();
      await cleanup().catch(() => {});
      throw err;
    });
    return new BenchServer(child, ready.url, ready.pid, opts.engine, cleanup);
  }

  private call<T>(op: 'memory' | 'cpu' | 'dbBytes' | 'dbObjectBytes' | 'profileStart' | 'profileStop' | 'stop', extra: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error('server process exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, ...extra });
    });
  }

  /** Starts sampling the server's CPU (V8 profiler, as node --cpu-prof uses). */
  async profileStart(): Promise<void> {
    await this.call('profileStart');
  }

  /** Stops sampling and writes the .cpuprofile (positions mapped to .ts sources) to `path`. */
  async profileStop(path: string): Promise<void> {
    await this.call('profileStop', { path });
  }

  async memory(): Promise<MemoryReading> {
    const usage = await this.call<NodeJS.MemoryUsage>('memory');
    const reading: MemoryReading = { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, externalBytes: usage.external };
    try {
      // VmHWM (peak) is only in /proc; VmRSS there equals usage.rss but is read without the IPC hop.
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
      if (Number.isFinite(kb('VmRSS'))) reading.rssBytes = kb('VmRSS');
      if (Number.isFinite(kb('VmHWM'))) reading.peakRssBytes = kb('VmHWM');
    } catch {
      /* no /proc on this system */
    }
    return reading;
  }

  /** CPU time (user + system, all threads) the server has used so far, in ms. */
  async cpuMs(): Promise<number> {
    const u = await this.call<NodeJS.CpuUsage>('cpu');
    return (u.user + u.system) / 1000;
  }

  /** Bytes the database occupies on disk (SQLite after a WAL checkpoint; PostgreSQL relation sizes). */
  dbBytes(): Promise<number> {
    return this.call<number>('dbBytes');
  }

  /** Bytes per table and index ("table" or "table/index"). */
  dbObjectBytes(): Promise<Record<string, number>> {
    return this.call<Record<string, number>>('dbObjectBytes');
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      await this.call('stop').catch(() => {});
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (!this.exited) this.child.kill('SIGKILL');
    }
    await this.cleanup();
  }
}

/** True when a PostgreSQL server answers at `url` within a couple of seconds. */
export async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
