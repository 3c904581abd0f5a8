// `npm run lint` (after tsc): checks the architecture rules of shared/DESIGN.md §2 that the
// type checker cannot — dependencies point down only (api → services → storage → core), and
// nothing in core/ does I/O, and SQL lives in storage/ only (services call stores).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const ORDER = ['core', 'storage', 'services', 'api'];
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|http|https|child_process|dgram|dns|tls|worker_threads)$|^(pg|better-sqlite3|undici|kysely)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const problems: string[] = [];
for (const file of walk('src')) {
  const layer = relative('src', file).split('/')[0];
  const rank = ORDER.indexOf(layer);
  const text = readFileSync(file, 'utf8');
  if ((layer === 'services' || layer === 'api') && /\.(selectFrom|insertInto|updateTable|deleteFrom)\(/.test(text)) {
    problems.push(`${file}: builds SQL — queries belong in a store under src/storage/stores`);
  }
  for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1];
    if (spec.startsWith('.')) {
      const target = relative('src', resolve(dirname(file), spec)).split('/')[0];
      const targetRank = ORDER.indexOf(target);
      if (rank >= 0 && targetRank > rank) problems.push(`${file}: ${layer} imports ${target} (${spec}) — dependencies point down only`);
    } else if (layer === 'core' && IO_MODULES.test(spec)) {
      problems.push(`${file}: core imports ${spec} — core/ does no I/O`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: layers ok');
