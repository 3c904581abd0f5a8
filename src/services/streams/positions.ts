// The one global stream position sequence (DESIGN §5). Writers reserve a position before their
// transaction and release it after commit or rollback. A position becomes *visible* only when
// every lower position is released, so a reader that saw position N never later finds a row
// at a position ≤ N appear (which would be skipped forever by incremental sync).
export interface PositionReservation {
  readonly position: number;
}

/**
 * Some streams (typing) take positions without writing rows, so after a restart the highest
 * position in the tables can be below a token a client holds; positions handed out again would
 * then be skipped by that client. A high-water mark, saved well ahead of use, prevents that:
 * start-up resumes after max(rows, mark).
 */
export interface HighWaterMark {
  save(mark: number): Promise<void>;
}

const HIGH_WATER_STEP = 10_000;

export class StreamPositions {
  private last: number;
  private visible: number;
  private readonly inFlight = new Set<number>();
  private readonly listeners: Array<(visible: number) => void> = [];
  private savedMark: number;
  private saving: Promise<void> = Promise.resolve();

  constructor(startAfter: number, private readonly highWater?: HighWaterMark) {
    this.last = startAfter;
    this.visible = startAfter;
    this.savedMark = startAfter;
    this.ensureHeadroom();
  }

  /** The highest position below which nothing is still being written. */
  get current(): number {
    return this.visible;
  }

  reserve(): PositionReservation {
    const position = ++this.last;
    this.inFlight.add(position);
    this.ensureHeadroom();
    return { position };
  }

  /** Resolves once the latest high-water mark is saved (start-up and shutdown wait for it). */
  flushed(): Promise<void> {
    return this.saving;
  }

  private ensureHeadroom(): void {
    if (!this.highWater || this.last + HIGH_WATER_STEP / 2 < this.savedMark) return;
    const mark = this.last + HIGH_WATER_STEP;
    this.savedMark = mark;
    const hw = this.highWater;
    this.saving = this.saving.then(() => hw.save(mark)).catch(() => {
      // Saving again on the next reserve is harmless; lower the mark so that happens.
      this.savedMark = this.last;
    });
  }

  /** Call after commit *or* rollback: an unused position is a harmless gap. */
  release(reservation: PositionReservation): void {
    if (!this.inFlight.delete(reservation.position)) return;
    let next = this.last;
    for (const p of this.inFlight) if (p <= next) next = p - 1;
    if (next > this.visible) {
      this.visible = next;
      for (const l of this.listeners) l(next);
    }
  }

  /** Called with the new visible position whenever it advances. */
  onAdvance(listener: (visible: number) => void): void {
    this.listeners.push(listener);
  }
}
