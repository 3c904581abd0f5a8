// The `foyer user …` / `foyer token …` commands, run as real processes (node bin/foyer.js)
// against a temporary config, then checked through a server started on the same database.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performInit } from '../src/cli/init.ts';
import { loadConfig } from '../src/config/load.ts';
import { createApp, createLogger, type FoyerApp } from '../src/app.ts';
import { DATABASES, POSTGRES_URL } from './harness.ts';
import { runFoyer, scratchDatabase } from './support/cli.ts';

for (const kind of DATABASES) {
  describe(`accounts: CLI [${kind}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-cli-'));
    const configPath = join(dir, 'foyer.yaml');
    let scratch: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
    let app: FoyerApp | undefined;
    let baseUrl = '';

    const http = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(new URL(path, baseUrl), { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return { status: res.status, body: (await res.json()) as any };
    };
    const login = (user: string, password: string) => http('POST', '/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });

    before(async () => {
      scratch = await scratchDatabase(kind, dir, POSTGRES_URL);
      const database = scratch.url;
      performInit({ serverName: 'cli.test', dataDir: dir, configPath, port: 0, bind: '127.0.0.1', database });
    });

    after(async () => {
      await app?.close();
      rmSync(dir, { recursive: true, force: true });
      await scratch?.drop();
    });

    it('creates users, refuses duplicates and bad names with one line and exit 1', async () => {
      const created = await runFoyer(configPath, 'user', 'create', 'alice', '--password', 'alice pass', '--admin');
      assert.equal(created.status, 0, created.stderr);
      assert.equal(created.stdout, '@alice:cli.test');
      assert.equal((await runFoyer(configPath, 'user', 'create', 'bob', '--password', 'bob pass')).stdout, '@bob:cli.test');
      const [dup, bad, noPassword] = await Promise.all([
        runFoyer(configPath, 'user', 'create', 'alice', '--password', 'x'),
        runFoyer(configPath, 'user', 'create', 'no good', '--password', 'x'),
        runFoyer(configPath, 'user', 'create', 'carol'),
      ]);
      assert.equal(dup.status, 1);
      assert.equal(dup.stderr, 'foyer: User ID already taken.');
      assert.equal(bad.status, 1);
      assert.equal(bad.stderr.split('\n').length, 1);
      assert.match(bad.stderr, /^foyer: User ID can only contain/);
      assert.notEqual(noPassword.status, 0);
    });

    it('lists users with their flags', async () => {
      const list = await runFoyer(configPath, 'user', 'list');
      assert.equal(list.status, 0);
      assert.deepEqual(list.stdout.split('\n'), ['@alice:cli.test\tadmin', '@bob:cli.test']);
    });

    it('creates and lists registration tokens, validating --uses and --expires', async () => {
      const created = await runFoyer(configPath, 'token', 'create', '--uses', '2', '--expires', '7d');
      assert.equal(created.status, 0, created.stderr);
      assert.match(created.stdout, /^[A-Za-z0-9]{16}$/);
      assert.equal((await runFoyer(configPath, 'token', 'create', '--token', 'party-2025')).stdout, 'party-2025');
      const list = (await runFoyer(configPath, 'token', 'list')).stdout.split('\n');
      assert.equal(list.length, 2);
      assert.match(list.find((l) => l.startsWith(created.stdout))!, /\t0\/2 used\texpires \d{4}-.*\tvalid$/);
      assert.match(list.find((l) => l.startsWith('party-2025'))!, /0\/∞ used\texpires never\tvalid$/);
      const refusals = [['--uses', '0'], ['--uses', 'many'], ['--expires', 'someday'], ['--expires', '2001-01-01'], ['--token', 'has space'], ['--token', 'party-2025']];
      const results = await Promise.all(refusals.map((args) => runFoyer(configPath, 'token', 'create', ...args)));
      results.forEach((res, i) => {
        assert.equal(res.status, 1, refusals[i].join(' '));
        assert.match(res.stderr, /^foyer: [^\n]+$/);
      });
    });

    it('the server started on that database sees the users and tokens', async () => {
      const config = loadConfig(configPath);
      config.registration.enabled = true;
      config.registration.requires_token = true;
      config.rate_limits.enabled = false;
      app = await createApp(config, { logger: createLogger('silent') });
      baseUrl = await app.listen();
      const res = await login('alice', 'alice pass');
      assert.equal(res.status, 200);
      const admin = await app.database.db.selectFrom('users').select('is_admin').where('user_id', '=', '@alice:cli.test').executeTakeFirstOrThrow();
      assert.equal(admin.is_admin, 1);
      const reg = await http('POST', '/_matrix/client/v3/register', { username: 'dora', password: 'pw', auth: { type: 'm.login.registration_token', token: 'party-2025' } });
      assert.equal(reg.status, 200);
      assert.match((await runFoyer(configPath, 'token', 'list')).stdout, /party-2025\t1\/∞ used/);
    });

    it('resets a password (generating one) and logs out every device', async () => {
      const before = await login('bob', 'bob pass');
      assert.equal(before.status, 200);
      const reset = await runFoyer(configPath, 'user', 'reset-password', '@bob:cli.test');
      assert.equal(reset.status, 0, reset.stderr);
      assert.ok(reset.stdout.length >= 20);
      assert.equal((await login('bob', 'bob pass')).status, 403);
      assert.equal((await login('bob', reset.stdout)).status, 200);
      const rows = await app!.database.db.selectFrom('access_tokens').select('id').where('device_id', '=', before.body.device_id).execute();
      assert.equal(rows.length, 0, 'the earlier session was deleted');
      const chosen = await runFoyer(configPath, 'user', 'reset-password', 'bob', '--password', 'chosen one');
      assert.equal(chosen.stdout, 'password changed');
      assert.equal((await login('bob', 'chosen one')).status, 200);
      assert.equal((await runFoyer(configPath, 'user', 'reset-password', 'nobody', '--password', 'x')).stderr, 'foyer: User not found');
    });

    it('deactivates a user', async () => {
      const res = await runFoyer(configPath, 'user', 'deactivate', '@bob:cli.test');
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stdout, 'deactivated @bob:cli.test');
      const login2 = await login('bob', 'chosen one');
      assert.equal(login2.body.errcode, 'M_USER_DEACTIVATED');
      assert.match((await runFoyer(configPath, 'user', 'list')).stdout, /@bob:cli\.test\tdeactivated/);
      const again = await runFoyer(configPath, 'user', 'deactivate', 'bob');
      assert.equal(again.status, 1);
    });

    it('fails with one line when the config is missing', async () => {
      const res = await runFoyer(join(dir, 'missing.yaml'), 'user', 'list');
      assert.equal(res.status, 1);
      assert.match(res.stderr, /^foyer: cannot read config file .*missing\.yaml/);
    });
  });
}
