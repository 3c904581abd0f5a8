// Room history visibility (client-server "Room History Visibility", server behaviour): whether a
// user may see one event, decided from the room state *at that event*. Pure: callers gather the
// facts (the history_visibility and the user's membership before and after the event, and
// whether the user joined later) and this module applies the spec's five steps.

export type HistoryVisibility = 'world_readable' | 'shared' | 'invited' | 'joined';

const KNOWN = new Set<string>(['world_readable', 'shared', 'invited', 'joined']);

/**
 * The visibility an m.room.history_visibility content puts in force. A missing event or a value
 * the server does not understand means `shared`, as the spec requires.
 */
export function visibilityOf(content: Record<string, unknown> | undefined): HistoryVisibility {
  const v = content?.history_visibility;
  return typeof v === 'string' && KNOWN.has(v) ? (v as HistoryVisibility) : 'shared';
}

/** The room as the user stood in it at one point: visibility in force and their membership. */
export interface VisibilityPoint {
  visibility: HistoryVisibility;
  /** The user's membership then ("join", "invite", "leave", "ban", "knock"), undefined if none. */
  membership: string | undefined;
}

/** Steps 1–5 of the spec's algorithm at one point. */
export function allowedAt(point: VisibilityPoint, joinedLater: boolean): boolean {
  // 1. world_readable: anyone.
  if (point.visibility === 'world_readable') return true;
  // 2. Members at the time see everything.
  if (point.membership === 'join') return true;
  // 3. shared: users who joined at any point after the event.
  if (point.visibility === 'shared' && joinedLater) return true;
  // 4. invited: invitees see events from their invite on.
  if (point.visibility === 'invited' && point.membership === 'invite') return true;
  // 5. Otherwise not.
  return false;
}

export interface EventVisibilityFacts {
  /** Type and state key of the event being checked. */
  type: string;
  stateKey: string | undefined;
  /** The user asking. */
  userId: string;
  /** Room state just before the event. */
  before: VisibilityPoint;
  /** Room state just after the event (equal to `before` unless it is the state event that changes it). */
  after: VisibilityPoint;
  /** Whether the user has a join membership later than this event. */
  joinedLater: boolean;
}

/**
 * Whether the user may see the event. For history_visibility events themselves and for the
 * user's own membership events, either side of the change is enough: so people see the
 * setting change that hides history from them, and always see their own join and departure.
 */
export function canSeeEvent(f: EventVisibilityFacts): boolean {
  if (allowedAt(f.after, f.joinedLater)) return true;
  const eitherSide = (f.type === 'm.room.history_visibility' && f.stateKey === '') || (f.type === 'm.room.member' && f.stateKey === f.userId);
  return eitherSide && allowedAt(f.before, f.joinedLater);
}
