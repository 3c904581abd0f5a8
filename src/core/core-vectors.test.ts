// The spec's own test vectors (appendices "Canonical JSON", "Signing JSON", "Signing Events",
// and room version "Event IDs"), plus redaction rules per room version.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, CanonicalJsonError, isCanonicalJsonValue } from './canonical-json.ts';
import { signingKeyFromSeed, signJson, verifyJsonSignature, parseSigningKeyFile, formatSigningKeyFile } from './signing.ts';
import { decodeBase64 } from './base64.ts';
import { computeContentHash, computeEventId, computeReferenceHash, roomIdFromCreateEvent } from './hashes.ts';
import { signEvent, verifyEventSignature } from './event-signing.ts';
import { redactEvent } from './redaction.ts';
import { roomVersion } from './room-versions.ts';

const SEED = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
const key = signingKeyFromSeed('ed25519:1', decodeBase64(SEED));
const v = (id: string) => roomVersion(id)!;

describe('canonical JSON (spec appendix examples)', () => {
  it('sorts keys and drops whitespace', () => {
    assert.equal(canonicalJson({}), '{}');
    assert.equal(canonicalJson({ one: 1, two: 'Two' }), '{"one":1,"two":"Two"}');
    assert.equal(canonicalJson({ b: '2', a: '1' }), '{"a":"1","b":"2"}');
    assert.equal(
      canonicalJson({ auth: { success: true, mxid: '@john.doe:example.com', profile: { display_name: 'John Doe', three_pids: [{ medium: 'email', address: 'john.doe@example.org' }, { medium: 'msisdn', address: '123456789' }] } } }),
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    );
  });
  it('keeps non-ASCII as UTF-8 and escapes only what JSON requires', () => {
    assert.equal(canonicalJson({ a: '日本語' }), '{"a":"日本語"}');
    assert.equal(canonicalJson({ 本: 2, 日: 1 }), '{"日":1,"本":2}');
    assert.equal(canonicalJson({ a: '\u1234' }), '{"a":"ሴ"}');
    assert.equal(canonicalJson({ a: '\u0000' }), '{"a":"\\u0000"}');
    assert.equal(canonicalJson({ a: null }), '{"a":null}');
  });
  it('orders keys by code point, not UTF-16 unit', () => {
    assert.equal(canonicalJson({ '\u{1F600}': 1, '\uFFFD': 2 }), '{"\uFFFD":2,"\u{1F600}":1}');
  });
  it('rejects floats and out-of-range integers', () => {
    assert.throws(() => canonicalJson({ a: 1.5 }), CanonicalJsonError);
    assert.throws(() => canonicalJson({ a: 2 ** 53 }), CanonicalJsonError);
    assert.equal(canonicalJson({ a: 2 ** 53 - 1, b: -(2 ** 53) + 1 }), '{"a":9007199254740991,"b":-9007199254740991}');
  });
  it('isCanonicalJsonValue agrees with the encoder, nested values included', () => {
    const values: unknown[] = [
      { a: 1 },
      { a: { b: [1, 2, { c: 1.5 }] } },
      { a: [2 ** 53] },
      { a: -(2 ** 53) },
      { a: undefined, b: 'x' },
      [null, true, 'x', -0],
      { a: { b: { c: { d: Number.NaN } } } },
      { a: 10n },
    ];
    for (const v of values) {
      let encodes = true;
      try {
        canonicalJson(v);
      } catch {
        encodes = false;
      }
      assert.equal(isCanonicalJsonValue(v), encodes, JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)));
    }
  });
});

