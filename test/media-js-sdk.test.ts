// matrix-js-sdk and media on both databases: one client uploads an avatar (uploadContent +
// setAvatarUrl), another reads the profile and downloads the avatar and a thumbnail through the
// authenticated endpoints the SDK builds (mxcUrlToHttp with useAuthentication).
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { sdkClientFor, stopAllSdkClients } from './support/js-sdk.ts';
import { describeEachDatabase } from './harness.ts';
import { imageInfo, testImage } from './support/media.ts';

describeEachDatabase('matrix-js-sdk: avatar upload and authenticated download', ({ server }) => {
  after(() => stopAllSdkClients());

  it('uploads an avatar with one client and downloads it with another', async () => {
    const alice = await server().registerUser();
    const bob = await server().registerUser();
    const aliceClient = sdkClientFor(server(), alice);
    const bobClient = sdkClientFor(server(), bob);

    const png = await testImage('png', 400, 300);
    const uploaded = await aliceClient.uploadContent(new Blob([png], { type: 'image/png' }), { name: 'avatar.png', type: 'image/png' });
    assert.match(uploaded.content_uri, new RegExp(`^mxc://${server().serverName}/`));
    await aliceClient.setAvatarUrl(uploaded.content_uri);

    const profile = await bobClient.getProfileInfo(alice.userId);
    assert.equal(profile.avatar_url, uploaded.content_uri);

    const config = await bobClient.getMediaConfig(true);
    assert.equal(typeof config['m.upload.size'], 'number');

    const url = bobClient.mxcUrlToHttp(profile.avatar_url!, undefined, undefined, undefined, false, true, true);
    assert.ok(url?.includes('/_matrix/client/v1/media/download/'), url ?? 'no URL');
    const unauthenticated = await fetch(url!);
    assert.equal(unauthenticated.status, 401);
    const res = await fetch(url!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));
    assert.equal(res.headers.get('content-type'), 'image/png');

    const thumbUrl = bobClient.mxcUrlToHttp(profile.avatar_url!, 96, 96, 'crop', false, true, true);
    assert.ok(thumbUrl?.includes('/_matrix/client/v1/media/thumbnail/'), thumbUrl ?? 'no URL');
    const thumb = await fetch(thumbUrl!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    assert.equal(thumb.status, 200);
    const info = await imageInfo(Buffer.from(await thumb.arrayBuffer()));
    assert.deepEqual([info.width, info.height], [96, 96]);
  });
});
