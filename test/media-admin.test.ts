// Media administration on both databases: the Synapse-compatible admin API (list, delete by ID,
// by user, by date, quarantine, remote cache purge), the retention job (deletes what is unused
// for longer than the lifetime, keeps avatars and recent media, releases shared files only when
// unused), and the `foyer media` CLI.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';
import { download, uploadOk } from './support/media.ts';
import { runFoyer } from './support/cli.ts';
import { UserStore } from '../src/storage/stores/users.ts';

const DAY = 86_400_000;

async function registerAdmin(server: TestServer): Promise<TestUser> {
  const user = await server.registerUser();
  await new UserStore(server.app.database.db).setAdmin(user.userId, true);
  return user;
}

/** Makes a media item look unused for `days` days. */
async function age(server: TestServer, mediaId: string, days: number): Promise<void> {
  const ts = Date.now() - days * DAY;
  await server.app.database.db.updateTable('local_media').set({ created_ts: ts, last_access_ts: ts }).where('media_id', '=', mediaId).execute();
}

function storedFileCount(server: TestServer): number {
  let n = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name !== 'tmp') walk(path);
      } else n++;
    }
  };
  walk(join(server.app.config.data_dir, 'media'));
  return n;
}

describeEachDatabase(
  'media admin API and retention',
  ({ server }) => {
    it('refuses non-admins', async () => {
      const user = await server().registerUser();
      const res = await server().request('GET', `/_synapse/admin/v1/users/${encodeURIComponent(user.userId)}/media`, { token: user.accessToken });
      assert.equal(res.status, 403);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    });

    it("lists a user's media with paging and ordering", async () => {
      const admin = await registerAdmin(server());
      const user = await server().registerUser();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await uploadOk(server(), user.accessToken, randomBytes(100 + i), 'image/png', `f${i}.png`));
      const path = `/_synapse/admin/v1/users/${encodeURIComponent(user.userId)}/media`;
      const page1 = await server().request('GET', path, { token: admin.accessToken, query: { limit: 2, order_by: 'media_length', dir: 'b' } });
      assert.equal(page1.status, 200);
      assert.equal(page1.body.total, 3);
      assert.equal(page1.body.next_token, 2);
      assert.deepEqual(page1.body.media.map((m: any) => m.media_length), [102, 101]);
      assert.equal(page1.body.media[0].upload_name, 'f2.png');
      assert.equal(page1.body.media[0].media_type, 'image/png');
      const page2 = await server().request('GET', path, { token: admin.accessToken, query: { from: 2, limit: 2, order_by: 'media_length', dir: 'b' } });
      assert.deepEqual(page2.body.media.map((m: any) => m.media_id), [ids[0]]);
      assert.equal(page2.body.next_token, undefined);
      const unknown = await server().request('GET', `/_synapse/admin/v1/users/${encodeURIComponent('@nobody:test.local')}/media`, { token: admin.accessToken });
      assert.equal(unknown.status, 404);
    });

    it('quarantines and releases media', async () => {
      const admin = await registerAdmin(server());
      const user = await server().registerUser();
      const id = await uploadOk(server(), user.accessToken, randomBytes(100));
      const q = await server().request('POST', `/_synapse/admin/v1/media/quarantine/${server().serverName}/${id}`, { token: admin.accessToken });
      assert.equal(q.status, 200);
      assert.equal((await download(server(), user.accessToken, id)).status, 404);
      const info = await server().request('GET', `/_synapse/admin/v1/media/${server().serverName}/${id}`, { token: admin.accessToken });
      assert.equal(info.body.media_info.quarantined_by, admin.userId);
      await server().request('POST', `/_synapse/admin/v1/media/unquarantine/${server().serverName}/${id}`, { token: admin.accessToken });
      assert.equal((await download(server(), user.accessToken, id)).status, 200);
    });

    it('deletes by ID and by user, removing files nobody else uses', async () => {
      const admin = await registerAdmin(server());
      const user = await server().registerUser();
      const shared = randomBytes(1000);
      const a = await uploadOk(server(), user.accessToken, shared);
      const b = await uploadOk(server(), admin.accessToken, shared);
      const before = storedFileCount(server());
      const del = await server().request('DELETE', `/_synapse/admin/v1/media/${server().serverName}/${a}`, { token: admin.accessToken });
      assert.deepEqual(del.body, { deleted_media: [a], total: 1 });
      assert.equal((await download(server(), user.accessToken, a)).status, 404);
      // The file is shared with b: still there.
      assert.equal(storedFileCount(server()), before);
      assert.ok((await download(server(), user.accessToken, b)).bytes.equals(shared));

      const c = await uploadOk(server(), user.accessToken, randomBytes(500));
      const d = await uploadOk(server(), user.accessToken, randomBytes(500));
      const byUser = await server().request('DELETE', `/_synapse/admin/v1/users/${encodeURIComponent(user.userId)}/media`, { token: admin.accessToken });
      assert.equal(byUser.body.total, 2);
      assert.deepEqual([...byUser.body.deleted_media].sort(), [c, d].sort());
      assert.equal(storedFileCount(server()), before);
      assert.equal((await server().request('DELETE', `/_synapse/admin/v1/media/${server().serverName}/${c}`, { token: admin.accessToken })).status, 404);
    });

    it('deletes media unused since a date, keeping profile pictures', async () => {
      const admin = await registerAdmin(server());
      const user = await server().registerUser();
      const old = await uploadOk(server(), user.accessToken, randomBytes(2000));
      const small = await uploadOk(server(), user.accessToken, randomBytes(10));
      const avatar = await uploadOk(server(), user.accessToken, randomBytes(2000), 'image/png');
      await server().request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/avatar_url`, {
        token: user.accessToken,
        body: { avatar_url: `mxc://${server().serverName}/${avatar}` },
      });
      for (const id of [old, small, avatar]) await age(server(), id, 30);
      const res = await server().request('POST', '/_synapse/admin/v1/media/delete', {
        token: admin.accessToken,
        query: { before_ts: Date.now() - 10 * DAY, size_gt: 100 },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.deleted_media, [old]);
      assert.equal((await download(server(), user.accessToken, small)).status, 200);
      assert.equal((await download(server(), user.accessToken, avatar)).status, 200);
    });

    it('the retention job deletes unused media and keeps avatars and recent media', async () => {
      const user = await server().registerUser();
      const shared = randomBytes(3000);
      const oldShared = await uploadOk(server(), user.accessToken, shared);
      const recentShared = await uploadOk(server(), user.accessToken, shared);
      const old = await uploadOk(server(), user.accessToken, randomBytes(3000));
      const recent = await uploadOk(server(), user.accessToken, randomBytes(3000));
      const userAvatar = await uploadOk(server(), user.accessToken, randomBytes(3000), 'image/png');
      const roomAvatar = await uploadOk(server(), user.accessToken, randomBytes(3000), 'image/png');
      await server().request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/avatar_url`, {
        token: user.accessToken,
        body: { avatar_url: `mxc://${server().serverName}/${userAvatar}` },
      });
      const room = await server().request('POST', '/_matrix/client/v3/createRoom', {
        token: user.accessToken,
        body: { initial_state: [{ type: 'm.room.avatar', state_key: '', content: { url: `mxc://${server().serverName}/${roomAvatar}` } }] },
      });
      assert.equal(room.status, 200);
      for (const id of [oldShared, old, userAvatar, roomAvatar]) await age(server(), id, 120);
      await age(server(), recent, 10);
      // Remote cache rows (federation will fill them): one stale, one fresh.
      const db = server().app.database.db;
      const remoteRow = (id: string, ts: number) => ({
        media_origin: 'remote.example',
        media_id: id,
        file_key: 'f'.repeat(64),
        encrypted: 0,
        content_type: 'image/png',
        upload_name: null,
        size: 1,
        created_ts: ts,
        last_access_ts: ts,
        quarantined_by: null,
      });
      await db.insertInto('remote_media_cache').values([remoteRow('stale', Date.now() - 60 * DAY), remoteRow('fresh', Date.now())]).execute();
      const filesBefore = storedFileCount(server());

      const result = await server().app.runMediaRetention();
      assert.deepEqual({ local: result.local, remote: result.remote }, { local: 2, remote: 1 });
      for (const gone of [oldShared, old]) assert.equal((await download(server(), user.accessToken, gone)).status, 404);
      for (const kept of [recentShared, recent, userAvatar, roomAvatar]) assert.equal((await download(server(), user.accessToken, kept)).status, 200);
      assert.ok((await download(server(), user.accessToken, recentShared)).bytes.equals(shared));
      // Only the unshared old file went.
      assert.equal(storedFileCount(server()), filesBefore - 1);
      const remote = await db.selectFrom('remote_media_cache').select('media_id').execute();
      assert.deepEqual(remote.map((r) => r.media_id), ['fresh']);

      // purge_media_cache removes what is left of the remote cache before a date.
      const admin = await registerAdmin(server());
      const purge = await server().request('POST', '/_synapse/admin/v1/purge_media_cache', { token: admin.accessToken, query: { before_ts: Date.now() + 1000 } });
      assert.deepEqual(purge.body, { deleted: 1 });
    });
  },
  { media_retention: { local_media_lifetime: '90d', remote_media_lifetime: '30d' } },
);

