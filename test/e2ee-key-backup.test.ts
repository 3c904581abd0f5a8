// Server-side key backup through HTTP: versions (create, read, update, delete), session keys per
// room and session, the spec's replacement rule, etag and count, and the version errors.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';

function keyData(first: number, forwarded: number, verified: boolean, tag: string) {
  return { first_message_index: first, forwarded_count: forwarded, is_verified: verified, session_data: { ephemeral: 'e', ciphertext: tag, mac: 'm' } };
}

describeEachDatabase('server-side key backup', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let version: string;
  const room = '!room:test.local';
  const enc = encodeURIComponent;
  const req = (method: string, path: string, opts: { body?: unknown; query?: Record<string, string>; token?: string } = {}) =>
    server().request(method, `/_matrix/client/v3/room_keys/${path}`, { token: opts.token ?? alice.accessToken, body: opts.body, query: opts.query });

  it('has no backup before one is created', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    const res = await req('GET', 'version');
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_NOT_FOUND');
  });

  it('creates a version and reports it with count and etag', async () => {
    const created = await req('POST', 'version', { body: { algorithm: ALGORITHM, auth_data: { public_key: 'abc', signatures: {} } } });
    assert.equal(created.status, 200);
    version = created.body.version;
    assert.equal(typeof version, 'string');
    const current = await req('GET', 'version');
    assert.equal(current.status, 200);
    assert.deepEqual({ ...current.body, etag: undefined }, { algorithm: ALGORITHM, auth_data: { public_key: 'abc', signatures: {} }, count: 0, etag: undefined, version });
    assert.equal(typeof current.body.etag, 'string');
    assert.deepEqual((await req('GET', `version/${version}`)).body, current.body);
    // Another user sees nothing of it.
    assert.equal((await req('GET', 'version', { token: bob.accessToken })).status, 404);
    assert.equal((await req('GET', `version/${version}`, { token: bob.accessToken })).status, 404);
  });

  it('stores keys per session, room and in bulk, and reads them back', async () => {
    const before = (await req('GET', 'version')).body.etag;
    const one = await req('PUT', `keys/${enc(room)}/s1`, { query: { version }, body: keyData(5, 1, false, 'c1') });
    assert.equal(one.status, 200);
    assert.equal(one.body.count, 1);
    assert.notEqual(one.body.etag, before);
    const perRoom = await req('PUT', `keys/${enc(room)}`, { query: { version }, body: { sessions: { s2: keyData(0, 0, true, 'c2') } } });
    assert.equal(perRoom.body.count, 2);
    const bulk = await req('PUT', 'keys', { query: { version }, body: { rooms: { '!other:test.local': { sessions: { s3: keyData(0, 0, false, 'c3') } } } } });
    assert.equal(bulk.body.count, 3);
    assert.notEqual(bulk.body.etag, perRoom.body.etag);

    assert.deepEqual((await req('GET', `keys/${enc(room)}/s1`, { query: { version } })).body, keyData(5, 1, false, 'c1'));
    assert.deepEqual((await req('GET', `keys/${enc(room)}`, { query: { version } })).body, { sessions: { s1: keyData(5, 1, false, 'c1'), s2: keyData(0, 0, true, 'c2') } });
    const all = await req('GET', 'keys', { query: { version } });
    assert.deepEqual(Object.keys(all.body.rooms).sort(), ['!other:test.local', room].sort());
    const info = await req('GET', 'version');
    assert.equal(info.body.count, 3);
    assert.equal(info.body.etag, bulk.body.etag);

    // Nothing stored: empty answers, or 404 for one session.
    assert.deepEqual((await req('GET', `keys/${enc('!empty:test.local')}`, { query: { version } })).body, { sessions: {} });
    const noKey = await req('GET', `keys/${enc(room)}/nosuch`, { query: { version } });
    assert.equal(noKey.status, 404);
    assert.equal(noKey.body.errcode, 'M_NOT_FOUND');
  });

  it('replaces a session key only with a better one (verified, then first index, then forwards)', async () => {
    const get = async () => (await req('GET', `keys/${enc(room)}/s1`, { query: { version } })).body.session_data.ciphertext;
    const put = (data: unknown) => req('PUT', `keys/${enc(room)}/s1`, { query: { version }, body: data });
    // Stored: index 5, forwarded 1, unverified.
    let etag = (await req('GET', 'version')).body.etag;
    const worse = await put(keyData(6, 0, false, 'worse-index'));
    assert.equal(await get(), 'c1');
    assert.equal(worse.body.etag, etag, 'no change, same etag');
    await put(keyData(5, 2, false, 'worse-forwards'));
    assert.equal(await get(), 'c1');
    await put(keyData(5, 1, false, 'equal'));
    assert.equal(await get(), 'c1');
    const better = await put(keyData(5, 0, false, 'fewer-forwards'));
    assert.equal(await get(), 'fewer-forwards');
    assert.notEqual(better.body.etag, etag);
    await put(keyData(2, 9, false, 'lower-index'));
    assert.equal(await get(), 'lower-index');
    await put(keyData(9, 9, true, 'verified'));
    assert.equal(await get(), 'verified');
    await put(keyData(0, 0, false, 'unverified-but-lower'));
    assert.equal(await get(), 'verified');
    etag = (await req('GET', 'version')).body.etag;
    assert.equal((await req('GET', 'version')).body.count, 3);
  });

  it('writes only to the current version: M_WRONG_ROOM_KEYS_VERSION or M_NOT_FOUND', async () => {
    const second = await req('POST', 'version', { body: { algorithm: ALGORITHM, auth_data: { public_key: 'def' } } });
    const v2 = second.body.version;
    assert.notEqual(v2, version);
    assert.equal((await req('GET', 'version')).body.version, v2);
    const stale = await req('PUT', `keys/${enc(room)}/s9`, { query: { version }, body: keyData(0, 0, false, 'x') });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.errcode, 'M_WRONG_ROOM_KEYS_VERSION');
    assert.equal(stale.body.current_version, v2);
    const unknown = await req('PUT', 'keys', { query: { version: '999' }, body: { rooms: {} } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    const garbage = await req('GET', 'version/not-a-version');
    assert.equal(garbage.status, 404);
    // The old version still reads.
    assert.equal((await req('GET', 'keys', { query: { version } })).status, 200);
    // Bob has no backup at all.
    assert.equal((await req('PUT', 'keys', { token: bob.accessToken, query: { version: v2 }, body: { rooms: {} } })).status, 404);
    version = v2;
  });

  it('updates auth_data only, with matching algorithm and version', async () => {
    const ok = await req('PUT', `version/${version}`, { body: { algorithm: ALGORITHM, auth_data: { public_key: 'new' }, version } });
    assert.equal(ok.status, 200);
    assert.deepEqual((await req('GET', `version/${version}`)).body.auth_data, { public_key: 'new' });
    const wrongAlg = await req('PUT', `version/${version}`, { body: { algorithm: 'org.example.other', auth_data: {} } });
    assert.equal(wrongAlg.status, 400);
    assert.equal(wrongAlg.body.errcode, 'M_INVALID_PARAM');
    const wrongVersion = await req('PUT', `version/${version}`, { body: { algorithm: ALGORITHM, auth_data: {}, version: '1' } });
    assert.equal(wrongVersion.status, 400);
    assert.equal(wrongVersion.body.errcode, 'M_INVALID_PARAM');
    assert.equal((await req('PUT', 'version/12345', { body: { algorithm: ALGORITHM, auth_data: {} } })).status, 404);
  });

  it('deletes keys by session, room and version scope, bumping the etag', async () => {
    await req('PUT', 'keys', {
      query: { version },
      body: { rooms: { [room]: { sessions: { a: keyData(0, 0, false, 'a'), b: keyData(0, 0, false, 'b') } }, '!r2:test.local': { sessions: { c: keyData(0, 0, false, 'c') } } } },
    });
    const before = (await req('GET', 'version')).body;
    assert.equal(before.count, 3);
    const one = await req('DELETE', `keys/${enc(room)}/a`, { query: { version } });
    assert.equal(one.status, 200);
    assert.equal(one.body.count, 2);
    assert.notEqual(one.body.etag, before.etag);
    const nothing = await req('DELETE', `keys/${enc(room)}/a`, { query: { version } });
    assert.equal(nothing.body.etag, one.body.etag);
    assert.equal((await req('DELETE', `keys/${enc(room)}`, { query: { version } })).body.count, 1);
    assert.equal((await req('DELETE', 'keys', { query: { version } })).body.count, 0);
    assert.deepEqual((await req('GET', 'keys', { query: { version } })).body, { rooms: {} });
  });

  it('deletes versions for good; the previous live version becomes current again', async () => {
    await req('PUT', `keys/${enc(room)}/z`, { query: { version }, body: keyData(0, 0, false, 'z') });
    const first = (await req('GET', 'version')).body.version;
    assert.equal((await req('DELETE', `version/${version}`)).status, 200);
    // Deleting again succeeds; reading it or its keys is 404.
    assert.equal((await req('DELETE', `version/${version}`)).status, 200);
    assert.equal((await req('GET', `version/${version}`)).status, 404);
    assert.equal((await req('GET', 'keys', { query: { version } })).status, 404);
    assert.equal(first, version);
    const current = await req('GET', 'version');
    assert.notEqual(current.body.version, version);
    // A new version never reuses a deleted number.
    const next = await req('POST', 'version', { body: { algorithm: ALGORITHM, auth_data: {} } });
    assert.ok(Number(next.body.version) > Number(version));
    assert.equal((await req('DELETE', 'version/777')).status, 404);
  });

  it('validates bodies and queries', async () => {
    const noAlg = await req('POST', 'version', { body: { auth_data: {} } });
    assert.equal(noAlg.status, 400);
    assert.equal(noAlg.body.errcode, 'M_MISSING_PARAM');
    const badAuth = await req('POST', 'version', { body: { algorithm: ALGORITHM, auth_data: 'x' } });
    assert.equal(badAuth.status, 400);
    const current = (await req('GET', 'version')).body.version;
    const noVersion = await req('GET', 'keys');
    assert.equal(noVersion.status, 400);
    const badKey = await req('PUT', `keys/${enc(room)}/s`, { query: { version: current }, body: { first_message_index: -1, forwarded_count: 0, is_verified: false, session_data: {} } });
    assert.equal(badKey.status, 400);
    const missingData = await req('PUT', `keys/${enc(room)}/s`, { query: { version: current }, body: { first_message_index: 0, forwarded_count: 0, is_verified: false } });
    assert.equal(missingData.status, 400);
    const badRoom = await req('PUT', 'keys/not-a-room/s', { query: { version: current }, body: keyData(0, 0, false, 'x') });
    assert.equal(badRoom.status, 400);
    assert.equal(badRoom.body.errcode, 'M_INVALID_PARAM');
    const anonymous = await server().request('GET', '/_matrix/client/v3/room_keys/version');
    assert.equal(anonymous.status, 401);
  });
});
