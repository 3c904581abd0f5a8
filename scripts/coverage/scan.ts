// What Foyer serves, calls and tests, read from its sources:
// - routes: every `r.route({ method, path })` under src/api;
// - outbound calls: paths of other parties' APIs (appservice, push gateway, identity server)
//   that code under src/ builds;
// - tests: the request paths each test/**/*.test.ts file uses (string literals and templates,
//   `${…}` parts standing for one path segment), plus matrix-js-sdk methods mapped to endpoints.
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import ts from 'typescript';
import { createEvaluator, propertyOf, WILDCARD } from './ts-eval.ts';
import { SDK_METHOD_ENDPOINTS } from './sdk-methods.ts';

export interface DeclaredRoute {
  method: string;
  /** With `{param}` placeholders, like the spec. */
  path: string;
  file: string;
  line: number;
}

export interface UnreadRoute {
  file: string;
  line: number;
  what: string;
}

/** A path some code uses: segments with WILDCARD parts; method when known. */
export interface PathUse {
  method: string | null;
  path: string;
  file: string;
  viaSdk?: boolean;
}

export interface ScanResult {
  routes: DeclaredRoute[];
  unread: UnreadRoute[];
  outbound: PathUse[];
  tests: PathUse[];
}

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
/** Where a Matrix path starts inside a longer string (a URL with a host, say). */
const PATH_START = /\/(_matrix|_synapse|\.well-known)\//;

function listTs(root: string, dir: string, filter: (name: string) => boolean, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, dir)).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) listTs(root, rel, filter, out);
    else if (name.endsWith('.ts') && filter(name)) out.push(rel);
  }
  return out;
}

const posix = (p: string) => p.split(sep).join('/');

