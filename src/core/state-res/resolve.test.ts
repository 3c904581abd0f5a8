// The classic hand-built conflicts of state resolution v2 (the cases its design was checked
// against), run through whole event graphs: every merge in the graph is resolved by resolveState,
// and the state at END — where the two branches meet — must have exactly the expected winners.
// Each case runs in room versions 2 (v1-style event IDs), 10, 11 and 12 (v2.1, creators
// infinitely powerful, create event implied by the room ID): the answers are the same.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { roomVersion, type RoomVersion } from '../room-versions.ts';
import { resolveState } from './index.ts';
import {
  ALICE,
  BOB,
  CHARLIE,
  EVELYN,
  ZARA,
  initialRoom,
  join,
  joinRules,
  member,
  powerLevels,
  topic,
  type EventGraph,
  type EventSpec,
} from './test-graph.ts';

type Step = [name: string, spec: EventSpec, prev: string[]];

/**
 * Builds the initial room, then `steps` in order, then END (a message by Zara after `endPrev`),
 * and returns the state at END as name → name, with the keys unchanged since START left out
 * unless listed in `keep`.
 */
async function stateAtEnd(
  version: RoomVersion,
  steps: (g: EventGraph) => Step[],
  endPrev: string[],
): Promise<{ changed: Record<string, string | null>; g: EventGraph }> {
  const g = await initialRoom(version);
  for (const [name, spec, prev] of steps(g)) await g.add(name, spec, prev);
  await g.add('END', { sender: ZARA, type: 'm.room.message', content: { body: 'end' } }, endPrev);
  const start = g.readable(g.stateAt('START'));
  const end = g.readable(g.stateAt('END'));
  const changed: Record<string, string | null> = {};
  for (const key of new Set([...Object.keys(start), ...Object.keys(end)])) {
    if (start[key] !== end[key]) changed[key] = end[key] ?? null;
  }
  return { changed, g };
}

const PL = 'm.room.power_levels|';
const TOPIC = 'm.room.topic|';
const JR = 'm.room.join_rules|';
const m = (user: string): string => `m.room.member|${user}`;

for (const id of ['2', '10', '11', '12']) {
  const version = roomVersion(id)!;

  describe(`state resolution, room version ${id} (${version.stateRes})`, () => {
    it('ban vs power levels: the ban is applied first and the banned user’s power levels change is dropped', async () => {
      const { changed } = await stateAtEnd(
        version,
        (g) => [
          ['PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']],
          ['MA', join(ALICE), ['PA']],
          ['MB', member(ALICE, BOB, 'ban'), ['MA']],
          // Bob, concurrently, re-sends the power levels he is allowed to send.
          ['PB', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50 }), ['PA']],
        ],
        ['MB', 'PB'],
      );
      assert.deepEqual(changed, { [PL]: 'PA', [m(ALICE)]: 'MA', [m(BOB)]: 'MB' });
    });

    it('join rule evasion: a join concurrent with closing the room does not survive', async () => {
      const { changed } = await stateAtEnd(
        version,
        () => [
          ['JR', joinRules(ALICE, 'invite'), ['START']],
          ['ME', join(EVELYN), ['START']],
        ],
        ['JR', 'ME'],
      );
      assert.deepEqual(changed, { [JR]: 'JR' });
    });

    it('offtopic power levels: a chain of delegated changes wins over its own base', async () => {
      const { changed } = await stateAtEnd(
        version,
        (g) => [
          ['PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']],
          ['PB', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 50 }), ['PA']],
          ['PC', powerLevels(g, CHARLIE, { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 0 }), ['PB']],
        ],
        ['PC', 'PA'],
      );
      assert.deepEqual(changed, { [PL]: 'PC' });
    });

    it('topic basic: a topic set under power levels that lost is dropped with them', async () => {
      const { changed } = await stateAtEnd(
        version,
        (g) => [
          ['T1', topic(ALICE, 't1'), ['START']],
          ['PA1', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['T1']],
          ['T2', topic(ALICE, 't2'), ['PA1']],
          ['PA2', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 0 }), ['T2']],
          ['PB', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50 }), ['PA1']],
          ['T3', topic(BOB, 't3'), ['PB']],
        ],
        ['PA2', 'T3'],
      );
      assert.deepEqual(changed, { [PL]: 'PA2', [TOPIC]: 'T2' });
    });

    it('topic reset: the topic of a user banned concurrently falls back to the other branch’s', async () => {
      const { changed } = await stateAtEnd(
        version,
        (g) => [
          ['T1', topic(ALICE, 't1'), ['START']],
          ['PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['T1']],
          ['T2', topic(BOB, 't2'), ['PA']],
          ['MB', member(ALICE, BOB, 'ban'), ['T2']],
        ],
        ['MB', 'T1'],
      );
      assert.deepEqual(changed, { [TOPIC]: 'T1', [m(BOB)]: 'MB', [PL]: 'PA' });
    });

    it('topic: after a merge, a later topic on the winning power levels stands', async () => {
      const { changed } = await stateAtEnd(
        version,
        (g) => [
          ['T1', topic(ALICE, 't1'), ['START']],
          ['PA1', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['T1']],
          ['T2', topic(ALICE, 't2'), ['PA1']],
          ['PA2', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 0 }), ['T2']],
          ['PB', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50 }), ['PA1']],
          ['T3', topic(BOB, 't3'), ['PB']],
          ['MZ1', { sender: ZARA, type: 'm.room.message', content: { body: 'merge' } }, ['PA2', 'T3']],
          ['T4', topic(ALICE, 't4'), ['MZ1']],
        ],
        ['T4', 'MZ1'],
      );
      assert.deepEqual(changed, { [TOPIC]: 'T4', [PL]: 'PA2' });
    });

    it('mainline ordering: the topic written under the resolved power levels wins over a later one', async () => {
      // T4 is sent after T3 and would win on timestamps; but T4 is based on PB, which is not on
      // the resolved power levels' mainline (PA2 → PA1 → IPOWER), so it sorts before T3.
      const { changed } = await stateAtEnd(
        version,
        (g) => [
          ['T1', topic(ALICE, 't1'), ['START']],
          ['PA1', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['T1']],
          ['T2', topic(ALICE, 't2'), ['PA1']],
          ['PA2', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }, { events: { 'm.room.power_levels': 100 } }), ['T2']],
          ['PB', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50 }), ['PA1']],
          ['T3', topic(BOB, 't3'), ['PA2']],
          ['T4', topic(ALICE, 't4'), ['PB']],
        ],
        ['T3', 'T4'],
      );
      assert.deepEqual(changed, { [TOPIC]: 'T3', [PL]: 'PA2' });
    });

    it('is independent of the order of the state sets', async () => {
      const g = await initialRoom(version);
      await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
      await g.add('TA', topic(ALICE, 'ta'), ['PA']);
      await g.add('TB', topic(BOB, 'tb'), ['PA']);
      await g.add('MB', member(ALICE, BOB, 'ban'), ['PA']);
      await g.add('JR', joinRules(ALICE, 'invite'), ['START']);
      const sets = ['TA', 'TB', 'MB', 'JR'].map((n) => g.stateAt(n));
      const expected = g.readable(await resolveState(version, sets, g));
      for (const order of [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]) {
        assert.deepEqual(g.readable(await resolveState(version, order.map((i) => sets[i]), g)), expected);
      }
      // A source with the batched auth chain query gives the same answer.
      assert.deepEqual(g.readable(await resolveState(version, sets, g.withAuthChainUnion())), expected);
      // Bob's topic is the later one, but he is banned: it falls and Alice's stands.
      assert.equal(expected[TOPIC], 'TA');
      assert.equal(expected[m(BOB)], 'MB');
      assert.equal(expected[JR], 'JR');
      assert.equal(expected[PL], 'PA');
    });
  });
}

