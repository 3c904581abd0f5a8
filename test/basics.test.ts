import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';

describeEachDatabase('server basics', ({ server }) => {
  it('serves /versions with v1.16', async () => {
    const res = await server().request('GET', '/_matrix/client/versions');
    assert.equal(res.status, 200);
    assert.ok(res.body.versions.includes('v1.16'));
  });

  it('answers unknown endpoints with 404 M_UNRECOGNIZED', async () => {
    const res = await server().request('GET', '/_matrix/client/v3/no/such/thing');
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
  });

  it('answers a known endpoint asked with a method it does not take with 405 M_UNRECOGNIZED', async () => {
    for (const [method, path] of [
      ['PUT', '/_matrix/client/v3/login'],
      ['GET', '/_matrix/client/v3/createRoom'],
      ['DELETE', '/_matrix/media/v3/upload'],
      ['POST', `/_matrix/client/r0/rooms/${encodeURIComponent('!a:test.local')}/messages`],
    ]) {
      const res = await server().request(method, path);
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
    }
  });

  it('answers CORS preflight with the spec headers', async () => {
    const res = await server().request('OPTIONS', '/_matrix/client/v3/login');
    assert.ok(res.status === 204 || res.status === 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  });

  it('requires a token for capabilities and rejects an unknown one', async () => {
    const missing = await server().request('GET', '/_matrix/client/v3/capabilities');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.errcode, 'M_MISSING_TOKEN');
    const unknown = await server().request('GET', '/_matrix/client/v3/capabilities', { token: 'nope' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errcode, 'M_UNKNOWN_TOKEN');
  });

  it('reads the access token from every spelling of a Bearer header, and rejects malformed ones', async () => {
    const u = await server().registerUser();
    const whoami = (authorization: string) => server().request('GET', '/_matrix/client/v3/account/whoami', { headers: { authorization } });
    for (const header of [`Bearer ${u.accessToken}`, `bearer ${u.accessToken}`, `BEARER   ${u.accessToken}`, `Bearer\t${u.accessToken}`]) {
      const ok = await whoami(header);
      assert.equal(ok.status, 200, header);
      assert.equal(ok.body.user_id, u.userId);
    }
    for (const header of [`Bearer ${u.accessToken} extra`, `Bearer ${u.accessToken}\u00a0x`, 'Bearer ', `Token ${u.accessToken}`]) {
      const bad = await whoami(header);
      assert.equal(bad.status, 401, header);
      assert.equal(bad.body.errcode, 'M_MISSING_TOKEN', header);
    }
  });

  it('serves /.well-known/matrix/server as 404 when not configured', async () => {
    const res = await server().request('GET', '/.well-known/matrix/server');
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_NOT_FOUND');
  });
});
