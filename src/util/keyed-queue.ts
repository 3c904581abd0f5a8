// Runs async tasks one at a time per key (e.g. per room), in submission order, while tasks of
// different keys run concurrently.
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /**
   * Runs `task` once it holds every key in `keys`, taken one after another in sorted order. Two
   * callers that both take several keys could wait for each other; callers that take one key
   * (with `run`) never wait on such a caller for more than its task.
   */
  runAll<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const from = (i: number): Promise<T> => (i === sorted.length ? task() : this.run(sorted[i], () => from(i + 1)));
    return from(0);
  }

  /** Resolves once every queued task has finished (used at shutdown). */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
