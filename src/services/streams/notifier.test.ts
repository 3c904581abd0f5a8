// Wake-ups for long-polls (pure, in memory): held until the position is visible, delivered to a
// waiter registered before the change even if it starts waiting after, and every way a wait
// ends (wake, timeout, client gone) unregisters it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Notifier } from './notifier.ts';
import { StreamPositions } from './positions.ts';

describe('Notifier', () => {
  it('wakes a waiter registered before the change, even when it starts waiting after it', async () => {
    const positions = new StreamPositions(0);
    const notifier = new Notifier(positions);
    const waiter = notifier.waiterFor('@a:x');
    const r = positions.reserve();
    positions.release(r);
    notifier.notifyUsers(['@a:x'], r.position);
    assert.equal(await waiter.wait(10_000), true);
    assert.equal(notifier.waitingUsers, 0);
  });

  it('holds a wake-up back until every lower position is visible', async () => {
    const positions = new StreamPositions(0);
    const notifier = new Notifier(positions);
    const first = positions.reserve();
    const second = positions.reserve();
    const waiter = notifier.waiterFor('@a:x');
    let woken: boolean | undefined;
    const waiting = waiter.wait(10_000).then((w) => (woken = w));
    positions.release(second);
    notifier.notifyUsers(['@a:x'], second.position);
    await new Promise((r) => setImmediate(r));
    assert.equal(woken, undefined);
    positions.release(first);
    await waiting;
    assert.equal(woken, true);
  });

  it('ends a wait on timeout and when the client goes away, unregistering it', async () => {
    const notifier = new Notifier(new StreamPositions(0));
    assert.equal(await notifier.waiterFor('@a:x').wait(5), false);
    const abort = new AbortController();
    const waiting = notifier.waiterFor('@b:x').wait(10_000, abort.signal);
    assert.equal(notifier.waitingUsers, 1);
    abort.abort();
    assert.equal(await waiting, false);
    assert.equal(notifier.waitingUsers, 0);
  });

  it('wakes only the users named, and every waiter of each', async () => {
    const positions = new StreamPositions(0);
    const notifier = new Notifier(positions);
    const a1 = notifier.waiterFor('@a:x').wait(10_000);
    const a2 = notifier.waiterFor('@a:x').wait(10_000);
    const b = notifier.waiterFor('@b:x');
    notifier.notifyUsers(['@a:x'], 0);
    assert.deepEqual(await Promise.all([a1, a2]), [true, true]);
    assert.equal(notifier.waitingUsers, 1);
    b.cancel();
    assert.equal(notifier.waitingUsers, 0);
  });
});