/** `:param` (Fastify) → `{param}` (spec). */
export function routeToTemplate(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Strips what is not part of the path template: the origin, the query, a trailing slash; r0 → v3. */
export function normaliseUsedPath(s: string): string | null {
  const m = PATH_START.exec(s);
  if (!m) return null;
  let p = s.slice(m.index);
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  p = p.replace('/_matrix/client/r0/', '/_matrix/client/v3/');
  return p;
}

export function scanSources(root: string): ScanResult {
  const apiFiles = listTs(root, 'src/api', (n) => !n.endsWith('.test.ts'));
  const srcFiles = listTs(root, 'src', (n) => !n.endsWith('.test.ts'));
  // The generator's own test names paths in fixtures and assertions, not in requests.
  const testFiles = listTs(root, 'test', (n) => n.endsWith('.test.ts') && n !== 'spec-coverage-doc.test.ts');
  const ev = createEvaluator([...new Set([...srcFiles, ...testFiles])].map((f) => join(root, f)));
  const source = (rel: string) => ev.program.getSourceFile(join(root, rel))!;
  const lineOf = (node: ts.Node) => node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1;

  // --- Routes ---------------------------------------------------------------------------------
  const routes: DeclaredRoute[] = [];
  const unread: UnreadRoute[] = [];
  for (const file of apiFiles) {
    if (posix(file) === 'src/api/router.ts') continue;
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'route' &&
        node.arguments.length === 1 &&
        ts.isObjectLiteralExpression(node.arguments[0])
      ) {
        const obj = node.arguments[0];
        const methodExpr = propertyOf(obj, 'method');
        const pathExpr = propertyOf(obj, 'path');
        const methods = methodExpr ? ev.strings(methodExpr, false) : null;
        const paths = pathExpr ? ev.strings(pathExpr, false) : null;
        if (!methods || !paths) {
          unread.push({ file: posix(file), line: lineOf(node), what: `${methodExpr?.getText() ?? '?'} ${pathExpr?.getText() ?? '?'}` });
        } else {
          for (const m of methods) for (const p of paths) routes.push({ method: m.toUpperCase(), path: routeToTemplate(p), file: posix(file), line: lineOf(node) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source(file));
  }

  // --- Path uses (outbound calls in src/, requests in test/) ------------------------------------
  const pathUses = (file: string, keep: (path: string) => boolean): PathUse[] => {
    const uses: PathUse[] = [];
    const record = (expr: ts.Expression, method: string | null) => {
      for (const s of ev.strings(expr, true) ?? []) {
        const p = normaliseUsedPath(s);
        if (p && keep(p)) uses.push({ method, path: p, file: posix(file) });
      }
    };
    const visit = (node: ts.Node): void => {
      // request('POST', path) with `path` a constant: read the constant here, with the method.
      if (ts.isCallExpression(node)) {
        node.arguments.forEach((arg, i) => {
          const prev = i > 0 ? node.arguments[i - 1] : undefined;
          if (ts.isIdentifier(arg) && prev && ts.isStringLiteral(prev) && HTTP_METHODS.has(prev.text)) record(arg, prev.text);
        });
      }
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) {
        const parent = node.parent;
        // A constant's initializer or a part of a larger template is read where it is used.
        const usedElsewhere = ts.isVariableDeclaration(parent) || ts.isTemplateSpan(parent);
        if (!usedElsewhere) {
          let method: string | null = null;
          // request('PUT', path, …): the method is the argument before the path.
          if (ts.isCallExpression(parent)) {
            const i = parent.arguments.indexOf(node as ts.Expression);
            const prev = i > 0 ? parent.arguments[i - 1] : undefined;
            if (prev && (ts.isStringLiteral(prev) || ts.isNoSubstitutionTemplateLiteral(prev)) && HTTP_METHODS.has(prev.text)) method = prev.text;
          }
          record(node, method);
        }
        if (!ts.isTemplateExpression(node)) return;
      }
      ts.forEachChild(node, visit);
    };
    visit(source(file));
    return uses;
  };

  const outbound: PathUse[] = [];
  for (const file of srcFiles) {
    if (posix(file).startsWith('src/api/')) continue;
    outbound.push(...pathUses(file, (p) => /^\/_matrix\/(app|push|identity)\//.test(p)));
  }

  const tests: PathUse[] = [];
  for (const file of testFiles) {
    tests.push(...pathUses(file, () => true));
    const sf = source(file);
    const usesSdk = sf.statements.some(
      (s) => ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && /matrix-js-sdk|support\/js-sdk/.test(s.moduleSpecifier.text),
    );
    if (!usesSdk) continue;
    const called = new Set<string>();
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) called.add(node.expression.name.text);
      ts.forEachChild(node, visit);
    };
    visit(sf);
    for (const name of [...called].sort()) {
      for (const endpoint of Object.hasOwn(SDK_METHOD_ENDPOINTS, name) ? SDK_METHOD_ENDPOINTS[name] : []) {
        const [method, path] = endpoint.split(' ');
        tests.push({ method, path, file: posix(file), viaSdk: true });
      }
    }
  }

  return { routes, unread, outbound, tests };
}

/** Does a used path (with WILDCARD parts) fit a spec template? */
export function pathFits(template: string, used: string): boolean {
  const strip = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  const t = strip(template).split('/');
  const u = strip(used).split('/');
  // The state key may be empty, and then the trailing slash is optional.
  if (t.length === u.length + 1 && t[t.length - 1] === '{stateKey}') t.pop();
  if (t.length !== u.length) return false;
  for (let i = 0; i < t.length; i++) {
    const ts_ = t[i];
    const us = u[i];
    if (/^\{[^}]+\}$/.test(ts_)) {
      if (us.length === 0) return false;
      continue;
    }
    if (!us.includes(WILDCARD)) {
      if (us !== ts_) return false;
      continue;
    }
    // A segment made of a parameter alone only fits a parameter: `/rooms/${id}/${x}` must not
    // claim every literal endpoint under /rooms/{roomId}/.
    if (us === WILDCARD) return false;
    const re = new RegExp(`^${us.split(WILDCARD).map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (!re.test(ts_)) return false;
  }
  return true;
}
