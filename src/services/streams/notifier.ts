// In-memory wake-ups for long-polling readers (/sync, appservice and federation senders).
// The notifier carries positions only, never data: a woken reader reads from the database.
// Wake-ups for a position are held back until that position is visible (see positions.ts),
// so a woken reader always finds what it was woken for.
import type { StreamPositions } from './positions.ts';

/**
 * What a waiter needs of a cancellation signal. An AbortSignal fits; /sync uses a lighter one
 * (an AbortSignal per request, aborted with a DOMException, costs more than the wake-up itself).
 */
export interface WaitSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: { handleEvent(): void }, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: { handleEvent(): void }): void;
}

export interface Waiter {
  /** Resolves with true when woken, false on timeout or abort. */
  wait(timeoutMs: number, signal?: WaitSignal): Promise<boolean>;
  cancel(): void;
}

/**
 * One registered reader. A class rather than closures: a long-poll creates one per wake-up,
 * and the bundle names every closure it creates (keepNames), which showed in profiles.
 */
class UserWaiter implements Waiter {
  woken = false;
  private resolve: ((woken: boolean) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private signal: WaitSignal | undefined;

  constructor(
    private readonly notifier: Notifier,
    private readonly userId: string,
  ) {}

  wait(timeoutMs: number, signal?: WaitSignal): Promise<boolean> {
    if (this.woken || signal?.aborted || timeoutMs <= 0) {
      this.cancel();
      return Promise.resolve(this.woken);
    }
    settingUp = this;
    const promise = new Promise<boolean>(takeResolve);
    settingUp = undefined;
    this.timer = setTimeout(finishWaiter, timeoutMs, this, false);
    this.signal = signal;
    signal?.addEventListener('abort', this, { once: true });
    return promise;
  }

  setResolve(resolve: (woken: boolean) => void): void {
    this.resolve = resolve;
  }

  /** The signal's abort listener (an EventListener object, so no closure is needed). */
  handleEvent(): void {
    this.finish(false);
  }

  wake(): void {
    this.woken = true;
    this.finish(true);
  }

  finish(woken: boolean): void {
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = undefined;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    this.signal = undefined;
    this.cancel();
    resolve(woken);
  }

  cancel(): void {
    this.notifier.remove(this.userId, this);
  }
}

function finishWaiter(waiter: UserWaiter, woken: boolean): void {
  waiter.finish(woken);
}

/**
 * The waiter whose promise is being created: the executor runs synchronously inside `new
 * Promise`, so one shared executor function can hand the resolver over (no closure per wait).
 */
let settingUp: UserWaiter | undefined;
function takeResolve(resolve: (woken: boolean) => void): void {
  settingUp!.setResolve(resolve);
}

export class Notifier {
  /** Per user: the one waiting reader (the common case: one device polling), or a set of them. */
  private readonly waiters = new Map<string, UserWaiter | Set<UserWaiter>>();
  private pending: Array<{ position: number; userIds: Iterable<string> }> = [];

  constructor(private readonly positions: StreamPositions) {
    positions.onAdvance((visible) => this.flush(visible));
  }

  /**
   * Registers interest in wake-ups for a user. Call this *before* reading the current position,
   * then wait: anything that happens in between wakes the waiter immediately.
   */
  waiterFor(userId: string): Waiter {
    const waiter = new UserWaiter(this, userId);
    const present = this.waiters.get(userId);
    if (!present) this.waiters.set(userId, waiter);
    else if (present instanceof Set) present.add(waiter);
    else this.waiters.set(userId, new Set([present, waiter]));
    return waiter;
  }

  /** Unregisters a waiter (woken, timed out, aborted or cancelled). */
  remove(userId: string, waiter: UserWaiter): void {
    const present = this.waiters.get(userId);
    if (present === waiter) this.waiters.delete(userId);
    else if (present instanceof Set) {
      present.delete(waiter);
      if (present.size === 0) this.waiters.delete(userId);
    }
  }

  /** Wake these users once `position` is visible. */
  notifyUsers(userIds: Iterable<string>, position: number): void {
    if (position <= this.positions.current) this.wake(userIds);
    else this.pending.push({ position, userIds });
  }

  /** Number of users with a waiting reader (metrics, tests). */
  get waitingUsers(): number {
    return this.waiters.size;
  }

  private flush(visible: number): void {
    if (this.pending.length === 0) return;
    const ready = this.pending.filter((p) => p.position <= visible);
    this.pending = this.pending.filter((p) => p.position > visible);
    for (const p of ready) this.wake(p.userIds);
  }

  private wake(userIds: Iterable<string>): void {
    for (const userId of userIds) {
      const present = this.waiters.get(userId);
      if (!present) continue;
      if (present instanceof Set) for (const waiter of present) waiter.wake();
      else present.wake();
    }
  }
}
