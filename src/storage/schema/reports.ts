// Content reports from users (client-server "Reporting content"): events, rooms and users, kept
// for server admins to review (an admin API reads them later). One table for the three kinds so
// an admin sees one queue in the order reports arrived.
import type { Generated } from 'kysely';

export type ReportKind = 'event' | 'room' | 'user';

export interface ReportTables {
  content_reports: {
    id: Generated<number>;
    kind: ReportKind;
    /** The local user who reported. */
    reporter: string;
    /** The room of an event or room report; null for user reports. */
    room_id: string | null;
    /** Only for event reports. */
    event_id: string | null;
    /** Only for user reports. */
    target_user_id: string | null;
    /** Free text from the reporter; may be empty (and absent for event reports). */
    reason: string | null;
    /** Event reports before v1.18: -100 (most offensive) to 0. */
    score: number | null;
    received_ts: number;
  };
}
