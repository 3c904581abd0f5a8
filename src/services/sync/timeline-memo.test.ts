// The shared timeline reads of woken syncs: one read per (room, from, limit) at the newest
// position, none shared for older batch ends, all dropped at a newer position (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimelineMemo, type RoomTimelineSlice } from './timeline-memo.ts';

function counter() {
  const c = { reads: 0, read: async (): Promise<RoomTimelineSlice> => (c.reads++, { events: [], limited: false }) };
  return { c, memo: new TimelineMemo(c.read) };
}

describe('TimelineMemo', () => {
  it('shares one read between concurrent syncs of the same room, token and limit at the newest position', async () => {
    const { c, memo } = counter();
    const [x, y] = await Promise.all([memo.get('!r', 5, 6, 10, 6), memo.get('!r', 5, 6, 10, 6)]);
    assert.equal(c.reads, 1);
    assert.equal(x, y);
    await memo.get('!r', 4, 6, 10, 6); // another token
    await memo.get('!r', 5, 6, 3, 6); // another limit
    await memo.get('!s', 5, 6, 10, 6); // another room
    assert.equal(c.reads, 4);
  });

  it('reads for itself when the batch ends before the newest position (to-device paging)', async () => {
    const { c, memo } = counter();
    await memo.get('!r', 5, 6, 10, 7);
    await memo.get('!r', 5, 6, 10, 7);
    assert.equal(c.reads, 2);
  });

  it('drops everything when a sync sees a newer position, and never serves an older one again', async () => {
    const { c, memo } = counter();
    await memo.get('!r', 5, 6, 10, 6);
    await memo.get('!r', 5, 7, 10, 7);
    await memo.get('!r', 5, 6, 10, 6); // a sync that started before the advance
    await memo.get('!r', 5, 6, 10, 6);
    assert.equal(c.reads, 4);
    await memo.get('!r', 5, 7, 10, 7);
    assert.equal(c.reads, 4);
  });

  it('hands out a shared read without a promise once it has answered, only at its position', async () => {
    const { memo } = counter();
    assert.equal(memo.peek('!r', 5, 6, 10, 6), undefined);
    const pending = memo.get('!r', 5, 6, 10, 6);
    assert.equal(memo.peek('!r', 5, 6, 10, 6), undefined, 'not before the read answered');
    const slice = await pending;
    assert.equal(memo.peek('!r', 5, 6, 10, 6), slice);
    assert.equal(memo.peek('!r', 5, 6, 3, 6), undefined, 'another limit');
    assert.equal(memo.peek('!r', 5, 6, 10, 7), undefined, 'a batch ending before the newest position');
    await memo.get('!r', 6, 7, 10, 7);
    assert.equal(memo.peek('!r', 5, 6, 10, 6), undefined, 'dropped at a newer position');
  });

  it('does not share a failed read', async () => {
    let fail = true;
    const memo = new TimelineMemo(async (): Promise<RoomTimelineSlice> => {
      if (fail) throw new Error('database went away');
      return { events: [], limited: true };
    });
    await assert.rejects(memo.get('!r', 1, 2, 10, 2));
    assert.equal(memo.peek('!r', 1, 2, 10, 2), undefined);
    fail = false;
    assert.equal((await memo.get('!r', 1, 2, 10, 2)).limited, true);
  });
});
