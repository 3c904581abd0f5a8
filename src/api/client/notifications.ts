// GET /_matrix/client/v3/notifications
import Type from 'typebox';
import { MatrixError } from '../../core/errors.ts';
import type { Router } from '../router.ts';
import type { PushActionStore } from '../../storage/stores/push-actions.ts';
import type { ReceiptStore } from '../../storage/stores/receipts.ts';
import type { EventReader } from '../../services/rooms/event-reader.ts';
import type { RoomWriter } from '../../services/rooms/room-writer.ts';
import { relatedIdsOf, toClientEvent } from '../../services/rooms/client-event.ts';
import { readPositionOf, type ReadPosition } from '../../services/push/unread-counts.ts';

export function notificationRoutes(
  r: Router,
  deps: { actions: Pick<PushActionStore, 'list'>; receipts: Pick<ReceiptStore, 'readUpTo'>; reader: EventReader; writer: Pick<RoomWriter, 'versionOf'> },
): void {
  // GET /_matrix/client/v3/notifications
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/notifications',
    auth: 'user',
    query: Type.Object(
      { from: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1 })), only: Type.Optional(Type.String()) },
      { additionalProperties: true },
    ),
    handler: async ({ query, requester }) => {
      let before = Number.MAX_SAFE_INTEGER;
      if (query.from !== undefined) {
        if (!/^\d{1,15}$/.test(query.from)) throw new MatrixError('M_INVALID_PARAM', 'Invalid from token');
        before = Number(query.from);
      }
      const limit = Math.min(query.limit ?? 20, 100);
      const rows = await deps.actions.list(requester.userId, before, limit, query.only === 'highlight');
      const events = await deps.reader.getEvents(rows.map((row) => row.event_id));
      const related = await deps.reader.getEvents(relatedIdsOf(events.values()));
      const reads = new Map<string, ReadPosition[]>();
      const notifications = [];
      for (const row of rows) {
        const ev = events.get(row.event_id);
        if (!ev) continue;
        let roomReads = reads.get(row.room_id);
        if (!roomReads) reads.set(row.room_id, (roomReads = await deps.receipts.readUpTo(requester.userId, row.room_id)));
        const versionId = (await deps.writer.versionOf(row.room_id))?.id;
        notifications.push({
          actions: JSON.parse(row.actions) as unknown[],
          event: toClientEvent(ev, { related, requester, roomVersionId: versionId }),
          // Read as the unread counts see it: covered by the receipt that applies to its thread.
          read: row.event_stream_pos <= readPositionOf(roomReads, row.thread_id),
          room_id: row.room_id,
          ts: row.ts,
        });
      }
      const last = rows.at(-1);
      return rows.length === limit && last ? { notifications, next_token: String(last.event_stream_pos) } : { notifications };
    },
  });
}
