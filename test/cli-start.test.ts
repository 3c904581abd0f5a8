// The CLI as an operator uses it: init writes a working config and key, start serves, SIGTERM
// shuts down cleanly, and mistakes get one clear line and a non-zero exit.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describeEachDatabase, POSTGRES_URL } from './harness.ts';

const FOYER = join(import.meta.dirname, '..', 'bin', 'foyer.js');

function foyer(args: string[]) {
  return spawnSync(process.execPath, [FOYER, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describeEachDatabase('foyer init / start / SIGTERM', ({ kind }) => {
  it('initialises, serves, and shuts down on SIGTERM with exit code 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-cli-'));
    let database = `sqlite:${join(dir, 'foyer.db')}`;
    let dbName: string | undefined;
    if (kind === 'postgres') {
      dbName = `cli_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      database = POSTGRES_URL.replace(/\/[^/]*$/, `/${dbName}`);
    }
    try {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const init = foyer(['init', '--server-name', 'cli.test', '--data-dir', dir, '--port', String(port), '--database', database]);
      assert.equal(init.status, 0, init.stderr);
      assert.match(readFileSync(join(dir, 'signing.key'), 'utf8'), /^ed25519 a_\w+ [A-Za-z0-9+/]{43}\n$/);
      const again = foyer(['init', '--server-name', 'cli.test', '--data-dir', dir]);
      assert.notEqual(again.status, 0);
      assert.match(again.stderr, /already exists/);

      const server = spawn(process.execPath, [FOYER, 'start', '--config', join(dir, 'foyer.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      server.stdout.on('data', (d) => (output += d));
      server.stderr.on('data', (d) => (output += d));
      const deadline = Date.now() + 90_000;
      let versions: Response | undefined;
      while (Date.now() < deadline) {
        try {
          versions = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.equal(versions?.status, 200, output);
      const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
      server.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (dbName) {
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
        await admin.end();
      }
    }
  });
});

it('explains bad input in one line with a non-zero exit', () => {
  const badName = foyer(['init', '--server-name', 'bad name!', '--data-dir', join(tmpdir(), 'never-created')]);
  assert.equal(badName.status, 1);
  assert.match(badName.stderr, /^foyer: invalid server name/);
  const noConfig = foyer(['start', '--config', '/nonexistent/foyer.yaml']);
  assert.equal(noConfig.status, 1);
  assert.match(noConfig.stderr, /^foyer: cannot read config file/);
  assert.equal(noConfig.stderr.trim().split('\n').length, 1);
});
