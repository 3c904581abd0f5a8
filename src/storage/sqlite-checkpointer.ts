// Moves SQLite's WAL checkpoints off the event loop. By default SQLite checkpoints inside the
// commit that crosses the WAL size limit, which stalls that request (and everything queued
// behind it) for the copy-back and its fsync — half the cost of a commit, measured. Here the
// writer never checkpoints (wal_autocheckpoint = 0) and a worker thread with its own connection
// runs PASSIVE checkpoints, which never block the writer.
//
// The worker runs only while there is something to checkpoint: a thread is a whole V8 isolate
// (~9 MB of RSS), which an idle server should not carry. The main thread looks at the WAL
// file's size and mtime once a second (one stat call). A change means commits; the worker is
// started when commits keep coming (two looks in a row) or when a change has waited
// START_AFTER_MS (a lone write — SQLite itself would wait for 1000 pages). The worker exits on
// its own once the WAL has been fully copied back and nothing new was written for IDLE_EXIT_MS.
//
// WAL growth: SQLite starts writing the WAL from its beginning again only when a transaction
// begins after a checkpoint that copied *every* frame back. Under steady writes a PASSIVE
// checkpoint never gets there (commits land while it copies), so the WAL grew without bound —
// 300 MB after 3,000 messages, new file blocks on every commit. Once the WAL holds more than
// restartFrames frames, the worker follows its PASSIVE pass with a RESTART one: it waits for the
// writer to be between transactions, copies the few frames committed since the PASSIVE pass
// and makes the next writer start over. The writer waits for that short step only (its busy
// timeout), never for the bulk of the copy.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';

const IDLE_EXIT_MS = 30_000;
const START_AFTER_MS = 10_000;
/** WAL frames (page + 24 bytes each) after which the worker makes the writer restart the WAL: ~64 MB. */
const RESTART_FRAMES = 16_384;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let stopped = false;
let lastLog = -1;
let quietSince = Date.now();
const tick = () => {
  if (stopped) return;
  try {
    // [busy, frames in the WAL, frames copied back]
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    if (r.busy === 0 && r.log > workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)');
    const settled = r.busy === 0 && r.log === r.checkpointed;
    if (!settled || r.log !== lastLog) quietSince = Date.now();
    lastLog = r.log;
    if (settled && Date.now() - quietSince >= workerData.idleExitMs) {
      stopped = true;
      db.close();
      parentPort.postMessage('idle');
      return;
    }
  } catch { quietSince = Date.now(); /* busy: try again next tick */ }
  setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', (msg) => {
  if (msg === 'stop') {
    if (!stopped) {
      stopped = true;
      try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
      db.close();
    }
    parentPort.postMessage('stopped');
  }
});
tick();
`;

export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private readonly watcher: NodeJS.Timeout;
  private readonly walPath: string;
  private readonly driver: string;
  /** Size and mtime of the WAL when last looked at; a change means new commits. */
  private lastSeen: string;
  /** When a change was first seen that no worker has checkpointed yet. */
  private pendingSince: number | undefined;
  private changesInARow = 0;

  private readonly intervalMs: number;
  private readonly idleExitMs: number;
  private readonly startAfterMs: number;
  private readonly restartFrames: number;

  constructor(
    private readonly path: string,
    options: { intervalMs?: number; idleExitMs?: number; startAfterMs?: number; lookEveryMs?: number; restartFrames?: number } = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.idleExitMs = options.idleExitMs ?? IDLE_EXIT_MS;
    this.startAfterMs = options.startAfterMs ?? START_AFTER_MS;
    this.restartFrames = options.restartFrames ?? RESTART_FRAMES;
    this.driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.walPath = `${path}-wal`;
    // A WAL left by an earlier run counts as pending: it may hold frames not yet copied back.
    this.lastSeen = this.walState();
    if (this.lastSeen !== 'none') this.pendingSince = Date.now();
    this.watcher = setInterval(() => this.look(), options.lookEveryMs ?? 1000);
    this.watcher.unref();
  }

  private walState(): string {
    try {
      const s = statSync(this.walPath);
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return 'none';
    }
  }

  private look(): void {
    const now = this.walState();
    if (now !== this.lastSeen) {
      this.lastSeen = now;
      this.changesInARow++;
      // Commits while a worker runs are its business. (A commit between its last checkpoint and
      // its exit waits in the WAL for the next change; SQLite reads it from there meanwhile.)
      if (now !== 'none' && !this.worker) this.pendingSince ??= Date.now();
    } else {
      this.changesInARow = 0;
    }
    if (this.worker || this.pendingSince === undefined) return;
    if (this.changesInARow >= 2 || Date.now() - this.pendingSince >= this.startAfterMs) {
      this.pendingSince = undefined;
      this.startWorker();
    }
  }

  private startWorker(): void {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // The parent's flags (e.g. --import tsx) would load a TypeScript loader into a thread
      // that runs plain JavaScript.
      execArgv: [],
      workerData: { path: this.path, intervalMs: this.intervalMs, idleExitMs: this.idleExitMs, restartFrames: this.restartFrames, driver: this.driver },
    });
    worker.unref();
    worker.on('message', (msg) => {
      if (msg === 'idle') void worker.terminate();
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    worker.on('error', () => {
      // The next change to the WAL starts a new worker; until then SQLite keeps appending.
    });
    this.worker = worker;
  }

  /** Whether a checkpointing thread is alive right now. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Final checkpoint (truncating the WAL), then the worker exits. */
  async stop(): Promise<void> {
    clearInterval(this.watcher);
    const worker = this.worker;
    if (!worker) return;
    const done = new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.once('exit', () => resolve());
    });
    worker.postMessage('stop');
    await done;
    await worker.terminate();
  }
}
