// `npm run build` — bundles the server into plain JavaScript under dist/ so that `npm start` runs
// without the tsx loader. Why: through tsx the idle server held ~175 MB RSS; from one bundle
// ~100 MB (no loader hooks thread, no per-file TypeScript transforms and source maps, one module
// record instead of hundreds of node_modules files). Tests keep running the sources through tsx.
//
// Plain JavaScript (not .ts) so that building needs nothing but esbuild.
//
// Layout: dist/main.js (the CLI), dist/bench-server.js (the benchmark's server process, built
// from the same code so that the bench measures what users run), dist/migrations/NNNN_*.js (the
// migrator scans the folder next to the chunk it is bundled into), and shared chunks. Chunks
// stay in dist/ itself: src/storage/migrate.ts finds './migrations/' relative to its own file.
//
// Several processes may build at once (the tests start servers in parallel): every file is
// written to a temporary name and renamed into place, and chunks before the entry points that
// import them, so a process starting meanwhile sees either the old or the new build, whole.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(root, 'dist');

/** Packages loaded from node_modules at run time: native addons (their .node files cannot be
 * bundled) and pino, whose transports start worker threads from files of its own. */
const EXTERNAL = ['better-sqlite3', 'sodium-native', '@node-rs/*', 'pg-native', 'pino', 'pino-pretty', 'thread-stream', 'sonic-boom', 'sharp', '@img/*'];

export async function buildDist() {
  const migrationsDir = join(root, 'src/storage/migrations');
  const entryPoints = { main: join(root, 'src/main.ts'), 'bench-server': join(root, 'bench/server-process.ts') };
  for (const f of readdirSync(migrationsDir)) {
    if (/^\d{4}_[a-z0-9_]+\.ts$/.test(f)) entryPoints[`migrations/${f.slice(0, -3)}`] = join(migrationsDir, f);
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    outdir: DIST,
    entryNames: '[dir]/[name]',
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS packages call require() for Node built-ins; ESM output has no require.
    banner: { js: "import { createRequire as __foyerCreateRequire } from 'node:module'; const require = __foyerCreateRequire(import.meta.url);" },
    // Whitespace and syntax only: identifiers keep their names (error classes, stack traces,
    // and libraries that look at function names). Comments go, so the source V8 keeps in memory
    // for lazy compilation is about half the size.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    charset: 'ascii',
    legalComments: 'none',
    sourcemap: false,
    write: false,
    logLevel: 'warning',
  });
  mkdirSync(join(DIST, 'migrations'), { recursive: true });
  const isEntry = (path) => !/[\\/]chunk-[A-Z0-9]+\.js$/.test(path);
  const files = [...result.outputFiles].sort((a, b) => Number(isEntry(a.path)) - Number(isEntry(b.path)));
  const written = new Set();
  for (const file of files) {
    written.add(file.path);
    let same = false;
    try {
      same = readFileSync(file.path).equals(Buffer.from(file.contents));
    } catch {
      // not there yet
    }
    if (same) continue;
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
  // Chunks of earlier builds: left alone while a concurrent build may still be writing, so only
  // remove those not written by this build and not temporary.
  for (const dir of [DIST, join(DIST, 'migrations')]) {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name.endsWith('.js') && !written.has(path)) rmSync(path, { force: true });
    }
  }
  return [...written].map((p) => relative(root, p));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const files = await buildDist();
  console.error(`built ${files.length} files into dist/ in ${Date.now() - started} ms`);
}
