// Dehydrated devices (MSC3814) driven by matrix-js-sdk with its Rust crypto, on both databases:
// a device with cross-signing and secret storage parks a dehydrated device on the server; a
// message sent while the user has no device online is encrypted to it; a device logged in later
// rehydrates it (GET /dehydrated_device, then its events page by page) and decrypts the message.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType, type MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent, type CryptoCallbacks, type GeneratedSecretStorageKey } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { stopAllSdkClients, stopSdkClient, withTimeout } from './support/js-sdk.ts';
import { createEncryptedRoomWith, decrypted, startCryptoClient, waitForCrypto } from './support/js-sdk-crypto.ts';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';

async function login(server: TestServer, user: TestUser): Promise<TestUser> {
  const res = await server.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...user, accessToken: res.body.access_token, deviceId: res.body.device_id };
}

describeEachDatabase('matrix-js-sdk Rust crypto: dehydrated device (MSC3814)', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let bobClient: MatrixClient;
  let roomId: string;
  let dehydratedId: string;
  let offlineMessage: string;
  // The user's secret storage key, as the user would type it in on a new device.
  let recoveryKey: GeneratedSecretStorageKey | undefined;
  const cryptoCallbacks: CryptoCallbacks = {
    getSecretStorageKey: async ({ keys }) => (recoveryKey ? [Object.keys(keys)[0], recoveryKey.privateKey] : null),
  };

  after(stopAllSdkClients);

  it('a device with cross-signing and secret storage uploads a dehydrated device', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    const first = await startCryptoClient(server(), alice, { cryptoCallbacks });
    const crypto = first.getCrypto()!;
    await crypto.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: async (makeRequest) => {
        await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password: alice.password });
      },
    });
    recoveryKey = await crypto.createRecoveryKeyFromPassphrase();
    await crypto.bootstrapSecretStorage({ createSecretStorageKey: async () => recoveryKey!, setupNewSecretStorage: true });
    assert.equal(await crypto.isDehydrationSupported(), true);
    await crypto.startDehydration();

    const parked = await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken });
    assert.equal(parked.status, 200, JSON.stringify(parked.body));
    dehydratedId = parked.body.device_id;
    assert.equal(typeof parked.body.device_data.algorithm, 'string');
    // Others see it as a dehydrated device signed by alice's self-signing key.
    const query = await server().request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [dehydratedId] } } });
    const keys = query.body.device_keys[alice.userId][dehydratedId];
    assert.equal(keys.dehydrated, true);
    assert.equal(Object.keys(keys.signatures[alice.userId]).length, 2, 'device signature plus self-signing key signature');

    bobClient = await startCryptoClient(server(), bob);
    roomId = await createEncryptedRoomWith(first, bobClient);
    // Alice's only real device goes away (its crypto store is in memory: gone for good).
    await stopSdkClient(first);
  });

  it('a message sent while the user is offline reaches the dehydrated device', async () => {
    offlineMessage = (await bobClient.sendMessage(roomId, { msgtype: MsgType.Text, body: 'sent while alice was offline' })).event_id;
    const queued = await server().request('POST', `${PREFIX}/dehydrated_device/${encodeURIComponent(dehydratedId)}/events`, { token: alice.accessToken, body: {} });
    assert.equal(queued.status, 200);
    assert.ok(
      queued.body.events.some((e: { type: string; sender: string }) => e.type === 'm.room.encrypted' && e.sender === bob.userId),
      'bob’s client sent the room key to the dehydrated device',
    );
  });

  it('a new device rehydrates it, decrypts the message and parks a fresh dehydrated device', async () => {
    const alice2 = await login(server(), alice);
    const second = await startCryptoClient(server(), alice2, { cryptoCallbacks });
    const crypto = second.getCrypto()!;
    // Cross-signing private keys come from secret storage (the recovery key unlocks them); they
    // are imported against the public keys, so those must have been downloaded first.
    assert.equal(await crypto.userHasCrossSigningKeys(alice.userId, true), true);
    await crypto.bootstrapCrossSigning({});
    const completed = withTimeout(new Promise<void>((resolve) => second.on(CryptoEvent.RehydrationCompleted, () => resolve())), 30_000, 'rehydration');
    let roomKeys = 0;
    second.on(CryptoEvent.RehydrationProgress, (keys) => (roomKeys = keys));
    await crypto.startDehydration();
    await completed;
    assert.ok(roomKeys >= 1, `room keys received by the dehydrated device: ${roomKeys}`);

    const event = await waitForCrypto(second, () => decrypted(second, roomId, offlineMessage), 'decrypting the offline message');
    assert.equal(event.getContent().body, 'sent while alice was offline');
    const fresh = await server().request('GET', `${PREFIX}/dehydrated_device`, { token: alice.accessToken });
    assert.notEqual(fresh.body.device_id, dehydratedId, 'a new dehydrated device replaced the used one');
    const devices = (await server().request('GET', '/_matrix/client/v3/devices', { token: alice.accessToken })).body.devices.map((d: { device_id: string }) => d.device_id);
    assert.ok(!devices.includes(dehydratedId));
    await stopAllSdkClients();
  });
});
