// Push actions expire (services/housekeeping/push-actions.ts): every action a day after its
// event and a highlight after 30 days, read or not; the unread counters stay right through it
// (what expires unread comes off them when a receipt reaches it), and /notifications lists what
// is left. Threaded receipts cover only their thread. Through HTTP (the expiry pass is run with a
// clock moved forward), on both databases.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer } from './harness.ts';

const enc = encodeURIComponent;
const DAY = 24 * 60 * 60 * 1000;
const THREADED = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });

const n = (notification_count: number, highlight_count = 0) => ({ notification_count, highlight_count });

/** Alice's public room with `reader` in it, and what the tests do there through HTTP. */
async function roomWithReader(server: TestServer) {
  const alice = await server.registerUser();
  const reader = await server.registerUser();
  const roomId = (await server.request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id as string;
  assert.equal((await server.request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: reader.accessToken, body: {} })).status, 200);
  let txn = 0;
  return {
    reader,
    roomId,
    /** Alice sends a text message; its event ID. */
    async send(body: string, extra: Record<string, unknown> = {}): Promise<string> {
      const res = await server.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/x${txn++}`, {
        token: alice.accessToken,
        body: { msgtype: 'm.text', body, ...extra },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.event_id;
    },
    /** The reader's read receipt, unthreaded or for a thread ('main' or a root). */
    async receipt(eventId: string, threadId?: string): Promise<void> {
      const res = await server.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, {
        token: reader.accessToken,
        body: threadId === undefined ? {} : { thread_id: threadId },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    },
    /** The reader's unread counts in the room, and per thread. */
    async counts() {
      const room = (await server.request('GET', '/_matrix/client/v3/sync', { token: reader.accessToken, query: { filter: THREADED } })).body.rooms.join[roomId];
      return { room: room.unread_notifications, threads: room.unread_thread_notifications ?? {} };
    },
    /** The reader's /notifications, newest first: [body, read]. */
    async notified(): Promise<Array<[string, boolean]>> {
      const res = await server.request('GET', '/_matrix/client/v3/notifications', { token: reader.accessToken });
      return res.body.notifications.map((x: any) => [x.event.content.body, x.read]);
    },
  };
}

describeEachDatabase('push action expiry', ({ server }) => {
  it('deletes actions after a day and highlights after 30 days, read or not, and keeps the counters right', async () => {
    const { reader: bob, send, receipt, counts, notified } = await roomWithReader(server());
    const m1 = await send('one');
    const m2 = await send('two, for bob', { 'm.mentions': { user_ids: [bob.userId] } });
    const m3 = await send('three');
    const t1 = await send('in a thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: m1 } });
    const m4 = await send('four');
    // Bob reads the main timeline up to m2 and the thread to its end; m3 and m4 stay unread.
    await receipt(m2, 'main');
    await receipt(t1, m1);
    const before = await counts();
    assert.deepEqual(before, { room: n(2), threads: {} });
    assert.deepEqual(await notified(), [['four', false], ['in a thread', true], ['three', false], ['two, for bob', true], ['one', true]]);

    // Within a day nothing goes.
    assert.deepEqual(await server().app.expirePushActions(Date.now() + DAY / 2), { deleted: 0, unread: 0 });
    // After a day: everything but the mention, read (one, the thread) or not (three, four).
    assert.deepEqual(await server().app.expirePushActions(Date.now() + 2 * DAY), { deleted: 4, unread: 2 });
    assert.deepEqual(await notified(), [['two, for bob', true]]);
    assert.deepEqual(await counts(), before);

    // A receipt inside the run that expired unread (three and four) takes nothing off yet: the
    // counter errs high until a receipt passes the run's end.
    await receipt(m3);
    assert.deepEqual(await counts(), before);
    await receipt(m4);
    assert.deepEqual(await counts(), { room: n(0), threads: {} });

    // After 30 days the read mention goes too; then nothing is left.
    assert.deepEqual(await server().app.expirePushActions(Date.now() + 31 * DAY), { deleted: 1, unread: 0 });
    assert.deepEqual(await notified(), []);
    assert.deepEqual(await counts(), { room: n(0), threads: {} });
  });

  it('expires the actions of a member who never reads, keeps the counters, and clears them at the first receipt past them', async () => {
    const { reader: carol, send, receipt, counts, notified } = await roomWithReader(server());
    const root = await send('root');
    await send('hello carol', { 'm.mentions': { user_ids: [carol.userId] } });
    await send('in the thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    const threadLast = await send('in the thread, for carol', { 'm.relates_to': { rel_type: 'm.thread', event_id: root }, 'm.mentions': { user_ids: [carol.userId] } });
    const last = await send('last');
    const unread = { room: n(3, 1), threads: { [root]: n(2, 1) } };
    assert.deepEqual(await counts(), unread);

    // A day on, the three plain messages go (unread); 30 days on, the two mentions. The
    // counters carol's client shows do not move.
    assert.deepEqual(await server().app.expirePushActions(Date.now() + 2 * DAY), { deleted: 3, unread: 3 });
    assert.deepEqual(await notified(), [['in the thread, for carol', false], ['hello carol', false]]);
    assert.deepEqual(await counts(), unread);
    assert.deepEqual(await server().app.expirePushActions(Date.now() + 31 * DAY), { deleted: 2, unread: 2 });
    assert.deepEqual(await notified(), []);
    assert.deepEqual(await counts(), unread);

    // A threaded receipt clears its thread only; an unthreaded one at the end clears the rest.
    await receipt(threadLast, root);
    assert.deepEqual(await counts(), { room: n(3, 1), threads: {} });
    await receipt(last);
    assert.deepEqual(await counts(), { room: n(0), threads: {} });

    // New messages count from zero again.
    await send('after');
    assert.deepEqual(await counts(), { room: n(1), threads: {} });
  });
});
