// Cross-signing through HTTP (spec "Cross-signing"): /keys/device_signing/upload with its UIA
// rules, /keys/signatures/upload with real ed25519 signatures (bad ones land in `failures`), and
// who sees which keys and signatures in /keys/query and in device_lists.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';
import { TestDevice, crossSigningKeyObject, initialSync, incrementalSync, makeCrossSigningKeys, newKey, signJson, type CrossSigningKeys, type Json } from './support/e2ee-keys.ts';
import { createRoom, inviteAndJoin } from './support/room-actions.ts';

const SIGNING_UPLOAD = '/_matrix/client/v3/keys/device_signing/upload';
const SIGNATURES_UPLOAD = '/_matrix/client/v3/keys/signatures/upload';
const QUERY = '/_matrix/client/v3/keys/query';

function stripSignatures(obj: Json): Json {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return rest;
}

describeEachDatabase('e2ee cross-signing', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let aliceDevice: TestDevice;
  let aliceKeys: CrossSigningKeys;
  let bobKeys: CrossSigningKeys;

  const query = async (as: TestUser, users: TestUser[]) => {
    const res = await server().request('POST', QUERY, { token: as.accessToken, body: { device_keys: Object.fromEntries(users.map((u) => [u.userId, []])) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const passwordAuth = (u: TestUser, session?: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password, ...(session ? { session } : {}) });

  it('the first upload needs no UIA; keys are served with the user-signing key only to its owner', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    const room = await createRoom(server(), alice);
    await inviteAndJoin(server(), alice, room, bob);
    aliceDevice = new TestDevice(alice);
    await aliceDevice.upload(server(), { device_keys: aliceDevice.deviceKeys() });
    const bobSince = (await initialSync(server(), bob)).next_batch;

    aliceKeys = makeCrossSigningKeys(alice.userId);
    const res = await server().request('POST', SIGNING_UPLOAD, { token: alice.accessToken, body: aliceKeys.body });
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const own = await query(alice, [alice]);
    assert.deepEqual(own.master_keys[alice.userId], aliceKeys.body.master_key);
    assert.deepEqual(own.self_signing_keys[alice.userId], aliceKeys.body.self_signing_key);
    assert.deepEqual(own.user_signing_keys[alice.userId], aliceKeys.body.user_signing_key);
    const other = await query(bob, [alice]);
    assert.deepEqual(other.master_keys[alice.userId], aliceKeys.body.master_key);
    assert.deepEqual(other.self_signing_keys[alice.userId], aliceKeys.body.self_signing_key);
    assert.deepEqual(other.user_signing_keys, {});
    // A room-mate learns that Alice's keys changed.
    assert.deepEqual((await incrementalSync(server(), bob, bobSince)).device_lists.changed, [alice.userId]);
  });

  it('re-uploading identical keys needs no UIA; replacing them does', async () => {
    const same = await server().request('POST', SIGNING_UPLOAD, { token: alice.accessToken, body: aliceKeys.body });
    assert.equal(same.status, 200, JSON.stringify(same.body));

    const next = makeCrossSigningKeys(alice.userId);
    const challenge = await server().request('POST', SIGNING_UPLOAD, { token: alice.accessToken, body: next.body });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    const wrong = await server().request('POST', SIGNING_UPLOAD, {
      token: alice.accessToken,
      body: { ...next.body, auth: { ...passwordAuth(alice, challenge.body.session), password: 'wrong' } },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.deepEqual((await query(alice, [alice])).master_keys[alice.userId], aliceKeys.body.master_key);

    const done = await server().request('POST', SIGNING_UPLOAD, { token: alice.accessToken, body: { ...next.body, auth: passwordAuth(alice, challenge.body.session) } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    aliceKeys = next;
    assert.deepEqual((await query(bob, [alice])).master_keys[alice.userId], next.body.master_key);
  });

  it('refuses malformed keys and keys not signed by the master key', async () => {
    bobKeys = makeCrossSigningKeys(bob.userId);
    const expectError = async (body: Json, status: number, errcode: string) => {
      const res = await server().request('POST', SIGNING_UPLOAD, { token: bob.accessToken, body });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.errcode, errcode);
    };
    // Self-signing key signed by some other key than the master.
    const ssk = newKey();
    const badSsk = signJson(crossSigningKeyObject(bob.userId, 'self_signing', ssk), bob.userId, newKey());
    await expectError({ master_key: bobKeys.body.master_key, self_signing_key: badSsk }, 400, 'M_INVALID_SIGNATURE');
    await expectError({ self_signing_key: bobKeys.body.self_signing_key }, 400, 'M_MISSING_PARAM');
    await expectError({ master_key: { ...bobKeys.body.master_key, usage: ['self_signing'] } }, 400, 'M_BAD_JSON');
    await expectError({ master_key: { ...bobKeys.body.master_key, keys: { 'ed25519:abc': 'abc' } } }, 400, 'M_BAD_JSON');
    await expectError({ master_key: { ...bobKeys.body.master_key, keys: {} } }, 400, 'M_BAD_JSON');
    await expectError({ master_key: { ...bobKeys.body.master_key, user_id: alice.userId } }, 400, 'M_INVALID_PARAM');
    await expectError({ master_key: 'nope' }, 400, 'M_BAD_JSON');
    assert.deepEqual((await query(bob, [bob])).master_keys, {});
    // Checked before UIA: a bad key is refused outright, not after asking for the password.
    const aliceBad = signJson(crossSigningKeyObject(alice.userId, 'self_signing', ssk), alice.userId, newKey());
    const refused = await server().request('POST', SIGNING_UPLOAD, { token: alice.accessToken, body: { self_signing_key: aliceBad } });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.errcode, 'M_INVALID_SIGNATURE');
    // Bob's keys, for later.
    const ok = await server().request('POST', SIGNING_UPLOAD, { token: bob.accessToken, body: bobKeys.body });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('stores a device signed by the self-signing key, and the master key signed by a device', async () => {
    const signedDevice = signJson(aliceDevice.deviceKeys(), alice.userId, aliceKeys.selfSigning);
    const signedMaster = signJson(aliceKeys.body.master_key, alice.userId, aliceDevice.key);
    const res = await server().request('POST', SIGNATURES_UPLOAD, {
      token: alice.accessToken,
      body: { [alice.userId]: { [alice.deviceId]: signedDevice, [aliceKeys.master.publicKeyBase64]: signedMaster } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.failures, {});

    const seen = await query(bob, [alice]);
    const device = seen.device_keys[alice.userId][alice.deviceId];
    assert.equal(device.signatures[alice.userId][aliceKeys.selfSigning.keyId], signedDevice.signatures[alice.userId][aliceKeys.selfSigning.keyId]);
    assert.equal(device.signatures[alice.userId][`ed25519:${alice.deviceId}`], aliceDevice.deviceKeys().signatures[alice.userId][`ed25519:${alice.deviceId}`]);
    assert.deepEqual(stripSignatures(device), stripSignatures(aliceDevice.deviceKeys()));
    assert.equal(seen.master_keys[alice.userId].signatures[alice.userId][`ed25519:${alice.deviceId}`], signedMaster.signatures[alice.userId][`ed25519:${alice.deviceId}`]);
  });

  it("signing another user's master key with the user-signing key is visible only to the signer", async () => {
    const aliceSince = (await initialSync(server(), alice)).next_batch;
    const bobSince = (await initialSync(server(), bob)).next_batch;
    const signed = signJson((await query(alice, [bob])).master_keys[bob.userId], alice.userId, aliceKeys.userSigning);
    const res = await server().request('POST', SIGNATURES_UPLOAD, { token: alice.accessToken, body: { [bob.userId]: { [bobKeys.master.publicKeyBase64]: signed } } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.failures, {});
    const forAlice = await query(alice, [bob]);
    assert.equal(forAlice.master_keys[bob.userId].signatures[alice.userId][aliceKeys.userSigning.keyId], signed.signatures[alice.userId][aliceKeys.userSigning.keyId]);
    for (const viewer of [bob, carol]) {
      const theirs = await query(viewer, [bob]);
      assert.equal(theirs.master_keys[bob.userId].signatures?.[alice.userId], undefined);
    }
    assert.deepEqual((await incrementalSync(server(), alice, aliceSince)).device_lists.changed, [bob.userId]);
    assert.deepEqual((await incrementalSync(server(), bob, bobSince)).device_lists.changed, []);
  });

  it('puts bad signatures in failures and stores none of them', async () => {
    const forged = signJson(aliceDevice.deviceKeys(), alice.userId, newKey(() => aliceKeys.selfSigning.keyId));
    const tampered = { ...signJson(aliceDevice.deviceKeys(), alice.userId, aliceKeys.selfSigning), algorithms: ['evil'] };
    const strangerMaster = signJson(aliceKeys.body.master_key, alice.userId, newKey(() => `ed25519:${alice.deviceId}`));
    const carolKeys = makeCrossSigningKeys(carol.userId);
    await server().request('POST', SIGNING_UPLOAD, { token: carol.accessToken, body: carolKeys.body });
    // Carol's master signed with Alice's *self-signing* key instead of her user-signing key.
    const wrongKeyForOthers = signJson(carolKeys.body.master_key, alice.userId, aliceKeys.selfSigning);

    const res = await server().request('POST', SIGNATURES_UPLOAD, {
      token: alice.accessToken,
      body: {
        [alice.userId]: { [alice.deviceId]: forged, [aliceKeys.master.publicKeyBase64]: strangerMaster, NOSUCHDEVICE: { ...forged, device_id: 'NOSUCHDEVICE' } },
        [carol.userId]: { [carolKeys.master.publicKeyBase64]: wrongKeyForOthers, [carolKeys.selfSigning.publicKeyBase64]: signJson(carolKeys.body.self_signing_key, alice.userId, aliceKeys.userSigning) },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const f = res.body.failures;
    assert.equal(f[alice.userId][alice.deviceId].errcode, 'M_INVALID_SIGNATURE');
    assert.equal(f[alice.userId][aliceKeys.master.publicKeyBase64].errcode, 'M_INVALID_SIGNATURE');
    assert.equal(f[alice.userId].NOSUCHDEVICE.errcode, 'M_NOT_FOUND');
    assert.equal(f[carol.userId][carolKeys.master.publicKeyBase64].errcode, 'M_INVALID_SIGNATURE');
    assert.ok(f[carol.userId][carolKeys.selfSigning.publicKeyBase64].errcode);

    const tamperedRes = await server().request('POST', SIGNATURES_UPLOAD, { token: alice.accessToken, body: { [alice.userId]: { [alice.deviceId]: tampered } } });
    assert.equal(tamperedRes.body.failures[alice.userId][alice.deviceId].errcode, 'M_INVALID_SIGNATURE');

    const carolView = await query(alice, [carol]);
    assert.equal(carolView.master_keys[carol.userId].signatures?.[alice.userId], undefined);
    const bad = await server().request('POST', SIGNATURES_UPLOAD, { token: alice.accessToken, body: { [alice.userId]: 'nope' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_BAD_JSON');
  });

  it('guests cannot upload cross-signing keys', async () => {
    const res = await server().request('POST', SIGNING_UPLOAD, { body: aliceKeys.body });
    assert.equal(res.status, 401);
  });
});
