// The in-memory key counts behind every /sync: filled once, forgotten on invalidation, and never
// filled by a read that overlapped one (pure; the source is a fake).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyCountsCache, type KeyCountSource } from './key-counts.ts';

/** A source whose answers the test changes, counting the reads and able to hold one back. */
class FakeSource implements KeyCountSource {
  counts: Record<string, number> = {};
  fallback: string[] = [];
  reads = 0;
  hold: Promise<void> | undefined;

  async countOneTimeKeys(): Promise<Record<string, number>> {
    this.reads++;
    const answer = { ...this.counts };
    await this.hold;
    return answer;
  }

  async unusedFallbackAlgorithms(): Promise<string[]> {
    return [...this.fallback];
  }
}

describe('KeyCountsCache', () => {
  it('reads a device once, then serves it from memory until invalidated', async () => {
    const source = new FakeSource();
    source.counts = { signed_curve25519: 3 };
    const cache = new KeyCountsCache(source);
    assert.deepEqual((await cache.get('@a:x', 'D')).oneTimeKeys, { signed_curve25519: 3 });
    assert.deepEqual((await cache.get('@a:x', 'D')).oneTimeKeys, { signed_curve25519: 3 });
    assert.equal(source.reads, 1);
    source.counts = { signed_curve25519: 2 };
    cache.invalidate('@a:x', 'D');
    assert.deepEqual((await cache.get('@a:x', 'D')).oneTimeKeys, { signed_curve25519: 2 });
    assert.equal(source.reads, 2);
  });

  it('always reports signed_curve25519, and freezes what it shares', async () => {
    const source = new FakeSource();
    source.fallback = ['signed_curve25519'];
    const entry = await new KeyCountsCache(source).get('@a:x', 'D');
    assert.deepEqual(entry.oneTimeKeys, { signed_curve25519: 0 });
    assert.deepEqual(entry.unusedFallbackTypes, ['signed_curve25519']);
    assert.ok(Object.isFrozen(entry.oneTimeKeys) && Object.isFrozen(entry.unusedFallbackTypes));
  });

  it('does not keep a read that overlapped an invalidation (it may have seen the old rows)', async () => {
    const source = new FakeSource();
    source.counts = { signed_curve25519: 5 };
    const cache = new KeyCountsCache(source);
    let release!: () => void;
    source.hold = new Promise((r) => (release = r));
    const racing = cache.get('@a:x', 'D');
    // A claim commits while the read is under way.
    source.counts = { signed_curve25519: 4 };
    cache.invalidate('@a:x', 'D');
    release();
    assert.deepEqual((await racing).oneTimeKeys, { signed_curve25519: 5 });
    source.hold = undefined;
    assert.deepEqual((await cache.get('@a:x', 'D')).oneTimeKeys, { signed_curve25519: 4 });
  });

  it('forgets every device of a user at once, and only that user', async () => {
    const source = new FakeSource();
    const cache = new KeyCountsCache(source);
    await cache.get('@a:x', 'D1');
    await cache.get('@a:x', 'D2');
    await cache.get('@b:x', 'D1');
    assert.equal(source.reads, 3);
    cache.invalidateUser('@a:x');
    await cache.get('@a:x', 'D1');
    await cache.get('@a:x', 'D2');
    await cache.get('@b:x', 'D1');
    assert.equal(source.reads, 5);
  });
});
