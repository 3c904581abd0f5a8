// signEventWithId computes the signature and the event ID from one canonical encoding; it must
// give exactly what signEvent followed by computeEventId gives, in every room version.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signingKeyFromSeed } from './signing.ts';
import { computeContentHash, computeEventId } from './hashes.ts';
import { signEvent, signEventWithId, verifyEventSignature } from './event-signing.ts';
import { roomVersion } from './room-versions.ts';

const key = signingKeyFromSeed('ed25519:1', Buffer.alloc(32, 7));

function event(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const e: Record<string, unknown> = {
    room_id: '!room:example.org',
    type: 'm.room.message',
    sender: '@alice:example.org',
    content: { msgtype: 'm.text', body: 'héllo \u{1F600}', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } },
    origin_server_ts: 1_700_000_000_000,
    prev_events: ['$prev'],
    auth_events: ['$a', '$b'],
    depth: 12,
    unsigned: { age: 5 },
    ...extra,
  };
  return { ...e, hashes: { sha256: computeContentHash(e) } };
}

describe('signEventWithId', () => {
  for (const id of ['3', '4', '10', '11', '12']) {
    it(`matches signEvent + computeEventId in room version ${id}`, () => {
      const version = roomVersion(id)!;
      for (const ev of [event(), event({ type: 'm.room.member', state_key: '@bob:example.org', content: { membership: 'join', displayname: 'Bob' } }), event({ signatures: { 'other.org': { 'ed25519:x': 'sig' } } })]) {
        const { signed, eventId } = signEventWithId(ev, version, 'example.org', key);
        const expected = signEvent(ev, version, 'example.org', key);
        assert.deepEqual(signed, expected);
        assert.equal(eventId, computeEventId(expected, version));
        assert.ok(verifyEventSignature(signed, version, 'example.org', key.keyId, key.publicKeyBase64));
      }
    });
  }

  it('takes the general path for an event with a top-level age_ts', () => {
    const version = roomVersion('10')!;
    const ev = event({ age_ts: 123 });
    const { signed, eventId } = signEventWithId(ev, version, 'example.org', key);
    assert.equal(eventId, computeEventId(signEvent(ev, version, 'example.org', key), version));
    assert.deepEqual(signed, signEvent(ev, version, 'example.org', key));
  });
});
