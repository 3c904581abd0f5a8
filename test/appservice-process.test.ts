// Issue 5's restart scenario with the appservice as a separate process, on both databases: the
// bridge process is killed, events and to-device messages for its users arrive meanwhile,
// Foyer restarts, more arrive; once the process is started again it receives the whole
// backlog in order, each event and message exactly once, even though it keeps no state but
// the file of transactions it acknowledged.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASES, startTestServer, type TestServer, type TestUser } from './harness.ts';
import { AppserviceChild } from './support/appservice-child.ts';
import { createRoom, roomPath, say } from './support/room-actions.ts';

for (const kind of DATABASES) {
  describe(`appservice process: backlog across restarts [${kind}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'foyer-as-proc-'));
    const asToken = `as_${randomBytes(12).toString('hex')}`;
    const bridge = new AppserviceChild(`hs_${randomBytes(12).toString('hex')}`, join(dir, 'transactions.jsonl'));
    let s: TestServer;
    let alice: TestUser;
    let puppet: { userId: string; deviceId: string };
    let roomId: string;

    before(async () => {
      await bridge.start();
      const file = join(dir, 'registration.yaml');
      writeFileSync(
        file,
        [
          'id: procbridge',
          `url: http://127.0.0.1:${bridge.port}`,
          `as_token: ${asToken}`,
          `hs_token: ${bridge.hsToken}`,
          'sender_localpart: procbridge_bot',
          'namespaces:',
          '  users:',
          '    - exclusive: true',
          "      regex: '@proc_.*'",
          'org.matrix.msc3202: true',
          '',
        ].join('\n'),
      );
      s = await startTestServer(kind, { app_service_config_files: [file], appservices: { retry_initial: '200ms', retry_max: '1s' } });
      alice = await s.registerUser('alice');
      const reg = await s.request('POST', '/_matrix/client/v3/register', { token: asToken, body: { type: 'm.login.application_service', username: 'proc_bob' } });
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      puppet = { userId: reg.body.user_id, deviceId: reg.body.device_id };
      roomId = await createRoom(s, alice, { preset: 'public_chat' });
      const joined = await s.request('POST', `${roomPath(roomId)}/join`, { token: asToken, query: { user_id: puppet.userId }, body: {} });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
    });
    after(async () => {
      await s?.close();
      await bridge.kill();
    });

    const eventIds = () => bridge.transactions().flatMap((t) => t.body.events.map((e: { event_id: string }) => e.event_id));
    const toDeviceIds = () => bridge.transactions().flatMap((t) => ((t.body['de.sorunome.msc2409.to_device'] as Array<{ content: { n: number } }> | undefined) ?? []).map((m) => m.content.n));
    const sendToDevice = (n: number) =>
      s.request('PUT', `/_matrix/client/v3/sendToDevice/m.test/proc${n}`, { token: alice.accessToken, body: { messages: { [puppet.userId]: { [puppet.deviceId]: { n } } } } });

    it('receives events while up', async () => {
      const first = await say(s, alice, roomId, 'hello bridge');
      await bridge.waitFor(() => eventIds().includes(first), 'first message');
    });

    it('gets the backlog of events and to-device messages in order, once, after being killed and a Foyer restart', async () => {
      await bridge.kill();
      const backlog: string[] = [];
      for (let i = 0; i < 3; i++) {
        backlog.push(await say(s, alice, roomId, `backlog ${i}`));
        assert.equal((await sendToDevice(i)).status, 200);
      }
      await s.restart();
      for (let i = 3; i < 5; i++) {
        backlog.push(await say(s, alice, roomId, `backlog ${i}`));
        assert.equal((await sendToDevice(i)).status, 200);
      }
      await bridge.start();
      // A request with the as_token shows the bridge is up and cuts the retry backoff short.
      await s.request('GET', '/_matrix/client/v3/account/whoami', { token: asToken });
      await bridge.waitFor(() => backlog.every((id) => eventIds().includes(id)) && toDeviceIds().length >= 5, 'the backlog');
      const ids = eventIds();
      assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
      assert.deepEqual(
        ids.filter((id) => backlog.includes(id)),
        backlog,
      );
      assert.deepEqual(toDeviceIds(), [0, 1, 2, 3, 4]);
      const txnIds = bridge.transactions().map((t) => Number(t.txnId));
      assert.deepEqual(txnIds, [...txnIds].sort((a, b) => a - b), 'transactions in txn ID order');
    });
  });
}
