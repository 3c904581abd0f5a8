// Runs the `foyer` command (bin/foyer.js) as a real process. Never spawnSync: tests often run a
// server in this same process, and a blocked event loop lets its keep-alive timers cut the test
// client's connections.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

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
