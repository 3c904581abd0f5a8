// Reporting content (client-server "Reporting content"): events, rooms and users.
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { ReportService } from '../../services/rooms/reports.ts';

// Unknown fields are tolerated: clients still send `score` to servers that dropped it, and may
// send fields from later spec versions.
const EventReportBody = Type.Object(
  { reason: Type.Optional(Type.String()), score: Type.Optional(Type.Integer()) },
  { additionalProperties: true },
);
const ReasonBody = Type.Object({ reason: Type.String() }, { additionalProperties: true });

export function reportRoutes(r: Router, deps: { reports: ReportService }): void {
  // POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/report/:eventId',
    auth: 'user',
    params: Type.Object({ roomId: Type.String(), eventId: Type.String() }),
    body: EventReportBody,
    rateLimit: 'message',
    handler: async ({ params, body, requester }) => {
      await deps.reports.reportEvent(requester.userId, params.roomId, params.eventId, body.reason, body.score);
      return {};
    },
  });

  // POST /_matrix/client/v3/rooms/{roomId}/report
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/report',
    auth: 'user',
    params: Type.Object({ roomId: Type.String() }),
    body: ReasonBody,
    rateLimit: 'message',
    handler: async ({ params, body, requester }) => {
      await deps.reports.reportRoom(requester.userId, params.roomId, body.reason);
      return {};
    },
  });

  // POST /_matrix/client/v3/users/{userId}/report
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/users/:userId/report',
    auth: 'user',
    params: Type.Object({ userId: Type.String() }),
    body: ReasonBody,
    rateLimit: 'message',
    handler: async ({ params, body, requester }) => {
      await deps.reports.reportUser(requester.userId, params.userId, body.reason);
      return {};
    },
  });
}
