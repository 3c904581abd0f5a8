// Remembers, per key (user, room), the last stream position at which something changed, so a
// sync can skip a query when nothing changed since its token. Keys never seen are treated as
// changed at `floor` (the position when the process started), which is always safe.
export class ChangeTracker {
  private readonly last = new Map<string, number>();

  constructor(private readonly floor: number) {}

  markChanged(key: string, position: number): void {
    if ((this.last.get(key) ?? 0) < position) this.last.set(key, position);
  }

  /** False only if nothing can have changed for this key after `from`. */
  changedSince(key: string, from: number | null): boolean {
    if (from === null) return true;
    return (this.last.get(key) ?? this.floor) > from;
  }

  anyChangedSince(keys: Iterable<string>, from: number | null): boolean {
    if (from === null) return true;
    for (const k of keys) if (this.changedSince(k, from)) return true;
    return false;
  }
}
