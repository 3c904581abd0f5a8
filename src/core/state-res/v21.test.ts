// State resolution v2.1 (room version 12, MSC4297) against v2, on the two state resets the MSC
// describes. In both, one state set comes from a partial sync and holds an outdated event; the
// auth chains agree on what is current, and v2.1 follows them where v2 resets state.
// Each case also runs with the algorithm swapped (v12 events under v2, v11 events under v2.1), so
// the difference is shown to come from the algorithm and not from the room version's other rules.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stateKeyOf } from '../pdu.ts';
import { roomVersion, type RoomVersion } from '../room-versions.ts';
import { AuthChains } from './auth-difference.ts';
import { conflictedSubgraph } from './conflicted-subgraph.ts';
import { resolveState } from './index.ts';
import { EventCache } from './source.ts';
import { ALICE, BOB, CHARLIE, DAVE, EventGraph, join, joinRules, member, powerLevels } from './test-graph.ts';

const v11 = roomVersion('11')!;
const v12 = roomVersion('12')!;
const v12UnderV2: RoomVersion = { ...v12, id: '12-with-v2', stateRes: 'v2' };
const v11UnderV21: RoomVersion = { ...v11, id: '11-with-v2.1', stateRes: 'v2.1' };

const JR_KEY = stateKeyOf('m.room.join_rules', '');
const PL_KEY = stateKeyOf('m.room.power_levels', '');

async function createRoom(version: RoomVersion): Promise<EventGraph> {
  const g = new EventGraph(version);
  const content: Record<string, unknown> = { room_version: version.id };
  if (!version.implicitRoomCreator) content.creator = ALICE;
  await g.add('CREATE', { sender: ALICE, type: 'm.room.create', stateKey: '', content }, []);
  await g.add('IMA', join(ALICE), ['CREATE']);
  await g.add('IPOWER', powerLevels(g, ALICE, { [ALICE]: 100 }), ['IMA']);
  return g;
}

/**
 * Problem A: Alice opens the room (JR1 public), Bob joins, Alice closes it (JR2 invite) and
 * leaves. A partial sync claims the join rule is still JR1. The states agree Alice has left, so
 * v2 — replaying both join rules on top of that agreement — rejects both: the room loses its
 * join rules. v2.1 replays them on their own auth events, where Alice was joined: JR2 stands.
 */
async function problemA(version: RoomVersion): Promise<{ g: EventGraph; sets: Map<string, string>[] }> {
  const g = await createRoom(version);
  await g.add('JR1', joinRules(ALICE, 'public'), ['IPOWER']);
  await g.add('IMB', join(BOB), ['JR1']);
  await g.add('JR2', joinRules(ALICE, 'invite'), ['IMB']);
  await g.add('AL', member(ALICE, ALICE, 'leave'), ['JR2']);
  const stale = g.stateAt('AL');
  stale.set(JR_KEY, g.id('JR1'));
  return { g, sets: [g.stateAt('AL'), stale] };
}

/**
 * Problem B: Alice promotes Bob (PL1), Bob promotes Charlie (PL2), Dave joins under PL2. A partial
 * sync claims the power levels are still the initial ones. Every auth chain holds PL1, so it is
 * not in the auth difference; without it v2 replays PL2 right on the initial power levels, where
 * Bob may not change them: state resets to IPOWER. v2.1's conflicted state subgraph brings PL1
 * back between them: PL2 stands.
 */
async function problemB(version: RoomVersion): Promise<{ g: EventGraph; sets: Map<string, string>[] }> {
  const g = await createRoom(version);
  await g.add('IJR', joinRules(ALICE, 'public'), ['IPOWER']);
  await g.add('IMB', join(BOB), ['IJR']);
  await g.add('IMC', join(CHARLIE), ['IMB']);
  await g.add('PL1', powerLevels(g, ALICE, { [ALICE]: 100, [BOB]: 50 }), ['IMC']);
  await g.add('PL2', powerLevels(g, BOB, { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 50 }), ['PL1']);
  await g.add('IMD', join(DAVE), ['PL2']);
  const stale = g.stateAt('IMD');
  stale.set(PL_KEY, g.id('IPOWER'));
  return { g, sets: [g.stateAt('IMD'), stale] };
}

