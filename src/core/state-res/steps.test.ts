// Each step of state resolution on its own, on small hand-built graphs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stateKeyOf } from '../pdu.ts';
import { roomVersion } from '../room-versions.ts';
import { AuthChains, authDifference } from './auth-difference.ts';
import { iterativeAuthChecks } from './iterative-auth.ts';
import { mainlineOf, mainlineSort } from './mainline.ts';
import { isPowerEvent, kahnSort, reverseTopologicalPowerSort, senderPowerLevel } from './power-sort.ts';
import { EventCache, authEventIdsOf, compareIds } from './source.ts';
import { splitStateSets } from './split.ts';
import { ALICE, BOB, CHARLIE, EventGraph, initialRoom, join, joinRules, member, powerLevels, topic } from './test-graph.ts';

const v2 = roomVersion('2')!;
const v11 = roomVersion('11')!;
const v12 = roomVersion('12')!;
const TOPIC_KEY = stateKeyOf('m.room.topic', '');
const PL_KEY = stateKeyOf('m.room.power_levels', '');

const names = (g: EventGraph, ids: Iterable<string>): string[] => [...ids].map((id) => g.nameOf(id));

describe('splitStateSets', () => {
  it('separates keys all sets agree on from keys that differ or are missing somewhere', () => {
    const { unconflicted, conflicted } = splitStateSets([
      new Map([['a', '$1'], ['b', '$2'], ['c', '$3']]),
      new Map([['a', '$1'], ['b', '$4']]),
      new Map([['a', '$1'], ['b', '$2'], ['c', '$3']]),
    ]);
    assert.deepEqual([...unconflicted], [['a', '$1']]);
    assert.deepEqual([...conflicted].map(([k, ids]) => [k, [...ids].sort()]), [['b', ['$2', '$4']], ['c', ['$3']]]);
  });
});

for (const union of [false, true]) {
  describe(`authDifference${union ? ' (source with getAuthChainUnion)' : ''}`, () => {
    const sourceOf = (g: EventGraph) => (union ? g.withAuthChainUnion() : g);

    it('is what one branch knows of the auth history and the other does not', async () => {
      const g = await initialRoom(v11);
      await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
      await g.add('JR', joinRules(ALICE, 'invite'), ['START']);
      const sets = [g.stateAt('PA'), g.stateAt('JR')];
      // IPOWER (state on one side, in PA's auth chain on the other) and IJR (cited by the joins
      // on both sides) are known to both.
      const diff = await authDifference(sets, splitStateSets(sets), new AuthChains(sourceOf(g)));
      assert.deepEqual(names(g, diff).sort(), ['JR', 'PA']);
      assert.equal(g.authChainCalls.includes('union'), union);
    });

    it('counts the state events themselves as part of their branch’s auth chain', async () => {
      const g = await initialRoom(v11);
      await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
      await g.add('TB', topic(BOB, 'tb'), ['PA']);
      // Only TB cites Bob's join IMB, but IMB is state in both sets: not part of the difference.
      const sets = [g.stateAt('PA'), g.stateAt('TB')];
      assert.deepEqual(names(g, await authDifference(sets, splitStateSets(sets), new AuthChains(sourceOf(g)))), ['TB']);
    });

    it('leaves out auth history that only an unconflicted event shares with one branch', async () => {
      const g = await initialRoom(v11);
      await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
      await g.add('MB2', join(BOB), ['PA']); // Bob's member event now cites PA
      await g.add('TA', topic(ALICE, 'ta'), ['MB2']);
      // One set has PA as its power levels; the other still IPOWER, yet both hold MB2, whose
      // chain has PA: PA is common history, only the topic differs.
      const stale = g.stateAt('TA');
      stale.set(PL_KEY, g.id('IPOWER'));
      stale.delete(TOPIC_KEY);
      const sets = [g.stateAt('TA'), stale];
      assert.deepEqual(names(g, await authDifference(sets, splitStateSets(sets), new AuthChains(sourceOf(g)))), ['TA']);
    });
  });
}

