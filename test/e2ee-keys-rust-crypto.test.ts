// matrix-js-sdk's Rust crypto against Foyer's key endpoints: a device uploads its keys,
// bootstraps cross-signing (first upload without UIA, as MSC3967 allows), cross-signs a second
// device, and the other device sees it as cross-signing verified. The full encrypted-room
// scenario lives in e2ee-js-sdk*.test.ts.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MatrixClient } from 'matrix-js-sdk';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';
import { sdkClientFor, startSdkClient, stopAllSdkClients, withTimeout } from './support/js-sdk.ts';

async function login(s: TestServer, u: TestUser): Promise<TestUser> {
  const res = await s.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...u, accessToken: res.body.access_token, deviceId: res.body.device_id };
}

async function cryptoClient(s: TestServer, u: TestUser): Promise<MatrixClient> {
  const client = sdkClientFor(s, u);
  await client.initRustCrypto({ useIndexedDB: false });
  await startSdkClient(client, { pollTimeout: 5_000 });
  return client;
}

/** Polls the SDK's own view until `check` holds (the SDK learns of changes through /sync). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 100));
    })(),
    20_000,
    `timed out waiting for ${what}`,
  );
}

describeEachDatabase('e2ee keys with matrix-js-sdk Rust crypto', ({ server }) => {
  after(() => stopAllSdkClients());

  it('bootstraps cross-signing and cross-signs a second device', async () => {
    const alice = await server().registerUser();
    const first = await cryptoClient(server(), alice);
    const crypto = first.getCrypto()!;

    // The first upload of cross-signing keys must not ask for UIA.
    // (makeRequest(null) sends no auth dict: a 401 here would fail the bootstrap.)
    await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: async (makeRequest) => void (await makeRequest(null)) });
    assert.equal(await crypto.isCrossSigningReady(), true);

    const query = await server().request('POST', '/_matrix/client/v3/keys/query', { token: alice.accessToken, body: { device_keys: { [alice.userId]: [] } } });
    const ssk = Object.values(query.body.self_signing_keys[alice.userId].keys)[0] as string;
    const device = query.body.device_keys[alice.userId][alice.deviceId];
    assert.ok(device.signatures[alice.userId][`ed25519:${ssk}`], 'the device is signed by the self-signing key');
    assert.ok(query.body.user_signing_keys[alice.userId]);

    // A second device logs in and uploads its keys; the first one cross-signs it.
    const second = await login(server(), alice);
    const other = await cryptoClient(server(), second);
    await eventually(async () => !!(await crypto.getUserDeviceInfo([alice.userId], true)).get(alice.userId)?.get(second.deviceId), 'the first device to see the second');
    await crypto.crossSignDevice(second.deviceId);
    await eventually(async () => !!(await crypto.getDeviceVerificationStatus(alice.userId, second.deviceId))?.crossSigningVerified, 'the second device to be cross-signed');
    const after = await server().request('POST', '/_matrix/client/v3/keys/query', { token: alice.accessToken, body: { device_keys: { [alice.userId]: [second.deviceId] } } });
    assert.ok(after.body.device_keys[alice.userId][second.deviceId].signatures[alice.userId][`ed25519:${ssk}`]);
    // The second device learns of the signature through its own /keys/query.
    await eventually(async () => {
      const devices = await other.getCrypto()!.getUserDeviceInfo([alice.userId], true);
      return !!devices.get(alice.userId)?.get(second.deviceId);
    }, 'the second device to see itself');

    // Resetting the identity replaces the keys, which needs the password (UIA).
    const masterBefore = query.body.master_keys[alice.userId];
    let asked = 0;
    await crypto.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: async (makeRequest) => {
        asked++;
        await assert.rejects(makeRequest(null) as Promise<unknown>, (err: any) => err.httpStatus === 401);
        await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: alice.password });
      },
    });
    assert.equal(asked, 1);
    const reset = await server().request('POST', '/_matrix/client/v3/keys/query', { token: alice.accessToken, body: { device_keys: { [alice.userId]: [] } } });
    assert.notDeepEqual(reset.body.master_keys[alice.userId].keys, masterBefore.keys);
  });
});
