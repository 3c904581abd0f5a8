import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('account data, tags and filters', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const enc = encodeURIComponent;

  it('stores global account data and delivers it in sync', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    roomId = (await server().request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: {} })).body.room_id;
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken })).body.next_batch;

    const put = await server().request('PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.settings`, {
      token: alice.accessToken,
      body: { theme: 'dark' },
    });
    assert.equal(put.status, 200);
    const get = await server().request('GET', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.settings`, { token: alice.accessToken });
    assert.deepEqual(get.body, { theme: 'dark' });

    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since, timeout: 5000 } });
    assert.deepEqual(s.body.account_data.events, [{ type: 'org.example.settings', content: { theme: 'dark' } }]);
  });

  it('refuses other users, missing data and server-managed types', async () => {
    const other = await server().request('PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/x`, { token: bob.accessToken, body: {} });
    assert.equal(other.status, 403);
    assert.equal(other.body.errcode, 'M_FORBIDDEN');
    const missing = await server().request('GET', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/nothing`, { token: alice.accessToken });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errcode, 'M_NOT_FOUND');
    const fully = await server().request('PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.fully_read`, { token: alice.accessToken, body: {} });
    assert.equal(fully.status, 400);
    const notObject = await server().request('PUT', `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/x`, { token: alice.accessToken, body: [1, 2] });
    assert.equal(notObject.status, 400);
    assert.equal(notObject.body.errcode, 'M_BAD_JSON');
  });

  it('stores room tags and room account data, delivered inside the room in sync', async () => {
    const since = (await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken })).body.next_batch;
    const tagPath = `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/tags`;
    assert.equal((await server().request('PUT', `${tagPath}/m.favourite`, { token: alice.accessToken, body: { order: 0.5 } })).status, 200);
    assert.equal((await server().request('PUT', `${tagPath}/u.work`, { token: alice.accessToken, body: {} })).status, 200);
    assert.equal((await server().request('DELETE', `${tagPath}/u.work`, { token: alice.accessToken })).status, 200);
    const tags = await server().request('GET', tagPath, { token: alice.accessToken });
    assert.deepEqual(tags.body, { tags: { 'm.favourite': { order: 0.5 } } });
    const badOrder = await server().request('PUT', `${tagPath}/m.lowpriority`, { token: alice.accessToken, body: { order: 'high' } });
    assert.equal(badOrder.status, 400);

    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { since } });
    const roomData = s.body.rooms.join[roomId].account_data.events;
    assert.deepEqual(roomData, [{ type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } }]);
  });

  it('creates and reads filters, and sync applies a stored filter', async () => {
    const path = `/_matrix/client/v3/user/${enc(alice.userId)}/filter`;
    const created = await server().request('POST', path, { token: alice.accessToken, body: { room: { timeline: { limit: 1 } } } });
    assert.equal(created.status, 200);
    assert.equal(typeof created.body.filter_id, 'string');
    const read = await server().request('GET', `${path}/${created.body.filter_id}`, { token: alice.accessToken });
    assert.deepEqual(read.body, { room: { timeline: { limit: 1 } } });
    const stolen = await server().request('GET', `/_matrix/client/v3/user/${enc(bob.userId)}/filter/${created.body.filter_id}`, { token: bob.accessToken });
    assert.equal(stolen.status, 404);
    const bad = await server().request('POST', path, { token: alice.accessToken, body: { room: { timeline: { limit: 'ten' } } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_BAD_JSON');

    const s = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { filter: created.body.filter_id } });
    assert.equal(s.body.rooms.join[roomId].timeline.events.length, 1);
    assert.equal(s.body.rooms.join[roomId].timeline.limited, true);
    const unknown = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { filter: '999999' } });
    assert.equal(unknown.status, 404);
    const inline = await server().request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken, query: { filter: JSON.stringify({ room: { rooms: [] } }) } });
    assert.deepEqual(inline.body.rooms.join, {});
  });
});
