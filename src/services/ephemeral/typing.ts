// Typing notifications (client-server "Typing Notifications"): in memory only, as they are
// worthless after a restart. Each change takes a position from the global stream so /sync can
// tell which rooms changed since a token.
import type { StreamPositions } from '../streams/positions.ts';

interface RoomTyping {
  /** userId → expiry timestamp (ms) */
  users: Map<string, number>;
  changedAt: number;
  /** typingIn's answer, made once per change: every /sync asks about each of its rooms. */
  snapshot?: TypingSnapshot;
}

export interface TypingSnapshot {
  readonly userIds: readonly string[];
  readonly changedAt: number;
}

const NOBODY: TypingSnapshot = Object.freeze({ userIds: Object.freeze([]), changedAt: 0 });

const MAX_TIMEOUT_MS = 120_000;

export class TypingService {
  private readonly rooms = new Map<string, RoomTyping>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      positions: StreamPositions;
      /** Wakes the room's members once the position is visible. */
      notifyRoom(roomId: string, position: number): void;
      now?: () => number;
    },
  ) {}

  setTyping(roomId: string, userId: string, typing: boolean, timeoutMs = 30_000): void {
    const room = this.rooms.get(roomId) ?? { users: new Map(), changedAt: 0 };
    const was = room.users.has(userId);
    if (typing) room.users.set(userId, this.now() + Math.min(Math.max(timeoutMs, 0), MAX_TIMEOUT_MS));
    else room.users.delete(userId);
    this.rooms.set(roomId, room);
    if (was !== typing) this.bump(roomId, room);
    this.schedule();
  }

  /** Users typing in the room now, and the position of the last change. */
  typingIn(roomId: string): TypingSnapshot {
    const room = this.rooms.get(roomId);
    if (!room) return NOBODY;
    // Every change of the set of typing users goes through bump(), which drops the snapshot.
    return (room.snapshot ??= { userIds: [...room.users.keys()].sort(), changedAt: room.changedAt });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private bump(roomId: string, room: RoomTyping): void {
    const reservation = this.deps.positions.reserve();
    room.changedAt = reservation.position;
    room.snapshot = undefined;
    this.deps.positions.release(reservation);
    this.deps.notifyRoom(roomId, reservation.position);
  }

  /** One timer for the earliest expiry across all rooms. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    let next = Infinity;
    for (const room of this.rooms.values()) for (const t of room.users.values()) next = Math.min(next, t);
    if (next === Infinity) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, next - this.now()) + 5);
    this.timer.unref();
  }

  private expire(): void {
    const now = this.now();
    for (const [roomId, room] of this.rooms) {
      let changed = false;
      for (const [userId, t] of room.users) {
        if (t <= now) {
          room.users.delete(userId);
          changed = true;
        }
      }
      if (changed) this.bump(roomId, room);
    }
    this.schedule();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
