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
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface Waiter {
  /** Resolves with true when woken, false on timeout or abort. */
  wait(timeoutMs: number, signal?: WaitSignal): Promise<boolean>;
  cancel(): void;
}

interface WaiterState {
  woken: boolean;
  resolve?: (woken: boolean) => void;
}

export class Notifier {
  private readonly waiters = new Map<string, Set<WaiterState>>();
  private pending: Array<{ position: number; userIds: Iterable<string> }> = [];

  constructor(private readonly positions: StreamPositions) {
    positions.onAdvance((visible) => this.flush(visible));
  }

  /**
   * Registers interest in wake-ups for a user. Call this *before* reading the current position,
   * then wait: anything that happens in between wakes the waiter immediately.
   */
  waiterFor(userId: string): Waiter {
    const state: WaiterState = { woken: false };
    let set = this.waiters.get(userId);
    if (!set) this.waiters.set(userId, (set = new Set()));
    set.add(state);
    const remove = () => {
      const s = this.waiters.get(userId);
      s?.delete(state);
      if (s && s.size === 0) this.waiters.delete(userId);
    };
    return {
      wait: (timeoutMs, signal) =>
        new Promise<boolean>((resolve) => {
          if (state.woken || signal?.aborted || timeoutMs <= 0) {
            remove();
            return resolve(state.woken);
          }
          const finish = (woken: boolean) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            remove();
            state.resolve = undefined;
            resolve(woken);
          };
          const onAbort = () => finish(false);
          const timer = setTimeout(() => finish(false), timeoutMs);
          signal?.addEventListener('abort', onAbort, { once: true });
          state.resolve = finish;
        }),
      cancel: remove,
    };
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
      const set = this.waiters.get(userId);
      if (!set) continue;
      for (const state of set) {
        state.woken = true;
        state.resolve?.(true);
      }
    }
  }
}