describeEachDatabase('foyer media CLI', ({ server }) => {
  // Spawned without blocking: the server under test runs in this process and must keep serving
  // (a blocked event loop lets its keep-alive timers cut the test client's connections).
  const foyer = (...args: string[]) => runFoyer(join(server().app.config.data_dir, 'foyer.yaml'), ...args);

  it('lists, quarantines and deletes media', async () => {
    const user = await server().registerUser();
    const a = await uploadOk(server(), user.accessToken, randomBytes(100), 'image/png');
    const b = await uploadOk(server(), user.accessToken, randomBytes(100), 'image/png');
    const list = await foyer('media', 'list', user.userId);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout.split('\n').length, 2);
    assert.match(list.stdout, new RegExp(`mxc://${server().serverName}/${a}\\t100\\timage/png`));

    const q = await foyer('media', 'quarantine', `mxc://${server().serverName}/${a}`);
    assert.equal(q.status, 0, q.stderr);
    assert.equal((await download(server(), user.accessToken, a)).status, 404);

    const del = await foyer('media', 'delete', `mxc://${server().serverName}/${b}`);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(del.stdout, 'deleted 1 media item');
    assert.equal((await download(server(), user.accessToken, b)).status, 404);

    const byUser = await foyer('media', 'delete', '--user', user.userId);
    assert.equal(byUser.stdout, 'deleted 1 media item');
    assert.equal((await download(server(), user.accessToken, a)).status, 404);
    assert.equal((await foyer('media', 'delete')).status, 1);
    // No lifetime is configured here: the job only drops /create media IDs that expired unused.
    await server().app.database.db
      .insertInto('local_media')
      .values({ media_id: 'expiredpending', user_id: user.userId, file_key: null, encrypted: 0, content_type: null, upload_name: null, size: 0, created_ts: 1, uploaded_ts: null, unused_expires_ts: 2, last_access_ts: null, quarantined_by: null })
      .execute();
    const retention = await foyer('media', 'retention');
    assert.equal(retention.status, 0, retention.stderr);
    assert.equal(retention.stdout, 'deleted 0 local, 0 remote and 1 expired pending media items');
    const left = await server().app.database.db.selectFrom('local_media').select('media_id').where('media_id', '=', 'expiredpending').execute();
    assert.deepEqual(left, []);
    assert.ok(existsSync(join(server().app.config.data_dir, 'media')));
  });
});
