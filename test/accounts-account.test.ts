// Password change and deactivation (both behind UIA) through HTTP, on SQLite and PostgreSQL.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

async function login(s: TestServer, user: string, password: string) {
  return s.request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password } });
}

function passwordAuth(u: TestUser, password = u.password) {
  return { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password };
}

const whoami = (s: TestServer, token: string) => s.request('GET', '/_matrix/client/v3/account/whoami', { token });

describeEachDatabase('accounts: password and deactivation', ({ server }) => {
  it('changes the password after UIA and logs out the other devices', async () => {
    const u = await server().registerUser();
    const other = (await login(server(), u.userId, u.password)).body;
    const challenge = await server().request('POST', '/_matrix/client/v3/account/password', { token: u.accessToken, body: { new_password: 'brand new pass' } });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);

    const wrong = await server().request('POST', '/_matrix/client/v3/account/password', {
      token: u.accessToken,
      body: { new_password: 'brand new pass', auth: { ...passwordAuth(u, 'nope'), session: challenge.body.session } },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');

    const ok = await server().request('POST', '/_matrix/client/v3/account/password', {
      token: u.accessToken,
      body: { new_password: 'brand new pass', auth: { ...passwordAuth(u), session: challenge.body.session } },
    });
    assert.equal(ok.status, 200);
    assert.equal((await login(server(), u.userId, u.password)).status, 403);
    assert.equal((await login(server(), u.userId, 'brand new pass')).status, 200);
    assert.equal((await whoami(server(), u.accessToken)).status, 200, 'the requesting device stays');
    assert.equal((await whoami(server(), other.access_token)).status, 401, 'other devices are logged out');
    const devices = await server().request('GET', '/_matrix/client/v3/devices', { token: u.accessToken });
    assert.ok(!devices.body.devices.some((d: any) => d.device_id === other.device_id));
  });

  it('keeps other devices with logout_devices: false', async () => {
    const u = await server().registerUser();
    const other = (await login(server(), u.userId, u.password)).body;
    const ok = await server().request('POST', '/_matrix/client/v3/account/password', {
      token: u.accessToken,
      body: { new_password: 'another pass', logout_devices: false, auth: passwordAuth(u) },
    });
    assert.equal(ok.status, 200);
    assert.equal((await whoami(server(), other.access_token)).status, 200);
  });

  it('refuses an empty or over-long new password, and guests', async () => {
    const u = await server().registerUser();
    const empty = await server().request('POST', '/_matrix/client/v3/account/password', { token: u.accessToken, body: { new_password: '', auth: passwordAuth(u) } });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.errcode, 'M_WEAK_PASSWORD');
    const long = await server().request('POST', '/_matrix/client/v3/account/password', { token: u.accessToken, body: { new_password: 'x'.repeat(513), auth: passwordAuth(u) } });
    assert.equal(long.body.errcode, 'M_INVALID_PARAM');
    const missing = await server().request('POST', '/_matrix/client/v3/account/password', { token: u.accessToken, body: { auth: passwordAuth(u) } });
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });

  it('never stores the new password in the UIA session', async () => {
    const u = await server().registerUser();
    const challenge = await server().request('POST', '/_matrix/client/v3/account/password', { token: u.accessToken, body: { new_password: 'canary-pass-123' } });
    const { db } = server().app.database;
    const row = await db.selectFrom('uia_sessions').selectAll().where('session_id', '=', challenge.body.session).executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes('canary-pass-123'));
  });

  it('deactivates after UIA: tokens dead, login answers M_USER_DEACTIVATED, the name stays taken', async () => {
    const u = await server().registerUser();
    const other = (await login(server(), u.userId, u.password)).body;
    const challenge = await server().request('POST', '/_matrix/client/v3/account/deactivate', { token: u.accessToken, body: {} });
    assert.equal(challenge.status, 401);
    const ok = await server().request('POST', '/_matrix/client/v3/account/deactivate', { token: u.accessToken, body: { auth: { ...passwordAuth(u), session: challenge.body.session } } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { id_server_unbind_result: 'success' });
    for (const t of [u.accessToken, other.access_token]) {
      const res = await whoami(server(), t);
      assert.equal(res.status, 401);
      assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN');
    }
    const relogin = await login(server(), u.userId, u.password);
    assert.equal(relogin.status, 403);
    assert.equal(relogin.body.errcode, 'M_USER_DEACTIVATED');
    const available = await server().request('GET', '/_matrix/client/v3/register/available', { query: { username: u.localpart } });
    assert.equal(available.body.errcode, 'M_USER_IN_USE');
    const { db } = server().app.database;
    const row = await db.selectFrom('users').selectAll().where('user_id', '=', u.userId).executeTakeFirstOrThrow();
    assert.equal(row.deactivated, 1);
    assert.equal(row.password_hash, null);
    assert.equal((await db.selectFrom('devices').select('device_id').where('user_id', '=', u.userId).execute()).length, 0);
    assert.equal((await db.selectFrom('access_tokens').select('id').where('user_id', '=', u.userId).execute()).length, 0);
    // The profile is kept without erase.
    assert.equal((await server().request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(u.userId)}`)).body.displayname, u.localpart);
  });

  it('erase: true clears the profile', async () => {
    const u = await server().registerUser();
    const ok = await server().request('POST', '/_matrix/client/v3/account/deactivate', { token: u.accessToken, body: { erase: true, auth: passwordAuth(u) } });
    assert.equal(ok.status, 200);
    const profile = await server().request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(u.userId)}`);
    assert.deepEqual(profile.body, {});
  });

  it('refuses deactivation with a wrong password', async () => {
    const u = await server().registerUser();
    const res = await server().request('POST', '/_matrix/client/v3/account/deactivate', { token: u.accessToken, body: { auth: passwordAuth(u, 'wrong') } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    assert.equal((await whoami(server(), u.accessToken)).status, 200);
  });
});
