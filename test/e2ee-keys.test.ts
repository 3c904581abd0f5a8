// Device keys, one-time keys and fallback keys through HTTP (spec "Key management API"):
// /keys/upload, /keys/query, /keys/claim, with their errors, and claims under concurrency.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';
import { TestDevice, curveKey, newKey, signJson, type Json } from './support/e2ee-keys.ts';

const UPLOAD = '/_matrix/client/v3/keys/upload';
const QUERY = '/_matrix/client/v3/keys/query';
const CLAIM = '/_matrix/client/v3/keys/claim';

describeEachDatabase('e2ee keys: upload, query, claim', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let aliceDevice: TestDevice;

  it('uploads device keys and one-time keys and counts them', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    aliceDevice = new TestDevice(alice);
    const res = await aliceDevice.upload(server(), { device_keys: aliceDevice.deviceKeys(), one_time_keys: aliceDevice.oneTimeKeys(5) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { one_time_key_counts: { signed_curve25519: 5 } });
    // An empty upload reports the counts, with signed_curve25519 present even when zero.
    const empty = await new TestDevice(bob).upload(server(), {});
    assert.deepEqual(empty.body, { one_time_key_counts: { signed_curve25519: 0 } });
    // The same keys again (a retried request) are accepted and not counted twice.
    const again = await aliceDevice.upload(server(), { device_keys: aliceDevice.deviceKeys(), one_time_keys: {} });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.one_time_key_counts, { signed_curve25519: 5 });
  });

  it('serves device keys through /keys/query with the display name, all devices for an empty list', async () => {
    const rename = await server().request('PUT', `/_matrix/client/v3/devices/${alice.deviceId}`, { token: alice.accessToken, body: { display_name: 'Laptop' } });
    assert.equal(rename.status, 200);
    const res = await server().request('POST', QUERY, { token: bob.accessToken, body: { device_keys: { [alice.userId]: [] } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const keys = res.body.device_keys[alice.userId][alice.deviceId];
    const { unsigned, ...stored } = keys;
    assert.deepEqual(stored, aliceDevice.deviceKeys());
    assert.deepEqual(unsigned, { device_display_name: 'Laptop' });
    assert.deepEqual(res.body.failures, {});

    const byDevice = await server().request('POST', QUERY, { token: bob.accessToken, body: { device_keys: { [alice.userId]: ['NOSUCHDEVICE'], [bob.userId]: [] } } });
    assert.deepEqual(byDevice.body.device_keys, { [alice.userId]: {}, [bob.userId]: {} });
  });

  it('reports remote servers as failures (no federation yet)', async () => {
    const res = await server().request('POST', QUERY, { token: alice.accessToken, body: { device_keys: { '@someone:remote.example': [] } } });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body.failures), ['remote.example']);
    assert.equal(res.body.device_keys['@someone:remote.example'], undefined);
    const claim = await server().request('POST', CLAIM, { token: alice.accessToken, body: { one_time_keys: { '@someone:remote.example': { DEV: 'signed_curve25519' } } } });
    assert.deepEqual(Object.keys(claim.body.failures), ['remote.example']);
  });

  it('refuses malformed queries and claims', async () => {
    const noMap = await server().request('POST', QUERY, { token: alice.accessToken, body: {} });
    assert.equal(noMap.status, 400);
    assert.equal(noMap.body.errcode, 'M_MISSING_PARAM');
    const badUser = await server().request('POST', QUERY, { token: alice.accessToken, body: { device_keys: { 'not-a-user': [] } } });
    assert.equal(badUser.status, 400);
    assert.equal(badUser.body.errcode, 'M_INVALID_PARAM');
    const badList = await server().request('POST', QUERY, { token: alice.accessToken, body: { device_keys: { [bob.userId]: 'DEV' } } });
    assert.equal(badList.status, 400);
    assert.equal(badList.body.errcode, 'M_BAD_JSON');
    const badClaim = await server().request('POST', CLAIM, { token: alice.accessToken, body: { one_time_keys: { [bob.userId]: ['signed_curve25519'] } } });
    assert.equal(badClaim.status, 400);
    assert.equal(badClaim.body.errcode, 'M_BAD_JSON');
    const noAuth = await server().request('POST', QUERY, { body: { device_keys: {} } });
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.body.errcode, 'M_MISSING_TOKEN');
  });

  it('refuses device keys of another user or device, unsigned or badly signed, and malformed', async () => {
    const d = new TestDevice(bob);
    const expectError = async (body: Json, status: number, errcode: string) => {
      const res = await d.upload(server(), body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.errcode, errcode, JSON.stringify(res.body));
    };
    // Keys of Alice's device signed correctly by Alice's key, uploaded by Bob.
    await expectError({ device_keys: aliceDevice.deviceKeys() }, 400, 'M_INVALID_PARAM');
    // Bob's own user but another device ID.
    const other = signJson({ ...d.deviceKeys(), device_id: 'OTHERDEVICE', signatures: undefined }, bob.userId, d.key);
    await expectError({ device_keys: other }, 400, 'M_INVALID_PARAM');
    // Signed by a key that is not the device's.
    const stranger = newKey(() => `ed25519:${bob.deviceId}`);
    const { signatures: _s, ...unsigned } = d.deviceKeys();
    await expectError({ device_keys: signJson(unsigned, bob.userId, stranger) }, 400, 'M_INVALID_SIGNATURE');
    // No signature at all, and a tampered key after signing.
    await expectError({ device_keys: { ...unsigned, signatures: {} } }, 400, 'M_INVALID_SIGNATURE');
    await expectError({ device_keys: { ...d.deviceKeys(), algorithms: ['m.megolm.v1.aes-sha2'] } }, 400, 'M_INVALID_SIGNATURE');
    // Malformed: missing fields, wrong types, bad key IDs, null.
    await expectError({ device_keys: { user_id: bob.userId, device_id: bob.deviceId } }, 400, 'M_BAD_JSON');
    await expectError({ device_keys: { ...unsigned, keys: { [`ed25519:${bob.deviceId}`]: 'not base64!' }, signatures: {} } }, 400, 'M_BAD_JSON');
    await expectError({ device_keys: null }, 400, 'M_BAD_JSON');
    await expectError({ device_keys: { ...d.deviceKeys(), algorithms: 'm.megolm.v1.aes-sha2' } }, 400, 'M_BAD_JSON');
    await expectError({ one_time_keys: { nocolon: 'abc' } }, 400, 'M_BAD_JSON');
    await expectError({ one_time_keys: { 'signed_curve25519:A': 'unsigned-string' } }, 400, 'M_BAD_JSON');
    await expectError({ one_time_keys: { 'signed_curve25519:A': { key: 1 } } }, 400, 'M_BAD_JSON');
    await expectError({ fallback_keys: { 'signed_curve25519:A': 42 } }, 400, 'M_BAD_JSON');
    // Nothing was stored by any of these.
    const q = await server().request('POST', QUERY, { token: bob.accessToken, body: { device_keys: { [bob.userId]: [] } } });
    assert.deepEqual(q.body.device_keys[bob.userId], {});
  });

  it('refuses to change the identity keys of a device, but accepts the same keys again', async () => {
    const impostor = new TestDevice(alice);
    const res = await impostor.upload(server(), { device_keys: impostor.deviceKeys() });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    const q = await server().request('POST', QUERY, { token: bob.accessToken, body: { device_keys: { [alice.userId]: [alice.deviceId] } } });
    assert.equal(q.body.device_keys[alice.userId][alice.deviceId].keys[`ed25519:${alice.deviceId}`], aliceDevice.key.publicKeyBase64);
  });

  it('refuses a one-time key ID reused with different content', async () => {
    const res = await aliceDevice.upload(server(), { one_time_keys: aliceDevice.oneTimeKeys(1, 'AAAA') });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    const count = await aliceDevice.upload(server(), {});
    assert.deepEqual(count.body.one_time_key_counts, { signed_curve25519: 5 });
  });

  it('claims each one-time key once, then the fallback key, which stays claimable and is marked used', async () => {
    const carol = await server().registerUser();
    const dev = new TestDevice(carol);
    const otks = dev.oneTimeKeys(2, 'C');
    assert.equal((await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: otks, fallback_keys: dev.fallbackKey('F1') })).status, 200);
    const sync = await server().request('GET', '/_matrix/client/v3/sync', { token: carol.accessToken });
    assert.deepEqual(sync.body.device_unused_fallback_key_types, ['signed_curve25519']);
    assert.deepEqual(sync.body.device_one_time_keys_count, { signed_curve25519: 2 });

    const claim = () => server().request('POST', CLAIM, { token: bob.accessToken, body: { one_time_keys: { [carol.userId]: { [carol.deviceId]: 'signed_curve25519' } } } });
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await claim();
      assert.equal(res.status, 200);
      const [[id, key]] = Object.entries(res.body.one_time_keys[carol.userId][carol.deviceId]);
      assert.deepEqual(key, otks[id]);
      seen.push(id);
    }
    assert.deepEqual(seen.sort(), ['signed_curve25519:C0', 'signed_curve25519:C1']);
    for (let i = 0; i < 2; i++) {
      const res = await claim();
      assert.deepEqual(Object.keys(res.body.one_time_keys[carol.userId][carol.deviceId]), ['signed_curve25519:F1']);
    }
    const after = await server().request('GET', '/_matrix/client/v3/sync', { token: carol.accessToken });
    assert.deepEqual(after.body.device_unused_fallback_key_types, []);
    assert.deepEqual(after.body.device_one_time_keys_count, { signed_curve25519: 0 });

    // A new fallback key replaces the used one and is unused again; re-uploading it keeps it so.
    const next = dev.fallbackKey('F2');
    await dev.upload(server(), { fallback_keys: next });
    const res = await claim();
    assert.deepEqual(Object.keys(res.body.one_time_keys[carol.userId][carol.deviceId]), ['signed_curve25519:F2']);
    await dev.upload(server(), { fallback_keys: next });
    const used = await server().request('GET', '/_matrix/client/v3/sync', { token: carol.accessToken });
    assert.deepEqual(used.body.device_unused_fallback_key_types, []);

    // Unknown devices and algorithms without keys are simply absent.
    const none = await server().request('POST', CLAIM, {
      token: bob.accessToken,
      body: { one_time_keys: { [carol.userId]: { NOPE: 'signed_curve25519' }, [bob.userId]: { [bob.deviceId]: 'signed_curve25519' } } },
    });
    assert.deepEqual(none.body, { one_time_keys: {}, failures: {} });
  });

  it('hands out every one-time key exactly once under 50 parallel claims for 20 keys', async () => {
    const dave = await server().registerUser();
    const dev = new TestDevice(dave);
    const otks = dev.oneTimeKeys(20, 'P');
    assert.equal((await dev.upload(server(), { device_keys: dev.deviceKeys(), one_time_keys: otks, fallback_keys: dev.fallbackKey('PF') })).status, 200);
    const claimers = await Promise.all([0, 1, 2, 3, 4].map(() => server().registerUser()));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        server().request('POST', CLAIM, { token: claimers[i % 5].accessToken, body: { one_time_keys: { [dave.userId]: { [dave.deviceId]: 'signed_curve25519' } } } }),
      ),
    );
    const ids = results.map((r) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const keys = Object.keys(r.body.one_time_keys[dave.userId][dave.deviceId]);
      assert.equal(keys.length, 1);
      return keys[0];
    });
    const otkIds = ids.filter((id) => id !== 'signed_curve25519:PF');
    assert.equal(otkIds.length, 20, 'every one-time key was handed out');
    assert.equal(new Set(otkIds).size, 20, 'no one-time key was handed out twice');
    assert.deepEqual(new Set(otkIds), new Set(Object.keys(otks)));
    assert.equal(ids.filter((id) => id === 'signed_curve25519:PF').length, 30);
    const counts = await dev.upload(server(), {});
    assert.deepEqual(counts.body.one_time_key_counts, { signed_curve25519: 0 });
  });

  it('parallel retries of one upload store each one-time key once', async () => {
    const frank = await server().registerUser();
    const dev = new TestDevice(frank);
    await dev.upload(server(), { device_keys: dev.deviceKeys() });
    const body = { one_time_keys: dev.oneTimeKeys(10, 'R') };
    const results = await Promise.all(Array.from({ length: 6 }, () => dev.upload(server(), body)));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual((await dev.upload(server(), {})).body.one_time_key_counts, { signed_curve25519: 10 });
  });

  it('accepts unsigned curve25519 one-time keys and counts them per algorithm', async () => {
    const erin = await server().registerUser();
    const dev = new TestDevice(erin);
    const res = await dev.upload(server(), { one_time_keys: { 'curve25519:U1': curveKey(), 'signed_curve25519:S1': signJson({ key: curveKey() }, erin.userId, dev.key) } });
    assert.deepEqual(res.body.one_time_key_counts, { signed_curve25519: 1, curve25519: 1 });
  });
});
