// Bundled aggregations in woken long-polls: a woken sync does not ask the aggregator about events
// it knows to have no children (services/sync/rooms-provider.ts), yet a child sent after the
// parent was served bare shows in the parent's bundle on the very next sync that serves it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
const text = (body: string) => ({ msgtype: 'm.text', body });

describeEachDatabase('sync fan-out: bundles of events first served without children', ({ server }) => {
  it('bundles an edit into a parent that woken syncs served bare', async () => {
    const [alice, bob] = await Promise.all([server().registerUser(), server().registerUser()]);
    const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    let txn = 0;
    const send = async (content: Record<string, unknown>): Promise<string> => {
      const res = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/fb${++txn}`, { token: alice.accessToken, body: content });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.event_id;
    };
    const sync = (u: TestUser, query: Record<string, string | number>) => server().request('GET', '/_matrix/client/v3/sync', { token: u.accessToken, query });
    const served = (body: any, id: string) => body.rooms?.join?.[roomId]?.timeline?.events?.find((e: any) => e.event_id === id);

    const tokens = await Promise.all([alice, bob].map(async (u) => (await sync(u, {})).body.next_batch as string));
    const polls = [alice, bob].map((u, i) => sync(u, { since: tokens[i], timeout: 5000 }));
    await new Promise((r) => setTimeout(r, 100));
    const root = await send(text('root'));
    for (const res of await Promise.all(polls)) {
      const ev = served(res.body, root);
      assert.ok(ev, 'the woken sync serves the root');
      assert.equal(ev.unsigned?.['m.relations'], undefined);
    }
    // Served bare again (now remembered as childless), then edited.
    for (const [i, u] of [alice, bob].entries()) assert.equal(served((await sync(u, { since: tokens[i] })).body, root).unsigned?.['m.relations'], undefined);
    const edit = await send({ ...text('* root!'), 'm.new_content': text('root!'), 'm.relates_to': { rel_type: 'm.replace', event_id: root } });
    for (const [i, u] of [alice, bob].entries()) {
      const ev = served((await sync(u, { since: tokens[i] })).body, root);
      assert.equal(ev.unsigned?.['m.relations']?.['m.replace']?.event_id, edit);
    }
  });
});
