import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from './lru.ts';

test('LruCache: never holds more than its capacity', () => {
  const cache = new LruCache<number, number>(10);
  for (let i = 0; i < 1000; i++) {
    cache.set(i, i);
    assert.ok(cache.size <= 10, `size ${cache.size} after ${i + 1} inserts`);
  }
  // The newest entries are still there.
  assert.equal(cache.get(999), 999);
  assert.equal(cache.get(998), 998);
});

test('LruCache: an entry read now and then survives while untouched ones are dropped', () => {
  const cache = new LruCache<string, number>(10);
  cache.set('hot', 1);
  for (let i = 0; i < 100; i++) {
    cache.set(`cold-${i}`, i);
    assert.equal(cache.get('hot'), 1, `hot entry lost after ${i + 1} other inserts`);
  }
  assert.equal(cache.get('cold-0'), undefined);
});

test('LruCache: set replaces, delete and deleteWhere remove from both generations', () => {
  const cache = new LruCache<string, number>(6);
  cache.set('a', 1);
  cache.set('b', 2);
  cache.set('c', 3); // the generation is full: a, b and c are now the old one
  assert.equal(cache.size, 3);
  cache.set('a', 10);
  assert.equal(cache.get('a'), 10);
  cache.delete('b');
  assert.equal(cache.get('b'), undefined);
  cache.set('d', 4);
  cache.deleteWhere((v) => v >= 4);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('d'), undefined);
  assert.equal(cache.get('c'), 3);
  cache.clear();
  assert.equal(cache.size, 0);
});
