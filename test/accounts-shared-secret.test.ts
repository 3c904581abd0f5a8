// Shared-secret registration (/_synapse/admin/v1/register), Synapse-compatible, on both databases.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describeEachDatabase, type TestServer } from './harness.ts';

const PATH = '/_synapse/admin/v1/register';

function mac(secret: string, nonce: string, username: string, password: string, admin: boolean, userType?: string): string {
  const h = createHmac('sha1', secret);
  h.update(`${nonce}\0${username}\0${password}\0${admin ? 'admin' : 'notadmin'}`);
  if (userType) h.update(`\0${userType}`);
  return h.digest('hex');
}

async function nonce(s: TestServer): Promise<string> {
  const res = await s.request('GET', PATH);
  assert.equal(res.status, 200);
  assert.match(res.body.nonce, /^[0-9a-f]{128}$/);
  return res.body.nonce;
}

describeEachDatabase(
  'accounts: shared-secret registration',
  ({ server }) => {
    const secret = () => server().app.config.registration.shared_secret!;

    it('registers an admin while open registration is off, and the account logs in', async () => {
      const n = await nonce(server());
      const res = await server().request('POST', PATH, {
        body: { nonce: n, username: 'root', password: 'admin pass', admin: true, displayname: 'The Admin', mac: mac(secret(), n, 'root', 'admin pass', true) },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.user_id, '@root:test.local');
      assert.ok(res.body.access_token && res.body.device_id);
      const row = await server().app.database.db.selectFrom('users').selectAll().where('user_id', '=', '@root:test.local').executeTakeFirstOrThrow();
      assert.equal(row.is_admin, 1);
      assert.equal(row.displayname, 'The Admin');
      const login = await server().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'root', password: 'admin pass' } });
      assert.equal(login.status, 200);
      const closed = await server().request('POST', '/_matrix/client/v3/register', { body: { username: 'x', password: 'y' } });
      assert.equal(closed.status, 403, 'open registration stays closed');
    });

    it('includes user_type in the MAC, and honours inhibit_login', async () => {
      const n = await nonce(server());
      const res = await server().request('POST', PATH, {
        body: { nonce: n, username: 'Helper', password: 'pw', user_type: 'bot', inhibit_login: true, mac: mac(secret(), n, 'Helper', 'pw', false, 'bot') },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { user_id: '@helper:test.local', home_server: 'test.local' });
      const row = await server().app.database.db.selectFrom('users').selectAll().where('user_id', '=', '@helper:test.local').executeTakeFirstOrThrow();
      assert.deepEqual([row.is_admin, row.user_type], [0, 'bot']);
    });

    it('refuses a wrong MAC with 403 M_UNKNOWN (as Synapse) and spends the nonce', async () => {
      const n = await nonce(server());
      const bad = await server().request('POST', PATH, { body: { nonce: n, username: 'eve', password: 'pw', admin: true, mac: mac(secret(), n, 'eve', 'pw', false) } });
      assert.equal(bad.status, 403);
      assert.deepEqual(bad.body, { errcode: 'M_UNKNOWN', error: 'HMAC incorrect' });
      const short = await server().request('POST', PATH, { body: { nonce: await nonce(server()), username: 'eve', password: 'pw', mac: 'abc' } });
      assert.equal(short.status, 403);
      const retry = await server().request('POST', PATH, { body: { nonce: n, username: 'eve', password: 'pw', admin: false, mac: mac(secret(), n, 'eve', 'pw', false) } });
      assert.equal(retry.status, 400);
      assert.equal(retry.body.errcode, 'M_UNKNOWN');
      assert.equal(retry.body.error, 'unrecognised nonce');
    });

    it('refuses a reused nonce, an unknown nonce and an expired nonce', async () => {
      const n = await nonce(server());
      const body = { nonce: n, username: 'once', password: 'pw', mac: mac(secret(), n, 'once', 'pw', false) };
      assert.equal((await server().request('POST', PATH, { body })).status, 200);
      const reused = await server().request('POST', PATH, { body });
      assert.equal(reused.status, 400);
      assert.equal(reused.body.errcode, 'M_UNKNOWN');
      const unknown = await server().request('POST', PATH, { body: { ...body, nonce: 'deadbeef' } });
      assert.equal(unknown.status, 400);
      const { db } = server().app.database;
      await db.insertInto('registration_nonces').values({ nonce: 'stale', expires_ts: Date.now() - 1 }).execute();
      const stale = await server().request('POST', PATH, { body: { ...body, username: 'stale', nonce: 'stale', mac: mac(secret(), 'stale', 'stale', 'pw', false) } });
      assert.equal(stale.status, 400);
      assert.equal(stale.body.error, 'unrecognised nonce');
    });

    it('answers missing fields, bad usernames and taken names with Synapse errcodes', async () => {
      assert.equal((await server().request('POST', PATH, { body: {} })).body.errcode, 'M_BAD_JSON');
      let n = await nonce(server());
      const noMac = await server().request('POST', PATH, { body: { nonce: n, username: 'a', password: 'b' } });
      assert.deepEqual([noMac.status, noMac.body.errcode], [400, 'M_BAD_JSON']);
      n = await nonce(server());
      const invalid = await server().request('POST', PATH, { body: { nonce: n, username: 'bad name', password: 'pw', mac: mac(secret(), n, 'bad name', 'pw', false) } });
      assert.deepEqual([invalid.status, invalid.body.errcode], [400, 'M_INVALID_USERNAME']);
      n = await nonce(server());
      const taken = await server().request('POST', PATH, { body: { nonce: n, username: 'root', password: 'pw', mac: mac(secret(), n, 'root', 'pw', false) } });
      assert.deepEqual([taken.status, taken.body.errcode], [400, 'M_USER_IN_USE']);
      n = await nonce(server());
      const type = await server().request('POST', PATH, { body: { nonce: n, username: 'z', password: 'pw', user_type: 'wizard', mac: 'x' } });
      assert.equal(type.status, 400);
    });
  },
  { registration: { enabled: false } },
);

describeEachDatabase(
  'accounts: shared-secret registration without a secret',
  ({ server }) => {
    it('answers 400 when no shared secret is configured', async () => {
      const n = await nonce(server());
      const res = await server().request('POST', PATH, { body: { nonce: n, username: 'x', password: 'y', mac: 'z' } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'Shared secret registration is not enabled');
    });
  },
  { registration: { shared_secret: '' } },
);
