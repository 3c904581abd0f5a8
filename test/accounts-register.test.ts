// Registration through HTTP: closed/open/token-gated registration, the UIA exchange, username
// rules, guests, concurrency and rate limiting. Every suite runs on SQLite and PostgreSQL.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';
import { RegistrationTokenStore } from '../src/storage/stores/registration-tokens.ts';

const REGISTER = '/_matrix/client/v3/register';

describeEachDatabase(
  'accounts: registration closed',
  ({ server }) => {
    it('refuses POST /register with 403 M_FORBIDDEN, before any UIA', async () => {
      const res = await server().request('POST', REGISTER, { body: { username: 'x', password: 'p', auth: { type: 'm.login.dummy' } } });
      assert.equal(res.status, 403);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    });

    it('refuses /register/available and the token validity check with 403', async () => {
      const available = await server().request('GET', `${REGISTER}/available`, { query: { username: 'x' } });
      assert.equal(available.status, 403);
      assert.equal(available.body.errcode, 'M_FORBIDDEN');
      const validity = await server().request('GET', '/_matrix/client/v1/register/m.login.registration_token/validity', { query: { token: 'abc' } });
      assert.equal(validity.status, 403);
    });

    it('refuses guests when allow_guests is off', async () => {
      const res = await server().request('POST', REGISTER, { query: { kind: 'guest' }, body: {} });
      assert.equal(res.status, 403);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    });
  },
  { registration: { enabled: false } },
);

describeEachDatabase('accounts: registration open (m.login.dummy)', ({ server }) => {
  it('registerUser() returns user_id, access_token and device_id', async () => {
    const u = await server().registerUser('alice');
    assert.equal(u.userId, '@alice:test.local');
    assert.ok(u.accessToken.length > 20);
    assert.ok(u.deviceId);
    const who = await server().request('GET', '/_matrix/client/v3/account/whoami', { token: u.accessToken });
    assert.deepEqual(who.body, { user_id: '@alice:test.local', device_id: u.deviceId, is_guest: false });
  });

  it('answers a request without auth with 401 flows/params/session, no errcode', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'bob', password: 'pw' } });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body.flows, [{ stages: ['m.login.dummy'] }]);
    assert.deepEqual(res.body.params, {});
    assert.equal(typeof res.body.session, 'string');
    assert.equal(res.body.errcode, undefined);
    assert.equal(res.body.completed, undefined);
  });

  it('completes with the session of a bodiless probe, as Element does', async () => {
    const probe = await server().request('POST', REGISTER, { body: {} });
    assert.equal(probe.status, 401);
    const res = await server().request('POST', REGISTER, {
      body: { username: 'carol', password: 'pw', initial_device_display_name: 'Carol phone', auth: { type: 'm.login.dummy', session: probe.body.session } },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.user_id, '@carol:test.local');
    assert.equal(res.body.home_server, 'test.local');
    const devices = await server().request('GET', '/_matrix/client/v3/devices', { token: res.body.access_token });
    assert.deepEqual(devices.body.devices.map((d: any) => [d.device_id, d.display_name]), [[res.body.device_id, 'Carol phone']]);
    // The session is spent: retrying it is an unknown session.
    const again = await server().request('POST', REGISTER, { body: { username: 'carol2', password: 'pw', auth: { type: 'm.login.dummy', session: probe.body.session } } });
    assert.equal(again.status, 400);
    assert.equal(again.body.errcode, 'M_UNKNOWN');
  });

  it('rejects an unknown UIA session with 400 M_UNKNOWN', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'dave', password: 'pw', auth: { type: 'm.login.dummy', session: 'nosuchsession' } } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_UNKNOWN');
  });

  it('rejects a registration session presented to another endpoint with 403', async () => {
    const u = await server().registerUser();
    const probe = await server().request('POST', REGISTER, { body: {} });
    const res = await server().request('POST', '/_matrix/client/v3/delete_devices', {
      token: u.accessToken,
      body: { devices: [u.deviceId], auth: { type: 'm.login.password', session: probe.body.session, identifier: { type: 'm.id.user', user: u.userId }, password: u.password } },
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  it('answers an unknown stage type with 401 and an errcode, keeping the session', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'erin', password: 'pw', auth: { type: 'm.login.recaptcha' } } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
    assert.deepEqual(res.body.flows, [{ stages: ['m.login.dummy'] }]);
    assert.equal(typeof res.body.session, 'string');
  });

  it('checks the username before UIA: M_USER_IN_USE, M_INVALID_USERNAME', async () => {
    await server().registerUser('frank');
    const taken = await server().request('POST', REGISTER, { body: { username: 'frank', password: 'pw' } });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    const upper = await server().request('POST', REGISTER, { body: { username: 'FRANK', password: 'pw' } });
    assert.equal(upper.body.errcode, 'M_USER_IN_USE', 'usernames are lowercased');
    for (const bad of ['has space', 'é', '_reserved', '12345', '', 'a'.repeat(260)]) {
      const res = await server().request('POST', REGISTER, { body: { username: bad, password: 'pw' } });
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.errcode, 'M_INVALID_USERNAME', bad);
    }
  });

  it('maps a mixed-case username onto a lowercase user ID', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'Grace', password: 'pw', auth: { type: 'm.login.dummy' } } });
    assert.equal(res.status, 200);
    assert.equal(res.body.user_id, '@grace:test.local');
  });

  it('GET /register/available', async () => {
    await server().registerUser('heidi');
    const free = await server().request('GET', `${REGISTER}/available`, { query: { username: 'nobody_here' } });
    assert.equal(free.status, 200);
    assert.deepEqual(free.body, { available: true });
    const taken = await server().request('GET', `${REGISTER}/available`, { query: { username: 'heidi' } });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    const invalid = await server().request('GET', `${REGISTER}/available`, { query: { username: 'no way' } });
    assert.equal(invalid.body.errcode, 'M_INVALID_USERNAME');
    const missing = await server().request('GET', `${REGISTER}/available`);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });

  it('inhibit_login returns only the user ID', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'ivan', password: 'pw', inhibit_login: true, auth: { type: 'm.login.dummy' } } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { user_id: '@ivan:test.local', home_server: 'test.local' });
  });

  it('uses the client-chosen device_id', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'judy', password: 'pw', device_id: 'JUDYPHONE', auth: { type: 'm.login.dummy' } } });
    assert.equal(res.body.device_id, 'JUDYPHONE');
  });

  it('generates a user ID when no username is given', async () => {
    const res = await server().request('POST', REGISTER, { body: { password: 'pw', auth: { type: 'm.login.dummy' } } });
    assert.equal(res.status, 200);
    assert.match(res.body.user_id, /^@\d+:test\.local$/);
  });

  it('needs a password once UIA is complete', async () => {
    const res = await server().request('POST', REGISTER, { body: { username: 'kim', auth: { type: 'm.login.dummy' } } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_MISSING_PARAM');
  });

  it('validates body types and kind', async () => {
    const wrongType = await server().request('POST', REGISTER, { body: { username: 42, auth: { type: 'm.login.dummy' } } });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.errcode, 'M_BAD_JSON');
    const kind = await server().request('POST', REGISTER, { query: { kind: 'robot' }, body: {} });
    assert.equal(kind.status, 400);
    assert.equal(kind.body.errcode, 'M_INVALID_PARAM');
    const long = await server().request('POST', REGISTER, { body: { username: 'leo', password: 'x'.repeat(600) } });
    assert.equal(long.body.errcode, 'M_INVALID_PARAM');
    const notJson = await server().request('POST', REGISTER, { rawBody: '{nope', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.body.errcode, 'M_NOT_JSON');
  });

  it('serves the r0 path too', async () => {
    const res = await server().request('POST', '/_matrix/client/r0/register', { body: { username: 'mallory', password: 'pw', auth: { type: 'm.login.dummy' } } });
    assert.equal(res.status, 200);
  });

  it('lets exactly one of many concurrent registrations of one name succeed', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => server().request('POST', REGISTER, { body: { username: 'raced', password: 'pw', auth: { type: 'm.login.dummy' } } })),
    );
    const ok = attempts.filter((r) => r.status === 200);
    assert.equal(ok.length, 1);
    for (const r of attempts.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, 'M_USER_IN_USE');
    }
  });
});

