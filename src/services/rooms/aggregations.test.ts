// The aggregator's memory of events without children: a fan-out of syncs bundling one new event
// asks the database once; a served child makes the parent be asked about again, also when the
// child was written while a query was under way (pure: fake store and write path).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RelationAggregator, type AggregationDeps } from './aggregations.ts';
import type { StoredEvent } from './event-reader.ts';
import type { ClientEvent } from './client-event.ts';

function stored(eventId: string, content: Record<string, unknown> = { body: 'hi' }): StoredEvent {
  return {
    eventId,
    roomId: '!r:x',
    pdu: { type: 'm.room.message', sender: '@a:x', content, origin_server_ts: 1, room_id: '!r:x' } as unknown as StoredEvent['pdu'],
    nid: 1,
    streamPos: 1,
    redactedBy: null,
    rejected: null,
    softFailed: false,
    outlier: false,
    snapshotNid: null,
    txn: null,
  };
}

const clientEvent = (eventId: string): ClientEvent => ({ event_id: eventId, type: 'm.room.message', sender: '@a:x', origin_server_ts: 1, content: {} });

function setup() {
  const events = new Map([['$p', stored('$p')]]);
  const withChildren = new Set<string>();
  const listeners: Array<(e: StoredEvent) => void> = [];
  const state = { queries: 0, duringQuery: undefined as (() => void) | undefined };
  const deps = {
    relations: {
      parentsWithChildren: async (ids: readonly string[]) => {
        state.queries++;
        const found = new Set(ids.filter((id) => withChildren.has(id)));
        state.duringQuery?.();
        state.duringQuery = undefined;
        return found;
      },
      // Children exist but none of the bundled kinds is served: no bundle, the point is the count.
      childrenOfType: async () => [],
      threadCounts: async () => [],
      threadsWithChildFrom: async () => new Set<string>(),
      threadEventsBefore: async () => [],
    },
    reader: { getEvents: async (ids: Iterable<string>) => new Map([...ids].flatMap((id) => (events.has(id) ? [[id, events.get(id)!] as const] : []))), fromRows: () => [] },
    writer: { versionOf: async () => undefined },
    visibility: { filterEventsForUser: async (_u: string, evs: StoredEvent[]) => evs },
    persister: { onPersisted: (l: (e: StoredEvent) => void) => void listeners.push(l) },
  } as unknown as AggregationDeps;
  const aggregator = new RelationAggregator(deps);
  const persistChild = (parentId: string) => {
    withChildren.add(parentId);
    for (const l of listeners) l(stored('$child', { body: 'edit', 'm.relates_to': { rel_type: 'm.reference', event_id: parentId } }));
  };
  /** A client's own send (with a transaction), or an event from elsewhere (none). */
  const persistEvent = (eventId: string, txn: StoredEvent['txn']) => {
    events.set(eventId, { ...stored(eventId), txn });
    for (const l of listeners) l(events.get(eventId)!);
  };
  return { aggregator, state, persistChild, persistEvent };
}

describe('RelationAggregator: events without children', () => {
  it('asks once for an event nobody has related to, then again after a child was served', async () => {
    const { aggregator, state, persistChild } = setup();
    await aggregator.bundleAggregations([clientEvent('$p')], '@a:x');
    await aggregator.bundleAggregations([clientEvent('$p')], '@a:x');
    assert.equal(state.queries, 1);
    persistChild('$p');
    await aggregator.bundleAggregations([clientEvent('$p')], '@a:x');
    await aggregator.bundleAggregations([clientEvent('$p')], '@a:x');
    // It has children now: every bundle looks them up.
    assert.equal(state.queries, 3);
  });

  it("knows a client's own send to have no children until one is served, without asking", async () => {
    const { aggregator, state, persistChild, persistEvent } = setup();
    persistEvent('$sent', { deviceId: 'D', txnId: 't1' });
    assert.equal(aggregator.knownChildless('$sent'), true);
    await aggregator.bundleAggregations([clientEvent('$sent')], '@a:x');
    assert.equal(state.queries, 0);
    persistChild('$sent');
    assert.equal(aggregator.knownChildless('$sent'), false);
    await aggregator.bundleAggregations([clientEvent('$sent')], '@a:x');
    assert.equal(state.queries, 1);
    // An event from elsewhere may have children already (a child can arrive before its parent).
    persistEvent('$remote', null);
    assert.equal(aggregator.knownChildless('$remote'), false);
    await aggregator.bundleAggregations([clientEvent('$remote')], '@a:x');
    assert.equal(state.queries, 2);
  });

  it('does not remember an answer read while a child was being written', async () => {
    const { aggregator, state, persistChild } = setup();
    // The query misses the child (its snapshot predates the commit); the listener runs before it returns.
    state.duringQuery = () => persistChild('$other');
    await aggregator.bundleAggregations([clientEvent('$p')], '@a:x');
    await aggregator.bundleAggregations([clientEvent('$p')], '@a:x');
    assert.equal(state.queries, 2);
  });
});
