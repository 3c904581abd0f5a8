// Reporting content (client-server "Reporting content"): users report events, rooms and users to
// the server admins. Reports are stored for review; what happens next is the admins' business.
//
// Who may report what follows the spec's server behaviour:
// - events (v1.8): only a user joined to the room, and only an event they can see; anything else
//   answers 404 so reports cannot probe for events;
// - rooms (v1.13): anyone, joined or not (harmful rooms reach people through invites and the
//   directory); 404 only for a room this server does not know;
// - users (v1.14): anyone, whatever rooms they share; 404 for an unknown local user.
import { MatrixError } from '../../core/errors.ts';
import { isValidEventId, isValidRoomId, isValidUserId, serverNameOf } from '../../core/ids.ts';
import type { ReportStore } from '../../storage/stores/reports.ts';
import type { CurrentStateCache } from './current-state.ts';
import { membershipOf } from './current-state.ts';
import type { EventReader } from './event-reader.ts';
import type { RoomWriter } from './room-writer.ts';
import type { VisibilityFilter } from './visibility.ts';

/** The longest reason we keep; longer ones are refused rather than silently cut. */
export const MAX_REASON_LENGTH = 10_000;

export interface ReportServiceDeps {
  serverName: string;
  store: Pick<ReportStore, 'insert'>;
  reader: Pick<EventReader, 'getEvent'>;
  currentState: Pick<CurrentStateCache, 'get'>;
  writer: Pick<RoomWriter, 'versionOf'>;
  visibility: Pick<VisibilityFilter, 'canSee'>;
  userExists(userId: string): Promise<boolean>;
  now?: () => number;
}

function checkReason(reason: string | undefined): void {
  if (reason !== undefined && reason.length > MAX_REASON_LENGTH) {
    throw new MatrixError('M_INVALID_PARAM', `reason must be at most ${MAX_REASON_LENGTH} characters`);
  }
}

export class ReportService {
  private readonly now: () => number;

  constructor(private readonly deps: ReportServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** POST /rooms/{roomId}/report/{eventId} */
  async reportEvent(reporter: string, roomId: string, eventId: string, reason: string | undefined, score: number | undefined): Promise<number> {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    if (!isValidEventId(eventId)) throw new MatrixError('M_INVALID_PARAM', `${eventId} is not an event ID`);
    // v1.16 still defines score: an integer from -100 (most offensive) to 0 (inoffensive).
    if (score !== undefined && (!Number.isInteger(score) || score < -100 || score > 0)) {
      throw new MatrixError('M_INVALID_PARAM', 'score must be an integer between -100 and 0');
    }
    checkReason(reason);
    // One answer for "no such event", "another room's event", "not joined" and "not visible",
    // so a report cannot tell them apart.
    const notFound = () => new MatrixError('M_NOT_FOUND', 'The event was not found or you are not joined to the room');
    if (membershipOf(await this.deps.currentState.get(roomId), reporter) !== 'join') throw notFound();
    const event = await this.deps.reader.getEvent(eventId);
    if (!event || event.roomId !== roomId || !(await this.deps.visibility.canSee(reporter, event))) throw notFound();
    return this.deps.store.insert({
      kind: 'event',
      reporter,
      room_id: roomId,
      event_id: eventId,
      target_user_id: null,
      reason: reason ?? null,
      score: score ?? null,
      received_ts: this.now(),
    });
  }

  /** POST /rooms/{roomId}/report */
  async reportRoom(reporter: string, roomId: string, reason: string): Promise<number> {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', `${roomId} is not a room ID`);
    checkReason(reason);
    if (!(await this.deps.writer.versionOf(roomId))) throw new MatrixError('M_NOT_FOUND', 'The room was not found');
    return this.deps.store.insert({
      kind: 'room',
      reporter,
      room_id: roomId,
      event_id: null,
      target_user_id: null,
      reason,
      score: null,
      received_ts: this.now(),
    });
  }

  /** POST /users/{userId}/report */
  async reportUser(reporter: string, userId: string, reason: string): Promise<number> {
    if (!isValidUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `${userId} is not a user ID`);
    checkReason(reason);
    // Remote users cannot be checked without asking their server; the report is kept either way.
    if (serverNameOf(userId) === this.deps.serverName && !(await this.deps.userExists(userId))) {
      throw new MatrixError('M_NOT_FOUND', 'The user was not found');
    }
    return this.deps.store.insert({
      kind: 'user',
      reporter,
      room_id: null,
      event_id: null,
      target_user_id: userId,
      reason,
      score: null,
      received_ts: this.now(),
    });
  }
}
