// A job that runs on a timer and on demand: one pass at a time (a pass already under way is
// joined, not repeated), the timer unref'd (it never holds the process up), and stop() waits
// for the pass under way, which checks `stopped` between its batches.
import type { Logger } from 'pino';

export abstract class PeriodicJob<Result> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Result> | undefined;
  protected stopped = false;

  constructor(
    protected readonly logger: Logger,
    private readonly name: string,
    private readonly now: () => number = Date.now,
  ) {}

  protected abstract pass(now: number): Promise<Result>;

  /** One pass now, as if the clock read `now`. */
  run(now: number = this.now()): Promise<Result> {
    this.running ??= this.pass(now).finally(() => (this.running = undefined));
    return this.running;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.run().catch((err) => this.logger.error({ err }, `${this.name} failed`));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}

/** Lets requests in between two batches (on SQLite each batch runs synchronously). */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
