// End-to-end encryption driven by matrix-js-sdk with its Rust crypto, on both databases: two
// users exchange encrypted messages and decrypt them; a third user who joins later cannot read
// the earlier history but reads what is sent after. Everything the SDK needs from the server —
// /keys/upload, /keys/query, /keys/claim, send-to-device, to_device and device_lists in /sync —
// is exercised for real: a message only decrypts if the room key travelled through them.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType, type MatrixClient } from 'matrix-js-sdk';
import { stopAllSdkClients } from './support/js-sdk.ts';
import { decrypted, joinEncryptedRoom, startCryptoClient, undecryptable, waitForCrypto } from './support/js-sdk-crypto.ts';
import { describeEachDatabase, type TestUser } from './harness.ts';

describeEachDatabase('matrix-js-sdk Rust crypto: encrypted rooms', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let charlie: TestUser;
  let aliceClient: MatrixClient;
  let bobClient: MatrixClient;
  let charlieClient: MatrixClient;
  let roomId: string;
  let earlyEventId: string;

  after(stopAllSdkClients);

  it('two users exchange encrypted messages and both decrypt them', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    charlie = await server().registerUser();
    aliceClient = await startCryptoClient(server(), alice);
    bobClient = await startCryptoClient(server(), bob);

    const created = await aliceClient.createRoom({
      invite: [bob.userId],
      initial_state: [
        { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
        // Later joiners may see the earlier events (still encrypted) — the point of scenario 2.
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
      ],
    });
    roomId = created.room_id;
    await waitForCrypto(bobClient, () => bobClient.getRoom(roomId)?.getMyMembership() === 'invite', 'bob’s invite');
    await joinEncryptedRoom(bobClient, roomId);
    await waitForCrypto(aliceClient, () => aliceClient.getRoom(roomId)?.getMember(bob.userId)?.membership === 'join', 'bob’s join at alice');

    const sent = await aliceClient.sendMessage(roomId, { msgtype: MsgType.Text, body: 'hello bob, this is secret' });
    earlyEventId = sent.event_id;
    // The server only ever saw ciphertext.
    const raw = await server().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(earlyEventId)}`, { token: bob.accessToken });
    assert.equal(raw.body.type, 'm.room.encrypted');
    assert.ok(!JSON.stringify(raw.body).includes('secret'));

    const atBob = await waitForCrypto(bobClient, () => decrypted(bobClient, roomId, earlyEventId), 'bob decrypting alice’s message');
    assert.equal(atBob.getContent().body, 'hello bob, this is secret');
    assert.equal(atBob.getSender(), alice.userId);

    const reply = await bobClient.sendMessage(roomId, { msgtype: MsgType.Text, body: 'hello alice, secret reply' });
    const atAlice = await waitForCrypto(aliceClient, () => decrypted(aliceClient, roomId, reply.event_id), 'alice decrypting bob’s reply');
    assert.equal(atAlice.getContent().body, 'hello alice, secret reply');
  });

  it('a user who joins later cannot read earlier messages but reads new ones', async () => {
    charlieClient = await startCryptoClient(server(), charlie);
    await aliceClient.invite(roomId, charlie.userId);
    await waitForCrypto(charlieClient, () => charlieClient.getRoom(roomId)?.getMyMembership() === 'invite', 'charlie’s invite');
    await joinEncryptedRoom(charlieClient, roomId);
    await waitForCrypto(aliceClient, () => aliceClient.getRoom(roomId)?.getMember(charlie.userId)?.membership === 'join', 'charlie’s join at alice');

    const later = await aliceClient.sendMessage(roomId, { msgtype: MsgType.Text, body: 'welcome charlie' });
    const atCharlie = await waitForCrypto(charlieClient, () => decrypted(charlieClient, roomId, later.event_id), 'charlie decrypting the new message');
    assert.equal(atCharlie.getContent().body, 'welcome charlie');
    const atBob = await waitForCrypto(bobClient, () => decrypted(bobClient, roomId, later.event_id), 'bob decrypting the new message');
    assert.equal(atBob.getContent().body, 'welcome charlie');

    // The early message is visible to charlie (history is shared) but its key was never sent to
    // him: it stays a decryption failure.
    const room = charlieClient.getRoom(roomId)!;
    await charlieClient.scrollback(room, 50);
    const early = await waitForCrypto(charlieClient, () => undecryptable(charlieClient, roomId, earlyEventId), 'charlie failing to decrypt the early message');
    assert.equal(early.getWireType(), 'm.room.encrypted');
    assert.equal(early.getContent().msgtype, 'm.bad.encrypted');
    assert.ok(!JSON.stringify(early.getContent()).includes('hello bob'));
    // Stop the clients here: the harness closes the server before `after` hooks of this file run.
    await stopAllSdkClients();
  });
});
