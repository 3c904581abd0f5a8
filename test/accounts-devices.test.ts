// Device management and UIA with m.login.password through HTTP, on SQLite and PostgreSQL.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

const DEVICES = '/_matrix/client/v3/devices';

async function login(s: TestServer, u: TestUser, extra: Record<string, unknown> = {}) {
  const res = await s.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password, ...extra },
  });
  assert.equal(res.status, 200);
  return res.body as { access_token: string; device_id: string };
}

function passwordAuth(u: TestUser, session?: string, password = u.password) {
  return { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password, ...(session ? { session } : {}) };
}

describeEachDatabase('accounts: devices', ({ server }) => {
  it('lists, reads and renames devices', async () => {
    const u = await server().registerUser();
    const second = await login(server(), u, { initial_device_display_name: 'Tablet' });
    const list = await server().request('GET', DEVICES, { token: u.accessToken });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.devices.map((d: any) => d.device_id).sort(), [u.deviceId, second.device_id].sort());
    const one = await server().request('GET', `${DEVICES}/${second.device_id}`, { token: u.accessToken });
    assert.equal(one.body.device_id, second.device_id);
    assert.equal(one.body.display_name, 'Tablet');
    const put = await server().request('PUT', `${DEVICES}/${second.device_id}`, { token: u.accessToken, body: { display_name: 'Old tablet' } });
    assert.equal(put.status, 200);
    assert.equal((await server().request('GET', `${DEVICES}/${second.device_id}`, { token: u.accessToken })).body.display_name, 'Old tablet');
  });

  it('answers unknown devices (and other users’ devices) with 404 M_NOT_FOUND', async () => {
    const u = await server().registerUser();
    const other = await server().registerUser();
    for (const id of ['NOSUCHDEVICE', other.deviceId]) {
      const get = await server().request('GET', `${DEVICES}/${id}`, { token: u.accessToken });
      assert.equal(get.status, 404);
      assert.equal(get.body.errcode, 'M_NOT_FOUND');
      const put = await server().request('PUT', `${DEVICES}/${id}`, { token: u.accessToken, body: { display_name: 'x' } });
      assert.equal(put.status, 404);
    }
  });

  it('refuses device names over 100 characters and non-string names', async () => {
    const u = await server().registerUser();
    const long = await server().request('PUT', `${DEVICES}/${u.deviceId}`, { token: u.accessToken, body: { display_name: 'x'.repeat(101) } });
    assert.equal(long.status, 400);
    assert.equal(long.body.errcode, 'M_TOO_LARGE');
    const num = await server().request('PUT', `${DEVICES}/${u.deviceId}`, { token: u.accessToken, body: { display_name: 5 } });
    assert.equal(num.body.errcode, 'M_BAD_JSON');
  });

  it('records last_seen_ts and last_seen_ip, at most once a minute per token', async () => {
    const u = await server().registerUser();
    await server().request('GET', '/_matrix/client/v3/account/whoami', { token: u.accessToken });
    const first = (await server().request('GET', `${DEVICES}/${u.deviceId}`, { token: u.accessToken })).body;
    assert.equal(typeof first.last_seen_ts, 'number');
    assert.equal(first.last_seen_ip, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 20));
    await server().request('GET', '/_matrix/client/v3/account/whoami', { token: u.accessToken });
    const second = (await server().request('GET', `${DEVICES}/${u.deviceId}`, { token: u.accessToken })).body;
    assert.equal(second.last_seen_ts, first.last_seen_ts);
  });

  it('DELETE /devices/{id}: 401 challenge, wrong password keeps the session, right one deletes', async () => {
    const u = await server().registerUser();
    const second = await login(server(), u);
    const challenge = await server().request('DELETE', `${DEVICES}/${second.device_id}`, { token: u.accessToken });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    assert.deepEqual(challenge.body.params, {});
    const session = challenge.body.session;
    assert.equal(typeof session, 'string');

    const wrong = await server().request('DELETE', `${DEVICES}/${second.device_id}`, { token: u.accessToken, body: { auth: passwordAuth(u, session, 'wrong') } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.equal(wrong.body.session, session);
    assert.deepEqual(wrong.body.flows, [{ stages: ['m.login.password'] }]);

    const ok = await server().request('DELETE', `${DEVICES}/${second.device_id}`, { token: u.accessToken, body: { auth: passwordAuth(u, session) } });
    assert.equal(ok.status, 200);
    assert.equal((await server().request('GET', '/_matrix/client/v3/account/whoami', { token: second.access_token })).status, 401);
    assert.equal((await server().request('GET', `${DEVICES}/${second.device_id}`, { token: u.accessToken })).status, 404);
  });

  it('binds a UIA session to its request: another device, body or user is refused', async () => {
    const u = await server().registerUser();
    const a = await login(server(), u);
    const b = await login(server(), u);
    const challenge = await server().request('DELETE', `${DEVICES}/${a.device_id}`, { token: u.accessToken });
    const session = challenge.body.session;
    const otherPath = await server().request('DELETE', `${DEVICES}/${b.device_id}`, { token: u.accessToken, body: { auth: passwordAuth(u, session) } });
    assert.equal(otherPath.status, 403);
    assert.equal(otherPath.body.errcode, 'M_FORBIDDEN');

    const bulk = await server().request('POST', '/_matrix/client/v3/delete_devices', { token: u.accessToken, body: { devices: [a.device_id] } });
    const otherBody = await server().request('POST', '/_matrix/client/v3/delete_devices', {
      token: u.accessToken,
      body: { devices: [b.device_id], auth: passwordAuth(u, bulk.body.session) },
    });
    assert.equal(otherBody.status, 403);

    const mallory = await server().registerUser();
    const stolen = await server().request('DELETE', `${DEVICES}/${a.device_id}`, { token: mallory.accessToken, body: { auth: passwordAuth(mallory, session) } });
    assert.equal(stolen.status, 403);
    // Both devices are still there.
    assert.equal((await server().request('GET', DEVICES, { token: u.accessToken })).body.devices.length, 3);
  });

  it('refuses m.login.password naming another user, even with that user’s password', async () => {
    const u = await server().registerUser();
    const other = await server().registerUser();
    const res = await server().request('DELETE', `${DEVICES}/${u.deviceId}`, { token: u.accessToken, body: { auth: passwordAuth(other) } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  it('POST /delete_devices deletes several devices in one go, ignoring unknown IDs', async () => {
    const u = await server().registerUser();
    const a = await login(server(), u);
    const b = await login(server(), u);
    const res = await server().request('POST', '/_matrix/client/v3/delete_devices', {
      token: u.accessToken,
      body: { devices: [a.device_id, b.device_id, 'NOTADEVICE'], auth: passwordAuth(u) },
    });
    assert.equal(res.status, 200);
    const left = await server().request('GET', DEVICES, { token: u.accessToken });
    assert.deepEqual(left.body.devices.map((d: any) => d.device_id), [u.deviceId]);
    for (const t of [a.access_token, b.access_token]) assert.equal((await server().request('GET', DEVICES, { token: t })).status, 401);
    const missing = await server().request('POST', '/_matrix/client/v3/delete_devices', { token: u.accessToken, body: {} });
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });
});
