// The shared timeline reads of woken syncs: one read per (room, from, limit) at the newest
// position, none shared for older batch ends, all dropped at a newer position (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimelineMemo, type RoomTimelineSlice } from './timeline-memo.ts';

function counter() {
  const c = { reads: 0, read: async (): Promise<RoomTimelineSlice> => (c.reads++, { events: [], limited: false }) };
  return c;
}

describe('TimelineMemo', () => {
  it('shares one read between concurrent syncs of the same room, token and limit at the newest position', async () => {
    const memo = new TimelineMemo();
    const c = counter();
    const [x, y] = await Promise.all([memo.get('!r', 5, 6, 10, 6, c.read), memo.get('!r', 5, 6, 10, 6, c.read)]);
    assert.equal(c.reads, 1);
    assert.equal(x, y);
    await memo.get('!r', 4, 6, 10, 6, c.read); // another token
    await memo.get('!r', 5, 6, 3, 6, c.read); // another limit
    await memo.get('!s', 5, 6, 10, 6, c.read); // another room
    assert.equal(c.reads, 4);
  });

  it('reads for itself when the batch ends before the newest position (to-device paging)', async () => {
    const memo = new TimelineMemo();
    const c = counter();
    await memo.get('!r', 5, 6, 10, 7, c.read);
    await memo.get('!r', 5, 6, 10, 7, c.read);
    assert.equal(c.reads, 2);
  });

  it('drops everything when a sync sees a newer position, and never serves an older one again', async () => {
    const memo = new TimelineMemo();
    const c = counter();
    await memo.get('!r', 5, 6, 10, 6, c.read);
    await memo.get('!r', 5, 7, 10, 7, c.read);
    await memo.get('!r', 5, 6, 10, 6, c.read); // a sync that started before the advance
    await memo.get('!r', 5, 6, 10, 6, c.read);
    assert.equal(c.reads, 4);
    await memo.get('!r', 5, 7, 10, 7, c.read);
    assert.equal(c.reads, 4);
  });

  it('does not share a failed read', async () => {
    const memo = new TimelineMemo();
    let fail = true;
    const read = async (): Promise<RoomTimelineSlice> => {
      if (fail) throw new Error('database went away');
      return { events: [], limited: true };
    };
    await assert.rejects(memo.get('!r', 1, 2, 10, 2, read));
    fail = false;
    assert.equal((await memo.get('!r', 1, 2, 10, 2, read)).limited, true);
  });
});
