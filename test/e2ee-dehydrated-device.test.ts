// Dehydrated devices (MSC3814, unstable prefix org.matrix.msc3814.v1) through HTTP: upload with
// keys, replacement, deletion, and reading the device's to-device messages page by page.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';
import { TestDevice, curveKey } from './support/e2ee-keys.ts';

const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';

/** The MSC makes the device ID the device's curve25519 key (so it has "/" and "+" in it). */
function dehydratedDeviceFor(user: TestUser): TestDevice {
  return new TestDevice({ ...user, deviceId: `${curveKey().slice(0, 20)}/+x` });
}

function putBody(device: TestDevice, extra: Record<string, unknown> = {}) {
  return {
    device_id: device.deviceId,
    device_data: { algorithm: 'org.matrix.msc3814.v2', device_pickle: 'opaque', nonce: 'n' },
    initial_device_display_name: 'Dehydrated device',
    device_keys: device.deviceKeys({ dehydrated: true }),
    one_time_keys: device.oneTimeKeys(3),
    fallback_keys: device.fallbackKey(),
    ...extra,
  };
}

let txn = 0;
async function sendTo(server: TestServer, from: TestUser, to: TestUser, deviceId: string, content: Record<string, unknown>) {
  const res = await server.request('PUT', `/_matrix/client/v3/sendToDevice/org.example.key/dh${++txn}`, {
    token: from.accessToken,
    body: { messages: { [to.userId]: { [deviceId]: content } } },
  });
  assert.equal(res.status, 200);
}

