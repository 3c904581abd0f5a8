// docs/spec-coverage.md is generated from the spec's endpoint list, the routes under src/api and
// the requests in test/. This test regenerates it and fails when the committed page is stale
// (fix: `npm run coverage-doc`), and checks the generator itself on a small made-up project.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { COVERAGE_DOC, generateCoverageDoc, REPO_ROOT } from '../scripts/spec-coverage.ts';
import { pathFits, scanSources } from '../scripts/coverage/scan.ts';
import { WILDCARD } from '../scripts/coverage/ts-eval.ts';
import type { SpecEndpointsFile } from '../scripts/extract-spec-endpoints.ts';

describe('docs/spec-coverage.md', () => {
  it('is up to date (run `npm run coverage-doc` after adding routes or tests)', () => {
    const committed = readFileSync(join(REPO_ROOT, COVERAGE_DOC), 'utf8');
    const fresh = generateCoverageDoc(REPO_ROOT);
    if (committed !== fresh) {
      const a = committed.split('\n');
      const b = fresh.split('\n');
      const i = a.findIndex((l, n) => l !== b[n]);
      assert.fail(
        `${COVERAGE_DOC} is out of date; run \`npm run coverage-doc\`.\nFirst difference at line ${i + 1}:\n  committed: ${a[i]}\n  generated: ${b[i]}`,
      );
    }
  });

  it('reads every route declaration under src/api', () => {
    const { unread, routes } = scanSources(REPO_ROOT);
    assert.deepEqual(unread, [], 'route declarations whose method or path the generator cannot evaluate');
    assert.ok(routes.some((r) => r.method === 'GET' && r.path === '/_matrix/client/v3/sync'));
  });
});

