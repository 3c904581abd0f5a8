// Login, logout, whoami and refresh tokens through HTTP, on SQLite and PostgreSQL.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { describeEachDatabase, type TestServer } from './harness.ts';

const LOGIN = '/_matrix/client/v3/login';
const WHOAMI = '/_matrix/client/v3/account/whoami';

function passwordLogin(s: TestServer, user: string, password: string, extra: Record<string, unknown> = {}) {
  return s.request('POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra } });
}

describeEachDatabase('accounts: login', ({ server }) => {
  it('GET /login offers m.login.password', async () => {
    const res = await server().request('GET', LOGIN);
    assert.equal(res.status, 200);
    assert.ok(res.body.flows.some((f: any) => f.type === 'm.login.password'));
  });

  it('logs in by localpart, full user ID, legacy `user` and other capitalisation', async () => {
    const u = await server().registerUser('lena');
    for (const body of [
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'lena' }, password: u.password },
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@lena:test.local' }, password: u.password },
      { type: 'm.login.password', user: 'lena', password: u.password },
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'LENA' }, password: u.password },
    ]) {
      const res = await server().request('POST', LOGIN, { body });
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(res.body.user_id, '@lena:test.local');
      assert.equal(res.body.home_server, 'test.local');
      assert.ok(res.body.access_token && res.body.device_id);
      assert.equal(res.body.refresh_token, undefined, 'no refresh tokens without access_token_lifetime');
      const who = await server().request('GET', WHOAMI, { token: res.body.access_token });
      assert.deepEqual(who.body, { user_id: '@lena:test.local', device_id: res.body.device_id, is_guest: false });
    }
  });

  it('answers wrong password and unknown user with the same 403 M_FORBIDDEN', async () => {
    await server().registerUser('mona');
    const wrong = await passwordLogin(server(), 'mona', 'not the password');
    const unknown = await passwordLogin(server(), 'nobody', 'whatever');
    const remote = await passwordLogin(server(), '@mona:elsewhere.org', 'whatever');
    for (const res of [wrong, unknown, remote]) {
      assert.equal(res.status, 403);
      assert.deepEqual(res.body, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' });
    }
  });

  it('refuses bad requests with the spec errcodes', async () => {
    const noType = await server().request('POST', LOGIN, { body: { user: 'x', password: 'y' } });
    assert.equal(noType.status, 400);
    assert.equal(noType.body.errcode, 'M_MISSING_PARAM');
    const unknownType = await server().request('POST', LOGIN, { body: { type: 'm.login.magic' } });
    assert.equal(unknownType.status, 400);
    assert.equal(unknownType.body.errcode, 'M_UNKNOWN');
    const threepid = await server().request('POST', LOGIN, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' }, password: 'x' },
    });
    assert.equal(threepid.status, 403);
    assert.equal(threepid.body.errcode, 'M_FORBIDDEN');
    const noPassword = await server().request('POST', LOGIN, { body: { type: 'm.login.password', user: 'x' } });
    assert.equal(noPassword.status, 400);
    assert.equal(noPassword.body.errcode, 'M_MISSING_PARAM');
    const noIdentifier = await server().request('POST', LOGIN, { body: { type: 'm.login.password', password: 'x' } });
    assert.equal(noIdentifier.body.errcode, 'M_MISSING_PARAM');
  });

  it('reuses a client-chosen device_id and revokes the earlier token of that device', async () => {
    const u = await server().registerUser('nina');
    const first = await passwordLogin(server(), 'nina', u.password, { device_id: 'NINALAPTOP', initial_device_display_name: 'Laptop' });
    assert.equal(first.body.device_id, 'NINALAPTOP');
    const second = await passwordLogin(server(), 'nina', u.password, { device_id: 'NINALAPTOP', initial_device_display_name: 'Ignored' });
    assert.equal(second.body.device_id, 'NINALAPTOP');
    const old = await server().request('GET', WHOAMI, { token: first.body.access_token });
    assert.equal(old.status, 401);
    assert.equal(old.body.errcode, 'M_UNKNOWN_TOKEN');
    const devices = await server().request('GET', '/_matrix/client/v3/devices', { token: second.body.access_token });
    const laptop = devices.body.devices.filter((d: any) => d.device_id === 'NINALAPTOP');
    assert.equal(laptop.length, 1);
    assert.equal(laptop[0].display_name, 'Laptop');
  });

  it('verifies bcrypt hashes imported from Synapse and upgrades them to argon2id', async () => {
    const u = await server().registerUser('otto');
    const { db } = server().app.database;
    await db.updateTable('users').set({ password_hash: await bcrypt.hash('from synapse', 4) }).where('user_id', '=', u.userId).execute();
    assert.equal((await passwordLogin(server(), 'otto', 'wrong')).status, 403);
    assert.equal((await passwordLogin(server(), 'otto', 'from synapse')).status, 200);
    const row = await db.selectFrom('users').select('password_hash').where('user_id', '=', u.userId).executeTakeFirstOrThrow();
    assert.match(row.password_hash!, /^\$argon2id\$/);
    assert.equal((await passwordLogin(server(), 'otto', 'from synapse')).status, 200);
  });

  it('stores tokens and passwords only hashed', async () => {
    const u = await server().registerUser('petra', 'plain secret words');
    const { db } = server().app.database;
    const user = await db.selectFrom('users').select('password_hash').where('user_id', '=', u.userId).executeTakeFirstOrThrow();
    assert.ok(!user.password_hash!.includes('plain secret words'));
    const tokens = await db.selectFrom('access_tokens').select('token_hash').where('user_id', '=', u.userId).execute();
    assert.equal(tokens.length, 1);
    assert.notEqual(tokens[0].token_hash, u.accessToken);
    assert.match(tokens[0].token_hash, /^[0-9a-f]{64}$/);
  });

  it('POST /logout deletes the device and its token', async () => {
    const u = await server().registerUser('quinn');
    const other = await passwordLogin(server(), 'quinn', u.password);
    const res = await server().request('POST', '/_matrix/client/v3/logout', { token: u.accessToken });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    assert.equal((await server().request('GET', WHOAMI, { token: u.accessToken })).body.errcode, 'M_UNKNOWN_TOKEN');
    const devices = await server().request('GET', '/_matrix/client/v3/devices', { token: other.body.access_token });
    assert.deepEqual(devices.body.devices.map((d: any) => d.device_id), [other.body.device_id]);
  });

  it('POST /logout/all revokes every token of the user', async () => {
    const u = await server().registerUser('rosa');
    const other = await passwordLogin(server(), 'rosa', u.password);
    const res = await server().request('POST', '/_matrix/client/v3/logout/all', { token: u.accessToken });
    assert.equal(res.status, 200);
    for (const token of [u.accessToken, other.body.access_token]) {
      const who = await server().request('GET', WHOAMI, { token });
      assert.equal(who.status, 401);
      assert.equal(who.body.soft_logout, false);
    }
    const { db } = server().app.database;
    assert.equal((await db.selectFrom('devices').select('device_id').where('user_id', '=', u.userId).execute()).length, 0);
  });

  it('answers an unknown or missing token with 401', async () => {
    const unknown = await server().request('GET', WHOAMI, { token: 'fyt_not_a_real_token' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errcode, 'M_UNKNOWN_TOKEN');
    const missing = await server().request('GET', WHOAMI);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.errcode, 'M_MISSING_TOKEN');
  });
});

