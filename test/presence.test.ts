import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('presence', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let stranger: TestUser;
  const enc = encodeURIComponent;

  it('sets presence and shows it to users sharing a room', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    stranger = await server().registerUser();
    const roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
    await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken })).body.next_batch;

    const put = await server().request('PUT', `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: alice.accessToken, body: { presence: 'online', status_msg: 'In a meeting' } });
    assert.equal(put.status, 200);
    const get = await server().request('GET', `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: bob.accessToken });
    assert.equal(get.status, 200);
    assert.equal(get.body.presence, 'online');
    assert.equal(get.body.status_msg, 'In a meeting');
    assert.equal(get.body.currently_active, true);

    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { since, timeout: 3000 } });
    const ev = s.body.presence.events.find((e: any) => e.sender === alice.userId);
    assert.equal(ev.type, 'm.presence');
    assert.equal(ev.content.presence, 'online');
  });

  it('hides presence from strangers and validates input', async () => {
    const hidden = await server().request('GET', `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: stranger.accessToken });
    assert.equal(hidden.status, 403);
    const strangerSync = await server().request('GET', '/_matrix/client/v3/sync', { token: stranger.accessToken });
    assert.equal(strangerSync.body.presence.events.filter((e: any) => e.sender === alice.userId).length, 0);
    const other = await server().request('PUT', `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: bob.accessToken, body: { presence: 'offline' } });
    assert.equal(other.status, 403);
    const bad = await server().request('PUT', `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { token: bob.accessToken, body: { presence: 'busy' } });
    assert.equal(bad.status, 400);
    const unknown = await server().request('GET', `/_matrix/client/v3/presence/${enc('@ghost:test.local')}/status`, { token: bob.accessToken });
    assert.equal(unknown.status, 404);
  });

  it('sets presence from sync with set_presence', async () => {
    await server().request('GET', '/_matrix/client/v3/sync', { token: bob.accessToken, query: { set_presence: 'unavailable' } });
    const get = await server().request('GET', `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { token: alice.accessToken });
    assert.equal(get.body.presence, 'unavailable');
  });
});
