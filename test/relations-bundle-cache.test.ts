// Bundled aggregations after the server remembered an event as having no children: a child sent
// later shows in the parent's bundle at once (the write path forgets the remembered answer).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
const text = (body: string) => ({ msgtype: 'm.text', body });

describeEachDatabase('bundled aggregations of events first served without children', ({ server }) => {
  let alice: TestUser;
  let roomId: string;
  let txn = 0;
  const send = async (content: Record<string, unknown>) => {
    const res = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/bc${++txn}`, { token: alice.accessToken, body: content });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.event_id as string;
  };
  const relationsOf = async (eventId: string) => {
    const res = await server().request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, { token: alice.accessToken });
    assert.equal(res.status, 200);
    return res.body.unsigned?.['m.relations'] as Record<string, any> | undefined;
  };

  it('shows an edit, a reference and a thread reply sent after the root was served bare', async () => {
    alice = await server().registerUser();
    const created = await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'private_chat' } });
    roomId = created.body.room_id;
    const first = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    const root = await send(text('root'));
    // Served through an incremental sync and a direct read: both bundle it, with no children yet.
    const woken = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since: first.body.next_batch, timeout: 0 } });
    const served = woken.body.rooms.join[roomId].timeline.events.find((e: { event_id: string }) => e.event_id === root);
    assert.ok(served);
    assert.equal(served.unsigned?.['m.relations'], undefined);
    assert.equal(await relationsOf(root), undefined);

    const editId = await send({ ...text('* root!'), 'm.new_content': text('root!'), 'm.relates_to': { rel_type: 'm.replace', event_id: root } });
    assert.equal((await relationsOf(root))?.['m.replace']?.event_id, editId);
    const refId = await send({ ...text('see above'), 'm.relates_to': { rel_type: 'm.reference', event_id: root } });
    assert.deepEqual((await relationsOf(root))?.['m.reference'], { chunk: [{ event_id: refId }] });
    const replyId = await send({ ...text('in thread'), 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    const thread = (await relationsOf(root))?.['m.thread'];
    assert.equal(thread?.latest_event?.event_id, replyId);
    assert.equal(thread?.count, 1);

    // And the thread reply, itself served bare, gets its own bundle once something relates to it.
    assert.equal(await relationsOf(replyId), undefined);
    const refToReply = await send({ ...text('about the reply'), 'm.relates_to': { rel_type: 'm.reference', event_id: replyId } });
    assert.deepEqual((await relationsOf(replyId))?.['m.reference'], { chunk: [{ event_id: refToReply }] });
  });
});
