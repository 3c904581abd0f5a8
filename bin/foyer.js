#!/usr/bin/env node
// `foyer start` runs the server from the JavaScript bundle in dist/, rebuilt first so that it
// always matches the sources (scripts/build.mjs; under a second when nothing changed). Through
// the tsx loader the idle server used about twice the memory. The build runs in its own short
// process so that esbuild is never loaded into the server.
//
// The other commands (init, user, token) are short-lived and run the sources through tsx.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === 'start') {
  try {
    // Quiet unless it fails: `foyer start` errors are one line on stderr.
    execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))], { stdio: 'pipe' });
  } catch (err) {
    process.stderr.write(String(err.stderr ?? ''));
    console.error(`foyer: building dist/ failed: ${err.message.split('\n')[0]}`);
    process.exit(1);
  }
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
