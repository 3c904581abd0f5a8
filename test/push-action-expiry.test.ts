// Read push actions expire (services/housekeeping/push-actions.ts): read ones after a day, read
// highlights after 30 days, unread ones never; the unread counters stay right through it, and
// /notifications lists what is left. Threaded receipts cover only their thread. Through HTTP
// (the expiry pass is run with a clock moved forward), on both databases.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
const DAY = 24 * 60 * 60 * 1000;
const THREADED = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });

describeEachDatabase('push action expiry', ({ server }) => {
  it('deletes read actions after a day and read highlights after 30 days, keeps unread ones, and keeps the counters right', async () => {
    const alice = await server().registerUser();
    const bob = await server().registerUser();
    const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    assert.equal((await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} })).status, 200);
    let txn = 0;
    const send = async (body: string, extra: Record<string, unknown> = {}) => {
      const res = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/x${txn++}`, {
        token: alice.accessToken,
        body: { msgtype: 'm.text', body, ...extra },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.event_id as string;
    };
    const receipt = async (user: TestUser, eventId: string, threadId?: string) => {
      const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, {
        token: user.accessToken,
        body: threadId === undefined ? {} : { thread_id: threadId },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    const counts = async () => {
      const room = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { filter: THREADED } })).body.rooms.join[roomId];
      return { room: room.unread_notifications, threads: room.unread_thread_notifications ?? {} };
    };
    const notified = async () =>
      (await server().request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken })).body.notifications.map((n: any) => [n.event.content.body, n.read]);
    const n = (notification_count: number, highlight_count = 0) => ({ notification_count, highlight_count });

    const m1 = await send('one');
    const m2 = await send('two, for bob', { 'm.mentions': { user_ids: [bob.userId] } });
    const m3 = await send('three');
    const t1 = await send('in a thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: m1 } });
    const m4 = await send('four');
    // Bob reads the main timeline up to m2 and the thread to its end; m3 and m4 stay unread.
    await receipt(bob, m2, 'main');
    await receipt(bob, t1, m1);
    const before = await counts();
    assert.deepEqual(before, { room: n(2), threads: {} });
    assert.deepEqual(await notified(), [['four', false], ['in a thread', true], ['three', false], ['two, for bob', true], ['one', true]]);

    // Within a day nothing goes.
    assert.deepEqual(await server().app.expirePushActions(Date.now() + DAY / 2), { deleted: 0 });
    // After a day: the read ones except the read mention.
    assert.deepEqual(await server().app.expirePushActions(Date.now() + 2 * DAY), { deleted: 2 });
    assert.deepEqual(await notified(), [['four', false], ['three', false], ['two, for bob', true]]);
    assert.deepEqual(await counts(), before);

    // Reading the rest still lowers the counters by exactly what was unread.
    await receipt(bob, m3);
    assert.deepEqual(await counts(), { room: n(1), threads: {} });
    await receipt(bob, m4);
    assert.deepEqual(await counts(), { room: n(0), threads: {} });

    // After 30 days the read mention goes too; then nothing is left.
    assert.deepEqual(await server().app.expirePushActions(Date.now() + 31 * DAY), { deleted: 3 });
    assert.deepEqual(await notified(), []);
    assert.deepEqual(await counts(), { room: n(0), threads: {} });
  });
});
