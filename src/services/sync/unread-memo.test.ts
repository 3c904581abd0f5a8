// The unread counters of woken syncs: a lone sync reads its own row, the second sync of a room
// at the newest position reads the room once for everyone (if the room is small enough for the
// syncs that asked), and nothing is served across a new position, to a batch ending earlier, or
// after a failed read (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ROOM_ROWS, ROWS_PER_ASK, UnreadCountsMemo } from './unread-memo.ts';
import type { UnreadCounts } from '../../storage/stores/push-actions.ts';

type Row = UnreadCounts & { user_id: string; room_id: string };

function fakeStore(rows: Row[]) {
  const s = {
    rows,
    own: 0,
    whole: 0,
    fail: false,
    async counts(userId: string, roomId: string): Promise<UnreadCounts[]> {
      s.own++;
      return s.rows.filter((r) => r.user_id === userId && r.room_id === roomId).map(({ thread_id, notifications, highlights }) => ({ thread_id, notifications, highlights }));
    },
    async roomCounts(roomId: string, limit: number): Promise<Array<UnreadCounts & { user_id: string }>> {
      s.whole++;
      if (s.fail) throw new Error('database went away');
      return s.rows.filter((r) => r.room_id === roomId).slice(0, limit);
    },
  };
  return s;
}

const row = (user_id: string, room_id: string, notifications: number, thread_id = ''): Row => ({ user_id, room_id, thread_id, notifications, highlights: 0 });
const total = (counts: readonly UnreadCounts[]) => counts.reduce((n, c) => n + c.notifications, 0);

describe('UnreadCountsMemo', () => {
  it('reads the room once from the second sync on, and gives each user their own rows', async () => {
    const store = fakeStore([row('@a', '!r', 1), row('@b', '!r', 2), row('@b', '!r', 5, '$thread'), row('@c', '!s', 7)]);
    const memo = new UnreadCountsMemo(store);
    assert.equal(total(await memo.counts('@a', '!r', 6, 6)), 1);
    assert.deepEqual([store.own, store.whole], [1, 0]);
    const [b, c, d] = await Promise.all([memo.counts('@b', '!r', 6, 6), memo.counts('@c', '!r', 6, 6), memo.counts('@d', '!r', 6, 6)]);
    assert.deepEqual([total(b), total(c), total(d)], [7, 0, 0]);
    assert.equal(b.length, 2);
    assert.deepEqual([store.own, store.whole], [1, 1]);
    assert.equal(total(await memo.counts('@c', '!s', 6, 6)), 7); // another room: its own first ask
    assert.deepEqual([store.own, store.whole], [2, 1]);
  });

  it('drops everything at a newer position: a receipt or a message elsewhere is seen', async () => {
    const store = fakeStore([row('@a', '!r', 1), row('@b', '!r', 2)]);
    const memo = new UnreadCountsMemo(store);
    await memo.counts('@a', '!r', 6, 6);
    await memo.counts('@b', '!r', 6, 6);
    store.rows = [row('@b', '!r', 2)]; // @a's receipt, at position 7
    assert.equal(total(await memo.counts('@a', '!r', 7, 7)), 0);
    assert.equal(total(await memo.counts('@b', '!r', 7, 7)), 2);
    store.rows = [row('@a', '!r', 1), row('@b', '!r', 3)]; // a message at position 8
    assert.equal(total(await memo.counts('@b', '!r', 8, 8)), 3);
    assert.equal(total(await memo.counts('@a', '!r', 8, 8)), 1);
    // A sync that started before the advance reads for itself.
    store.rows = [];
    assert.equal(total(await memo.counts('@a', '!r', 7, 7)), 0);
  });

  it('reads for itself when the batch ends before the newest position (to-device paging)', async () => {
    const store = fakeStore([row('@a', '!r', 1)]);
    const memo = new UnreadCountsMemo(store);
    for (let i = 0; i < 3; i++) await memo.counts('@a', '!r', 5, 6);
    assert.deepEqual([store.own, store.whole], [3, 0]);
  });

  it('does not share a failed read: the syncs waiting on it fail, later ones read again', async () => {
    const store = fakeStore([row('@a', '!r', 1)]);
    const memo = new UnreadCountsMemo(store);
    await memo.counts('@a', '!r', 6, 6);
    store.fail = true;
    await assert.rejects(Promise.resolve(memo.counts('@a', '!r', 6, 6)));
    store.fail = false;
    assert.equal(total(await memo.counts('@a', '!r', 6, 6)), 1); // its own row
    assert.equal(total(await memo.counts('@a', '!r', 6, 6)), 1); // 4th ask: the room again
    assert.equal(total(await memo.counts('@b', '!r', 6, 6)), 0);
    assert.deepEqual([store.own, store.whole], [2, 2]);
  });

  it('reads a big room whole only once enough syncs asked, so few syncs never read many rows', async () => {
    const rows = Array.from({ length: 3 * ROWS_PER_ASK }, (_, i) => row(`@u${i}`, '!big', 1));
    const store = fakeStore(rows);
    const memo = new UnreadCountsMemo(store);
    const ask = async (i: number) => total(await memo.counts(`@u${i}`, '!big', 6, 6));
    assert.equal(await ask(0), 1); // own row
    assert.equal(await ask(1), 1); // 2 asks: a read of up to 2 × ROWS_PER_ASK rows, too few
    assert.equal(await ask(2), 1); // own row
    assert.deepEqual([store.own, store.whole], [3, 1]);
    assert.equal(await ask(3), 1); // 4 asks: up to 4 × ROWS_PER_ASK rows, enough
    for (let i = 4; i < 20; i++) assert.equal(await ask(i), 1);
    assert.equal(total(await memo.counts('@nobody', '!big', 6, 6)), 0);
    assert.deepEqual([store.own, store.whole], [3, 2]);

    const huge = fakeStore(Array.from({ length: MAX_ROOM_ROWS + 1 }, (_, i) => row(`@u${i}`, '!huge', 1)));
    const hugeMemo = new UnreadCountsMemo(huge);
    for (let i = 0; i < 300; i++) assert.equal(total(await hugeMemo.counts(`@u${i}`, '!huge', 6, 6)), 1);
    // Reads at 2, 4, …, 128 asks (the last one at MAX_ROOM_ROWS), all too small; then no more.
    assert.equal(huge.whole, 7);
    assert.equal(huge.own, 300); // every sync, the 7 at a failed read included, read its own row
  });
});
