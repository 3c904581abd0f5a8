// URL previews on both databases: off by default; when on, private, loopback and link-local
// addresses are refused (after DNS resolution too), and a test-only allowlist lets the server
// preview a local page whose OpenGraph tags are parsed.
import { before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeEachDatabase } from './harness.ts';
import { rawRequest } from './support/media.ts';

let page: Server;
let port = 0;
let hits = 0;

before(async () => {
  page = createServer((req, res) => {
    hits++;
    if (req.url === '/redirect-inside') {
      res.writeHead(302, { location: 'http://10.0.0.1/secret' });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Fallback title</title>
      <meta property="og:title" content="Foyer &amp; friends">
      <meta property="og:description" content='A page about "chat"'>
      <meta name="og:type" content="website"></head><body>hello</body></html>`);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  port = (page.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => page.close(resolve));
});

const preview = (server: () => import('./harness.ts').TestServer, token: string, url: string) =>
  rawRequest(server(), 'GET', '/_matrix/client/v1/media/preview_url', { token, query: { url } });

describeEachDatabase('url previews, off by default', ({ server }) => {
  it('answers 404 M_UNRECOGNIZED when previews are disabled', async () => {
    const user = await server().registerUser();
    const res = await preview(server, user.accessToken, `http://127.0.0.1:${port}/`);
    assert.equal(res.status, 404);
    assert.equal(res.json.errcode, 'M_UNRECOGNIZED');
  });
});

describeEachDatabase(
  'url previews without an allowlist',
  ({ server }) => {
    it('refuses loopback, private and link-local addresses, literal or resolved', async () => {
      const user = await server().registerUser();
      const before = hits;
      for (const url of [
        `http://127.0.0.1:${port}/`,
        `http://localhost:${port}/`,
        `http://[::1]:${port}/`,
        'http://10.1.2.3/',
        'http://192.168.1.1/',
        'http://169.254.169.254/latest/meta-data/',
        'http://[::ffff:127.0.0.1]/',
      ]) {
        const res = await preview(server, user.accessToken, url);
        assert.equal(res.status, 403, url);
        assert.equal(res.json.errcode, 'M_FORBIDDEN', url);
      }
      assert.equal(hits, before, 'the local page must not have been fetched');
      const notHttp = await preview(server, user.accessToken, 'file:///etc/passwd');
      assert.equal(notHttp.status, 400);
    });
  },
  { media: { url_preview: { enabled: true } } },
);

describeEachDatabase(
  'url previews with a test allowlist',
  ({ server }) => {
    it('previews an allowed local page and parses its OpenGraph tags', async () => {
      const user = await server().registerUser();
      const res = await preview(server, user.accessToken, `http://127.0.0.1:${port}/page`);
      assert.equal(res.status, 200, res.bytes.toString());
      assert.deepEqual(res.json, { 'og:title': 'Foyer & friends', 'og:description': 'A page about "chat"', 'og:type': 'website' });
      // The legacy path is served too (authenticated, as it always was).
      const legacy = await rawRequest(server(), 'GET', '/_matrix/media/v3/preview_url', { token: user.accessToken, query: { url: `http://127.0.0.1:${port}/page` } });
      assert.equal(legacy.status, 200);
    });

    it('still refuses what the allowlist does not cover, including after a redirect', async () => {
      const user = await server().registerUser();
      assert.equal((await preview(server, user.accessToken, `http://[::1]:${port}/`)).status, 403);
      const redirected = await preview(server, user.accessToken, `http://127.0.0.1:${port}/redirect-inside`);
      assert.equal(redirected.status, 403);
    });
  },
  { media: { url_preview: { enabled: true, ip_range_whitelist: ['127.0.0.1/32'] } } },
);