describe('resolveState, edge cases', () => {
  const v11 = roomVersion('11')!;

  it('returns the state itself when nothing conflicts, without reading any event', async () => {
    const g = await initialRoom(v11);
    const state = g.stateAt('START');
    g.authChainCalls.length = 0;
    assert.deepEqual(await resolveState(v11, [state, new Map(state)], g), state);
    assert.deepEqual(await resolveState(v11, [state], g), state);
    assert.deepEqual(await resolveState(v11, [], g), new Map());
    assert.equal(g.authChainCalls.length, 0);
  });

  it('a key missing from one state set is conflicted, and its event is re-authorised', async () => {
    const g = await initialRoom(v11);
    await g.add('T1', topic(ALICE, 't1'), ['START']);
    // Zara may not set the topic (state_default 50): a state set claiming she did does not win.
    g.addRaw('TZ', topic(ZARA, 'tz'), ['CREATE', 'IPOWER', 'IMZ']);
    const withZara = g.stateAt('START');
    withZara.set('m.room.topic\u0000', g.id('TZ'));
    const resolved = g.readable(await resolveState(v11, [g.stateAt('START'), withZara], g));
    assert.equal(resolved[TOPIC], undefined);
    const resolved2 = g.readable(await resolveState(v11, [g.stateAt('T1'), withZara], g));
    assert.equal(resolved2[TOPIC], 'T1');
  });

  it('drops conflicted events the source does not have', async () => {
    const g = await initialRoom(v11);
    await g.add('T1', topic(ALICE, 't1'), ['START']);
    const ghost = g.stateAt('START');
    ghost.set('m.room.topic\u0000', '$not-stored');
    const resolved = g.readable(await resolveState(v11, [g.stateAt('T1'), ghost], g));
    assert.equal(resolved[TOPIC], 'T1');
  });

  it('refuses room version 1 (state resolution v1 is not implemented)', async () => {
    const g = await initialRoom(v11);
    await assert.rejects(resolveState(roomVersion('1')!, [new Map(), new Map([['k', '$x']])], g), (err: Error & { errcode?: string }) => {
      assert.equal(err.errcode, 'M_UNSUPPORTED_ROOM_VERSION');
      return true;
    });
  });
});