describe('power events and sender power', () => {
  it('recognises power events', async () => {
    const g = await initialRoom(v11);
    const raw = (name: string, spec: Parameters<EventGraph['addRaw']>[1]) => g.events.get(g.addRaw(name, spec, []))!;
    assert.equal(isPowerEvent(raw('P', powerLevels(g, ALICE, {}))), true);
    assert.equal(isPowerEvent(raw('J', joinRules(ALICE, 'public'))), true);
    assert.equal(isPowerEvent(raw('K', member(ALICE, BOB, 'leave'))), true, 'kick');
    assert.equal(isPowerEvent(raw('B', member(ALICE, BOB, 'ban'))), true, 'ban');
    assert.equal(isPowerEvent(raw('L', member(BOB, BOB, 'leave'))), false, 'leaving yourself');
    assert.equal(isPowerEvent(raw('I', member(ALICE, BOB, 'invite'))), false);
    assert.equal(isPowerEvent(raw('T', topic(ALICE, 'x'))), false);
  });

  it('reads the sender’s level from the power levels among its auth events', async () => {
    const g = await initialRoom(v11);
    const cache = new EventCache(g);
    await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }, { users_default: 7 }), ['START']);
    const level = async (name: string, sender: string, auth: string[]) =>
      senderPowerLevel(g.events.get(g.addRaw(name, topic(sender, name), auth))!, cache, v11);
    assert.equal(await level('E1', BOB, ['CREATE', 'PA', 'IMB']), 50);
    assert.equal(await level('E2', CHARLIE, ['CREATE', 'PA', 'IMC']), 7, 'users_default');
    assert.equal(await level('E3', BOB, ['CREATE', 'IPOWER', 'IMB']), 0, 'before PA');
    assert.equal(await level('E4', ALICE, ['CREATE', 'IMA']), 100, 'creator, no power levels');
    assert.equal(await level('E5', BOB, ['CREATE', 'IMB']), 0, 'no power levels');
  });

  it('room version 2: reads levels written as strings; v12: creators are infinitely powerful', async () => {
    const g2 = await initialRoom(v2);
    g2.addRaw('PS', { sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: '100', [BOB]: ' 42 ' } } }, ['CREATE', 'IMA']);
    const e2 = g2.events.get(g2.addRaw('E', topic(BOB, 'x'), ['CREATE', 'PS', 'IMB']))!;
    assert.equal(await senderPowerLevel(e2, new EventCache(g2), v2), 42);

    const g12 = await initialRoom(v12);
    const cache = new EventCache(g12);
    // v12 events do not list the create event; it is found through the room ID.
    const byAlice = g12.events.get(g12.addRaw('EA', topic(ALICE, 'x'), ['IPOWER', 'IMA']))!;
    assert.deepEqual(authEventIdsOf(byAlice, v12), ['$IPOWER', '$IMA', '$CREATE']);
    assert.equal(await senderPowerLevel(byAlice, cache, v12), Infinity);
    const byBob = g12.events.get(g12.addRaw('EB', topic(BOB, 'x'), ['IPOWER', 'IMB']))!;
    assert.equal(await senderPowerLevel(byBob, cache, v12), 0);
  });
});

describe('reverse topological power ordering', () => {
  it('Kahn’s algorithm takes the smallest ready event each time', () => {
    const graph = new Map([
      ['l', new Set(['o'])],
      ['m', new Set(['n', 'o'])],
      ['n', new Set(['o'])],
      ['o', new Set<string>()],
      ['p', new Set(['o'])],
    ]);
    assert.deepEqual(kahnSort(graph, compareIds), ['o', 'l', 'n', 'm', 'p']);
  });

  it('orders by auth ancestry first, then higher sender power, earlier timestamp, smaller event ID', async () => {
    const g = await initialRoom(v11);
    await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
    g.addRaw('W', joinRules(CHARLIE, 'public'), ['CREATE', 'PA', 'IMC']); // power 0
    g.addRaw('X', joinRules(BOB, 'public'), ['CREATE', 'PA', 'IMB']); // power 50
    g.addRaw('Z', { ...joinRules(BOB, 'public'), ts: 10_000 }, ['CREATE', 'PA', 'IMB']); // power 50, late
    g.addRaw('Y', { ...joinRules(ALICE, 'public'), ts: 20_000 }, ['CREATE', 'PA', 'IMA']); // power 100, latest
    g.addRaw('Z2', { ...joinRules(BOB, 'public'), ts: 10_000 }, ['CREATE', 'PA', 'IMB']); // ties Z but for the ID
    // V is Alice's and early, but cites W, so W must come first.
    g.addRaw('V', { ...joinRules(ALICE, 'public'), ts: 0 }, ['CREATE', 'PA', 'IMA', 'W']);
    const full = new Set(['V', 'W', 'X', 'Y', 'Z', 'Z2'].map((n) => g.id(n)));
    const cache = new EventCache(g);
    await cache.load(full);
    const sorted = await reverseTopologicalPowerSort([...full].reverse(), full, cache, v11);
    assert.deepEqual(names(g, sorted), ['Y', 'X', 'Z', 'Z2', 'W', 'V']);
  });

  it('pulls in auth ancestors from the full conflicted set, and only those', async () => {
    const g = await initialRoom(v11);
    await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
    await g.add('MB2', join(BOB), ['PA']); // not a power event
    await g.add('KB', member(ALICE, BOB, 'leave'), ['MB2']); // cites MB2
    const full = new Set([g.id('KB'), g.id('MB2')]);
    const cache = new EventCache(g);
    await cache.load(full);
    // PA is also an auth event of KB, but outside the full conflicted set.
    assert.deepEqual(names(g, await reverseTopologicalPowerSort([g.id('KB')], full, cache, v11)), ['MB2', 'KB']);
  });
});

