import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedQueue } from './keyed-queue.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedQueue', () => {
  it('runs tasks of one key one at a time, in order, and tasks of other keys beside them', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([queue.run('a', task('a1')), queue.run('a', task('a2')), queue.run('b', task('b1'))]);
    const at = (entry: string) => log.indexOf(entry);
    assert.ok(at('a2 start') > at('a1 end'));
    assert.ok(at('b1 start') < at('a1 end'), 'another key runs beside');
  });

  it('runAll waits for every key it takes, and holds them all while its task runs', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      await tick();
      log.push(`${name} end`);
      return name;
    };
    const before = queue.run('b', task('b before'));
    const all = queue.runAll(['c', 'b', 'a', 'b'], task('all'));
    const after = [queue.run('a', task('a after')), queue.run('c', task('c after'))];
    const other = queue.run('d', task('d'));
    assert.equal(await all, 'all');
    await Promise.all([before, ...after, other]);
    // 'all' starts only after 'b before' ends; no task of a key it takes overlaps it ('c after'
    // may run first: runAll takes its keys one after another, and had not reached 'c').
    const at = (entry: string) => log.indexOf(entry);
    assert.ok(at('all start') > at('b before end'));
    assert.ok(at('a after start') > at('all end'), "'a' was taken at once");
    assert.ok(at('c after end') < at('all start') || at('c after start') > at('all end'));
    assert.ok(at('d start') < at('all start'), 'a key it does not take is not held up');
  });

  it('releases the keys when the task fails', async () => {
    const queue = new KeyedQueue();
    await assert.rejects(queue.runAll(['x', 'y'], async () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(await queue.run('y', async () => 'free'), 'free');
    await queue.drain();
  });
});
