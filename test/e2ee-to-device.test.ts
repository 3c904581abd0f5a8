// Send-to-device messaging through HTTP: delivery in /sync, wildcard devices, transaction
// idempotency per device, acknowledgement by `since`, paging past 100 messages, validation,
// wake-ups and device deletion.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestServer, type TestUser } from './harness.ts';

async function login(server: TestServer, user: TestUser, deviceId?: string): Promise<TestUser> {
  const res = await server.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password, device_id: deviceId },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...user, accessToken: res.body.access_token, deviceId: res.body.device_id };
}

let txnCounter = 0;
function sendToDevice(server: TestServer, from: TestUser, type: string, messages: unknown, txnId = `txn${++txnCounter}`) {
  return server.request('PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(type)}/${txnId}`, { token: from.accessToken, body: { messages } });
}

async function sync(server: TestServer, user: TestUser, since?: string, timeout = 0) {
  const res = await server.request('GET', '/_matrix/client/v3/sync', { token: user.accessToken, query: { since, timeout } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { next_batch: string; to_device: { events: Array<{ sender: string; type: string; content: Record<string, unknown> }> } };
}

describeEachDatabase('send-to-device', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let bob2: TestUser;

  it('delivers to a named device and to every device with "*"', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    bob2 = await login(server(), bob);
    const since1 = (await sync(server(), bob)).next_batch;
    const since2 = (await sync(server(), bob2)).next_batch;

    assert.equal((await sendToDevice(server(), alice, 'org.example.ping', { [bob.userId]: { [bob.deviceId]: { n: 1 } } })).status, 200);
    assert.equal((await sendToDevice(server(), alice, 'org.example.ping', { [bob.userId]: { '*': { n: 2 } } })).status, 200);

    const first = await sync(server(), bob, since1);
    assert.deepEqual(first.to_device.events, [
      { sender: alice.userId, type: 'org.example.ping', content: { n: 1 } },
      { sender: alice.userId, type: 'org.example.ping', content: { n: 2 } },
    ]);
    const second = await sync(server(), bob2, since2);
    assert.deepEqual(second.to_device.events, [{ sender: alice.userId, type: 'org.example.ping', content: { n: 2 } }]);
  });

  it('gives a named device its own message when "*" is also present', async () => {
    const s1 = (await sync(server(), bob)).next_batch;
    const s2 = (await sync(server(), bob2)).next_batch;
    await sendToDevice(server(), alice, 'org.example.mixed', { [bob.userId]: { '*': { to: 'all' }, [bob2.deviceId]: { to: 'bob2' } } });
    assert.deepEqual((await sync(server(), bob, s1)).to_device.events.map((e) => e.content), [{ to: 'all' }]);
    assert.deepEqual((await sync(server(), bob2, s2)).to_device.events.map((e) => e.content), [{ to: 'bob2' }]);
  });

  it('is idempotent per sending device and transaction ID', async () => {
    const since = (await sync(server(), bob)).next_batch;
    const messages = { [bob.userId]: { [bob.deviceId]: { once: true } } };
    assert.equal((await sendToDevice(server(), alice, 'org.example.once', messages, 'same-txn')).status, 200);
    assert.equal((await sendToDevice(server(), alice, 'org.example.once', messages, 'same-txn')).status, 200);
    // Concurrent retries of one transaction also deliver once.
    const racing = await Promise.all([1, 2, 3].map(() => sendToDevice(server(), alice, 'org.example.once', messages, 'racing-txn')));
    for (const r of racing) assert.equal(r.status, 200);
    // The same transaction ID from another device is another transaction.
    const alice2 = await login(server(), alice);
    assert.equal((await sendToDevice(server(), alice2, 'org.example.once', messages, 'same-txn')).status, 200);

    const events = (await sync(server(), bob, since)).to_device.events;
    assert.equal(events.length, 3);
  });

  it('keeps messages until the client syncs with a since at or past them', async () => {
    const start = (await sync(server(), bob)).next_batch;
    await sendToDevice(server(), alice, 'org.example.ack', { [bob.userId]: { [bob.deviceId]: { k: 'a' } } });
    const got = await sync(server(), bob, start);
    assert.deepEqual(got.to_device.events.map((e) => e.content), [{ k: 'a' }]);
    // The response was "lost": the same since gets the message again.
    const again = await sync(server(), bob, start);
    assert.deepEqual(again.to_device.events.map((e) => e.content), [{ k: 'a' }]);
    // An initial sync does not acknowledge anything either.
    assert.deepEqual((await sync(server(), bob)).to_device.events.map((e) => e.content), [{ k: 'a' }]);
    // Syncing from next_batch acknowledges it: gone for good, even for the old since.
    const after = await sync(server(), bob, again.next_batch);
    assert.deepEqual(after.to_device.events, []);
    assert.deepEqual((await sync(server(), bob, start)).to_device.events, []);
  });

  it('sends at most 100 per response and next_batch skips none of the rest', async () => {
    const start = (await sync(server(), bob2)).next_batch;
    for (let i = 0; i < 130; i++) {
      const res = await sendToDevice(server(), alice, 'org.example.many', { [bob.userId]: { [bob2.deviceId]: { i } } });
      assert.equal(res.status, 200);
    }
    const page1 = await sync(server(), bob2, start);
    assert.equal(page1.to_device.events.length, 100);
    const page2 = await sync(server(), bob2, page1.next_batch);
    assert.equal(page2.to_device.events.length, 30);
    const seen = [...page1.to_device.events, ...page2.to_device.events].map((e) => e.content.i);
    assert.deepEqual(seen, Array.from({ length: 130 }, (_, i) => i));
    assert.deepEqual((await sync(server(), bob2, page2.next_batch)).to_device.events, []);
    // The first page's token still replays the second page until it is acknowledged.
    assert.ok(Number(page1.next_batch.slice(1)) < Number(page2.next_batch.slice(1)));
  });

  it('wakes a waiting /sync of the recipient', async () => {
    const since = (await sync(server(), bob)).next_batch;
    const waiting = sync(server(), bob, since, 30_000);
    // Give the long-poll time to register; the assertion does not depend on it.
    await new Promise((r) => setTimeout(r, 100));
    await sendToDevice(server(), alice, 'org.example.wake', { [bob.userId]: { [bob.deviceId]: { wake: 1 } } });
    const res = await waiting;
    assert.deepEqual(res.to_device.events.map((e) => e.type), ['org.example.wake']);
  });

  it('drops messages to unknown devices, unknown users and remote users', async () => {
    const since = (await sync(server(), bob)).next_batch;
    const res = await sendToDevice(server(), alice, 'org.example.drop', {
      [bob.userId]: { NOSUCHDEVICE: { x: 1 } },
      '@nobody:test.local': { '*': { x: 2 } },
      '@someone:remote.example': { DEV: { x: 3 } },
    });
    assert.equal(res.status, 200);
    await sendToDevice(server(), alice, 'org.example.marker', { [bob.userId]: { [bob.deviceId]: {} } });
    assert.deepEqual((await sync(server(), bob, since)).to_device.events.map((e) => e.type), ['org.example.marker']);
  });

  it('rejects malformed requests with the spec errors', async () => {
    const cases: Array<[unknown, string]> = [
      [{ 'not-a-user': { DEV: {} } }, 'M_INVALID_PARAM'],
      [{ [bob.userId]: { DEV: 'text' } }, 'M_BAD_JSON'],
      [{ [bob.userId]: { DEV: [1] } }, 'M_BAD_JSON'],
      [{ [bob.userId]: 'text' }, 'M_BAD_JSON'],
      [{ [bob.userId]: { DEV: { f: 1.5 } } }, 'M_BAD_JSON'],
    ];
    for (const [messages, errcode] of cases) {
      const res = await sendToDevice(server(), alice, 'org.example.bad', messages);
      assert.equal(res.status, 400, JSON.stringify(messages));
      assert.equal(res.body.errcode, errcode, JSON.stringify(messages));
    }
    const missing = await server().request('PUT', '/_matrix/client/v3/sendToDevice/org.example.bad/t-missing', { token: alice.accessToken, body: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    const anonymous = await server().request('PUT', '/_matrix/client/v3/sendToDevice/org.example.bad/t-anon', { body: { messages: {} } });
    assert.equal(anonymous.status, 401);
  });

  it('drops the queue of a deleted device', async () => {
    const bob3 = await login(server(), bob, 'BOBTHREE');
    await sendToDevice(server(), alice, 'org.example.gone', { [bob.userId]: { BOBTHREE: { old: true } } });
    const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: bob.localpart }, password: bob.password };
    const first = await server().request('DELETE', '/_matrix/client/v3/devices/BOBTHREE', { token: bob.accessToken, body: {} });
    assert.equal(first.status, 401);
    const del = await server().request('DELETE', '/_matrix/client/v3/devices/BOBTHREE', { token: bob.accessToken, body: { auth: { ...auth, session: first.body.session } } });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    // Logging in again with the same device ID makes a new device: the old queue is gone.
    const again = await login(server(), bob, 'BOBTHREE');
    assert.equal(again.deviceId, bob3.deviceId);
    assert.deepEqual((await sync(server(), again)).to_device.events, []);
  });
});
