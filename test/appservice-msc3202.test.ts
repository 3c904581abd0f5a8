// MSC3202 / MSC4203 over real HTTP on both databases: an appservice registered with
// `org.matrix.msc3202: true` receives its exclusive users' to-device messages (which then leave
// the device queues: /sync never hands them out too), their one-time key counts and unused
// fallback key types, and device-list changes of the users sharing rooms with them. An
// appservice without the flag receives none of it and its users' messages stay for /sync.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASES, startTestServer, type TestServer, type TestUser } from './harness.ts';
import { TestAppservice } from './support/test-appservice.ts';
import { TestDevice, initialSync, incrementalSync } from './support/e2ee-keys.ts';
import { createRoom, roomPath } from './support/room-actions.ts';

for (const kind of DATABASES) {
  describe(`appservice MSC3202 sections [${kind}]`, () => {
    const bridge = new TestAppservice({ id: 'enc', receiveEphemeral: true, extra: 'org.matrix.msc3202: true' });
    const plain = new TestAppservice({ id: 'plain' });
    let s: TestServer;
    let alice: TestUser;
    let puppet: TestUser;
    let plainPuppet: TestUser;
    let roomId: string;

    /** Registers a namespace user with a device, as the appservice does for its puppets. */
    async function registerPuppet(as: TestAppservice, localpart: string): Promise<TestUser> {
      const res = await s.request('POST', '/_matrix/client/v3/register', { token: as.asToken, body: { type: 'm.login.application_service', username: localpart } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return { userId: res.body.user_id, accessToken: res.body.access_token, deviceId: res.body.device_id, localpart, password: '' };
    }

    const section = (name: string) => bridge.txns.flatMap((t) => (t.body[name] as any[] | undefined) ?? []);
    const deviceListSections = () => bridge.txns.map((t) => t.body['org.matrix.msc3202.device_lists'] as { changed: string[]; left: string[] } | undefined).filter((x) => x !== undefined);

    before(async () => {
      await bridge.start();
      await plain.start();
      const dir = mkdtempSync(join(tmpdir(), 'foyer-msc3202-'));
      const files = [join(dir, 'enc.yaml'), join(dir, 'plain.yaml')];
      writeFileSync(files[0], bridge.registrationYaml());
      writeFileSync(files[1], plain.registrationYaml());
      s = await startTestServer(kind, { app_service_config_files: files, appservices: { retry_initial: '200ms', retry_max: '2s' } });
      alice = await s.registerUser('alice');
      puppet = await registerPuppet(bridge, 'enc_bob');
      plainPuppet = await registerPuppet(plain, 'plain_carol');
      roomId = await createRoom(s, alice, { invite: [puppet.userId] });
      const joined = await s.request('POST', `${roomPath(roomId)}/join`, { token: bridge.asToken, query: { user_id: puppet.userId }, body: {} });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
    });
    after(async () => {
      await s?.close();
      await bridge.stop();
      await plain.stop();
    });

    it('reports users who newly share a room with its users as changed device lists', async () => {
      await bridge.waitFor(() => deviceListSections().some((d) => d.changed.includes(alice.userId)), 'alice in device_lists.changed');
      assert.ok(deviceListSections().every((d) => Array.isArray(d.changed) && Array.isArray(d.left)));
      assert.ok(!deviceListSections().some((d) => d.left.includes(alice.userId)));
    });

    it('pushes to-device messages with their recipient, and one-time key counts and fallback key types with them', async () => {
      const device = new TestDevice(puppet);
      const up = await device.upload(s, { device_keys: device.deviceKeys(), one_time_keys: device.oneTimeKeys(5), fallback_keys: device.fallbackKey() });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      // Alice claims a key of the puppet's device (as she would to open an olm session) and writes to it.
      const claim = await s.request('POST', '/_matrix/client/v3/keys/claim', { token: alice.accessToken, body: { one_time_keys: { [puppet.userId]: { [puppet.deviceId]: 'signed_curve25519' } } } });
      assert.equal(claim.status, 200, JSON.stringify(claim.body));
      const sent = await s.request('PUT', '/_matrix/client/v3/sendToDevice/m.room.encrypted/t1', {
        token: alice.accessToken,
        body: { messages: { [puppet.userId]: { [puppet.deviceId]: { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: { k: { type: 0, body: 'x' } } } } } },
      });
      assert.equal(sent.status, 200);
      await bridge.waitFor(() => section('de.sorunome.msc2409.to_device').length > 0, 'to-device in a transaction');
      const [msg] = section('de.sorunome.msc2409.to_device');
      assert.deepEqual(msg, {
        to_user_id: puppet.userId,
        to_device_id: puppet.deviceId,
        sender: alice.userId,
        type: 'm.room.encrypted',
        content: { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: { k: { type: 0, body: 'x' } } },
      });
      const txn = bridge.txns.find((t) => t.body['de.sorunome.msc2409.to_device'])!;
      assert.deepEqual(txn.body['org.matrix.msc2409.to_device'], txn.body['de.sorunome.msc2409.to_device']);
      const counts = txn.body['org.matrix.msc3202.device_one_time_keys_count'] as any;
      assert.deepEqual(counts, { [puppet.userId]: { [puppet.deviceId]: { signed_curve25519: 4 } } });
      assert.deepEqual(txn.body['org.matrix.msc3202.device_one_time_key_counts'], counts);
      assert.deepEqual(txn.body['org.matrix.msc3202.device_unused_fallback_key_types'], { [puppet.userId]: { [puppet.deviceId]: ['signed_curve25519'] } });
    });

    it('counts pushed messages as delivered: /sync of that device never carries them, and they are never pushed twice', async () => {
      // Gone from the device's queue (the stored transaction is now their only copy).
      const queued = await s.app.database.db.selectFrom('to_device_messages').select('stream_pos').where('user_id', '=', puppet.userId).execute();
      assert.deepEqual(queued, []);
      const first = await initialSync(s, puppet);
      assert.deepEqual(first.to_device?.events ?? [], []);
      const next = await incrementalSync(s, puppet, first.next_batch);
      assert.deepEqual(next.to_device?.events ?? [], []);
      // A second message arrives in a later transaction; the first is not repeated.
      await s.request('PUT', '/_matrix/client/v3/sendToDevice/m.test/t2', { token: alice.accessToken, body: { messages: { [puppet.userId]: { '*': { n: 2 } } } } });
      await bridge.waitFor(() => section('de.sorunome.msc2409.to_device').length >= 2, 'second to-device');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        section('de.sorunome.msc2409.to_device').map((m) => m.type),
        ['m.room.encrypted', 'm.test'],
      );
    });

    it('reports key changes of users sharing a room, and users who no longer share one as left', async () => {
      const aliceDevice = new TestDevice(alice);
      assert.equal((await aliceDevice.upload(s, { device_keys: aliceDevice.deviceKeys() })).status, 200);
      const before = deviceListSections().length;
      await bridge.waitFor(() => deviceListSections().slice(before).some((d) => d.changed.includes(alice.userId)), 'alice changed after key upload');
      const left = await s.request('POST', `${roomPath(roomId)}/leave`, { token: alice.accessToken, body: {} });
      assert.equal(left.status, 200);
      await bridge.waitFor(() => deviceListSections().some((d) => d.left.includes(alice.userId)), 'alice in device_lists.left');
    });

    it('a bridge added while running gets the messages its users had queued before', async () => {
      const late = new TestAppservice({ id: 'late', extra: 'org.matrix.msc3202: true' });
      await late.start();
      try {
        const user = await s.registerUser('late_dave');
        await s.request('PUT', '/_matrix/client/v3/sendToDevice/m.test/t4', { token: alice.accessToken, body: { messages: { [user.userId]: { [user.deviceId]: { n: 4 } } } } });
        const root = await s.registerUser();
        await s.app.database.db.updateTable('users').set({ is_admin: 1 }).where('user_id', '=', root.userId).execute();
        const added = await s.request('POST', '/_foyer/admin/v1/appservices', { token: root.accessToken, body: { registration: late.registrationYaml() } });
        assert.equal(added.status, 200, JSON.stringify(added.body));
        await late.waitFor(() => late.txns.some((t) => t.body['de.sorunome.msc2409.to_device']), 'the queued message');
        const msgs = late.txns.flatMap((t) => (t.body['de.sorunome.msc2409.to_device'] as any[] | undefined) ?? []);
        assert.deepEqual(msgs, [{ to_user_id: user.userId, to_device_id: user.deviceId, sender: alice.userId, type: 'm.test', content: { n: 4 } }]);
        const removed = await s.request('DELETE', `/_foyer/admin/v1/appservices/${late.id}`, { token: root.accessToken });
        assert.equal(removed.status, 200);
      } finally {
        await late.stop();
      }
    });

    it('an appservice without the flag gets no MSC3202 sections, and its users keep their messages for /sync', async () => {
      await s.request('PUT', '/_matrix/client/v3/sendToDevice/m.test/t3', { token: alice.accessToken, body: { messages: { [plainPuppet.userId]: { [plainPuppet.deviceId]: { n: 3 } } } } });
      const sync = await initialSync(s, plainPuppet);
      assert.deepEqual(sync.to_device.events, [{ sender: alice.userId, type: 'm.test', content: { n: 3 } }]);
      for (const t of plain.txns) {
        for (const key of Object.keys(t.body)) assert.ok(!key.includes('msc3202') && !key.includes('to_device'), key);
      }
    });
  });
}
