// Thumbnails over HTTP on both databases: PNG, JPEG, GIF and WebP made with sharp, scale (fit
// inside) and crop (cover) with checked dimensions, no upscaling, animated thumbnails, caching,
// and refusals (SVG, non-images).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer } from './harness.ts';
import { animatedImage, imageInfo, rawRequest, testImage, uploadOk } from './support/media.ts';

function thumbnail(server: TestServer, token: string, mediaId: string, query: Record<string, string | number | boolean>) {
  return rawRequest(server, 'GET', `/_matrix/client/v1/media/thumbnail/${server.serverName}/${mediaId}`, { token, query });
}

describeEachDatabase('media thumbnails', ({ server }) => {
  for (const format of ['png', 'jpeg', 'webp', 'gif'] as const) {
    it(`scales and crops ${format} images to the requested sizes`, async () => {
      const user = await server().registerUser();
      const id = await uploadOk(server(), user.accessToken, await testImage(format, 1000, 500), `image/${format}`);

      const scaled = await thumbnail(server(), user.accessToken, id, { width: 320, height: 240, method: 'scale' });
      assert.equal(scaled.status, 200, scaled.bytes.toString());
      const s = await imageInfo(scaled.bytes);
      assert.deepEqual([s.width, s.height], [320, 160]); // fits inside 320x240, aspect kept
      assert.equal(scaled.headers.get('content-type'), format === 'jpeg' ? 'image/jpeg' : 'image/png');
      assert.equal(s.format, format === 'jpeg' ? 'jpeg' : 'png');
      assert.equal(scaled.headers.get('content-disposition'), `inline; filename="thumbnail.${format === 'jpeg' ? 'jpg' : 'png'}"; filename*=utf-8''thumbnail.${format === 'jpeg' ? 'jpg' : 'png'}`);

      const cropped = await thumbnail(server(), user.accessToken, id, { width: 96, height: 96, method: 'crop' });
      assert.equal(cropped.status, 200);
      const c = await imageInfo(cropped.bytes);
      assert.deepEqual([c.width, c.height], [96, 96]);

      // Odd sizes are served from the next standard size at least as large.
      const odd = await thumbnail(server(), user.accessToken, id, { width: 50, height: 50, method: 'crop' });
      assert.deepEqual(Object.values(await imageInfo(odd.bytes)).slice(0, 2), [96, 96]);
    });
  }

  it('never upscales past the original', async () => {
    const user = await server().registerUser();
    const id = await uploadOk(server(), user.accessToken, await testImage('png', 200, 100), 'image/png');
    const res = await thumbnail(server(), user.accessToken, id, { width: 800, height: 600, method: 'scale' });
    assert.equal(res.status, 200);
    const info = await imageInfo(res.bytes);
    assert.deepEqual([info.width, info.height], [200, 100]);
  });

  it('caches thumbnails and serves the same bytes again', async () => {
    const user = await server().registerUser();
    const id = await uploadOk(server(), user.accessToken, await testImage('jpeg', 640, 480), 'image/jpeg');
    const first = await thumbnail(server(), user.accessToken, id, { width: 640, height: 480, method: 'scale' });
    const second = await thumbnail(server(), user.accessToken, id, { width: 640, height: 480, method: 'scale' });
    assert.equal(first.status, 200);
    assert.ok(first.bytes.equals(second.bytes));
    // Generated once: one row for the media, whatever the number of requests.
    const rows = await server().app.database.db.selectFrom('media_thumbnails').selectAll().where('media_id', '=', id).execute();
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0].width, rows[0].height, rows[0].method], [640, 480, 'scale']);
  });

  for (const format of ['gif', 'webp'] as const) {
    it(`keeps animated ${format} thumbnails animated when animated=true`, async () => {
      const user = await server().registerUser();
      const id = await uploadOk(server(), user.accessToken, await animatedImage(format, 200, 100, 4), `image/${format}`);
      const animated = await thumbnail(server(), user.accessToken, id, { width: 96, height: 96, method: 'crop', animated: true });
      assert.equal(animated.status, 200, animated.bytes.toString());
      assert.equal(animated.headers.get('content-type'), `image/${format}`);
      const a = await imageInfo(animated.bytes);
      assert.equal(a.format, format);
      assert.equal(a.pages, 4);
      assert.deepEqual([a.width, a.height], [96, 96]);

      const still = await thumbnail(server(), user.accessToken, id, { width: 96, height: 96, method: 'crop' });
      const s = await imageInfo(still.bytes);
      assert.equal(s.pages, 1);
      assert.equal(still.headers.get('content-type'), 'image/png');
    });
  }

  it('refuses to thumbnail SVG and non-images', async () => {
    const user = await server().registerUser();
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>');
    const svgId = await uploadOk(server(), user.accessToken, svg, 'image/svg+xml');
    const res = await thumbnail(server(), user.accessToken, svgId, { width: 32, height: 32 });
    assert.equal(res.status, 400);
    assert.equal(res.json.errcode, 'M_UNKNOWN');

    // An SVG declared as PNG is recognised by its bytes and refused too.
    const disguised = await uploadOk(server(), user.accessToken, svg, 'image/png');
    assert.equal((await thumbnail(server(), user.accessToken, disguised, { width: 32, height: 32 })).status, 400);

    const text = await uploadOk(server(), user.accessToken, Buffer.from('hello'), 'text/plain');
    assert.equal((await thumbnail(server(), user.accessToken, text, { width: 32, height: 32 })).status, 400);
  });

  it('validates the thumbnail parameters', async () => {
    const user = await server().registerUser();
    const id = await uploadOk(server(), user.accessToken, await testImage('png', 100, 100), 'image/png');
    const missing = await rawRequest(server(), 'GET', `/_matrix/client/v1/media/thumbnail/${server().serverName}/${id}`, { token: user.accessToken, query: { width: 32 } });
    assert.equal(missing.status, 400);
    const bad = await thumbnail(server(), user.accessToken, id, { width: 32, height: 32, method: 'stretch' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.errcode, 'M_INVALID_PARAM');
  });
});
