import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newlyRead, readPositionOf } from './unread-counts.ts';

const action = (event_stream_pos: number, thread_id = '', highlight = 0) => ({ event_stream_pos, thread_id, notify: 1, highlight });

describe('read positions of threads', () => {
  it('takes the furthest of the unthreaded receipt and the thread\'s own', () => {
    const reads = [
      { thread_id: '', event_stream_pos: 10 },
      { thread_id: 'main', event_stream_pos: 20 },
      { thread_id: '$root', event_stream_pos: 5 },
    ];
    assert.equal(readPositionOf(reads, ''), 20);
    assert.equal(readPositionOf(reads, '$root'), 10);
    assert.equal(readPositionOf(reads, '$other'), 10);
    assert.equal(readPositionOf([], ''), 0);
  });
});

describe('actions a new receipt reads', () => {
  const actions = [action(11), action(12, '$root', 1), action(21), action(22, '$root'), action(30)];

  it('an unthreaded receipt reads every thread up to it, except what threaded receipts read', () => {
    const before = [
      { thread_id: '', event_stream_pos: 10 },
      { thread_id: 'main', event_stream_pos: 21 },
    ];
    assert.deepEqual(newlyRead(before, { thread_id: '', event_stream_pos: 25 }, actions), [
      { thread_id: '$root', notifications: 2, highlights: 1 },
    ]);
  });

  it('a threaded receipt reads its own thread only', () => {
    const before = [{ thread_id: '', event_stream_pos: 10 }];
    assert.deepEqual(newlyRead(before, { thread_id: 'main', event_stream_pos: 30 }, actions), [{ thread_id: '', notifications: 3, highlights: 0 }]);
    assert.deepEqual(newlyRead(before, { thread_id: '$root', event_stream_pos: 12 }, actions), [{ thread_id: '$root', notifications: 1, highlights: 1 }]);
  });

  it('a receipt behind what is read already reads nothing', () => {
    const before = [{ thread_id: '', event_stream_pos: 25 }];
    assert.deepEqual(newlyRead(before, { thread_id: '$root', event_stream_pos: 22 }, actions), []);
  });
});