describe('signing JSON (spec appendix vectors)', () => {
  it('derives the public key from the seed', () => {
    assert.equal(key.publicKeyBase64, 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');
  });
  it('signs the empty object and a simple object', () => {
    assert.equal((signJson({}, 'domain', key) as any).signatures.domain['ed25519:1'], 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ');
    const signed = signJson({ one: 1, two: 'Two' }, 'domain', key) as any;
    assert.equal(signed.signatures.domain['ed25519:1'], 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw');
    assert.ok(verifyJsonSignature(signed, 'domain', 'ed25519:1', key.publicKeyBase64));
    assert.ok(!verifyJsonSignature({ ...signed, two: 'Three' }, 'domain', 'ed25519:1', key.publicKeyBase64));
  });
  it('reads and writes Synapse signing key files', () => {
    const text = formatSigningKeyFile(key);
    // The spec's seed has non-zero padding bits; we write the canonical encoding of the same bytes.
    assert.match(text, /^ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW\+3XA[0-9A-Za-z+/]\n$/);
    assert.deepEqual(decodeBase64(text.trim().split(' ')[2]), decodeBase64(SEED));
    assert.equal(parseSigningKeyFile(text).publicKeyBase64, key.publicKeyBase64);
    assert.throws(() => parseSigningKeyFile('rsa 1 abc'));
  });
});

describe('signing events (spec appendix vectors)', () => {
  const minimal = {
    room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000,
    signatures: {}, hashes: {}, type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3,
    unsigned: { age_ts: 1000000 },
  };
  it('hashes and signs the minimal event', () => {
    const hash = computeContentHash(minimal);
    assert.equal(hash, '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
    const signed = signEvent({ ...minimal, hashes: { sha256: hash } }, v('5'), 'domain', key);
    assert.equal((signed as any).signatures.domain['ed25519:1'], 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg');
    assert.ok(verifyEventSignature(signed, v('5'), 'domain', 'ed25519:1', key.publicKeyBase64));
  });
  it('hashes and signs the message event over its redacted form', () => {
    const message = {
      content: { body: 'Here is the message content' }, event_id: '$0:domain', origin: 'domain', origin_server_ts: 1000000,
      type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', signatures: {}, unsigned: { age_ts: 1000000 },
    };
    const hash = computeContentHash(message);
    assert.equal(hash, 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
    const signed = signEvent({ ...message, hashes: { sha256: hash } }, v('1'), 'domain', key);
    assert.equal((signed as any).signatures.domain['ed25519:1'], 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA');
    // Redacting the event must not invalidate the signature.
    assert.ok(verifyEventSignature(redactEvent(signed, v('1')), v('1'), 'domain', 'ed25519:1', key.publicKeyBase64));
  });
});

describe('event IDs and room IDs', () => {
  const ev = {
    room_id: '!r:domain', sender: '@u:domain', origin_server_ts: 1, type: 'm.room.message', content: { body: 'x' },
    prev_events: [], auth_events: [], depth: 1, hashes: { sha256: 'abc' }, signatures: { domain: { 'ed25519:1': 'sig' } }, unsigned: { age: 5 },
  };
  it('v3 uses standard base64 and v4+ URL-safe base64 of the reference hash', () => {
    const hash = computeReferenceHash(ev, v('10'));
    assert.equal(computeEventId(ev, v('3')), '$' + hash.toString('base64').replace(/=+$/, ''));
    assert.equal(computeEventId(ev, v('10')), '$' + hash.toString('base64url'));
  });
  it('ignores signatures, unsigned and redactable content', () => {
    const id = computeEventId(ev, v('10'));
    assert.equal(computeEventId({ ...ev, signatures: {}, unsigned: {}, content: { body: 'other' } }, v('10')), id);
    assert.notEqual(computeEventId({ ...ev, depth: 2 }, v('10')), id);
  });
  it('v12 room IDs are "!" + the create event reference hash', () => {
    const create = { type: 'm.room.create', state_key: '', sender: '@u:domain', origin_server_ts: 1, content: { room_version: '12' }, prev_events: [], auth_events: [], depth: 1, hashes: { sha256: 'x' }, signatures: {} };
    const roomId = roomIdFromCreateEvent(create, v('12'));
    assert.equal(roomId, '!' + computeEventId(create, v('12')).slice(1));
    assert.match(roomId, /^![A-Za-z0-9_-]{43}$/);
  });
});

describe('redaction rules by room version', () => {
  const pl = { type: 'm.room.power_levels', state_key: '', content: { ban: 50, invite: 0, users: { '@a:x': 100 }, notifications: { room: 50 } }, origin: 'x', membership: 'join', prev_state: [] };
  it('keeps invite in power levels only from v11, and origin only before v11', () => {
    const r10 = redactEvent(pl, v('10')) as any;
    const r11 = redactEvent(pl, v('11')) as any;
    assert.deepEqual(r10.content, { ban: 50, users: { '@a:x': 100 } });
    assert.deepEqual(r11.content, { ban: 50, invite: 0, users: { '@a:x': 100 } });
    assert.equal(r10.origin, 'x');
    assert.equal(r11.origin, undefined);
  });
  it('keeps all create content from v11 and only creator before', () => {
    const create = { type: 'm.room.create', content: { creator: '@a:x', room_version: '10', 'm.federate': false } };
    assert.deepEqual((redactEvent(create, v('10')) as any).content, { creator: '@a:x' });
    assert.deepEqual((redactEvent(create, v('11')) as any).content, create.content);
  });
  it('keeps join_authorised_via_users_server from v9, allow from v8, redacts from v11', () => {
    const member = { type: 'm.room.member', content: { membership: 'join', displayname: 'A', join_authorised_via_users_server: '@b:x' } };
    assert.deepEqual((redactEvent(member, v('8')) as any).content, { membership: 'join' });
    assert.deepEqual((redactEvent(member, v('9')) as any).content, { membership: 'join', join_authorised_via_users_server: '@b:x' });
    const jr = { type: 'm.room.join_rules', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership' }], other: 1 } };
    assert.deepEqual((redactEvent(jr, v('7')) as any).content, { join_rule: 'restricted' });
    assert.deepEqual((redactEvent(jr, v('8')) as any).content, { join_rule: 'restricted', allow: [{ type: 'm.room_membership' }] });
    const red = { type: 'm.room.redaction', content: { redacts: '$e', reason: 'r' } };
    assert.deepEqual((redactEvent(red, v('10')) as any).content, {});
    assert.deepEqual((redactEvent(red, v('11')) as any).content, { redacts: '$e' });
  });
});