describeEachDatabase('dehydrated devices (MSC3814)', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let device: TestDevice;
  const events = (user: TestUser, deviceId: string, nextBatch?: string) =>
    server().request('POST', `${PREFIX}/dehydrated_device/${encodeURIComponent(deviceId)}/events`, { token: user.accessToken, body: nextBatch ? { next_batch: nextBatch } : {} });

  it('is advertised and answers 404 while there is none', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    const versions = await server().request('GET', '/_matrix/client/versions');
    assert.equal(versions.body.unstable_features['org.matrix.msc3814'], true);
    const get = await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken });
    assert.equal(get.status, 404);
    assert.equal(get.body.errcode, 'M_NOT_FOUND');
    assert.equal((await server().request('DELETE', `${PREFIX}/dehydrated_device`, { token: alice.accessToken })).status, 404);
  });

  it('creates the device with its keys', async () => {
    device = dehydratedDeviceFor(alice);
    const put = await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: putBody(device) });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body, { device_id: device.deviceId });
    const get = await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken });
    assert.deepEqual(get.body, { device_id: device.deviceId, device_data: { algorithm: 'org.matrix.msc3814.v2', device_pickle: 'opaque', nonce: 'n' } });
    // It is a device like any other: listed, and its keys are served to others.
    const devices = await server().request('GET', '/_matrix/client/v3/devices', { token: alice.accessToken });
    const listed = devices.body.devices.find((d: { device_id: string }) => d.device_id === device.deviceId);
    assert.equal(listed?.display_name, 'Dehydrated device');
    const query = await server().request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [device.deviceId] } } });
    assert.equal(query.body.device_keys[alice.userId][device.deviceId].keys[`ed25519:${device.deviceId}`], device.key.publicKeyBase64);
    assert.equal(query.body.device_keys[alice.userId][device.deviceId].dehydrated, true);
    const claim = await server().request('POST', '/_matrix/client/v3/keys/claim', { token: bob.accessToken, body: { one_time_keys: { [alice.userId]: { [device.deviceId]: 'signed_curve25519' } } } });
    assert.equal(Object.keys(claim.body.one_time_keys[alice.userId][device.deviceId]).length, 1);
  });

  it('pages its to-device messages and deletes none of them', async () => {
    for (let i = 0; i < 120; i++) await sendTo(server(), bob, alice, device.deviceId, { i });
    const page1 = await events(alice, device.deviceId);
    assert.equal(page1.status, 200, JSON.stringify(page1.body));
    assert.equal(page1.body.events.length, 100);
    assert.deepEqual(page1.body.events[0], { sender: bob.userId, type: 'org.example.key', content: { i: 0 } });
    assert.equal(typeof page1.body.next_batch, 'string');
    const page2 = await events(alice, device.deviceId, page1.body.next_batch);
    assert.deepEqual(page2.body.events.map((e: { content: { i: number } }) => e.content.i), Array.from({ length: 20 }, (_, i) => 100 + i));
    const end = await events(alice, device.deviceId, page2.body.next_batch);
    assert.deepEqual(end.body, { events: [] }, 'an empty page without next_batch ends the loop');
    // Nothing was deleted: an interrupted rehydration starts again from the beginning.
    assert.equal((await events(alice, device.deviceId)).body.events.length, 100);
    // The GET form matrix-js-sdk sends answers the same.
    const viaGet = await server().request('GET', `${PREFIX}/dehydrated_device/${encodeURIComponent(device.deviceId)}/events`, {
      token: alice.accessToken,
      query: { from: page1.body.next_batch },
    });
    assert.deepEqual(viaGet.body, page2.body);
  });

  it('refuses other devices, other users and bad tokens', async () => {
    const wrongDevice = await events(alice, alice.deviceId);
    assert.equal(wrongDevice.status, 403);
    assert.equal(wrongDevice.body.errcode, 'M_FORBIDDEN');
    const otherUser = await events(bob, device.deviceId);
    assert.equal(otherUser.status, 403);
    const badToken = await events(alice, device.deviceId, 'garbage');
    assert.equal(badToken.status, 400);
    assert.equal(badToken.body.errcode, 'M_INVALID_PARAM');
  });

  it('refuses bad uploads and keeps the current device', async () => {
    const other = dehydratedDeviceFor(alice);
    const wrongDeviceKeys = await server().request('PUT', `${PREFIX}/dehydrated_device`, {
      token: alice.accessToken,
      body: putBody(other, { device_keys: device.deviceKeys() }),
    });
    assert.equal(wrongDeviceKeys.status, 400);
    const forged = other.deviceKeys();
    forged.keys[`curve25519:${other.deviceId}`] = curveKey();
    const badSignature = await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: putBody(other, { device_keys: forged }) });
    assert.ok(badSignature.status >= 400 && badSignature.status < 500, JSON.stringify(badSignature.body));
    const missing = await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: { device_id: 'X', device_data: { algorithm: 'a' } } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    const noAlgorithm = await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: putBody(other, { device_data: {} }) });
    assert.equal(noAlgorithm.status, 400);
    const clash = new TestDevice(alice);
    const existingId = await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: putBody(clash) });
    assert.equal(existingId.status, 400, 'the ID of a real device cannot be taken over');

    assert.equal((await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken })).body.device_id, device.deviceId);
    const devices = (await server().request('GET', '/_matrix/client/v3/devices', { token: alice.accessToken })).body.devices.map((d: { device_id: string }) => d.device_id);
    assert.ok(!devices.includes(other.deviceId));
    assert.equal((await events(alice, device.deviceId)).body.events.length, 100);
  });

  it('replaces the previous dehydrated device, its keys and its queue', async () => {
    const next = dehydratedDeviceFor(alice);
    const put = await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: putBody(next) });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal((await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken })).body.device_id, next.deviceId);
    const devices = (await server().request('GET', '/_matrix/client/v3/devices', { token: alice.accessToken })).body.devices.map((d: { device_id: string }) => d.device_id);
    assert.ok(devices.includes(next.deviceId));
    assert.ok(!devices.includes(device.deviceId));
    assert.equal((await events(alice, device.deviceId)).status, 403);
    assert.deepEqual((await events(alice, next.deviceId)).body, { events: [] });
    const query = await server().request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [] } } });
    assert.ok(!(device.deviceId in query.body.device_keys[alice.userId]));
    device = next;
  });

  it('is deleted by DELETE /dehydrated_device and by deleting the device', async () => {
    const del = await server().request('DELETE', `${PREFIX}/dehydrated_device`, { token: alice.accessToken });
    assert.deepEqual(del.body, { device_id: device.deviceId });
    assert.equal((await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken })).status, 404);
    const devices = (await server().request('GET', '/_matrix/client/v3/devices', { token: alice.accessToken })).body.devices.map((d: { device_id: string }) => d.device_id);
    assert.ok(!devices.includes(device.deviceId));

    const again = dehydratedDeviceFor(alice);
    assert.equal((await server().request('PUT', `${PREFIX}/dehydrated_device`, { token: alice.accessToken, body: putBody(again) })).status, 200);
    const path = `/_matrix/client/v3/devices/${encodeURIComponent(again.deviceId)}`;
    const first = await server().request('DELETE', path, { token: alice.accessToken, body: {} });
    const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password: alice.password, session: first.body.session };
    assert.equal((await server().request('DELETE', path, { token: alice.accessToken, body: { auth } })).status, 200);
    assert.equal((await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken })).status, 404);
  });
});
