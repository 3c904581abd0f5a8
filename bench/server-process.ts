// Child-process entry point for the benchmarks: runs one real Foyer server so that its memory
// (RSS) and CPU profile are its own and not mixed with the load generator's.
//
// The parent (bench/server-handle.ts) forks this file with an IPC channel and a JSON spec in
// FOYER_BENCH_SPEC. Messages from the parent are requests {id, op}; each gets one reply {id, …}.
// Ops: "memory" (process.memoryUsage), "cpu" (process.cpuUsage, all threads), "dbBytes" (size of the database on disk, after a WAL
// checkpoint on SQLite), "dbObjectBytes" (bytes per table and index), "profileStart" / "profileStop" {path} (a CPU profile of the window in
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
  | { id: number; op: 'memory' | 'cpu' | 'dbBytes' | 'dbObjectBytes' | 'profileStart' | 'stop' }
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

/**
 * TRUNCATE moves every committed page into the main file and empties the WAL, so the file size
 * is the database's real footprint (pages, including free ones SQLite will reuse). It gives up
 * (busy = 1) while the background checkpointer is copying pages; the WAL would then be counted
 * as if it were data (100+ KB per message after a burst of sends), so try again.
 */
async function checkpointFully(): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(app.database.db);
    if (Number(rows[0]?.busy ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function databaseBytes(): Promise<number> {
  const { db, engine } = app.database;
  if (engine === 'sqlite') {
    await checkpointFully();
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

/**
 * Bytes of each table and index ("table" or "table/index"), to see where a message's bytes go.
 * SQLite: the pages of each B-tree (dbstat; FTS5 shadow tables are tables of their own).
 * PostgreSQL: each table with its TOAST, and each index.
 */
async function objectBytes(): Promise<Record<string, number>> {
  const { db, engine } = app.database;
  const out: Record<string, number> = {};
  if (engine === 'sqlite') {
    await checkpointFully();
    const { rows } = await sql<{ name: string; tbl: string | null; bytes: number }>`
      SELECT d.name AS name, m.tbl_name AS tbl, sum(d.pgsize) AS bytes
      FROM dbstat AS d LEFT JOIN sqlite_schema AS m ON m.name = d.name
      GROUP BY d.name`.execute(db);
    for (const r of rows) out[r.tbl && r.tbl !== r.name ? `${r.tbl}/${r.name}` : r.name] = Number(r.bytes);
    return out;
  }
  const { rows } = await sql<{ name: string; tbl: string; bytes: number | string }>`
    SELECT c.relname AS name, coalesce(t.relname, c.relname) AS tbl,
      CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END AS bytes
    FROM pg_class c
    LEFT JOIN pg_index i ON i.indexrelid = c.oid
    LEFT JOIN pg_class t ON t.oid = i.indrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')`.execute(db);
  for (const r of rows) out[r.tbl !== r.name ? `${r.tbl}/${r.name}` : r.name] = Number(r.bytes);
  return out;
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
      else if (msg.op === 'dbObjectBytes') process.send!({ id: msg.id, ok: true, value: await objectBytes() });
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
