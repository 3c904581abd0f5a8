// Builds docs/spec-endpoints.json: every HTTP endpoint of the Matrix specification (client-server,
// server-server, application-service, push gateway, identity), each with the spec section that
// documents it, plus the Synapse admin API endpoints that admin tools (synadm, Ketesa /
// synapse-admin) call. CI has no network, so the JSON is committed; re-run this after moving to a
// newer spec release:
//
//   git -C <matrix-spec checkout> archive v1.16 data/api content | tar -x -C /tmp/spec
//   node --import tsx scripts/extract-spec-endpoints.ts /tmp/spec/data/api [--spec-version v1.16]
//
// The section of an endpoint is read from the spec's own pages (content/*.md): each
// `{{% http-api spec="…" api="<file>" %}}` shortcode sits under the headings that introduce it.
// The content folder is looked for next to data/ (`<data/api>/../../content`).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { SYNAPSE_ADMIN_ENDPOINTS } from './synapse-admin-endpoints.ts';

export type ApiName = 'client-server' | 'server-server' | 'application-service' | 'push-gateway' | 'identity' | 'synapse-admin';

export interface SpecEndpoint {
  api: ApiName;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** Full path with `{param}` placeholders, e.g. /_matrix/client/v3/rooms/{roomId}/join */
  path: string;
  /** Heading chain of the spec page that documents it, e.g. "Client Authentication › Login". */
  spec_section: string;
  /** Who serves the endpoint: a homeserver, or the party a homeserver (or client) calls. */
  served_by: 'homeserver' | 'application service' | 'push gateway' | 'identity server';
  /** Set for endpoints a homeserver never serves (push gateway, identity server). */
  note?: string;
  deprecated?: true;
  operation_id?: string;
  /** Link to the endpoint's description. */
  url: string;
}

export interface SpecEndpointsFile {
  spec_version: string;
  comment: string;
  endpoints: SpecEndpoint[];
}

/** API folder name in data/api → the page that renders it and who serves its endpoints. */
const APIS: Record<string, { api: ApiName; page: string; servedBy: SpecEndpoint['served_by'] }> = {
  'client-server': { api: 'client-server', page: 'client-server-api', servedBy: 'homeserver' },
  'server-server': { api: 'server-server', page: 'server-server-api', servedBy: 'homeserver' },
  'application-service': { api: 'application-service', page: 'application-service-api', servedBy: 'application service' },
  'push-gateway': { api: 'push-gateway', page: 'push-gateway-api', servedBy: 'push gateway' },
  identity: { api: 'identity', page: 'identity-service-api', servedBy: 'identity server' },
};

/** Spec pages, in the order the document lists them. */
const PAGES = ['client-server-api/_index.md', 'server-server-api.md', 'application-service-api.md', 'push-gateway-api.md', 'identity-service-api.md'];

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Hugo's `anchorize`, which the spec uses for endpoint anchors: lower case, keep letters, digits, `-` and `_`. */
export function anchorize(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s/g, '-')
    .replace(/[^\p{L}\p{N}_-]/gu, '');
}

interface ApiReference {
  spec: string; // folder under data/api
  api: string; // yaml file name without extension
  page: string; // spec page (URL path) the reference renders on
  section: string;
  anchorBase?: string;
}

const GENERIC_HEADING = /^((client|server) behaviou?r|protocol definitions|api endpoints)$/i;