describeEachDatabase(
  'accounts: guest registration',
  ({ server }) => {
    it('registers a guest without UIA, ignoring everything but the device name', async () => {
      const res = await server().request('POST', REGISTER, {
        query: { kind: 'guest' },
        body: { username: 'ignored', password: 'ignored', device_id: 'IGNORED', initial_device_display_name: 'Guest tab' },
      });
      assert.equal(res.status, 200);
      assert.match(res.body.user_id, /^@\d+:test\.local$/);
      assert.notEqual(res.body.device_id, 'IGNORED');
      const who = await server().request('GET', '/_matrix/client/v3/account/whoami', { token: res.body.access_token });
      assert.equal(who.body.is_guest, true);
      // Guests are kept out of endpoints that do not allow them.
      const devices = await server().request('GET', '/_matrix/client/v3/devices', { token: res.body.access_token });
      assert.equal(devices.status, 403);
      assert.equal(devices.body.errcode, 'M_GUEST_ACCESS_FORBIDDEN');
      // And guests cannot log in with a password.
      const login = await server().request('POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: res.body.user_id }, password: 'ignored' },
      });
      assert.equal(login.status, 403);
    });
  },
  { registration: { allow_guests: true } },
);

describeEachDatabase(
  'accounts: token-gated registration',
  ({ server }) => {
    const tokens = () => new RegistrationTokenStore(server().app.database.db);

    it('offers the m.login.registration_token flow', async () => {
      const res = await server().request('POST', REGISTER, { body: { username: 'tina', password: 'pw', auth: { type: 'm.login.dummy' } } });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body.flows, [{ stages: ['m.login.registration_token'] }]);
      assert.equal(res.body.errcode, 'M_UNRECOGNIZED', 'm.login.dummy is not offered');
    });

    it('checks validity, spends uses and refuses a used-up token', async () => {
      await tokens().insert({ token: 'once-only', uses_allowed: 1, expiry_time: null, now: Date.now() });
      const validity = (token: string) =>
        server().request('GET', '/_matrix/client/v1/register/m.login.registration_token/validity', { query: { token } });
      assert.deepEqual((await validity('once-only')).body, { valid: true });
      assert.deepEqual((await validity('unknown-token')).body, { valid: false });
      assert.deepEqual((await validity('bad token!')).body, { valid: false });

      const first = await server().request('POST', REGISTER, { body: { username: 'uma', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once-only' } } });
      assert.equal(first.status, 200);
      assert.deepEqual((await validity('once-only')).body, { valid: false });
      const row = await tokens().get('once-only');
      assert.equal(row?.completed, 1);
      assert.equal(row?.pending, 0);

      const second = await server().request('POST', REGISTER, { body: { username: 'victor', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once-only' } } });
      assert.equal(second.status, 401);
      assert.equal(second.body.errcode, 'M_FORBIDDEN');
      assert.equal(typeof second.body.session, 'string');
    });

    it('reserves a use while a session is pending, so two sessions cannot share the last use', async () => {
      await tokens().insert({ token: 'last-use', uses_allowed: 1, expiry_time: null, now: Date.now() });
      // Session A passes the token stage but its request lacks a password: the use stays reserved.
      const a = await server().request('POST', REGISTER, { body: { username: 'xa', auth: { type: 'm.login.registration_token', token: 'last-use' } } });
      assert.equal(a.status, 400);
      assert.equal(a.body.errcode, 'M_MISSING_PARAM');
      assert.equal((await tokens().get('last-use'))?.pending, 1);
      const b = await server().request('POST', REGISTER, { body: { username: 'xb', password: 'pw', auth: { type: 'm.login.registration_token', token: 'last-use' } } });
      assert.equal(b.status, 401);
      assert.equal(b.body.errcode, 'M_FORBIDDEN');
      // A finishes with its session: the completed stage is not re-checked, the reservation is spent.
      const probe = await server().request('POST', REGISTER, { body: { username: 'xa' } });
      assert.equal(probe.status, 401);
      const sessionA = await server().request('POST', REGISTER, { body: { username: 'xa', password: 'pw', auth: { type: 'm.login.registration_token', token: 'last-use', session: probe.body.session } } });
      assert.equal(sessionA.status, 401, 'a fresh session cannot take the reserved use either');
    });

    it('finishes a session whose token stage is done with only the session', async () => {
      await tokens().insert({ token: 'two-step', uses_allowed: 1, expiry_time: null, now: Date.now() });
      const first = await server().request('POST', REGISTER, { body: { username: 'zoe' } });
      const session = first.body.session;
      const stage = await server().request('POST', REGISTER, { body: { username: 'zoe', auth: { type: 'm.login.registration_token', token: 'two-step', session } } });
      assert.equal(stage.status, 400);
      assert.equal(stage.body.errcode, 'M_MISSING_PARAM');
      const done = await server().request('POST', REGISTER, { body: { username: 'zoe', password: 'pw', auth: { session } } });
      assert.equal(done.status, 200);
      const row = await tokens().get('two-step');
      assert.deepEqual([row?.pending, row?.completed], [0, 1]);
    });

    it('refuses an expired token', async () => {
      await tokens().insert({ token: 'expired', uses_allowed: null, expiry_time: Date.now() - 1000, now: Date.now() - 5000 });
      const res = await server().request('POST', REGISTER, { body: { username: 'yves', password: 'pw', auth: { type: 'm.login.registration_token', token: 'expired' } } });
      assert.equal(res.status, 401);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    });
  },
  { registration: { requires_token: true } },
);

describeEachDatabase(
  'accounts: registration rate limit',
  ({ server }) => {
    it('answers 429 M_LIMIT_EXCEEDED once the burst of created accounts is spent', async () => {
      const register = (username: string) =>
        server().request('POST', REGISTER, { body: { username, password: 'pw', auth: { type: 'm.login.dummy' } } });
      // Probes (401s) do not count; only accounts created do.
      for (let i = 0; i < 3; i++) assert.equal((await server().request('POST', REGISTER, { body: {} })).status, 401);
      assert.equal((await register('rl1')).status, 200);
      assert.equal((await register('rl2')).status, 200);
      const third = await register('rl3');
      assert.equal(third.status, 429);
      assert.equal(third.body.errcode, 'M_LIMIT_EXCEEDED');
      assert.ok(third.body.retry_after_ms > 0);
    });
  },
  { rate_limits: { enabled: true, registration: { per_second: 0.001, burst_count: 2 } } },
);
