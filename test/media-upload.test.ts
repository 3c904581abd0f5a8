// Content repository over HTTP on both databases: uploads and downloads byte for byte, the
// safety headers, authentication, limits and quota, asynchronous uploads, deduplication,
// encryption at rest and the legacy endpoints' freeze.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeEachDatabase, type TestServer } from './harness.ts';
import { download, rawRequest, testImage, upload, uploadOk } from './support/media.ts';

const MB = 1024 * 1024;

/** Every stored media file (not temp files, not the database). */
function mediaFiles(server: TestServer): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name !== 'tmp') walk(path);
      } else out.push(path);
    }
  };
  walk(join(server.app.config.data_dir, 'media'));
  return out;
}

describeEachDatabase(
  'media uploads and downloads',
  ({ server }) => {
    it('round-trips several MB of random binary content byte for byte', async () => {
      const user = await server().registerUser();
      const content = randomBytes(5 * MB + 123);
      const res = await upload(server(), user.accessToken, content, 'application/x-test', 'data.bin');
      assert.equal(res.status, 200);
      assert.match(res.json.content_uri, new RegExp(`^mxc://${server().serverName}/[A-Za-z0-9_-]{24,}$`));
      const mediaId = res.json.content_uri.split('/').pop();
      const other = await server().registerUser();
      const got = await download(server(), other.accessToken, mediaId);
      assert.equal(got.status, 200);
      assert.equal(got.bytes.length, content.length);
      assert.ok(got.bytes.equals(content));
      assert.equal(got.headers.get('content-type'), 'application/x-test');
      assert.equal(got.headers.get('content-disposition'), `attachment; filename="data.bin"; filename*=utf-8''data.bin`);
    });

    it('serves the safety headers, inline only for safe types', async () => {
      const user = await server().registerUser();
      const png = await uploadOk(server(), user.accessToken, randomBytes(100), 'image/png', 'pic.png');
      const res = await download(server(), user.accessToken, png);
      assert.equal(res.headers.get('content-disposition'), `inline; filename="pic.png"; filename*=utf-8''pic.png`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'; script-src 'none';/);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.match(res.headers.get('cache-control') ?? '', /private.*immutable/);

      const html = await uploadOk(server(), user.accessToken, Buffer.from('<script>alert(1)</script>'), 'text/html');
      assert.equal((await download(server(), user.accessToken, html)).headers.get('content-disposition'), 'attachment');
      const svg = await uploadOk(server(), user.accessToken, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml', 'x.svg');
      assert.match((await download(server(), user.accessToken, svg)).headers.get('content-disposition') ?? '', /^attachment;/);

      // The file name in the path wins, UTF-8 encoded per RFC 6266.
      const named = await download(server(), user.accessToken, png, 'Photo – été.png');
      assert.equal(named.headers.get('content-disposition'), `inline; filename*=utf-8''Photo%20%E2%80%93%20%C3%A9t%C3%A9.png`);
    });

    it('requires an access token on the authenticated endpoints', async () => {
      const user = await server().registerUser();
      const id = await uploadOk(server(), user.accessToken, randomBytes(10));
      for (const path of [
        `/_matrix/client/v1/media/download/${server().serverName}/${id}`,
        `/_matrix/client/v1/media/download/${server().serverName}/${id}/name.bin`,
        `/_matrix/client/v1/media/thumbnail/${server().serverName}/${id}?width=32&height=32`,
        '/_matrix/client/v1/media/config',
        '/_matrix/client/v1/media/preview_url?url=https://example.org',
      ]) {
        const res = await rawRequest(server(), 'GET', path);
        assert.equal(res.status, 401, path);
        assert.equal(res.json.errcode, 'M_MISSING_TOKEN', path);
      }
      const up = await rawRequest(server(), 'POST', '/_matrix/media/v3/upload', { body: randomBytes(10) });
      assert.equal(up.status, 401);
      assert.equal(up.json.errcode, 'M_MISSING_TOKEN');
      const create = await rawRequest(server(), 'POST', '/_matrix/media/v1/create');
      assert.equal(create.status, 401);
    });

    it('answers 404 for unknown, remote and legacy-frozen media', async () => {
      const user = await server().registerUser();
      assert.equal((await download(server(), user.accessToken, 'nosuchmedia')).json.errcode, 'M_NOT_FOUND');
      const remote = await rawRequest(server(), 'GET', '/_matrix/client/v1/media/download/other.example/abcdef', { token: user.accessToken });
      assert.equal(remote.status, 404);
      assert.equal(remote.json.errcode, 'M_NOT_FOUND');
      // No freeze date configured: the legacy endpoints serve nothing.
      const id = await uploadOk(server(), user.accessToken, randomBytes(10), 'image/png');
      const legacy = await rawRequest(server(), 'GET', `/_matrix/media/v3/download/${server().serverName}/${id}`);
      assert.equal(legacy.status, 404);
      assert.equal(legacy.json.errcode, 'M_NOT_FOUND');
      const legacyThumb = await rawRequest(server(), 'GET', `/_matrix/media/v3/thumbnail/${server().serverName}/${id}`, { query: { width: 32, height: 32 } });
      assert.equal(legacyThumb.status, 404);
    });

    it('reports the upload limit and refuses larger uploads with 413 M_TOO_LARGE', async () => {
      const user = await server().registerUser();
      const config = await rawRequest(server(), 'GET', '/_matrix/client/v1/media/config', { token: user.accessToken });
      assert.deepEqual(config.json, { 'm.upload.size': 6 * MB });
      const legacyConfig = await rawRequest(server(), 'GET', '/_matrix/media/v3/config', { token: user.accessToken });
      assert.deepEqual(legacyConfig.json, { 'm.upload.size': 6 * MB });
      const res = await upload(server(), user.accessToken, randomBytes(6 * MB + 1));
      assert.equal(res.status, 413);
      assert.equal(res.json.errcode, 'M_TOO_LARGE');
      // Exactly the limit is fine.
      assert.equal((await upload(server(), user.accessToken, randomBytes(6 * MB))).status, 200);
    });

    it('enforces the limit while streaming when no Content-Length is sent', async () => {
      const user = await server().registerUser();
      const chunks = (async function* () {
        for (let i = 0; i < 7; i++) yield randomBytes(MB);
      })();
      const res = await fetch(new URL('/_matrix/media/v3/upload', server().baseUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/octet-stream' },
        body: chunks as any,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_TOO_LARGE');
    });

    it('enforces the per-user quota with a clear 413', async () => {
      const user = await server().registerUser();
      for (let i = 0; i < 3; i++) assert.equal((await upload(server(), user.accessToken, randomBytes(5 * MB))).status, 200);
      const res = await upload(server(), user.accessToken, randomBytes(2 * MB));
      assert.equal(res.status, 413);
      assert.equal(res.json.errcode, 'M_TOO_LARGE');
      assert.match(res.json.error, /quota/);
      // Another user is not affected.
      const other = await server().registerUser();
      assert.equal((await upload(server(), other.accessToken, randomBytes(2 * MB))).status, 200);
    });

    it('stores identical uploads once', async () => {
      const user = await server().registerUser();
      const content = randomBytes(MB);
      const before = mediaFiles(server()).length;
      const a = await uploadOk(server(), user.accessToken, content);
      const b = await uploadOk(server(), (await server().registerUser()).accessToken, content);
      assert.notEqual(a, b);
      assert.equal(mediaFiles(server()).length, before + 1);
      assert.ok((await download(server(), user.accessToken, b)).bytes.equals(content));
    });

    it('supports asynchronous uploads: create, upload once, wait for pending media', async () => {
      const alice = await server().registerUser();
      const bob = await server().registerUser();
      const created = await rawRequest(server(), 'POST', '/_matrix/media/v1/create', { token: alice.accessToken });
      assert.equal(created.status, 200);
      const mediaId = created.json.content_uri.split('/').pop();
      assert.ok(created.json.unused_expires_at > Date.now());

      // Not uploaded yet: a download waits timeout_ms, then 504 M_NOT_YET_UPLOADED.
      const early = await rawRequest(server(), 'GET', `/_matrix/client/v1/media/download/${server().serverName}/${mediaId}`, {
        token: bob.accessToken,
        query: { timeout_ms: 200 },
      });
      assert.equal(early.status, 504);
      assert.equal(early.json.errcode, 'M_NOT_YET_UPLOADED');

      // A waiting download gets the content as soon as it arrives.
      const content = randomBytes(300_000);
      const waiting = rawRequest(server(), 'GET', `/_matrix/client/v1/media/download/${server().serverName}/${mediaId}`, {
        token: bob.accessToken,
        query: { timeout_ms: 30_000 },
      });
      await new Promise((r) => setTimeout(r, 100));
      const path = `/_matrix/media/v3/upload/${server().serverName}/${mediaId}`;
      const forbidden = await rawRequest(server(), 'PUT', path, { token: bob.accessToken, body: content, contentType: 'image/png' });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.json.errcode, 'M_FORBIDDEN');
      const put = await rawRequest(server(), 'PUT', path, { token: alice.accessToken, body: content, contentType: 'image/png' });
      assert.equal(put.status, 200);
      assert.deepEqual(put.json, {});
      const got = await waiting;
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(content));

      const again = await rawRequest(server(), 'PUT', path, { token: alice.accessToken, body: content });
      assert.equal(again.status, 409);
      assert.equal(again.json.errcode, 'M_CANNOT_OVERWRITE_MEDIA');
      const unknown = await rawRequest(server(), 'PUT', `/_matrix/media/v3/upload/${server().serverName}/nope`, { token: alice.accessToken, body: content });
      assert.equal(unknown.status, 404);
    });

    it('limits pending asynchronous uploads per user', async () => {
      const user = await server().registerUser();
      for (let i = 0; i < 5; i++) assert.equal((await rawRequest(server(), 'POST', '/_matrix/media/v1/create', { token: user.accessToken })).status, 200);
      const sixth = await rawRequest(server(), 'POST', '/_matrix/media/v1/create', { token: user.accessToken });
      assert.equal(sixth.status, 429);
      assert.equal(sixth.json.errcode, 'M_LIMIT_EXCEEDED');
    });
  },
  { media: { max_upload_size: 6 * MB, user_quota_bytes: 16 * MB } },
);

describeEachDatabase(
  'media encryption at rest',
  ({ server }) => {
    it('stores ciphertext only, serves the plaintext byte for byte, and still deduplicates', async () => {
      const user = await server().registerUser();
      const marker = 'THE-PLAINTEXT-MARKER-' + randomBytes(8).toString('hex');
      const content = Buffer.concat([Buffer.from(marker.repeat(1000)), randomBytes(2 * MB), Buffer.from(marker)]);
      const before = mediaFiles(server()).length;
      const id = await uploadOk(server(), user.accessToken, content, 'text/plain');
      const files = mediaFiles(server());
      assert.equal(files.length, before + 1);
      for (const file of files) {
        const raw = readFileSync(file);
        assert.equal(raw.includes(Buffer.from(marker)), false, 'plaintext found on disk');
        assert.equal(raw.includes(content.subarray(MB, MB + 64)), false, 'plaintext bytes found on disk');
      }
      // The file name is not the plaintext's sha256 either.
      const { createHash } = await import('node:crypto');
      const sha = createHash('sha256').update(content).digest('hex');
      assert.equal(files.some((f) => f.endsWith(sha)), false);

      const got = await download(server(), user.accessToken, id);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(content));
      await uploadOk(server(), user.accessToken, content, 'text/plain');
      assert.equal(mediaFiles(server()).length, before + 1);
    });
  },
  { media: { encryption_key: randomBytes(32).toString('base64') } },
);

describeEachDatabase(
  'legacy media endpoints before the freeze date',
  ({ server }) => {
    it('serves older media unauthenticated on the legacy endpoints', async () => {
      const user = await server().registerUser();
      const content = randomBytes(1000);
      const id = await uploadOk(server(), user.accessToken, content, 'image/png', 'a.png');
      const res = await rawRequest(server(), 'GET', `/_matrix/media/v3/download/${server().serverName}/${id}`);
      assert.equal(res.status, 200);
      assert.ok(res.bytes.equals(content));
      assert.match(res.headers.get('cache-control') ?? '', /^public/);
      const named = await rawRequest(server(), 'GET', `/_matrix/media/v3/download/${server().serverName}/${id}/b.png`);
      assert.equal(named.status, 200);
      assert.match(named.headers.get('content-disposition') ?? '', /filename="b.png"/);
      const image = await uploadOk(server(), user.accessToken, await testImage('png', 100, 100), 'image/png');
      const thumb = await rawRequest(server(), 'GET', `/_matrix/media/v3/thumbnail/${server().serverName}/${image}`, { query: { width: 32, height: 32, method: 'crop' } });
      assert.equal(thumb.status, 200);
      assert.equal(thumb.headers.get('content-type'), 'image/png');
    });
  },
  { media: { legacy_unauthenticated_before: '2999-01-01T00:00:00Z' } },
);

describeEachDatabase(
  'legacy media endpoints after the freeze date',
  ({ server }) => {
    it('does not serve media created after the freeze date', async () => {
      const user = await server().registerUser();
      const id = await uploadOk(server(), user.accessToken, randomBytes(1000), 'image/png');
      const res = await rawRequest(server(), 'GET', `/_matrix/media/v3/download/${server().serverName}/${id}`);
      assert.equal(res.status, 404);
      assert.equal(res.json.errcode, 'M_NOT_FOUND');
      assert.equal((await download(server(), user.accessToken, id)).status, 200);
    });
  },
  { media: { legacy_unauthenticated_before: '2020-01-01T00:00:00Z' } },
);

describeEachDatabase(
  'media upload rate limit and aborted uploads',
  ({ server }) => {
    it('rate-limits uploads with 429 M_LIMIT_EXCEEDED', async () => {
      const user = await server().registerUser();
      assert.equal((await upload(server(), user.accessToken, randomBytes(10))).status, 200);
      assert.equal((await upload(server(), user.accessToken, randomBytes(10))).status, 200);
      const third = await upload(server(), user.accessToken, randomBytes(10));
      assert.equal(third.status, 429);
      assert.equal(third.json.errcode, 'M_LIMIT_EXCEEDED');
      assert.ok(third.json.retry_after_ms > 0);
    });

    it('leaves no temp file behind when a client aborts an upload', async () => {
      const user = await server().registerUser();
      const controller = new AbortController();
      const chunks = (async function* () {
        yield randomBytes(256 * 1024);
        await new Promise((r) => setTimeout(r, 300));
        controller.abort();
        yield randomBytes(256 * 1024);
      })();
      await assert.rejects(
        fetch(new URL('/_matrix/media/v3/upload', server().baseUrl), {
          method: 'POST',
          headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/octet-stream' },
          body: chunks as any,
          duplex: 'half',
          signal: controller.signal,
        } as RequestInit),
      );
      const tmp = join(server().app.config.data_dir, 'media', 'tmp');
      for (let i = 0; i < 50 && readdirSync(tmp).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(readdirSync(tmp), []);
      // The user's quota is not charged for it.
      const list = await server().app.database.db.selectFrom('local_media').selectAll().where('user_id', '=', user.userId).execute();
      assert.equal(list.length, 0);
    });
  },
  { rate_limits: { enabled: true, media_upload: { per_second: 0.01, burst_count: 2 } } },
);
