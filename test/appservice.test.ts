// Application services over real HTTP on both databases: a test appservice (a real HTTP server)
// registered through app_service_config_files receives the events of its namespace in order,
// masquerades as its users and devices, holds its namespaces exclusively, answers queries and
// third-party lookups, is pinged, and gets its backlog — in order, once — after being down and
// after a Foyer restart.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASES, startTestServer, type TestServer, type TestUser } from './harness.ts';
import { TestAppservice } from './support/test-appservice.ts';
import { createRoom, invite, roomPath, say } from './support/room-actions.ts';

const asUrl = (as: TestAppservice, path: string, query: Record<string, string> = {}) => {
  const q = new URLSearchParams(query).toString();
  return q ? `${path}?${q}` : path;
};

for (const kind of DATABASES) {
  describe(`appservice API [${kind}]`, () => {
    const bridge = new TestAppservice({ protocols: ['gitter'], receiveEphemeral: true, msc4190: true });
    const silent = new TestAppservice({ extra: '' });
    let s: TestServer;
    let alice: TestUser;
    let roomId: string;

    before(async () => {
      await bridge.start();
      const dir = mkdtempSync(join(tmpdir(), 'foyer-as-'));
      const files = [join(dir, 'bridge.yaml'), join(dir, 'silent.yaml')];
      writeFileSync(files[0], bridge.registrationYaml());
      // No url: it never receives transactions (and ping answers M_URL_NOT_SET).
      writeFileSync(files[1], silent.registrationYaml());
      s = await startTestServer(kind, {
        app_service_config_files: files,
        appservices: { retry_initial: '200ms', retry_max: '2s' },
      });
      alice = await s.registerUser('alice');
    });
    after(async () => {
      await s?.close();
      await bridge.stop();
    });

    const asRequest = (method: string, path: string, opts: { body?: unknown; query?: Record<string, string> } = {}) =>
      s.request(method, asUrl(bridge, path, opts.query), { token: bridge.asToken, body: opts.body });

    it('creates the sender user and authenticates the as_token as it', async () => {
      const res = await asRequest('GET', '/_matrix/client/v3/account/whoami');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user_id, `@${bridge.senderLocalpart}:${s.serverName}`);
    });

    it('registers users of its namespace with m.login.application_service, and only those', async () => {
      const ok = await asRequest('POST', '/_matrix/client/v3/register', { body: { type: 'm.login.application_service', username: `${bridge.id}_alice` } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.user_id, `@${bridge.id}_alice:${s.serverName}`);
      assert.ok(ok.body.access_token);
      const inhibited = await asRequest('POST', '/_matrix/client/v3/register', {
        body: { type: 'm.login.application_service', username: `${bridge.id}_carol`, inhibit_login: true },
      });
      assert.equal(inhibited.status, 200);
      assert.equal(inhibited.body.access_token, undefined);
      const outside = await asRequest('POST', '/_matrix/client/v3/register', { body: { type: 'm.login.application_service', username: 'mallory' } });
      assert.equal(outside.status, 400);
      assert.equal(outside.body.errcode, 'M_EXCLUSIVE');
      const noToken = await s.request('POST', '/_matrix/client/v3/register', { body: { type: 'm.login.application_service', username: `${bridge.id}_dave` } });
      assert.equal(noToken.status, 401);
    });

    it('refuses other users registering into its exclusive namespace (M_EXCLUSIVE)', async () => {
      const res = await s.request('POST', '/_matrix/client/v3/register', {
        body: { username: `${bridge.id}_eve`, password: 'a long enough password', auth: { type: 'm.login.dummy' } },
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.errcode, 'M_EXCLUSIVE');
      const sender = await s.request('GET', '/_matrix/client/v3/register/available', { query: { username: bridge.senderLocalpart } });
      assert.equal(sender.status, 400);
    });

    it('delivers the events of its namespace in order, with hs_token', async () => {
      roomId = await createRoom(s, alice);
      const puppet = `@${bridge.id}_alice:${s.serverName}`;
      const inv = await s.request('POST', `${roomPath(roomId)}/invite`, { token: alice.accessToken, body: { user_id: puppet } });
      assert.equal(inv.status, 200);
      const join = await asRequest('POST', `${roomPath(roomId)}/join`, { query: { user_id: puppet }, body: {} });
      assert.equal(join.status, 200, JSON.stringify(join.body));
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push(await say(s, alice, roomId, `hello ${i}`));
      await bridge.waitFor(() => sent.every((id) => bridge.events.some((e) => e.event_id === id)), 'messages');
      const messages = bridge.events.filter((e) => e.room_id === roomId && e.type === 'm.room.message').map((e) => e.event_id);
      assert.deepEqual(messages, sent);
      const memberships = bridge.events.filter((e) => e.type === 'm.room.member' && e.state_key === puppet).map((e) => e.content.membership);
      assert.deepEqual(memberships, ['invite', 'join']);
      assert.deepEqual(bridge.unauthorised, []);
      // Transaction IDs increase and each was delivered once.
      const ids = bridge.txns.map((t) => Number(t.txnId));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    });

    it('does not deliver events of rooms it has no interest in', async () => {
      const other = await createRoom(s, alice);
      const id = await say(s, alice, other, 'private');
      const marker = await say(s, alice, roomId, 'marker');
      await bridge.waitFor(() => bridge.events.some((e) => e.event_id === marker), 'marker');
      assert.ok(!bridge.events.some((e) => e.event_id === id));
    });

    it('masquerades as its users with user_id, and sets timestamps with ts', async () => {
      const puppet = `@${bridge.id}_alice:${s.serverName}`;
      const res = await asRequest('PUT', `${roomPath(roomId)}/send/m.room.message/m1`, { query: { user_id: puppet, ts: '1000000' }, body: { msgtype: 'm.text', body: 'from the bridge' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const ev = await s.request('GET', `${roomPath(roomId)}/event/${encodeURIComponent(res.body.event_id)}`, { token: alice.accessToken });
      assert.equal(ev.body.sender, puppet);
      assert.equal(ev.body.origin_server_ts, 1000000);
      // A user outside the namespace, or one that was never registered, is refused.
      const outside = await asRequest('GET', '/_matrix/client/v3/account/whoami', { query: { user_id: alice.userId } });
      assert.equal(outside.status, 403);
      const unregistered = await asRequest('GET', '/_matrix/client/v3/account/whoami', { query: { user_id: `@${bridge.id}_nobody:${s.serverName}` } });
      assert.equal(unregistered.status, 403);
      // Plain users cannot set timestamps.
      const plain = await s.request('PUT', `${roomPath(roomId)}/send/m.room.message/m2`, { token: alice.accessToken, query: { ts: 5 }, body: { msgtype: 'm.text', body: 'x' } });
      const plainEv = await s.request('GET', `${roomPath(roomId)}/event/${encodeURIComponent(plain.body.event_id)}`, { token: alice.accessToken });
      assert.notEqual(plainEv.body.origin_server_ts, 5);
    });

    it('masquerades as devices it created itself (MSC4190), without UIA', async () => {
      const puppet = `@${bridge.id}_alice:${s.serverName}`;
      const unknown = await asRequest('GET', '/_matrix/client/v3/account/whoami', { query: { user_id: puppet, device_id: 'BRIDGEDEV' } });
      assert.equal(unknown.status, 400);
      const put = await asRequest('PUT', '/_matrix/client/v3/devices/BRIDGEDEV', { query: { user_id: puppet }, body: { display_name: 'bridge device' } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const who = await asRequest('GET', '/_matrix/client/v3/account/whoami', { query: { user_id: puppet, 'org.matrix.msc3202.device_id': 'BRIDGEDEV' } });
      assert.equal(who.status, 200);
      assert.equal(who.body.device_id, 'BRIDGEDEV');
      const del = await asRequest('DELETE', '/_matrix/client/v3/devices/BRIDGEDEV', { query: { user_id: puppet } });
      assert.equal(del.status, 200, JSON.stringify(del.body));
      const gone = await asRequest('GET', '/_matrix/client/v3/account/whoami', { query: { user_id: puppet, device_id: 'BRIDGEDEV' } });
      assert.equal(gone.status, 400);
    });

    it('logs in users of its namespace with m.login.application_service (double puppeting)', async () => {
      const flows = await s.request('GET', '/_matrix/client/v3/login');
      assert.ok(flows.body.flows.some((f: { type: string }) => f.type === 'm.login.application_service'));
      const res = await s.request('POST', '/_matrix/client/v3/login', {
        token: bridge.asToken,
        body: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: `${bridge.id}_alice` } },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user_id, `@${bridge.id}_alice:${s.serverName}`);
      const refused = await s.request('POST', '/_matrix/client/v3/login', {
        token: bridge.asToken,
        body: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'alice' } },
      });
      assert.equal(refused.status, 403);
    });

    it('holds its alias namespace exclusively', async () => {
      const alias = `#${bridge.id}_portal:${s.serverName}`;
      const res = await s.request('PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, { token: alice.accessToken, body: { room_id: roomId } });
      assert.equal(res.status, 400);
      assert.equal(res.body.errcode, 'M_EXCLUSIVE');
      const own = await asRequest('PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, { query: { user_id: `@${bridge.id}_alice:${s.serverName}` }, body: { room_id: roomId } });
      assert.equal(own.status, 200, JSON.stringify(own.body));
    });

    it('asks the appservice about unknown users and aliases of its namespaces', async () => {
      const lazyUser = `@${bridge.id}_lazy:${s.serverName}`;
      bridge.onUserQuery = async (userId) => {
        if (userId !== lazyUser) return false;
        const r = await asRequest('POST', '/_matrix/client/v3/register', { body: { type: 'm.login.application_service', username: `${bridge.id}_lazy`, inhibit_login: true } });
        return r.status === 200;
      };
      const profile = await s.request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(lazyUser)}`, { token: alice.accessToken });
      assert.equal(profile.status, 200, JSON.stringify(profile.body));
      const missing = await s.request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(`@${bridge.id}_ghost:${s.serverName}`)}`, { token: alice.accessToken });
      assert.equal(missing.status, 404);

      const lazyAlias = `#${bridge.id}_lazyroom:${s.serverName}`;
      bridge.onAliasQuery = async (alias) => {
        if (alias !== lazyAlias) return false;
        const r = await asRequest('POST', '/_matrix/client/v3/createRoom', { body: { room_alias_name: `${bridge.id}_lazyroom` } });
        return r.status === 200;
      };
      const resolved = await s.request('GET', `/_matrix/client/v3/directory/room/${encodeURIComponent(lazyAlias)}`, { token: alice.accessToken });
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      assert.match(resolved.body.room_id, /^!/);
    });

    it('proxies third-party lookups to the appservice declaring the protocol', async () => {
      bridge.thirdParty = {
        'protocol/gitter': { user_fields: ['username'], location_fields: ['room'], icon: 'mxc://x/y', field_types: {}, instances: [{ network_id: 'gitter', desc: 'Gitter', fields: {} }] },
        'location/gitter': [{ alias: '#gitter_x:test', protocol: 'gitter', fields: { room: 'x' } }],
        'user/gitter': [{ userid: '@gitter_bob:test', protocol: 'gitter', fields: { username: 'bob' } }],
        'location?alias=%23gitter_x%3Atest': [{ alias: '#gitter_x:test', protocol: 'gitter', fields: { room: 'x' } }],
        'user?userid=%40gitter_bob%3Atest': [{ userid: '@gitter_bob:test', protocol: 'gitter', fields: { username: 'bob' } }],
      };
      const protocols = await s.request('GET', '/_matrix/client/v3/thirdparty/protocols', { token: alice.accessToken });
      assert.equal(protocols.status, 200);
      assert.deepEqual(protocols.body.gitter.user_fields, ['username']);
      assert.equal(protocols.body.gitter.instances[0].instance_id, `${bridge.id}|gitter`);
      const one = await s.request('GET', '/_matrix/client/v3/thirdparty/protocol/gitter', { token: alice.accessToken });
      assert.equal(one.status, 200);
      const unknown = await s.request('GET', '/_matrix/client/v3/thirdparty/protocol/irc', { token: alice.accessToken });
      assert.equal(unknown.status, 404);
      const loc = await s.request('GET', '/_matrix/client/v3/thirdparty/location/gitter', { token: alice.accessToken, query: { room: 'x' } });
      assert.deepEqual(loc.body.map((l: { alias: string }) => l.alias), ['#gitter_x:test']);
      const user = await s.request('GET', '/_matrix/client/v3/thirdparty/user/gitter', { token: alice.accessToken });
      assert.equal(user.body[0].userid, '@gitter_bob:test');
      const reverse = await s.request('GET', '/_matrix/client/v3/thirdparty/location', { token: alice.accessToken, query: { alias: '#gitter_x:test' } });
      assert.equal(reverse.status, 200);
      assert.equal(reverse.body.length, 1);
      const reverseUser = await s.request('GET', '/_matrix/client/v3/thirdparty/user', { token: alice.accessToken, query: { userid: '@gitter_bob:test' } });
      assert.deepEqual(reverseUser.body.map((u: { userid: string }) => u.userid), ['@gitter_bob:test']);
    });

    it('pings the appservice (MSC2659) and reports its failures', async () => {
      const ok = await asRequest('POST', `/_matrix/client/v1/appservice/${bridge.id}/ping`, { body: { transaction_id: 'ping-1' } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(typeof ok.body.duration_ms, 'number');
      assert.ok(bridge.pings.includes('ping-1'));
      const other = await asRequest('POST', `/_matrix/client/v1/appservice/${silent.id}/ping`, { body: {} });
      assert.equal(other.status, 403);
      const byUser = await s.request('POST', `/_matrix/client/v1/appservice/${bridge.id}/ping`, { token: alice.accessToken, body: {} });
      assert.equal(byUser.status, 403);
      const noUrl = await s.request('POST', `/_matrix/client/v1/appservice/${silent.id}/ping`, { token: silent.asToken, body: {} });
      assert.equal(noUrl.status, 400);
      assert.equal(noUrl.body.errcode, 'M_URL_NOT_SET');
      bridge.failPingWith = 500;
      const bad = await asRequest('POST', `/_matrix/client/v1/appservice/${bridge.id}/ping`, { body: {} });
      bridge.failPingWith = null;
      assert.equal(bad.status, 502);
      assert.equal(bad.body.errcode, 'M_BAD_STATUS');
      assert.equal(bad.body.status, 500);
      assert.match(bad.body.body, /not today/);
      await bridge.stop();
      const down = await asRequest('POST', `/_matrix/client/v1/appservice/${bridge.id}/ping`, { body: {} });
      await bridge.start(bridge.port);
      assert.equal(down.status, 502);
      assert.equal(down.body.errcode, 'M_CONNECTION_FAILED');
    });

    it('delivers ephemeral events (typing, receipts) to appservices that asked', async () => {
      const typing = await s.request('PUT', `${roomPath(roomId)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 30000 } });
      assert.equal(typing.status, 200);
      const last = await say(s, alice, roomId, 'read me');
      const receipt = await s.request('POST', `${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(last)}`, { token: alice.accessToken, body: {} });
      assert.equal(receipt.status, 200);
      await bridge.waitFor(
        () => bridge.ephemeral.some((e) => e.type === 'm.typing' && e.content.user_ids.includes(alice.userId)) && bridge.ephemeral.some((e) => e.type === 'm.receipt' && e.content[last]),
        'typing and receipt',
      );
      const withReceipt = bridge.txns.find((t) => t.body.ephemeral?.some((e: any) => e.type === 'm.receipt'))!;
      assert.deepEqual(withReceipt.body['de.sorunome.msc2409.ephemeral'], withReceipt.body.ephemeral);
    });

    it('retries a failing transaction with the same ID and body, then moves on in order', async () => {
      bridge.failTransactionsWith = 500;
      const before = bridge.attempts.length;
      const first = await say(s, alice, roomId, 'during outage 1');
      await bridge.waitFor(() => bridge.attempts.length >= before + 2, 'two attempts');
      const second = await say(s, alice, roomId, 'during outage 2');
      const tried = bridge.attempts.slice(before);
      assert.ok(tried.every((a) => a.txnId === tried[0].txnId && a.body === tried[0].body), 'retries resend the same transaction');
      bridge.failTransactionsWith = null;
      await bridge.waitFor(() => bridge.events.some((e) => e.event_id === second), 'second message');
      const order = bridge.events.map((e) => e.event_id);
      assert.ok(order.indexOf(first) < order.indexOf(second));
      assert.equal(order.filter((id) => id === first).length, 1);
    });

    it('delivers the backlog in order once a down appservice is back, and after a restart', async () => {
      await bridge.stop();
      const whileDown: string[] = [];
      for (let i = 0; i < 3; i++) whileDown.push(await say(s, alice, roomId, `backlog ${i}`));
      const status = await s.request('GET', '/_matrix/client/v3/account/whoami', { token: alice.accessToken });
      assert.equal(status.status, 200);
      // Restart Foyer while the bridge is down: the pending transaction is in the database.
      await s.restart();
      for (let i = 3; i < 5; i++) whileDown.push(await say(s, alice, roomId, `backlog ${i}`));
      await bridge.start();
      // A request from the bridge shows it is up and cuts the retry backoff short.
      await asRequest('GET', '/_matrix/client/v3/account/whoami');
      await bridge.waitFor(() => whileDown.every((id) => bridge.events.some((e) => e.event_id === id)), 'backlog');
      const got = bridge.events.map((e) => e.event_id).filter((id) => whileDown.includes(id));
      assert.deepEqual(got, whileDown);
    });
  });
}
