// Cross-signing verification and server-side key backup driven by matrix-js-sdk with its Rust
// crypto, on both databases: a user with cross-signing and a key backup logs in on a second
// device; the first device verifies it interactively (SAS over send-to-device), which lets the new
// device receive the backup key by secret sharing; with the first device gone, the new device
// restores the room keys from the server's backup and decrypts messages sent before it existed.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType, type MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent, VerificationPhase, VerificationRequestEvent, VerifierEvent, type VerificationRequest, type Verifier } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { stopAllSdkClients, stopSdkClient, withTimeout } from './support/js-sdk.ts';
import { createEncryptedRoomWith, decrypted, startCryptoClient, waitForCrypto } from './support/js-sdk-crypto.ts';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

async function login(server: TestServer, user: TestUser): Promise<TestUser> {
  const res = await server.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...user, accessToken: res.body.access_token, deviceId: res.body.device_id };
}

/** Re-evaluates `check` every 100 ms until it yields a value (waits on the server, not a clock). */
async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  return withTimeout(
    (async () => {
      for (;;) {
        const v = await check();
        if (v !== undefined && v !== null && v !== false) return v;
        await new Promise((r) => setTimeout(r, 100));
      }
    })(),
    timeoutMs,
    `timed out waiting for ${what}`,
  );
}

function onPhase(request: VerificationRequest, phase: VerificationPhase): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (request.phase === phase) resolve();
        else if (request.phase === VerificationPhase.Cancelled) reject(new Error(`verification cancelled: ${request.cancellationCode}`));
      };
      request.on(VerificationRequestEvent.Change, check);
      check();
    }),
    30_000,
    `verification phase ${VerificationPhase[phase]}`,
  );
}

/** Runs a SAS verifier to the end, confirming the emoji (both sides see the same ones). */
async function confirmSas(verifier: Verifier): Promise<void> {
  verifier.on(VerifierEvent.ShowSas, (sas) => void sas.confirm());
  await verifier.verify();
}

describeEachDatabase('matrix-js-sdk Rust crypto: cross-signing verification and key backup restore', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let first: MatrixClient;
  let bobClient: MatrixClient;
  let second: MatrixClient;
  let roomId: string;
  const oldMessages: string[] = [];

  after(stopAllSdkClients);

  it('the first device sets up cross-signing and a key backup, and its room keys get backed up', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    first = await startCryptoClient(server(), alice);
    bobClient = await startCryptoClient(server(), bob);
    const crypto = first.getCrypto()!;
    await crypto.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: async (makeRequest) => {
        await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password: alice.password });
      },
    });
    assert.equal((await crypto.getCrossSigningStatus()).publicKeysOnDevice, true);
    await crypto.resetKeyBackup();
    const version = await crypto.getActiveSessionBackupVersion();
    assert.ok(version, 'backup enabled on the first device');

    roomId = await createEncryptedRoomWith(first, bobClient);
    oldMessages.push((await first.sendMessage(roomId, { msgtype: MsgType.Text, body: 'sent before the second device existed' })).event_id);
    const fromBob = (await bobClient.sendMessage(roomId, { msgtype: MsgType.Text, body: 'bob also wrote before' })).event_id;
    await waitForCrypto(first, () => decrypted(first, roomId, fromBob), 'alice decrypting bob');
    oldMessages.push(fromBob);

    // The first device uploads both sessions (its own and bob's) to the server's backup.
    const stored = await eventually(async () => {
      const res = await server().request('GET', '/_matrix/client/v3/room_keys/version', { token: alice.accessToken });
      return res.body.version === version && res.body.count >= 2 ? res.body : undefined;
    }, 'room keys in the server-side backup');
    assert.equal(stored.algorithm, 'm.megolm_backup.v1.curve25519-aes-sha2');
    const keys = await server().request('GET', `/_matrix/client/v3/room_keys/keys/${encodeURIComponent(roomId)}`, { token: alice.accessToken, query: { version } });
    assert.equal(Object.keys(keys.body.sessions).length, 2);
  });

  it('a second device is verified by the first one through SAS and receives the backup key', async () => {
    const alice2 = await login(server(), alice);
    second = await startCryptoClient(server(), alice2);
    const firstCrypto = first.getCrypto()!;
    const secondCrypto = second.getCrypto()!;

    // Each side must know the other before the request: the new device its user's cross-signing
    // keys (it refuses to request verification otherwise), the old one the new device's keys
    // (announced to it through device_lists in /sync).
    assert.equal(await secondCrypto.userHasCrossSigningKeys(alice.userId, true), true);
    await eventually(async () => (await firstCrypto.getUserDeviceInfo([alice.userId])).get(alice.userId)?.has(alice2.deviceId), 'the new device at the first one');
    const received = withTimeout(
      new Promise<VerificationRequest>((resolve) => first.on(CryptoEvent.VerificationRequestReceived, resolve)),
      30_000,
      'verification request at the first device',
    );
    received.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    const outgoing = await secondCrypto.requestOwnUserVerification();
    const incoming = await received;
    await incoming.accept();
    await onPhase(outgoing, VerificationPhase.Ready);
    const secondVerifier = await outgoing.startVerification('m.sas.v1');
    await onPhase(incoming, VerificationPhase.Started);
    await Promise.all([confirmSas(secondVerifier), confirmSas(incoming.verifier!)]);
    await Promise.all([onPhase(outgoing, VerificationPhase.Done), onPhase(incoming, VerificationPhase.Done)]);

    // The first device cross-signed the second: everyone (the server included) sees the signature.
    const status = await eventually(async () => {
      const s = await firstCrypto.getDeviceVerificationStatus(alice.userId, alice2.deviceId);
      return s?.crossSigningVerified ? s : undefined;
    }, 'the second device being cross-signing verified');
    assert.equal(status.crossSigningVerified, true);
    const query = await server().request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [alice2.deviceId] } } });
    const signatures = query.body.device_keys[alice.userId][alice2.deviceId].signatures[alice.userId];
    assert.equal(Object.keys(signatures).length, 2, 'device signature plus self-signing key signature');

    // After verification the second device asks its verified sibling for the secrets (to-device
    // m.secret.request / m.secret.send), the backup decryption key among them.
    await eventually(() => secondCrypto.getSessionBackupPrivateKey(), 'the backup key at the second device');
  });

  it('with the first device gone, the second restores the keys from the backup and decrypts old messages', async () => {
    await stopSdkClient(first);
    const crypto = second.getCrypto()!;
    await crypto.checkKeyBackupAndEnable();
    const result = await crypto.restoreKeyBackup();
    assert.ok(result.imported >= 2, `imported ${result.imported} of ${result.total}`);
    const room = second.getRoom(roomId)!;
    await second.scrollback(room, 20);
    const texts = [];
    for (const eventId of oldMessages) texts.push((await waitForCrypto(second, () => decrypted(second, roomId, eventId), `decrypting ${eventId}`)).getContent().body);
    assert.deepEqual(texts, ['sent before the second device existed', 'bob also wrote before']);
    await stopAllSdkClients();
  });
});
