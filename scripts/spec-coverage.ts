// `npm run coverage-doc`: writes docs/spec-coverage.md, the page that tells users which parts of
// the Matrix specification (and of the Synapse admin API) Foyer serves and which tests exercise
// them. Inputs: docs/spec-endpoints.json (from scripts/extract-spec-endpoints.ts), docs/msc-list.json,
// the routes declared under src/api and the request paths in test/**/*.test.ts.
// test/spec-coverage-doc.test.ts regenerates the page and fails when the committed one differs,
// so whoever adds a route or a test re-runs this script.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpecEndpoint, SpecEndpointsFile } from './extract-spec-endpoints.ts';
import { pathFits, scanSources, type DeclaredRoute, type PathUse } from './coverage/scan.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const COVERAGE_DOC = 'docs/spec-coverage.md';

interface MscEntry {
  msc: number;
  title: string;
  status: string;
  area: string;
  foyer: { endpoints: string[] } | { source: string; in: string };
}

const API_TITLES: Record<SpecEndpoint['api'], string> = {
  'client-server': 'Client-server API',
  'server-server': 'Server-server (federation) API',
  'application-service': 'Application service API',
  'synapse-admin': 'Synapse admin API (not in the Matrix spec; used by admin tools)',
  'push-gateway': 'Push gateway API',
  identity: 'Identity service API',
};
const API_ORDER: SpecEndpoint['api'][] = ['client-server', 'server-server', 'application-service', 'synapse-admin', 'push-gateway', 'identity'];

type Status = 'implemented' | 'not yet' | 'not applicable';

interface Row {
  endpoint: SpecEndpoint;
  status: Status;
  detail?: string;
  tests: string[];
}

/** `{roomId}` and `{roomIdOrAlias}` are the same slot: compare templates with names erased. */
const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}').replace(/(.)\/$/, '$1');

