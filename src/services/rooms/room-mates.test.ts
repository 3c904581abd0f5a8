import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RoomMates } from './room-mates.ts';
import type { StoredEvent } from './event-reader.ts';

const event = {} as StoredEvent;

it('remembers room-mates until a state change, and not from a query that overlapped one', async () => {
  let answer = ['@b:x'];
  let queries = 0;
  let release: (() => void) | undefined;
  const mates = new RoomMates({
    usersSharingRoomsWith: async () => {
      queries++;
      if (release === undefined) return answer;
      await new Promise<void>((r) => (release = r));
      return answer;
    },
  });
  assert.deepEqual(await mates.of('@a:x'), ['@b:x', '@a:x']);
  await mates.of('@a:x');
  assert.equal(queries, 1);

  // A message keeps the room's state map: nothing is forgotten.
  const state = new Map<string, StoredEvent>();
  mates.onPersisted(event, { previousState: state, currentState: state });
  await mates.of('@a:x');
  assert.equal(queries, 1);

  // A state change forgets; a query that started before it is answered but not remembered.
  release = () => {};
  const pending = mates.of('@c:x');
  await new Promise((r) => setImmediate(r));
  answer = ['@d:x'];
  mates.onPersisted(event, { previousState: state, currentState: new Map(state) });
  release();
  assert.deepEqual(await pending, ['@d:x', '@c:x']);
  release = undefined;
  assert.deepEqual(await mates.of('@c:x'), ['@d:x', '@c:x']);
  assert.equal(queries, 3);
});