describe('state resolution v2.1 (MSC4297) against v2', () => {
  it('problem A, v2 (room version 11): both join rules fail on the agreed "Alice left", the room has none', async () => {
    const { g, sets } = await problemA(v11);
    const resolved = await resolveState(v11, sets, g);
    assert.equal(resolved.has(JR_KEY), false);
    assert.equal(resolved.get(stateKeyOf('m.room.member', ALICE)), g.id('AL'));
  });

  it('problem A, v2.1 (room version 12): starting from empty state, JR2 stands', async () => {
    const { g, sets } = await problemA(v12);
    const resolved = await resolveState(v12, sets, g);
    assert.equal(resolved.get(JR_KEY), g.id('JR2'));
    // The unconflicted state still applies on top: Alice has left.
    assert.equal(resolved.get(stateKeyOf('m.room.member', ALICE)), g.id('AL'));
  });

  it('problem A: the outcome follows the algorithm, not the room version', async () => {
    const a12 = await problemA(v12);
    assert.equal((await resolveState(v12UnderV2, a12.sets, a12.g)).has(JR_KEY), false);
    const a11 = await problemA(v11);
    assert.equal((await resolveState(v11UnderV21, a11.sets, a11.g)).get(JR_KEY), a11.g.id('JR2'));
  });

  it('problem B, v2 (room version 11): the stale power levels win (state reset)', async () => {
    const { g, sets } = await problemB(v11);
    assert.equal((await resolveState(v11, sets, g)).get(PL_KEY), g.id('IPOWER'));
  });

  it('problem B, v2.1 (room version 12): the conflicted state subgraph replays PL1, PL2 stands', async () => {
    const { g, sets } = await problemB(v12);
    const resolved = await resolveState(v12, sets, g);
    assert.equal(resolved.get(PL_KEY), g.id('PL2'));
    assert.deepEqual(await resolveState(v12, sets, g.withAuthChainUnion()), resolved);
    assert.equal(resolved.get(stateKeyOf('m.room.member', DAVE)), g.id('IMD'));
  });

  it('problem B: the outcome follows the algorithm, not the room version', async () => {
    const b12 = await problemB(v12);
    assert.equal((await resolveState(v12UnderV2, b12.sets, b12.g)).get(PL_KEY), b12.g.id('IPOWER'));
    const b11 = await problemB(v11);
    assert.equal((await resolveState(v11UnderV21, b11.sets, b11.g)).get(PL_KEY), b11.g.id('PL2'));
  });

  it('problem B: the conflicted state subgraph is every event on an auth path from PL2 down to IPOWER', async () => {
    for (const version of [v11, v12]) {
      const { g } = await problemB(version);
      const conflicted = new Set([g.id('IPOWER'), g.id('PL2')]);
      const subgraph = await conflictedSubgraph(conflicted, new AuthChains(g), new EventCache(g), version);
      // PL2 → PL1 → IPOWER, PL2 → IMB → IPOWER, PL2 → IMB → IJR → IPOWER. Not CREATE or IMA:
      // nothing leads from them to a conflicted event.
      assert.deepEqual([...subgraph].map((id) => g.nameOf(id)).sort(), ['IJR', 'IMB', 'IPOWER', 'PL1', 'PL2']);
    }
  });

  it('room version 12: a conflicting power levels event that lists a creator never stands', async () => {
    // Bob, made 100 by Alice, tries to demote her. In v12 creators cannot be listed at all, so
    // his event was never valid; a state set naming it (added unchecked) cannot make it stand.
    const g = await createRoom(v12);
    await g.add('IJR', joinRules(ALICE, 'public'), ['IPOWER']);
    await g.add('IMB', join(BOB), ['IJR']);
    await g.add('PB100', powerLevels(g, ALICE, { [BOB]: 100 }), ['IMB']);
    g.addRaw('PBAD', { sender: BOB, type: 'm.room.power_levels', stateKey: '', content: { users: { [BOB]: 100, [ALICE]: 0 } } }, ['PB100', 'IMB']);
    const forged = g.stateAt('PB100');
    forged.set(PL_KEY, g.id('PBAD'));
    assert.equal((await resolveState(v12, [g.stateAt('PB100'), forged], g)).get(PL_KEY), g.id('PB100'));
  });
});