const testName = (file: string) => file.replace(/^test\//, '').replace(/\.test\.ts$/, '');

function testsFor(e: SpecEndpoint, uses: PathUse[]): string[] {
  const names = new Set<string>();
  for (const u of uses) {
    if (u.method && u.method !== e.method) continue;
    if (pathFits(e.path, u.path)) names.add(testName(u.file) + (u.viaSdk ? ' (SDK)' : ''));
  }
  return [...names].sort();
}

function statusOf(e: SpecEndpoint, served: Set<string>, outbound: PathUse[]): Pick<Row, 'status' | 'detail'> {
  const key = `${e.method} ${shape(e.path)}`;
  if (e.served_by === 'homeserver') return { status: served.has(key) ? 'implemented' : 'not yet' };
  // Other parties serve these; Foyer's side is calling them.
  const calls = outbound.some((u) => pathFits(e.path, u.path));
  if (e.served_by === 'application service') return calls ? { status: 'implemented', detail: 'Foyer calls it' } : { status: 'not yet' };
  return calls ? { status: 'not applicable', detail: 'Foyer calls it' } : { status: 'not applicable' };
}

function sourceFiles(root: string, dir: string, out: string[] = []): string[] {
  if (!existsSync(join(root, dir))) return out;
  for (const ent of readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = `${dir}/${ent.name}`;
    if (ent.isDirectory()) sourceFiles(root, rel, out);
    else if (ent.name.endsWith('.ts') && !ent.name.endsWith('.test.ts') && !ent.name.startsWith('test-')) out.push(rel);
  }
  return out;
}

function mscSupport(m: MscEntry, root: string, served: Set<string>): string {
  if ('endpoints' in m.foyer) {
    const have = m.foyer.endpoints.filter((x) => {
      const [method, path] = x.split(' ');
      return served.has(`${method} ${shape(path)}`);
    }).length;
    const total = m.foyer.endpoints.length;
    return have === total ? 'yes' : have > 0 ? `partly (${have} of ${total} endpoints)` : 'not yet';
  }
  const re = new RegExp(m.foyer.source, 'i');
  const hits = sourceFiles(root, m.foyer.in).filter((f) => re.test(readFileSync(join(root, f), 'utf8')));
  return hits.length > 0 ? `yes (see ${hits.slice(0, 2).map((f) => `\`${f}\``).join(', ')})` : 'not yet';
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function renderTests(tests: string[]): string {
  if (tests.length === 0) return '—';
  const shown = tests.slice(0, 4).join(', ');
  return tests.length > 4 ? `${shown} +${tests.length - 4} more` : shown;
}

function anchorOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

/** The whole page, as a string (the test compares it with the committed file). */
export function generateCoverageDoc(root: string = REPO_ROOT): string {
  const spec = JSON.parse(readFileSync(join(root, 'docs/spec-endpoints.json'), 'utf8')) as SpecEndpointsFile;
  const mscs = (JSON.parse(readFileSync(join(root, 'docs/msc-list.json'), 'utf8')) as { mscs: MscEntry[] }).mscs;
  const scan = scanSources(root);
  const served = new Set(scan.routes.map((r) => `${r.method} ${shape(r.path)}`));
  const specKeys = new Set(spec.endpoints.map((e) => `${e.method} ${shape(e.path)}`));

  const rows: Row[] = spec.endpoints.map((e) => {
    const s = statusOf(e, served, scan.outbound);
    return { endpoint: e, ...s, tests: s.status === 'implemented' && e.served_by === 'homeserver' ? testsFor(e, scan.tests) : [] };
  });

  const out: string[] = [];
  const line = (s = '') => out.push(s);
  line('# Matrix specification coverage');
  line();
  line(`What Foyer serves today, endpoint by endpoint, against the Matrix specification ${spec.spec_version} and the`);
  line('Synapse admin API that admin tools use. This page is generated — do not edit it by hand: run');
  line('`npm run coverage-doc` after adding a route or a test (`test/spec-coverage-doc.test.ts` fails when it is stale).');
  line();
  line('- **implemented**: a route under `src/api` answers this method and path (client-server v3 paths also under r0).');
  line('  For the application service API, Foyer is the caller: *implemented* means Foyer calls it.');
  line('- **not yet**: no route yet. **not applicable**: the endpoint is served by another party (push gateway,');
  line('  identity server), never by a homeserver.');
  line('- **Tests**: test files under `test/` whose requests (or matrix-js-sdk calls, marked SDK) hit the path;');
  line('  every such test runs against both SQLite and PostgreSQL. Found by reading the tests, so it is a guide, not proof.');
  line('  On top of these, `test/bad-input-sweep.test.ts` calls every route Foyer serves with bad input (no token, bodies');
  line('  that are not JSON or have fields of the wrong type, junk query and path parameters) and checks that each answer');
  line('  is a Matrix error with the spec\'s status, never a 500; `test/authorization-sweep.test.ts` calls every route as a');
  line('  stranger aimed at another user\'s private room, events, account and media, and checks that none succeeds.');
  line();
  line('## Summary');
  line();
  line('| API | Endpoints | Implemented | With tests | Not yet | Not applicable |');
  line('|---|---:|---:|---:|---:|---:|');
  for (const api of API_ORDER) {
    const rs = rows.filter((r) => r.endpoint.api === api);
    if (rs.length === 0) continue;
    const n = (s: Status) => rs.filter((r) => r.status === s).length;
    const tested = rs.filter((r) => r.tests.length > 0).length;
    line(`| [${API_TITLES[api]}](#${anchorOf(API_TITLES[api])}) | ${rs.length} | ${n('implemented')} | ${tested} | ${n('not yet')} | ${n('not applicable')} |`);
  }
  line();
  line(`Also: [other routes Foyer serves](#other-routes-foyer-serves) and [spec proposals (MSCs)](#spec-proposals-mscs).`);

  for (const api of API_ORDER) {
    const rs = rows.filter((r) => r.endpoint.api === api);
    if (rs.length === 0) continue;
    line();
    line(`## ${API_TITLES[api]}`);
    const sections: string[] = [];
    for (const r of rs) if (!sections.includes(r.endpoint.spec_section)) sections.push(r.endpoint.spec_section);
    for (const section of sections) {
      line();
      line(`### ${section}`);
      line();
      line('| Method | Path | Status | Tests |');
      line('|---|---|---|---|');
      for (const r of rs.filter((x) => x.endpoint.spec_section === section)) {
        const e = r.endpoint;
        const path = `[\`${cell(e.path)}\`](${e.url})${e.deprecated ? ' *(deprecated)*' : ''}`;
        const status = r.detail ? `${r.status} (${r.detail})` : r.status;
        line(`| ${e.method} | ${path} | ${status} | ${cell(renderTests(r.tests))} |`);
      }
    }
  }

  line();
  line('## Other routes Foyer serves');
  line();
  line('Routes that match no endpoint above: path variants the spec describes in prose (an empty state key');
  line('without its trailing slash, say) or endpoints outside the lists above.');
  line();
  const others = dedupeRoutes(scan.routes.filter((r) => !specKeys.has(`${r.method} ${shape(r.path)}`)));
  if (others.length === 0) line('None.');
  else {
    line('| Method | Path | Declared in |');
    line('|---|---|---|');
    for (const r of others) line(`| ${r.method} | \`${cell(r.path)}\` | \`${r.file}\` |`);
  }
  if (scan.unread.length > 0) {
    line();
    line('Route declarations the generator could not read (their method or path is computed in a way it does');
    line('not follow; they are missing from the tables above):');
    line();
    for (const u of scan.unread) line(`- \`${u.file}:${u.line}\` — \`${cell(u.what)}\``);
  }

  line();
  line('## Spec proposals (MSCs)');
  line();
  line('Proposals Foyer users ask about, with their standing in the spec process (from `docs/msc-list.json`).');
  line('"Foyer" is decided from the routes, or from the code named in that file.');
  line();
  line('| MSC | Title | Area | Status | Foyer |');
  line('|---|---|---|---|---|');
  for (const m of mscs) {
    line(`| [MSC${m.msc}](https://github.com/matrix-org/matrix-spec-proposals/pull/${m.msc}) | ${cell(m.title)} | ${m.area} | ${cell(m.status)} | ${cell(mscSupport(m, root, served))} |`);
  }
  return out.join('\n') + '\n';
}

function dedupeRoutes(routes: DeclaredRoute[]): DeclaredRoute[] {
  const seen = new Set<string>();
  return routes.filter((r) => {
    const k = `${r.method} ${r.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const doc = generateCoverageDoc();
  writeFileSync(join(REPO_ROOT, COVERAGE_DOC), doc);
  console.log(`wrote ${COVERAGE_DOC}`);
}