function cleanHeading(text: string): string {
  return text
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&')
    .replace(/\{#?[^}]*\}\s*$/, '') // {id="..."} / {#anchor}
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links
    .replace(/`/g, '')
    .trim();
}

/** Walks the spec pages in reading order and records, for each http-api shortcode, the headings above it. */
function collectReferences(contentDir: string): ApiReference[] {
  const refs: ApiReference[] = [];
  const walk = (file: string, page: string, stack: string[]): void => {
    let inFence = false;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
      if (inFence) continue;
      const h = /^(#{1,6})\s+(.*)$/.exec(line);
      if (h) {
        const level = h[1].length;
        stack.length = Math.max(0, level - 1);
        stack[level - 1] = cleanHeading(h[2]);
        continue;
      }
      const module = /\{\{%\s*cs-module\s+name="([^"]+)"\s*%\}\}/.exec(line);
      if (module) {
        walk(join(contentDir, 'client-server-api', 'modules', `${module[1]}.md`), page, stack);
        continue;
      }
      const ref = /\{\{%\s*http-api\s+([^%]*)%\}\}/.exec(line);
      if (ref) {
        const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(ref[1])?.[1];
        // Sections: headings of level 2 to 4 (level 1 is the page title, deeper ones are noise).
        // A generic last heading ("Client behaviour") says nothing the one above it does not.
        const parts = stack.slice(1, 4).filter(Boolean);
        if (parts.length > 1 && GENERIC_HEADING.test(parts[parts.length - 1])) parts.pop();
        const section = parts.join(' › ');
        refs.push({ spec: attr('spec')!, api: attr('api')!, page, section, anchorBase: attr('anchor_base') });
      }
    }
  };
  for (const p of PAGES) {
    const page = p.replace(/\/_index\.md$|\.md$/, '');
    walk(join(contentDir, p), page, []);
  }
  return refs;
}

function basePathOf(doc: any): string {
  const base = doc?.servers?.[0]?.variables?.basePath?.default;
  if (typeof base !== 'string') throw new Error('API file without servers[0].variables.basePath.default');
  return base;
}

function endpointsOfFile(file: string, ref: ApiReference, specVersion: string): SpecEndpoint[] {
  const doc = parseYaml(readFileSync(file, 'utf8'));
  const info = APIS[ref.spec];
  const base = basePathOf(doc);
  const out: SpecEndpoint[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item?.[m];
      if (!op) continue;
      const path = base + p;
      const anchor = (ref.anchorBase ? `${ref.anchorBase}_` : '') + m + anchorize(path);
      const e: SpecEndpoint = {
        api: info.api,
        method: m.toUpperCase() as SpecEndpoint['method'],
        path,
        spec_section: ref.section,
        served_by: info.servedBy,
        url: `https://spec.matrix.org/${specVersion}/${ref.page}/#${anchor}`,
      };
      if (info.servedBy === 'push gateway' || info.servedBy === 'identity server') e.note = 'not a homeserver endpoint';
      if (op.deprecated === true) e.deprecated = true;
      if (typeof op.operationId === 'string') e.operation_id = op.operationId;
      out.push(e);
    }
  }
  return out;
}

export function extractSpecEndpoints(apiDir: string, version: string, contentDir = resolve(apiDir, '..', '..', 'content')): SpecEndpointsFile {
  if (!existsSync(contentDir)) throw new Error(`spec content folder not found: ${contentDir}`);
  const refs = collectReferences(contentDir);
  const endpoints: SpecEndpoint[] = [];
  const seen = new Set<string>();
  const usedFiles = new Set<string>();
  for (const ref of refs) {
    if (!APIS[ref.spec]) continue;
    const file = join(apiDir, ref.spec, `${ref.api}.yaml`);
    if (!existsSync(file)) throw new Error(`http-api reference to a missing file: ${file}`);
    usedFiles.add(file);
    for (const e of endpointsOfFile(file, ref, version)) {
      const key = `${e.method} ${e.path}`;
      if (seen.has(key)) continue; // documented twice: keep the first place
      seen.add(key);
      endpoints.push(e);
    }
  }
  // An API file no page includes would otherwise vanish silently.
  for (const spec of Object.keys(APIS)) {
    const dir = join(apiDir, spec);
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
      const file = join(dir, name);
      if (usedFiles.has(file)) continue;
      const ref: ApiReference = { spec, api: basename(name, '.yaml'), page: APIS[spec].page, section: '(not included in the spec pages)' };
      for (const e of endpointsOfFile(file, ref, version)) {
        const key = `${e.method} ${e.path}`;
        if (!seen.has(key)) (seen.add(key), endpoints.push(e));
      }
    }
  }
  for (const a of SYNAPSE_ADMIN_ENDPOINTS) {
    endpoints.push({
      api: 'synapse-admin',
      method: a.method,
      path: a.path,
      spec_section: a.section,
      served_by: 'homeserver',
      ...(a.deprecated ? { deprecated: true as const } : {}),
      url: a.url,
    });
  }
  return {
    spec_version: version,
    comment: 'Generated by scripts/extract-spec-endpoints.ts from matrix-org/matrix-spec data/api at the tag above, plus the Synapse admin API list in scripts/synapse-admin-endpoints.ts. Do not edit by hand.',
    endpoints,
  };
}

function main(argv: string[]): void {
  const args = [...argv];
  let version = 'v1.16';
  const vi = args.indexOf('--spec-version');
  if (vi >= 0) {
    version = args[vi + 1];
    args.splice(vi, 2);
  }
  const apiDir = args[0];
  if (!apiDir) {
    console.error('usage: extract-spec-endpoints.ts <matrix-spec data/api folder> [--spec-version v1.16] [--out docs/spec-endpoints.json]');
    process.exit(2);
  }
  const oi = args.indexOf('--out');
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const out = oi >= 0 ? args[oi + 1] : join(repoRoot, 'docs', 'spec-endpoints.json');
  const data = extractSpecEndpoints(resolve(apiDir), version);
  writeFileSync(out, JSON.stringify(data, null, 2) + '\n');
  const counts = new Map<string, number>();
  for (const e of data.endpoints) counts.set(e.api, (counts.get(e.api) ?? 0) + 1);
  console.log(`wrote ${out}: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