describe('mainline ordering', () => {
  it('sorts by mainline position (older first), then timestamp, then event ID', async () => {
    const g = await initialRoom(v11);
    await g.add('PA1', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
    await g.add('PA2', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 60 }), ['PA1']);
    await g.add('PB', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50 }), ['PA1']);
    const cache = new EventCache(g);
    assert.deepEqual(names(g, await mainlineOf(g.id('PA2'), cache, v11)), ['PA2', 'PA1', 'IPOWER']);

    const ids = [
      g.addRaw('T_PA2', { ...topic(ALICE, 'a'), ts: 1 }, ['CREATE', 'PA2', 'IMA']), // position 0
      g.addRaw('T_PA1', { ...topic(ALICE, 'b'), ts: 5 }, ['CREATE', 'PA1', 'IMA']), // position 1
      g.addRaw('T_PB', { ...topic(BOB, 'c'), ts: 3 }, ['CREATE', 'PB', 'IMB']), // PB → PA1: position 1
      g.addRaw('T_PB2', { ...topic(BOB, 'd'), ts: 3 }, ['CREATE', 'PB', 'IMB']), // same, larger ID
      g.addRaw('T_IP', { ...topic(ALICE, 'e'), ts: 9 }, ['CREATE', 'IPOWER', 'IMA']), // position 2
      g.addRaw('T_NONE', { ...topic(ALICE, 'f'), ts: 99 }, ['CREATE', 'IMA']), // no power levels: ∞
    ];
    await cache.load(ids);
    assert.deepEqual(names(g, await mainlineSort(ids, g.id('PA2'), cache, v11)), ['T_NONE', 'T_IP', 'T_PB', 'T_PB2', 'T_PA1', 'T_PA2']);
    // No resolved power levels: everything is at ∞ and only timestamps and IDs order.
    assert.deepEqual(names(g, await mainlineSort(ids, undefined, cache, v11)), ['T_PA2', 'T_PB', 'T_PB2', 'T_PA1', 'T_IP', 'T_NONE']);
  });
});

describe('iterative auth checks', () => {
  async function bobsTopic() {
    const g = await initialRoom(v11);
    await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
    await g.add('TB', topic(BOB, 'tb'), ['PA']);
    return g;
  }

  it('uses the event’s own auth events for keys the state does not have yet', async () => {
    const g = await bobsTopic();
    const cache = new EventCache(g);
    await cache.load([g.id('TB')]);
    const resolved = await iterativeAuthChecks([g.id('TB')], new Map(), cache, v11);
    assert.equal(resolved.get(TOPIC_KEY), g.id('TB'));
  });

  it('lets the partially resolved state override the event’s own auth events', async () => {
    const g = await bobsTopic();
    const cache = new EventCache(g);
    await cache.load([g.id('TB')]);
    // With the initial power levels (Bob at 0) in the state, Bob may not set the topic.
    const resolved = await iterativeAuthChecks([g.id('TB')], new Map([[PL_KEY, g.id('IPOWER')]]), cache, v11);
    assert.equal(resolved.has(TOPIC_KEY), false);
    assert.equal(resolved.get(PL_KEY), g.id('IPOWER'));
  });

  it('never uses rejected events as auth events', async () => {
    const g = await bobsTopic();
    g.rejected.add(g.id('PA'));
    const cache = new EventCache(g);
    await cache.load([g.id('TB')]);
    // Without PA Bob has no power to set the topic, whether PA comes from his auth events or the state.
    assert.equal((await iterativeAuthChecks([g.id('TB')], new Map(), cache, v11)).has(TOPIC_KEY), false);
    assert.equal((await iterativeAuthChecks([g.id('TB')], new Map([[PL_KEY, g.id('PA')]]), cache, v11)).has(TOPIC_KEY), false);
  });

  it('still replays an event that was itself rejected (spec: "handled as usual")', async () => {
    const g = await bobsTopic();
    g.rejected.add(g.id('TB'));
    const cache = new EventCache(g);
    await cache.load([g.id('TB')]);
    assert.equal((await iterativeAuthChecks([g.id('TB')], new Map(), cache, v11)).get(TOPIC_KEY), g.id('TB'));
  });

  it('applies events in order, each seeing the ones before', async () => {
    const g = await initialRoom(v11);
    await g.add('PA', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['START']);
    await g.add('TB', topic(BOB, 'tb'), ['PA']);
    await g.add('BAN', member(ALICE, BOB, 'ban'), ['PA']);
    const cache = new EventCache(g);
    const ids = [g.id('TB'), g.id('BAN')];
    await cache.load(ids);
    const topicFirst = await iterativeAuthChecks(ids, new Map(), cache, v11);
    assert.equal(topicFirst.get(TOPIC_KEY), g.id('TB'));
    const banFirst = await iterativeAuthChecks([...ids].reverse(), new Map(), cache, v11);
    assert.equal(banFirst.has(TOPIC_KEY), false);
    assert.equal(banFirst.get(stateKeyOf('m.room.member', BOB)), g.id('BAN'));
  });
});