describe('docs/spec-endpoints.json', () => {
  const data = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/spec-endpoints.json'), 'utf8')) as SpecEndpointsFile;

  it('lists each API of the spec once per method and path, each with a section and a link', () => {
    const count = (api: string) => data.endpoints.filter((e) => e.api === api).length;
    // v1.16 has 160 client-server, 37 server-server, 9 appservice, 1 push gateway, 23 identity endpoints.
    assert.equal(data.spec_version, 'v1.16');
    assert.equal(count('client-server'), 160);
    assert.equal(count('server-server'), 37);
    assert.equal(count('application-service'), 9);
    assert.equal(count('push-gateway'), 1);
    assert.equal(count('identity'), 23);
    const keys = data.endpoints.map((e) => `${e.method} ${e.path}`);
    assert.equal(new Set(keys).size, keys.length, 'duplicate endpoints');
    for (const e of data.endpoints) {
      assert.ok(e.spec_section.length > 0 && /^https:\/\//.test(e.url), `${e.method} ${e.path}`);
      if (e.api === 'push-gateway' || e.api === 'identity') assert.equal(e.note, 'not a homeserver endpoint');
    }
    assert.ok(data.endpoints.some((e) => e.path === '/_matrix/client/v3/login' && e.method === 'POST' && e.spec_section.includes('Login')));
    assert.ok(data.endpoints.some((e) => e.path === '/_matrix/client/v3/sync' && e.method === 'GET'));
    assert.ok(data.endpoints.some((e) => e.path === '/_matrix/client/v3/initialSync' && e.deprecated));
  });

  it('includes the Synapse admin endpoints admin tools call', () => {
    const has = (method: string, path: string) => data.endpoints.some((e) => e.api === 'synapse-admin' && e.method === method && e.path === path);
    for (const [m, p] of [
      ['POST', '/_synapse/admin/v1/register'],
      ['GET', '/_synapse/admin/v2/users'],
      ['GET', '/_synapse/admin/v2/users/{userId}'],
      ['PUT', '/_synapse/admin/v2/users/{userId}'],
      ['POST', '/_synapse/admin/v1/deactivate/{userId}'],
      ['POST', '/_synapse/admin/v1/reset_password/{userId}'],
      ['GET', '/_synapse/admin/v1/rooms'],
      ['DELETE', '/_synapse/admin/v2/rooms/{roomId}'],
      ['GET', '/_synapse/admin/v1/media/{serverName}/{mediaId}'],
      ['GET', '/_synapse/admin/v1/server_version'],
      ['GET', '/_synapse/admin/v1/registration_tokens'],
    ]) {
      assert.ok(has(m, p), `${m} ${p}`);
    }
  });
});

describe('coverage generator', () => {
  it('matches spec templates against used paths', () => {
    const w = WILDCARD;
    assert.ok(pathFits('/_matrix/client/v3/rooms/{roomId}/join', `/_matrix/client/v3/rooms/${w}/join`));
    assert.ok(!pathFits('/_matrix/client/v3/rooms/{roomId}/join', `/_matrix/client/v3/rooms/${w}/${w}`));
    assert.ok(pathFits('/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', `/_matrix/client/v3/rooms/${w}/state/m.room.name`));
    assert.ok(!pathFits('/_matrix/client/v3/profile/{userId}/{keyName}', `/_matrix/client/v3/profile/${w}`));
    assert.ok(pathFits('/_matrix/client/v3/pushrules/', '/_matrix/client/v3/pushrules'));
  });

  it('finds routes built by helpers, loops and constants, and the tests that request them', () => {
    const root = mkdtempSync(join(tmpdir(), 'foyer-coverage-'));
    try {
      const write = (rel: string, text: string) => {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        writeFileSync(join(root, rel), text);
      };
      const endpoint = (method: string, path: string, section: string) => ({
        api: 'client-server', method, path, spec_section: section, served_by: 'homeserver', url: `https://spec.example/${method}${path}`,
      });
      write('docs/spec-endpoints.json', JSON.stringify({
        spec_version: 'v1.16',
        comment: '',
        endpoints: [
          endpoint('POST', '/_matrix/client/v3/rooms/{roomId}/kick', 'Rooms › Leaving rooms'),
          endpoint('POST', '/_matrix/client/v3/rooms/{roomId}/ban', 'Rooms › Leaving rooms'),
          endpoint('POST', '/_matrix/client/v3/join/{roomIdOrAlias}', 'Rooms › Joining rooms'),
          endpoint('GET', '/_matrix/client/v3/pushrules/global/{kind}/{ruleId}', 'Push'),
          endpoint('GET', '/_matrix/client/v3/rooms/{roomId}/members', 'Rooms'),
          { ...endpoint('POST', '/_matrix/push/v1/notify', 'Push gateway'), api: 'push-gateway', served_by: 'push gateway', note: 'not a homeserver endpoint' },
        ],
      }));
      write('docs/msc-list.json', JSON.stringify({
        mscs: [
          { msc: 1, title: 'Joining', status: 'in spec', area: 'x', foyer: { endpoints: ['POST /_matrix/client/v3/join/{roomIdOrAlias}', 'POST /_matrix/client/v3/knock/{roomIdOrAlias}'] } },
          { msc: 2, title: 'Magic', status: 'open', area: 'x', foyer: { source: 'msc0002', in: 'src' } },
        ],
      }));
      write('src/api/rooms.ts', `
        const BASE = '/_matrix/client/v3/pushrules';
        export function routes(r: any, path: string) {
          for (const action of ['kick', 'ban'] as const) {
            r.route({ method: 'POST', path: \`/_matrix/client/v3/rooms/:roomId/\${action}\`, handler: () => ({}) });
          }
          const selfAction = (p: string) => r.route({ method: 'POST', path: p, handler: () => ({}) });
          selfAction('/_matrix/client/v3/join/:roomIdOrAlias');
          r.route({ method: 'GET', path: \`\${BASE}/global/:kind/:ruleId\`, handler: () => ({}) });
          r.route({ method: 'GET', path: '/_matrix/client/v3/org.example/extra', handler: () => ({}) });
          r.route({ method: 'GET', path, handler: () => ({}) });
        }
      `);
      write('test/rooms.test.ts', `
        const room = (id: string) => \`/_matrix/client/v3/rooms/\${encodeURIComponent(id)}\`;
        const joinPath = \`/_matrix/client/r0/join/\${'x'}\`;
        export async function t(s: any, id: string) {
          await s.request('POST', \`\${room(id)}/kick\`, {});
          await s.request('GET', \`\${room(id)}/ban\`, {});
          await s.request('POST', joinPath, {});
        }
      `);
      const doc = generateCoverageDoc(root);
      const row = (path: string) => doc.split('\n').find((l) => l.includes(`[\`${path}\`]`)) ?? '';
      assert.match(row('/_matrix/client/v3/rooms/{roomId}/kick'), /\| implemented \| rooms \|$/);
      // The test sends GET to /ban: a route exists, but no test POSTs to it.
      assert.match(row('/_matrix/client/v3/rooms/{roomId}/ban'), /\| implemented \| — \|$/);
      assert.match(row('/_matrix/client/v3/join/{roomIdOrAlias}'), /\| implemented \| rooms \|$/);
      assert.match(row('/_matrix/client/v3/pushrules/global/{kind}/{ruleId}'), /\| implemented \| — \|$/);
      assert.match(row('/_matrix/client/v3/rooms/{roomId}/members'), /\| not yet \| — \|$/);
      assert.match(row('/_matrix/push/v1/notify'), /\| not applicable \| — \|$/);
      assert.match(doc, /\| GET \| `\/_matrix\/client\/v3\/org\.example\/extra` \| `src\/api\/rooms\.ts` \|/);
      assert.match(doc, /could not read[\s\S]*`src\/api\/rooms\.ts:\d+` — `'GET' path`/);
      assert.match(doc, /\| \[MSC1\]\S* \| Joining \| x \| in spec \| partly \(1 of 2 endpoints\) \|/);
      assert.match(doc, /\| \[MSC2\]\S* \| Magic \| x \| open \| not yet \|/);
      assert.match(doc, /\| \[Client-server API\]\(#client-server-api\) \| 5 \| 4 \| 2 \| 1 \| 0 \|/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
