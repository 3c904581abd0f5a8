// Profiles through HTTP (spec v1.16, extended fields included), on SQLite and PostgreSQL.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';

const profilePath = (userId: string, key?: string) => `/_matrix/client/v3/profile/${encodeURIComponent(userId)}${key ? `/${encodeURIComponent(key)}` : ''}`;

describeEachDatabase('accounts: profiles', ({ server }) => {
  it('starts with the localpart as displayname and no avatar', async () => {
    const u = await server().registerUser();
    const res = await server().request('GET', profilePath(u.userId));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { displayname: u.localpart });
  });

  it('sets and reads displayname and avatar_url; empty strings clear them', async () => {
    const u = await server().registerUser();
    assert.equal((await server().request('PUT', profilePath(u.userId, 'displayname'), { token: u.accessToken, body: { displayname: 'Alice Liddell' } })).status, 200);
    assert.equal((await server().request('PUT', profilePath(u.userId, 'avatar_url'), { token: u.accessToken, body: { avatar_url: 'mxc://test.local/abcDEF123' } })).status, 200);
    assert.deepEqual((await server().request('GET', profilePath(u.userId, 'displayname'))).body, { displayname: 'Alice Liddell' });
    assert.deepEqual((await server().request('GET', profilePath(u.userId))).body, { displayname: 'Alice Liddell', avatar_url: 'mxc://test.local/abcDEF123' });
    await server().request('PUT', profilePath(u.userId, 'avatar_url'), { token: u.accessToken, body: { avatar_url: '' } });
    const gone = await server().request('GET', profilePath(u.userId, 'avatar_url'));
    assert.equal(gone.status, 404);
    assert.equal(gone.body.errcode, 'M_NOT_FOUND');
    // The r0 prefix serves the same routes.
    assert.equal((await server().request('GET', `/_matrix/client/r0/profile/${encodeURIComponent(u.userId)}/displayname`)).status, 200);
  });

  it('validates values: types, mxc URIs, lengths, missing key', async () => {
    const u = await server().registerUser();
    const put = (key: string, body: unknown) => server().request('PUT', profilePath(u.userId, key), { token: u.accessToken, body });
    assert.equal((await put('displayname', { displayname: 7 })).body.errcode, 'M_BAD_JSON');
    assert.equal((await put('displayname', { displayname: 'x'.repeat(257) })).body.errcode, 'M_TOO_LARGE');
    const http = await put('avatar_url', { avatar_url: 'https://example.org/a.png' });
    assert.equal(http.status, 400);
    assert.equal(http.body.errcode, 'M_INVALID_PARAM');
    const missing = await put('displayname', { avatar_url: 'mxc://a/b' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    assert.equal((await put('m.tz', { 'm.tz': 5 })).body.errcode, 'M_BAD_JSON');
    const badKey = await put('Not A Key', { 'Not A Key': 1 });
    assert.equal(badKey.status, 400);
    assert.equal(badKey.body.errcode, 'M_INVALID_PARAM');
    const longKey = 'org.' + 'a'.repeat(260);
    assert.equal((await put(longKey, { [longKey]: 1 })).body.errcode, 'M_KEY_TOO_LARGE');
  });

  it('stores m.tz and custom namespaced fields, and deletes them', async () => {
    const u = await server().registerUser();
    const put = (key: string, value: unknown) => server().request('PUT', profilePath(u.userId, key), { token: u.accessToken, body: { [key]: value } });
    assert.equal((await put('m.tz', 'Europe/Paris')).status, 200);
    assert.equal((await put('org.example.pronouns', { en: ['they', 'them'] })).status, 200);
    const all = await server().request('GET', profilePath(u.userId));
    assert.deepEqual(all.body, { displayname: u.localpart, 'm.tz': 'Europe/Paris', 'org.example.pronouns': { en: ['they', 'them'] } });
    assert.deepEqual((await server().request('GET', profilePath(u.userId, 'm.tz'))).body, { 'm.tz': 'Europe/Paris' });
    assert.equal((await server().request('DELETE', profilePath(u.userId, 'org.example.pronouns'), { token: u.accessToken })).status, 200);
    assert.equal((await server().request('DELETE', profilePath(u.userId, 'org.example.never_set'), { token: u.accessToken })).status, 200);
    assert.equal((await server().request('GET', profilePath(u.userId, 'org.example.pronouns'))).status, 404);
    assert.equal((await server().request('DELETE', profilePath(u.userId, 'displayname'), { token: u.accessToken })).status, 200);
    assert.deepEqual((await server().request('GET', profilePath(u.userId))).body, { 'm.tz': 'Europe/Paris' });
  });

  it('keeps the whole profile under 64 KiB', async () => {
    const u = await server().registerUser();
    const big = 'x'.repeat(40_000);
    assert.equal((await server().request('PUT', profilePath(u.userId, 'org.example.one'), { token: u.accessToken, body: { 'org.example.one': big } })).status, 200);
    const res = await server().request('PUT', profilePath(u.userId, 'org.example.two'), { token: u.accessToken, body: { 'org.example.two': big } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_PROFILE_TOO_LARGE');
  });

  it('lets only the owner write, and needs a token', async () => {
    const u = await server().registerUser();
    const other = await server().registerUser();
    const res = await server().request('PUT', profilePath(u.userId, 'displayname'), { token: other.accessToken, body: { displayname: 'pwned' } });
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    const del = await server().request('DELETE', profilePath(u.userId, 'displayname'), { token: other.accessToken });
    assert.equal(del.status, 403);
    const anon = await server().request('PUT', profilePath(u.userId, 'displayname'), { body: { displayname: 'anon' } });
    assert.equal(anon.status, 401);
    assert.equal((await server().request('GET', profilePath(u.userId, 'displayname'))).body.displayname, u.localpart);
  });

  it('answers unknown, remote and malformed user IDs', async () => {
    const unknown = await server().request('GET', profilePath('@ghost:test.local'));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    assert.equal((await server().request('GET', profilePath('@ghost:test.local', 'displayname'))).status, 404);
    assert.equal((await server().request('GET', profilePath('@someone:remote.example'))).status, 404);
    const bad = await server().request('GET', profilePath('not-a-user-id'));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
  });
});