describeEachDatabase(
  'accounts: login rate limit',
  ({ server }) => {
    it('answers 429 M_LIMIT_EXCEEDED with retry_after_ms after the burst', async () => {
      const statuses: number[] = [];
      let last: any;
      for (let i = 0; i < 3; i++) {
        last = await passwordLogin(server(), 'someone', 'wrong');
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [403, 403, 429]);
      assert.equal(last.body.errcode, 'M_LIMIT_EXCEEDED');
      assert.ok(last.body.retry_after_ms > 0);
    });

    it('limits m.login.password UIA attempts per user with 429, not a UIA 401', async () => {
      const u = await server().registerUser();
      const attempt = () =>
        server().request('POST', '/_matrix/client/v3/delete_devices', {
          token: u.accessToken,
          body: { devices: [], auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: 'guess' } },
        });
      assert.equal((await attempt()).status, 401);
      assert.equal((await attempt()).status, 401);
      const limited = await attempt();
      assert.equal(limited.status, 429);
      assert.equal(limited.body.errcode, 'M_LIMIT_EXCEEDED');
    });
  },
  { rate_limits: { enabled: true, login: { per_second: 0.001, burst_count: 2 } } },
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDatabase(
  'accounts: refresh tokens',
  ({ server }) => {
    const refresh = (token: string) => server().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: token } });

    it('issues expiring access tokens with a refresh token only to clients that ask', async () => {
      const u = await server().registerUser('sam');
      const plain = await passwordLogin(server(), 'sam', u.password);
      assert.equal(plain.body.refresh_token, undefined);
      assert.equal(plain.body.expires_in_ms, undefined);
      const res = await passwordLogin(server(), 'sam', u.password, { refresh_token: true });
      assert.equal(res.status, 200);
      assert.equal(res.body.expires_in_ms, 1500);
      assert.ok(res.body.refresh_token);
      const reg = await server().request('POST', '/_matrix/client/v3/register', {
        body: { username: 'sam2', password: 'pw', refresh_token: true, auth: { type: 'm.login.dummy' } },
      });
      assert.equal(reg.body.expires_in_ms, 1500);
      assert.ok(reg.body.refresh_token);
    });

    it('answers an expired access token with soft_logout: true, and refreshing recovers', async () => {
      const u = await server().registerUser('tom');
      const res = await passwordLogin(server(), 'tom', u.password, { refresh_token: true });
      assert.equal((await server().request('GET', WHOAMI, { token: res.body.access_token })).status, 200);
      await sleep(1600);
      const expired = await server().request('GET', WHOAMI, { token: res.body.access_token });
      assert.equal(expired.status, 401);
      assert.equal(expired.body.errcode, 'M_UNKNOWN_TOKEN');
      assert.equal(expired.body.soft_logout, true);
      const fresh = await refresh(res.body.refresh_token);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.body.expires_in_ms, 1500);
      assert.notEqual(fresh.body.refresh_token, res.body.refresh_token);
      const who = await server().request('GET', WHOAMI, { token: fresh.body.access_token });
      assert.equal(who.status, 200);
      assert.equal(who.body.device_id, res.body.device_id, 'refreshed tokens stay on the same device');
    });

    it('keeps the old refresh token valid until the new access token is used, then revokes it', async () => {
      const u = await server().registerUser('ursula');
      const login = await passwordLogin(server(), 'ursula', u.password, { refresh_token: true });
      const r1 = login.body.refresh_token;
      const a = await refresh(r1);
      assert.equal(a.status, 200);
      // The answer was "lost": the client retries with the same refresh token.
      const b = await refresh(r1);
      assert.equal(b.status, 200);
      // The unused successor from the first attempt is gone.
      assert.equal((await server().request('GET', WHOAMI, { token: a.body.access_token })).status, 401);
      assert.equal((await refresh(a.body.refresh_token)).status, 401);
      // Using the new access token retires r1.
      assert.equal((await server().request('GET', WHOAMI, { token: b.body.access_token })).status, 200);
      const reused = await refresh(r1);
      assert.equal(reused.status, 401);
      assert.equal(reused.body.errcode, 'M_UNKNOWN_TOKEN');
      // The current refresh token still works, and using it deletes its predecessor for good.
      const c = await refresh(b.body.refresh_token);
      assert.equal(c.status, 200);
      const { db } = server().app.database;
      const left = await db.selectFrom('refresh_tokens').select('id').where('user_id', '=', u.userId).where('device_id', '=', login.body.device_id).execute();
      assert.equal(left.length, 2, 'b and c remain; r1 is deleted');
    });

    it('also retires the old refresh token once the new refresh token is used', async () => {
      const u = await server().registerUser('vera');
      const login = await passwordLogin(server(), 'vera', u.password, { refresh_token: true });
      const a = await refresh(login.body.refresh_token);
      assert.equal((await refresh(a.body.refresh_token)).status, 200);
      assert.equal((await refresh(login.body.refresh_token)).status, 401);
    });

    it('answers an unknown refresh token with 401 M_UNKNOWN_TOKEN, soft_logout false', async () => {
      const res = await refresh('fyr_unknown');
      assert.equal(res.status, 401);
      assert.deepEqual([res.body.errcode, res.body.soft_logout], ['M_UNKNOWN_TOKEN', false]);
      const missing = await server().request('POST', '/_matrix/client/v3/refresh', { body: {} });
      assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    });

    it('refuses refresh tokens of a logged-out device', async () => {
      const u = await server().registerUser('walt');
      const login = await passwordLogin(server(), 'walt', u.password, { refresh_token: true });
      await server().request('POST', '/_matrix/client/v3/logout', { token: login.body.access_token });
      assert.equal((await refresh(login.body.refresh_token)).status, 401);
    });
  },
  { access_token_lifetime: '1500ms' },
);
