// Runs the `foyer` command (bin/foyer.js) as a real process. Never spawnSync: tests often run a
// server in this same process, and a blocked event loop lets its keep-alive timers cut the test
// client's connections.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const FOYER_BIN = join(import.meta.dirname, '..', '..', 'bin', 'foyer.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `foyer ARGS… --config CONFIG`, resolved when the process exits. */
export function runFoyer(configPath: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FOYER_BIN, ...args, '--config', configPath]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

/**
 * A database of its own for a test that runs the CLI and a server on one config: a file under
 * `dir` on SQLite, a fresh PostgreSQL database otherwise (the CLI only knows the config's URL).
 */
export async function scratchDatabase(kind: 'sqlite' | 'postgres', dir: string, postgresUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') return { url: `sqlite:${join(dir, 'foyer.db')}`, drop: async () => {} };
  const name = `foyer_cli_${randomBytes(5).toString('hex')}`;
  const admin = async (query: string) => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(query);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
