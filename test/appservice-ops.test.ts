// Operating bridges: `foyer appservice add|list|status|remove` run as real processes against the
// database of a running server, which picks the change up without a restart (hot reload);
// the admin API doing the same; and start-up refusing bad registration files with a message
// naming file and field.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performInit } from '../src/cli/init.ts';
import { loadConfig } from '../src/config/load.ts';
import { createApp, createLogger, type FoyerApp } from '../src/app.ts';
import { DATABASES, POSTGRES_URL } from './harness.ts';
import { runFoyer, scratchDatabase } from './support/cli.ts';
import { TestAppservice } from './support/test-appservice.ts';

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const kind of DATABASES) {
  describe(`appservice operations [${kind}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-asops-'));
    const configPath = join(dir, 'foyer.yaml');
    let scratch: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
    const bridge = new TestAppservice({ id: `cli${randomBytes(3).toString('hex')}` });
    const second = new TestAppservice({ id: `api${randomBytes(3).toString('hex')}` });
    let app: FoyerApp | undefined;
    let baseUrl = '';
    let adminToken = '';

    const http = async (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
      const res = await fetch(new URL(path, baseUrl), {
        method,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const start = async () => {
      const config = loadConfig(configPath);
      config.appservices.reload_interval = '100ms';
      app = await createApp(config, { logger: createLogger('silent') });
      baseUrl = await app.listen();
    };

    before(async () => {
      scratch = await scratchDatabase(kind, dir, POSTGRES_URL);
      const database = scratch.url;
      performInit({ serverName: 'ops.test', dataDir: dir, configPath, port: 0, bind: '127.0.0.1', database });
      await bridge.start();
      await second.start();
      const admin = await runFoyer(configPath, 'user', 'create', 'root', '--password', 'root password', '--admin');
      assert.equal(admin.status, 0, admin.stderr);
      await start();
      const login = await http('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'root' }, password: 'root password' } });
      adminToken = login.body.access_token;
    });

    after(async () => {
      await app?.close();
      await bridge.stop();
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
      await scratch?.drop();
    });

    it('adds a bridge with the CLI while the server runs; it works without a restart', async () => {
      const before = await http('GET', '/_matrix/client/v3/account/whoami', { token: bridge.asToken });
      assert.equal(before.status, 401);
      const file = join(dir, 'bridge.yaml');
      writeFileSync(file, bridge.registrationYaml());
      const added = await runFoyer(configPath, 'appservice', 'add', file);
      assert.equal(added.status, 0, added.stderr);
      assert.match(added.stdout, new RegExp(`added appservice ${bridge.id}`));
      await until('the running server to load the registration', async () => (await http('GET', '/_matrix/client/v3/account/whoami', { token: bridge.asToken })).status === 200);
      // The new bridge gets events of its namespace from now on.
      const reg = await http('POST', '/_matrix/client/v3/register', { token: bridge.asToken, body: { type: 'm.login.application_service', username: `${bridge.id}_x` } });
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      const room = await http('POST', '/_matrix/client/v3/createRoom', { token: reg.body.access_token, body: {} });
      await bridge.waitFor(() => bridge.events.some((e) => e.room_id === room.body.room_id && e.type === 'm.room.create'), 'create event');
    });

    it('lists and reports status: reachable, last success, backlog, last error', async () => {
      const list = await runFoyer(configPath, 'appservice', 'list');
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^${bridge.id}\\t${bridge.url.replace(/\./g, '\\.')}`));
      const status = await runFoyer(configPath, 'appservice', 'status', bridge.id);
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /reachable \(\d+ ms\)/);
      assert.match(status.stdout, /last successful transaction: \d{4}-/);
      assert.match(status.stdout, /backlog: 0 transaction\(s\) pending/);
      await bridge.stop();
      const down = await runFoyer(configPath, 'appservice', 'status');
      assert.match(down.stdout, /UNREACHABLE: M_CONNECTION_FAILED/);
      await bridge.start(bridge.port);
    });

    it('refuses invalid or clashing registrations, naming file and field', async () => {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, bridge.registrationYaml().replace(`id: ${bridge.id}`, 'id: other').replace(/as_token: .*/, 'as_token: fresh1').replace(/hs_token: .*/, 'hs_token: fresh2').replace(/regex: '@[^']*'/, "regex: '@(unclosed'"));
      const res = await runFoyer(configPath, 'appservice', 'add', bad);
      assert.equal(res.status, 1);
      assert.match(res.stderr, /bad\.yaml: namespaces\.users\[0\]\.regex: invalid regular expression/);
      const clash = join(dir, 'clash.yaml');
      writeFileSync(clash, bridge.registrationYaml().replace(`id: ${bridge.id}`, 'id: clash').replace(/as_token: .*/, 'as_token: fresh3').replace(/hs_token: .*/, 'hs_token: fresh4'));
      const res2 = await runFoyer(configPath, 'appservice', 'add', clash);
      assert.equal(res2.status, 1);
      assert.match(res2.stderr, /clash\.yaml: .*namespaces\.users: exclusive regex .* overlaps/);
    });

    it('adds, shows and removes bridges through the admin API, at once', async () => {
      const notAdmin = await http('GET', '/_foyer/admin/v1/appservices', { token: bridge.asToken });
      assert.equal(notAdmin.status, 403);
      const added = await http('POST', '/_foyer/admin/v1/appservices', { token: adminToken, body: { registration: second.registrationYaml() } });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      const who = await http('GET', '/_matrix/client/v3/account/whoami', { token: second.asToken });
      assert.equal(who.status, 200);
      const list = await http('GET', '/_foyer/admin/v1/appservices', { token: adminToken });
      assert.deepEqual(list.body.appservices.map((a: { id: string }) => a.id).sort(), [bridge.id, second.id].sort());
      const one = await http('GET', `/_foyer/admin/v1/appservices/${second.id}`, { token: adminToken });
      assert.equal(one.body.reachable, true);
      const dup = await http('POST', '/_foyer/admin/v1/appservices', { token: adminToken, body: { registration: second.registrationYaml() } });
      assert.equal(dup.status, 400);
      const removed = await http('DELETE', `/_foyer/admin/v1/appservices/${second.id}`, { token: adminToken });
      assert.equal(removed.status, 200);
      const after = await http('GET', '/_matrix/client/v3/account/whoami', { token: second.asToken });
      assert.equal(after.status, 401);
    });

    it('removes a bridge with the CLI; the running server stops accepting its token', async () => {
      const res = await runFoyer(configPath, 'appservice', 'remove', bridge.id);
      assert.equal(res.status, 0, res.stderr);
      await until('the running server to drop the registration', async () => (await http('GET', '/_matrix/client/v3/account/whoami', { token: bridge.asToken })).status === 401);
      const again = await runFoyer(configPath, 'appservice', 'remove', bridge.id);
      assert.equal(again.status, 1);
    });

    it('refuses to start with a bad registration file, naming file and field', async () => {
      await app?.close();
      app = undefined;
      const a = join(dir, 'a.yaml');
      const b = join(dir, 'b.yaml');
      writeFileSync(a, bridge.registrationYaml());
      writeFileSync(b, second.registrationYaml().replace(/as_token: .*/, `as_token: ${bridge.asToken}`));
      const config = loadConfig(configPath);
      config.app_service_config_files = [a, b];
      await assert.rejects(createApp(config, { logger: createLogger('silent') }), (err: Error) => {
        assert.match(err.message, /b\.yaml: as_token: the same as_token is already used by .*a\.yaml/);
        return true;
      });
      writeFileSync(b, 'id: x\nurl: null\nas_token: t1\nhs_token: t2\n');
      await assert.rejects(createApp(config, { logger: createLogger('silent') }), /b\.yaml: sender_localpart: is required/);
      await start(); // the config file itself was not changed: starts again
    });
  });
}
