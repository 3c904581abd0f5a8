// Invites redeeming a third-party invite (rule 5.4.1), with real ed25519 signatures from an
// "identity server" key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, signJson } from '../signing.ts';
import { encodeBase64Url } from '../base64.ts';
import { decodeBase64 } from '../base64.ts';
import { thirdPartyInvitePublicKeys } from './third-party-invite.ts';
import { ALL_VERSIONS, TestRoom } from './test-room.ts';

const ALICE = '@alice:a.example';
const BOB = '@bob:b.example';
const CAROL = '@carol:c.example';

const idKey = generateSigningKey();
const otherKey = generateSigningKey();

function signed(mxid: string, token: string, key = idKey): Record<string, unknown> {
  return signJson({ mxid, token }, 'id.example', key);
}

/** Room where Alice issued a third-party invite with token "tok" under the given key fields. */
function setup(v: string, keyFields: Record<string, unknown> = { public_key: idKey.publicKeyBase64 }): TestRoom {
  const room = TestRoom.withDefaults(v);
  room.join(CAROL);
  room.send({
    type: 'm.room.third_party_invite',
    sender: ALICE,
    state_key: 'tok',
    content: { display_name: 'b...@example.org', key_validity_url: 'https://id.example/isvalid', ...keyFields },
  });
  return room;
}

const invite = (room: TestRoom, sender: string, target: string, tpi: unknown) =>
  room.member(sender, target, 'invite', { third_party_invite: tpi });

describe('third-party invites (5.4.1)', () => {
  for (const v of ALL_VERSIONS) {
    describe(`room version ${v}`, () => {
      it('allows an invite whose signed block verifies with the invite’s public_key', () => {
        const room = setup(v);
        assert.equal(room.allows(invite(room, ALICE, BOB, { display_name: 'Bob', signed: signed(BOB, 'tok') })), true);
      });

      it('accepts keys listed in public_keys, in URL-safe base64 too', () => {
        const urlSafe = encodeBase64Url(decodeBase64(idKey.publicKeyBase64));
        const room = setup(v, { public_key: otherKey.publicKeyBase64, public_keys: [{ public_key: otherKey.publicKeyBase64 }, { public_key: urlSafe }] });
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signed(BOB, 'tok') })), true);
      });

      it('rejects a signature by another key, a tampered block, or no signatures (5.4.1.7–8)', () => {
        const room = setup(v);
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signed(BOB, 'tok', otherKey) })), false);
        const tampered = { ...signed(CAROL, 'tok'), mxid: BOB };
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: tampered })), false);
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: { mxid: BOB, token: 'tok' } })), false);
        const s = signed(BOB, 'tok') as { signatures: Record<string, Record<string, string>> };
        const renamed = { mxid: BOB, token: 'tok', signatures: { 'id.example': { 'curve25519:0': Object.values(s.signatures['id.example'])[0] } } };
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: renamed })), false, 'only ed25519 signatures count');
      });

      it('rejects malformed third_party_invite content (5.4.1.2–3)', () => {
        const room = setup(v);
        assert.equal(room.allows(invite(room, ALICE, BOB, {})), false);
        assert.equal(room.allows(invite(room, ALICE, BOB, 'x')), false);
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: 'x' })), false);
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signJson({ token: 'tok' }, 'id.example', idKey) })), false);
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signJson({ mxid: BOB }, 'id.example', idKey) })), false);
      });

      it('rejects an mxid that is not the invited user (5.4.1.4)', () => {
        const room = setup(v);
        assert.equal(room.allows(invite(room, ALICE, CAROL, { signed: signed(BOB, 'tok') })), false);
      });

      it('rejects a token with no m.room.third_party_invite event (5.4.1.5)', () => {
        const room = setup(v);
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signed(BOB, 'other') })), false);
      });

      it('only the sender of the third-party invite may redeem it (5.4.1.6)', () => {
        const room = setup(v);
        assert.equal(room.allows(invite(room, CAROL, BOB, { signed: signed(BOB, 'tok') })), false);
      });

      it('rejects banned targets (5.4.1.1)', () => {
        const room = setup(v);
        room.send(room.member(ALICE, BOB, 'ban'));
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signed(BOB, 'tok') })), false);
      });

      it('the redeeming path does not need the sender to be joined (the rules allow at 5.4.1.7)', () => {
        const room = setup(v);
        room.send(room.member(ALICE, ALICE, 'leave'));
        assert.equal(room.allows(invite(room, ALICE, BOB, { signed: signed(BOB, 'tok') })), true);
      });
    });
  }

  it('thirdPartyInvitePublicKeys collects public_key and public_keys[].public_key, skipping junk', () => {
    assert.deepEqual(thirdPartyInvitePublicKeys({ public_key: 'a', public_keys: [{ public_key: 'b' }, { nope: 1 }, 'c', null] }), ['a', 'b']);
    assert.deepEqual(thirdPartyInvitePublicKeys({ public_keys: 'x' }), []);
    assert.deepEqual(thirdPartyInvitePublicKeys(null), []);
  });
});
