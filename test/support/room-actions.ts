// Room actions through the client API that many tests need, each asserting success so a
// broken step fails at the step rather than later.
import assert from 'node:assert/strict';
import type { TestServer, TestUser } from '../harness.ts';

export const roomPath = (roomId: string): string => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;

let txn = 0;

/** Sends a text message (or another event type with a text body); returns the event ID. */
export async function say(s: TestServer, user: TestUser, roomId: string, body: string, type = 'm.room.message'): Promise<string> {
  const res = await s.request('PUT', `${roomPath(roomId)}/send/${type}/t${++txn}`, { token: user.accessToken, body: { msgtype: 'm.text', body } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

export async function setState(s: TestServer, user: TestUser, roomId: string, type: string, content: Record<string, unknown>, stateKey = ''): Promise<string> {
  const res = await s.request('PUT', `${roomPath(roomId)}/state/${type}/${encodeURIComponent(stateKey)}`, { token: user.accessToken, body: content });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

/** Creates a room (private_chat unless the body says otherwise); returns its ID. */
export async function createRoom(s: TestServer, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await s.request('POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body: { preset: 'private_chat', ...body } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

export async function invite(s: TestServer, by: TestUser, roomId: string, who: TestUser): Promise<void> {
  const res = await s.request('POST', `${roomPath(roomId)}/invite`, { token: by.accessToken, body: { user_id: who.userId } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export async function join(s: TestServer, who: TestUser, roomId: string): Promise<void> {
  const res = await s.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: who.accessToken, body: {} });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export async function inviteAndJoin(s: TestServer, by: TestUser, roomId: string, who: TestUser): Promise<void> {
  await invite(s, by, roomId, who);
  await join(s, who, roomId);
}
