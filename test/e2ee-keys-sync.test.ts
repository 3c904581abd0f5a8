// The device-list stream and E2EE fields of /sync (spec "Tracking the device list for a user"):
// device_lists.changed / left on key uploads, joins, leaves, device deletion and deactivation,
// GET /keys/changes, and the one-time key counts of the syncing device.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';
import { TestDevice, initialSync, incrementalSync } from './support/e2ee-keys.ts';
import { createRoom, inviteAndJoin, roomPath } from './support/room-actions.ts';

async function login(s: TestServer, u: TestUser, deviceId?: string): Promise<TestUser> {
  const res = await s.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password, device_id: deviceId },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...u, accessToken: res.body.access_token, deviceId: res.body.device_id };
}

async function deleteDevice(s: TestServer, u: TestUser, deviceId: string): Promise<void> {
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password };
  const probe = await s.request('DELETE', `/_matrix/client/v3/devices/${deviceId}`, { token: u.accessToken, body: {} });
  assert.equal(probe.status, 401);
  const res = await s.request('DELETE', `/_matrix/client/v3/devices/${deviceId}`, { token: u.accessToken, body: { auth: { ...auth, session: probe.body.session } } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describeEachDatabase('e2ee device lists and sync fields', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  /** Each user's latest sync token. */
  const tokens = new Map<string, string>();

  /** Incremental sync from the user's last token; remembers the new one. */
  const syncFor = async (u: TestUser, timeout = 0) => {
    const body = await incrementalSync(server(), u, tokens.get(u.userId)!, timeout);
    tokens.set(u.userId, body.next_batch);
    return body;
  };
  const catchUp = async (...users: TestUser[]) => {
    for (const u of users) tokens.set(u.userId, (await initialSync(server(), u)).next_batch);
  };

  it('an initial sync carries key counts and fallback types, and no device_lists', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    roomId = await createRoom(server(), alice);
    await inviteAndJoin(server(), alice, roomId, bob);
    const body = await initialSync(server(), alice);
    assert.deepEqual(body.device_one_time_keys_count, { signed_curve25519: 0 });
    assert.deepEqual(body.device_unused_fallback_key_types, []);
    assert.deepEqual(body.device_lists, { changed: [], left: [] });
    await catchUp(alice, bob, carol);
  });

  it('a key upload wakes room-mates and shows as changed to them and to the owner, not to strangers', async () => {
    const bobWaiting = syncFor(bob, 20_000);
    const dev = new TestDevice(alice);
    assert.equal((await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(3) })).status, 200);
    const bobSync = await bobWaiting;
    assert.deepEqual(bobSync.device_lists.changed, [alice.userId]);
    const aliceSync = await syncFor(alice);
    assert.deepEqual(aliceSync.device_lists.changed, [alice.userId]);
    assert.deepEqual(aliceSync.device_one_time_keys_count, { signed_curve25519: 3 });
    assert.deepEqual(aliceSync.device_unused_fallback_key_types, []);
    const carolSync = await syncFor(carol);
    assert.deepEqual(carolSync.device_lists.changed, []);
  });

  it('an upload that changes nothing (same keys, only one-time keys) records no change', async () => {
    const dev = new TestDevice(carol);
    await dev.upload(server(), { device_keys: dev.deviceKeys() });
    await catchUp(alice, bob, carol);
    assert.equal((await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(2) })).status, 200);
    assert.deepEqual((await syncFor(carol)).device_lists, { changed: [], left: [] });
    assert.deepEqual((await syncFor(alice)).device_lists, { changed: [], left: [] });
  });

  it('a joiner is changed for the members, and sees the existing members as changed', async () => {
    await inviteAndJoin(server(), alice, roomId, carol);
    const aliceSync = await syncFor(alice);
    assert.ok(aliceSync.device_lists.changed.includes(carol.userId), JSON.stringify(aliceSync.device_lists));
    assert.deepEqual((await syncFor(bob)).device_lists.changed, [carol.userId]);
    const carolSync = await syncFor(carol);
    assert.deepEqual(carolSync.device_lists.changed, [alice.userId, bob.userId].sort());
    assert.deepEqual(carolSync.device_lists.left, []);
  });

  it('GET /keys/changes answers the same for a range of sync tokens', async () => {
    const from = tokens.get(bob.userId)!;
    const dev = new TestDevice(bob);
    await dev.upload(server(), { device_keys: dev.deviceKeys() });
    const to = (await initialSync(server(), carol)).next_batch;
    const res = await server().request('GET', '/_matrix/client/v3/keys/changes', { token: carol.accessToken, query: { from, to } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { changed: [bob.userId], left: [] });
    const empty = await server().request('GET', '/_matrix/client/v3/keys/changes', { token: carol.accessToken, query: { from: to, to } });
    assert.deepEqual(empty.body, { changed: [], left: [] });
    const bad = await server().request('GET', '/_matrix/client/v3/keys/changes', { token: carol.accessToken, query: { from: 'nonsense', to } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
    const missing = await server().request('GET', '/_matrix/client/v3/keys/changes', { token: carol.accessToken, query: { from } });
    assert.equal(missing.status, 400);
    await catchUp(alice, bob, carol);
  });

  it('when a user leaves the only shared room they are "left" for the others, and the others for them', async () => {
    const res = await server().request('POST', `${roomPath(roomId)}/leave`, { token: carol.accessToken, body: {} });
    assert.equal(res.status, 200);
    const bobSync = await syncFor(bob);
    assert.deepEqual(bobSync.device_lists, { changed: [], left: [carol.userId] });
    const carolSync = await syncFor(carol);
    assert.deepEqual(carolSync.device_lists.left, [alice.userId, bob.userId].sort());
    // Her later key changes no longer reach them.
    await syncFor(alice);
    const login2 = await login(server(), carol);
    const dev = new TestDevice(login2);
    await dev.upload(server(), { device_keys: dev.deviceKeys() });
    assert.deepEqual((await syncFor(alice)).device_lists, { changed: [], left: [] });
  });

  it('a user who left before the caller did is "left" too', async () => {
    const x = await server().registerUser();
    const y = await server().registerUser();
    const r = await createRoom(server(), x);
    await inviteAndJoin(server(), x, r, y);
    const since = (await initialSync(server(), y)).next_batch;
    assert.equal((await server().request('POST', `${roomPath(r)}/leave`, { token: x.accessToken, body: {} })).status, 200);
    assert.equal((await server().request('POST', `${roomPath(r)}/leave`, { token: y.accessToken, body: {} })).status, 200);
    assert.deepEqual((await incrementalSync(server(), y, since)).device_lists, { changed: [], left: [x.userId] });
  });

  it('users still sharing another room are not "left"', async () => {
    const other = await createRoom(server(), alice);
    await inviteAndJoin(server(), alice, other, bob);
    await catchUp(alice, bob);
    const res = await server().request('POST', `${roomPath(other)}/leave`, { token: bob.accessToken, body: {} });
    assert.equal(res.status, 200);
    assert.deepEqual((await syncFor(alice)).device_lists, { changed: [], left: [] });
    assert.deepEqual((await syncFor(bob)).device_lists, { changed: [], left: [] });
  });

  it('a new device (login) and a renamed device show the owner as changed', async () => {
    await catchUp(bob);
    const third = await login(server(), alice);
    assert.deepEqual((await syncFor(bob)).device_lists.changed, [alice.userId]);
    const rename = await server().request('PUT', `/_matrix/client/v3/devices/${third.deviceId}`, { token: third.accessToken, body: { display_name: 'Phone' } });
    assert.equal(rename.status, 200);
    assert.deepEqual((await syncFor(bob)).device_lists.changed, [alice.userId]);
    await deleteDevice(server(), alice, third.deviceId);
    await catchUp(bob);
  });

  it('deleting a device removes its keys and shows the owner as changed', async () => {
    const second = await login(server(), alice);
    const dev = new TestDevice(second);
    await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(2), fallback_keys: dev.fallbackKey() });
    await catchUp(bob);
    await deleteDevice(server(), alice, second.deviceId);
    assert.deepEqual((await syncFor(bob)).device_lists.changed, [alice.userId]);
    const q = await server().request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [] } } });
    assert.deepEqual(Object.keys(q.body.device_keys[alice.userId]), [alice.deviceId]);
    const claim = await server().request('POST', '/_matrix/client/v3/keys/claim', {
      token: bob.accessToken,
      body: { one_time_keys: { [alice.userId]: { [second.deviceId]: 'signed_curve25519' } } },
    });
    assert.deepEqual(claim.body.one_time_keys, {});
  });

  it('key counts in /sync follow uploads and claims, and a re-created device ID starts from nothing', async () => {
    // The counts are served from memory: every write must reach the next sync.
    const second = await login(server(), alice, 'REUSEDDEVICE');
    const dev = new TestDevice(second);
    await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(2), fallback_keys: dev.fallbackKey() });
    const since = (await initialSync(server(), second)).next_batch;
    const counts = async () => {
      const body = await incrementalSync(server(), second, since, 0);
      return { otk: body.device_one_time_keys_count, fallback: body.device_unused_fallback_key_types };
    };
    assert.deepEqual(await counts(), { otk: { signed_curve25519: 2 }, fallback: ['signed_curve25519'] });
    const claim = () =>
      server().request('POST', '/_matrix/client/v3/keys/claim', {
        token: bob.accessToken,
        body: { one_time_keys: { [alice.userId]: { [second.deviceId]: 'signed_curve25519' } } },
      });
    await claim();
    assert.deepEqual(await counts(), { otk: { signed_curve25519: 1 }, fallback: ['signed_curve25519'] });
    await claim();
    await claim(); // no one-time key left: the fallback key is handed out and marked used
    assert.deepEqual(await counts(), { otk: { signed_curve25519: 0 }, fallback: [] });
    await dev.upload(server(), { one_time_keys: dev.oneTimeKeys(3, 'BBBB'), fallback_keys: dev.fallbackKey('FB2') });
    assert.deepEqual(await counts(), { otk: { signed_curve25519: 3 }, fallback: ['signed_curve25519'] });

    await deleteDevice(server(), alice, second.deviceId);
    const again = await login(server(), alice, 'REUSEDDEVICE');
    const body = await initialSync(server(), again);
    assert.deepEqual(body.device_one_time_keys_count, { signed_curve25519: 0 });
    assert.deepEqual(body.device_unused_fallback_key_types, []);
    await deleteDevice(server(), alice, again.deviceId);
    await catchUp(bob);
  });

  it('deactivation removes every key of the account and the user becomes changed, then left', async () => {
    const dave = await server().registerUser();
    await inviteAndJoin(server(), alice, roomId, dave);
    const dev = new TestDevice(dave);
    await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: dev.oneTimeKeys(1) });
    await catchUp(bob);
    const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: dave.userId }, password: dave.password };
    const res = await server().request('POST', '/_matrix/client/v3/account/deactivate', { token: dave.accessToken, body: { auth } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const lists = (await syncFor(bob)).device_lists;
    // Deactivation deleted the devices (a change) and left the room (no shared room any more).
    assert.deepEqual(lists.left, [dave.userId]);
    const q = await server().request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [dave.userId]: [] } } });
    assert.deepEqual(q.body.device_keys[dave.userId], {});
  });
});
