// The server's logs never carry secrets or message content (issue 2's security bar): no
// passwords, access or refresh tokens, registration shared secrets or MACs, and no message or
// to-device bodies. The server runs at the most verbose level with its real logger (redaction
// included) writing to a buffer; the flows that handle each secret run through HTTP, along with
// failures (wrong password, unknown token, bad JSON) and the housekeeping jobs, which log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { DATABASES, startTestServer, type TestServer } from './harness.ts';

const enc = encodeURIComponent;
const DAY = 24 * 60 * 60 * 1000;

for (const kind of DATABASES) {
  describe(`log hygiene [${kind}]`, () => {
    let server: TestServer;
    let logged = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged += String(chunk);
        done();
      },
    });

    before(async () => {
      server = await startTestServer(kind, { log_level: 'trace', access_token_lifetime: '1h' } as never, { logDestination: sink });
    });
    after(async () => {
      await server?.close();
    });

    it('logs no password, token, shared secret or message content, at the trace level', async () => {
      const secrets: string[] = [];
      const password = 'Password-Do-Not-Log-4471';
      secrets.push(password);
      const alice = await server.registerUser(undefined, password);
      const bob = await server.registerUser();
      secrets.push(alice.accessToken, bob.accessToken, bob.password);

      // Login with a refresh token, a refresh, and a wrong password.
      const login = await server.request('POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password, refresh_token: true },
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      secrets.push(login.body.access_token, login.body.refresh_token);
      const refreshed = await server.request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.body.refresh_token } });
      assert.equal(refreshed.status, 200);
      secrets.push(refreshed.body.access_token, refreshed.body.refresh_token);
      const wrongPassword = 'Wrong-Password-Do-Not-Log-9182';
      secrets.push(wrongPassword);
      const wrong = await server.request('POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password: wrongPassword },
      });
      assert.equal(wrong.status, 403);

      // Tokens in the legacy query parameter, and an unknown one.
      assert.equal((await server.request('GET', '/_matrix/client/v3/account/whoami', { query: { access_token: alice.accessToken } })).status, 200);
      const unknownToken = 'syt_unknown_token_do_not_log_5521';
      secrets.push(unknownToken);
      assert.equal((await server.request('GET', '/_matrix/client/v3/account/whoami', { token: unknownToken })).status, 401);

      // A message, a to-device message and a body that is not JSON.
      const roomId = (await server.request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } })).body.room_id;
      assert.equal((await server.request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} })).status, 200);
      const body = 'message body that must not reach the logs 7730';
      secrets.push(body);
      const sent = await server.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/m1`, { token: alice.accessToken, body: { msgtype: 'm.text', body } });
      assert.equal(sent.status, 200);
      const toDevice = 'to-device content that must not reach the logs 3319';
      secrets.push(toDevice);
      const td = await server.request('PUT', '/_matrix/client/v3/sendToDevice/m.test/td1', {
        token: alice.accessToken,
        body: { messages: { [bob.userId]: { [bob.deviceId]: { secret: toDevice }, NOSUCHDEVICE: { secret: toDevice } } } },
      });
      assert.equal(td.status, 200);
      const notJson = 'not json, must not reach the logs 6004';
      secrets.push(notJson);
      assert.equal((await server.request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, rawBody: notJson, headers: { 'content-type': 'application/json' } })).status, 400);

      // A password change through user-interactive auth.
      const newPassword = 'New-Password-Do-Not-Log-2290';
      secrets.push(newPassword);
      const first = await server.request('POST', '/_matrix/client/v3/account/password', { token: refreshed.body.access_token, body: { new_password: newPassword } });
      assert.equal(first.status, 401);
      const changed = await server.request('POST', '/_matrix/client/v3/account/password', {
        token: refreshed.body.access_token,
        body: { new_password: newPassword, auth: { type: 'm.login.password', session: first.body.session, identifier: { type: 'm.id.user', user: alice.localpart }, password } },
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));

      // Shared-secret registration: the secret, the new user's password and the MAC.
      const sharedSecret = server.app.config.registration.shared_secret!;
      const nonce = (await server.request('GET', '/_synapse/admin/v1/register')).body.nonce;
      const adminPassword = 'Admin-Password-Do-Not-Log-1187';
      const mac = createHmac('sha1', sharedSecret).update(`${nonce}\0root\0${adminPassword}\0admin`).digest('hex');
      secrets.push(sharedSecret, adminPassword, mac);
      const registered = await server.request('POST', '/_synapse/admin/v1/register', { body: { nonce, username: 'root', password: adminPassword, admin: true, mac } });
      assert.equal(registered.status, 200, JSON.stringify(registered.body));
      secrets.push(registered.body.access_token);

      // The housekeeping jobs log what they delete: proof that this test sees the log at all.
      await server.app.expirePushActions(Date.now() + 2 * DAY);
      await server.app.expireTransactionIds(Date.now() + 2 * DAY);
      assert.match(logged, /expired old transaction IDs/, 'the log is captured');

      for (const secret of secrets) {
        assert.ok(secret && secret.length >= 8, 'a secret worth looking for');
        assert.ok(!logged.includes(secret), `the log holds a secret (${secret.slice(0, 6)}…): ${logged.slice(Math.max(0, logged.indexOf(secret) - 200), logged.indexOf(secret) + 50)}`);
      }
    });
  });
}
