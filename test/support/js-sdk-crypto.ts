// matrix-js-sdk clients with the SDK's Rust crypto (matrix-sdk-crypto-wasm) for E2EE tests.
// On Node 20 the crypto store must be in memory (`useIndexedDB: false`); the Promise.withResolvers
// polyfill comes with ./js-sdk.ts. Waiting is on the SDK's own events (decryption included), so
// no assertion depends on timing.
import { ClientEvent, MatrixEventEvent, type ICreateClientOpts, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { sdkClientFor, startSdkClient, waitOnEvents } from './js-sdk.ts';
import type { TestServer, TestUser } from '../harness.ts';

// For every live encrypted event that has not decrypted (yet), rust-crypto arms a 5-minute timer
// that only drops a listener (rust-crypto.js onLiveEventFromSync), so an event that stays
// undecryptable — which scenario 2 creates on purpose — would hold the test process open for five
// minutes. Unref exactly those timers, recognised by their callback's source.
const DECRYPTION_WAIT_TIMER = /^\(\)\s*=>\s*event\.off\(MatrixEventEvent\.Decrypted,\s*onDecrypted\)$/;
const setTimeoutBefore = globalThis.setTimeout;
globalThis.setTimeout = Object.assign(
  function setTimeoutUnrefDecryptionWaits(this: unknown, callback: (...args: any[]) => void, ms?: number, ...args: any[]) {
    const timer = setTimeoutBefore(callback, ms, ...args);
    if (typeof callback === 'function' && DECRYPTION_WAIT_TIMER.test(callback.toString())) timer.unref();
    return timer;
  },
  setTimeoutBefore,
) as typeof setTimeout;

/** A started client with Rust crypto initialised (its device keys get uploaded on start). */
export async function startCryptoClient(
  server: TestServer,
  user: Pick<TestUser, 'userId' | 'accessToken' | 'deviceId'>,
  extra: Partial<ICreateClientOpts> = {},
): Promise<MatrixClient> {
  const client = sdkClientFor(server, user, extra);
  await client.initRustCrypto({ useIndexedDB: false });
  await startSdkClient(client, { pollTimeout: 5_000 });
  return client;
}

/**
 * Resolves when `check()` returns something truthy. Re-checked whenever the client processes a
 * sync, a timeline event arrives or any event finishes decrypting.
 */
export function waitForCrypto<T>(client: MatrixClient, check: () => T | undefined | false | null, what: string, timeoutMs = 30_000): Promise<T> {
  const events = [ClientEvent.Sync, 'Room.timeline', MatrixEventEvent.Decrypted, ClientEvent.ToDeviceEvent, 'RoomMember.membership', 'Room.myMembership'];
  return waitOnEvents(client, events, check, timeoutMs, what);
}

/** The event as the client's room shows it, once it is no longer waiting to be decrypted. */
export function decrypted(client: MatrixClient, roomId: string, eventId: string): MatrixEvent | undefined {
  const event = client.getRoom(roomId)?.findEventById(eventId);
  if (!event || event.isBeingDecrypted() || event.isDecryptionFailure() || event.getType() === 'm.room.encrypted') return undefined;
  return event;
}

/** The event once the client has tried and failed to decrypt it. */
export function undecryptable(client: MatrixClient, roomId: string, eventId: string): MatrixEvent | undefined {
  const event = client.getRoom(roomId)?.findEventById(eventId);
  return event?.isDecryptionFailure() ? event : undefined;
}

/**
 * Joins and waits until the client's crypto treats the room as encrypted (it learns that from the
 * room state in the join's /sync); sending earlier fails with "unconfigured room".
 */
export async function joinEncryptedRoom(client: MatrixClient, roomId: string): Promise<void> {
  await client.joinRoom(roomId);
  await waitForCrypto(client, () => client.getRoom(roomId)?.getMyMembership() === 'join', 'the join in the client’s sync');
  const crypto = client.getCrypto()!;
  for (let i = 0; !(await crypto.isEncryptionEnabledInRoom(roomId)); i++) {
    if (i > 300) throw new Error('encryption never enabled in the room');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `owner` creates an encrypted room and invites `invitee`, who joins; resolves once both clients see the join. */
export async function createEncryptedRoomWith(owner: MatrixClient, invitee: MatrixClient): Promise<string> {
  const inviteeId = invitee.getUserId()!;
  const { room_id: roomId } = await owner.createRoom({
    invite: [inviteeId],
    initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
  });
  await waitForCrypto(invitee, () => invitee.getRoom(roomId)?.getMyMembership() === 'invite', 'the invite');
  await joinEncryptedRoom(invitee, roomId);
  await waitForCrypto(owner, () => owner.getRoom(roomId)?.getMember(inviteeId)?.membership === 'join', 'the join');
  return roomId;
}
