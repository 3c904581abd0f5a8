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

  it('serves /.well-known/matrix/server as 404 when not configured', async () => {
    const res = await server().request('GET', '/.well-known/matrix/server');
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_NOT_FOUND');
  });
});
