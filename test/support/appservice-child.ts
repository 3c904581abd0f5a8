// Starts and kills test/support/appservice-process.ts as a separate OS process, and reads the
// transactions it recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./appservice-process.ts', import.meta.url));

export interface RecordedTxn {
  txnId: string;
  body: { events: any[]; [k: string]: unknown };
}

export class AppserviceChild {
  private child: ChildProcess | undefined;
  port = 0;

  constructor(
    readonly hsToken: string,
    readonly logFile: string,
  ) {}

  /** Starts the process (on the port it had before, if any) and resolves once it listens. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--port', String(this.port), '--hs-token', this.hsToken, '--log', this.logFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`appservice process exited with ${code}`)));
    });
  }

  /** Kills the process outright (no chance to finish anything), and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  transactions(): RecordedTxn[] {
    if (!existsSync(this.logFile)) return [];
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as RecordedTxn);
  }

  async waitFor(predicate: (txns: RecordedTxn[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!predicate(this.transactions())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
