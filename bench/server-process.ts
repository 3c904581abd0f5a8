// Child-process entry point for the benchmarks: runs one real Foyer server so that its memory
// (RSS) and CPU profile are its own and not mixed with the load generator's.
//
// The parent (bench/server-handle.ts) forks this file with an IPC channel and a JSON spec in
// FOYER_BENCH_SPEC. Messages from the parent are requests {id, op}; each gets one reply {id, …}.
// Ops: "memory" (process.memoryUsage), "cpu" (process.cpuUsage, all threads), "dbBytes" (size of the database on disk, after a WAL
// checkpoint on SQLite), "profileStart" / "profileStop" {path} (a CPU profile of the window in
// between, see window-profiler.ts), "stop" (close the app and exit).
import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { createApp, createLogger, type FoyerApp } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { performInit } from '../src/cli/init.ts';
import { WindowProfiler } from './window-profiler.ts';

export interface ServerSpec {
  engine: 'sqlite' | 'postgres';
  dataDir: string;
  /** "sqlite:PATH" or a postgres:// URL. */
  databaseUrl: string;
  /** PostgreSQL schema the server owns for this run. */
  pgSchema?: string;
}

export type ParentRequest =
  | { id: number; op: 'memory' | 'cpu' | 'dbBytes' | 'profileStart' | 'stop' }
  | { id: number; op: 'profileStop'; path: string };

const spec = JSON.parse(process.env.FOYER_BENCH_SPEC ?? 'null') as ServerSpec | null;
if (!spec || !process.send) {
  console.error('bench/server-process.ts is started by bench/run.ts (needs FOYER_BENCH_SPEC and an IPC channel)');
  process.exit(2);
}

const configPath = `${spec.dataDir}/foyer.yaml`;
performInit({ serverName: 'bench.local', dataDir: spec.dataDir, configPath, port: 0, bind: '127.0.0.1', database: spec.databaseUrl });
// The benchmark drives thousands of requests from a handful of users: rate limits would measure
// the limiter, not the server. Registration is opened so users can be created over HTTP.
const config = loadConfig(configPath);
config.registration.enabled = true;
config.rate_limits.enabled = false;
// The media benchmark uploads a 100 MB file.
config.media.max_upload_size = 1024 * 1024 * 1024;
config.media.user_quota_bytes = 0;
config.log_level = 'silent' as typeof config.log_level;
const app: FoyerApp = await createApp(config, { databaseSchema: spec.pgSchema, logger: createLogger('silent') });
const url = await app.listen();

async function databaseBytes(): Promise<number> {
  const { db, engine } = app.database;
  if (engine === 'sqlite') {
    // TRUNCATE moves every committed page into the main file and empties the WAL, so the file
    // size is the database's real footprint (pages, including free ones SQLite will reuse).
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
    const path = config.database.url.slice('sqlite:'.length);
    const size = (p: string) => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    return size(path) + size(`${path}-wal`);
  }
  // Tables, their indexes and TOAST, for the schema this server's search_path points at.
  const { rows } = await sql<{ bytes: number | string }>`
    SELECT coalesce(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass)), 0) AS bytes
    FROM pg_tables WHERE schemaname = current_schema()`.execute(db);
  return Number(rows[0]?.bytes ?? 0);
}

let profiler: WindowProfiler | undefined;
process.on('message', (msg: ParentRequest) => {
  void (async () => {
    try {
      if (msg.op === 'memory') process.send!({ id: msg.id, ok: true, value: process.memoryUsage() });
      else if (msg.op === 'cpu') process.send!({ id: msg.id, ok: true, value: process.cpuUsage() });
      else if (msg.op === 'profileStart') {
        profiler ??= new WindowProfiler();
        await profiler.start();
        process.send!({ id: msg.id, ok: true, value: null });
      } else if (msg.op === 'profileStop') {
        if (!profiler) throw new Error('profiler not started');
        await profiler.stop(msg.path);
        process.send!({ id: msg.id, ok: true, value: null });
      } else if (msg.op === 'dbBytes') process.send!({ id: msg.id, ok: true, value: await databaseBytes() });
      else if (msg.op === 'stop') {
        await app.close();
        process.send!({ id: msg.id, ok: true, value: null }, () => process.exit(0));
      }
    } catch (err) {
      process.send!({ id: msg.id, ok: false, error: (err as Error).message });
    }
  })();
});
// The parent going away (crash, Ctrl-C) must not leave a server running.
process.on('disconnect', () => {
  void app.close().finally(() => process.exit(0));
});

process.send({ ready: true, url, pid: process.pid });
