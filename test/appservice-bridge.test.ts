// A bridge built on matrix-appservice-bridge (the library most JavaScript bridges use), run
// unmodified against Foyer on both databases: a portal room with puppeted remote users
// (intents), messages relayed both ways, a double-puppeted real user logged in with
// m.login.application_service, and ephemeral events (typing, receipts) delivered to the bridge.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AppServiceRegistration, Bridge, type WeakEvent } from 'matrix-appservice-bridge';
import { DATABASES, startTestServer, type TestServer, type TestUser } from './harness.ts';
import { roomPath } from './support/room-actions.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const kind of DATABASES) {
  describe(`matrix-appservice-bridge scenario [${kind}]`, () => {
    let s: TestServer;
    let bridge: Bridge;
    let alice: TestUser;
    let portal: string;
    const events: WeakEvent[] = [];
    const ephemeral: Array<{ type: string; room_id?: string; content: any }> = [];
    const doublePuppetToken = AppServiceRegistration.generateToken();

    before(async () => {
      const port = await freePort();
      const reg = new AppServiceRegistration(`http://127.0.0.1:${port}`);
      reg.setId('remotenet');
      reg.setHomeserverToken(AppServiceRegistration.generateToken());
      reg.setAppServiceToken(AppServiceRegistration.generateToken());
      reg.setSenderLocalpart('remotebot');
      reg.addRegexPattern('users', '@remote_.*', true);
      reg.addRegexPattern('aliases', '#remote_.*', true);
      reg.setRateLimited(false);
      reg.pushEphemeral = true;
      const dir = mkdtempSync(join(tmpdir(), 'foyer-mab-'));
      const file = join(dir, 'remotenet.yaml');
      writeFileSync(file, stringify(reg.getOutput()));
      // The double-puppet registration bridges document: every user, non-exclusive, no url.
      const dpFile = join(dir, 'doublepuppet.yaml');
      writeFileSync(
        dpFile,
        stringify({
          id: 'doublepuppet',
          url: null,
          as_token: doublePuppetToken,
          hs_token: AppServiceRegistration.generateToken(),
          sender_localpart: AppServiceRegistration.generateToken().slice(0, 16).toLowerCase(),
          namespaces: { users: [{ regex: '@.*', exclusive: false }] },
          rate_limited: false,
        }),
      );
      s = await startTestServer(kind, { app_service_config_files: [file, dpFile], appservices: { retry_initial: '200ms', retry_max: '2s' } });
      alice = await s.registerUser('alice');
      bridge = new Bridge({
        homeserverUrl: s.baseUrl,
        domain: s.serverName,
        registration: reg,
        disableStores: true,
        disableContext: true,
        controller: {
          onUserQuery: () => ({}),
          onEvent: (request) => {
            events.push(request.getData());
          },
          onEphemeralEvent: (request) => {
            ephemeral.push(request.getData() as never);
          },
        },
      });
      await bridge.run(port);
    });

    after(async () => {
      await bridge?.close();
      await s?.close();
    });

    it('opens a portal room with puppeted remote users', async () => {
      const bot = bridge.getIntent();
      const created = await bot.createRoom({ createAsClient: true, options: { name: 'Remote chat', visibility: 'private', preset: 'private_chat', invite: [alice.userId] } });
      portal = created.room_id;
      for (const name of ['remote_bob', 'remote_carol']) {
        const puppet = bridge.getIntent(`@${name}:${s.serverName}`);
        await bot.invite(portal, puppet.userId);
        await puppet.join(portal);
      }
      const join = await s.request('POST', `${roomPath(portal)}/join`, { token: alice.accessToken, body: {} });
      assert.equal(join.status, 200, JSON.stringify(join.body));
      const members = await s.request('GET', `${roomPath(portal)}/joined_members`, { token: alice.accessToken });
      assert.deepEqual(Object.keys(members.body.joined).sort(), [alice.userId, `@remote_bob:${s.serverName}`, `@remote_carol:${s.serverName}`, bridge.botUserId].sort());
    });

    it('relays remote messages into Matrix as the puppets', async () => {
      await bridge.getIntent(`@remote_bob:${s.serverName}`).sendText(portal, 'hello from the remote network');
      await bridge.getIntent(`@remote_carol:${s.serverName}`).sendText(portal, 'me too');
      const msgs = await s.request('GET', `${roomPath(portal)}/messages`, { token: alice.accessToken, query: { dir: 'b', limit: 10 } });
      const texts = msgs.body.chunk.filter((e: any) => e.type === 'm.room.message').map((e: any) => `${e.sender}: ${e.content.body}`);
      assert.deepEqual(texts.reverse(), [`@remote_bob:${s.serverName}: hello from the remote network`, `@remote_carol:${s.serverName}: me too`]);
    });

    it('relays Matrix messages to the bridge, in order', async () => {
      const ids: string[] = [];
      for (const body of ['one', 'two', 'three']) {
        const res = await s.request('PUT', `${roomPath(portal)}/send/m.room.message/${body}`, { token: alice.accessToken, body: { msgtype: 'm.text', body } });
        ids.push(res.body.event_id);
      }
      await until('the bridge to get the messages', () => ids.every((id) => events.some((e) => e.event_id === id)));
      assert.deepEqual(
        events.filter((e) => ids.includes(e.event_id)).map((e) => e.content.body),
        ['one', 'two', 'three'],
      );
    });

    it('double-puppets a real user through m.login.application_service', async () => {
      const login = await s.request('POST', '/_matrix/client/v3/login', {
        token: doublePuppetToken,
        body: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: alice.userId } },
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      assert.equal(login.body.user_id, alice.userId);
      // The bridge relays alice's message from the remote network as alice herself.
      const sent = await s.request('PUT', `${roomPath(portal)}/send/m.room.message/dp1`, { token: login.body.access_token, body: { msgtype: 'm.text', body: 'sent from my phone' } });
      assert.equal(sent.status, 200);
      await until('the bridge to see the double-puppeted message', () => events.some((e) => e.event_id === sent.body.event_id && e.sender === alice.userId));
    });

    it('delivers ephemeral events (typing, read receipts) to the bridge', async () => {
      const typing = await s.request('PUT', `${roomPath(portal)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 20000 } });
      assert.equal(typing.status, 200);
      const last = events.filter((e) => e.room_id === portal).at(-1)!;
      const receipt = await s.request('POST', `${roomPath(portal)}/receipt/m.read/${encodeURIComponent(last.event_id)}`, { token: alice.accessToken, body: {} });
      assert.equal(receipt.status, 200);
      await until('typing and a receipt at the bridge', () =>
        ephemeral.some((e) => e.type === 'm.typing' && e.room_id === portal && e.content.user_ids.includes(alice.userId)) &&
        ephemeral.some((e) => e.type === 'm.receipt' && e.room_id === portal && e.content[last.event_id]),
      );
    });
  });
}
