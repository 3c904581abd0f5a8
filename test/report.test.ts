// Reporting content through HTTP: events (joined and able to see it), rooms (anyone), users
// (anyone); what each refuses; reports land in content_reports for the admins.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';

const enc = encodeURIComponent;

describeEachDatabase('reporting content', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  let otherRoom: string;
  let earlyEvent: string;
  let lateEvent: string;

  const reports = () => server().app.database.db.selectFrom('content_reports').selectAll().orderBy('id').execute();
  const send = async (user: TestUser, room: string, body: string) => {
    const res = await server().request('PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/${Math.random()}`, {
      token: user.accessToken,
      body: { msgtype: 'm.text', body },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.event_id as string;
  };

  it('sets up a room whose early history bob cannot see', async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
    carol = await server().registerUser();
    const res = await server().request('POST', '/_matrix/client/v3/createRoom', {
      token: alice.accessToken,
      body: { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] },
    });
    assert.equal(res.status, 200);
    roomId = res.body.room_id;
    earlyEvent = await send(alice, roomId, 'before bob');
    const join = await server().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
    assert.equal(join.status, 200);
    lateEvent = await send(alice, roomId, 'after bob joined');
    const other = await server().request('POST', '/_matrix/client/v3/createRoom', { token: carol.accessToken, body: {} });
    otherRoom = other.body.room_id;
  });

  it('accepts an event report from a joined member, with reason and score', async () => {
    const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(lateEvent)}`, {
      token: bob.accessToken,
      body: { reason: 'rude', score: -50 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
    const noReason = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(lateEvent)}`, { token: bob.accessToken, body: {} });
    assert.equal(noReason.status, 200, 'reason is optional for event reports');
    const rows = await reports();
    assert.equal(rows.length, 2);
    assert.equal(rows[0].kind, 'event');
    assert.equal(rows[0].reporter, bob.userId);
    assert.equal(rows[0].room_id, roomId);
    assert.equal(rows[0].event_id, lateEvent);
    assert.equal(rows[0].reason, 'rude');
    assert.equal(Number(rows[0].score), -50);
    assert.ok(Number(rows[0].received_ts) > 0);
    assert.equal(rows[1].reason, null);
  });

  it('validates score: an integer from -100 to 0', async () => {
    for (const score of [-101, 1, -1.5, 'bad']) {
      const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(lateEvent)}`, {
        token: bob.accessToken,
        body: { reason: 'x', score },
      });
      assert.equal(res.status, 400, String(score));
      assert.match(res.body.errcode, /^M_(INVALID_PARAM|BAD_JSON)$/);
    }
    const edge = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(lateEvent)}`, {
      token: bob.accessToken,
      body: { reason: 'x', score: -100 },
    });
    assert.equal(edge.status, 200);
  });

  it('answers 404 for unknown, foreign, invisible events and non-members', async () => {
    const cases: Array<[TestUser, string, string]> = [
      [bob, roomId, '$unknownevent'],
      [bob, roomId, earlyEvent], // before bob joined, history is "joined"
      [carol, roomId, lateEvent], // carol is not in the room
      [bob, otherRoom, lateEvent], // an event of another room
    ];
    const before = (await reports()).length;
    for (const [user, room, event] of cases) {
      const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(room)}/report/${enc(event)}`, { token: user.accessToken, body: { reason: 'x' } });
      assert.equal(res.status, 404, `${room} ${event}`);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
    const leave = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: bob.accessToken, body: {} });
    assert.equal(leave.status, 200);
    const left = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(lateEvent)}`, { token: bob.accessToken, body: {} });
    assert.equal(left.status, 404, 'a user who left may no longer report events');
    assert.equal((await reports()).length, before, 'nothing stored');
  });

  it('accepts room reports from anyone, joined or not', async () => {
    const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(otherRoom)}/report`, { token: alice.accessToken, body: { reason: '' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const row = (await reports()).at(-1)!;
    assert.equal(row.kind, 'room');
    assert.equal(row.room_id, otherRoom);
    assert.equal(row.reason, '');
    assert.equal(row.event_id, null);

    const missing = await server().request('POST', `/_matrix/client/v3/rooms/${enc(otherRoom)}/report`, { token: alice.accessToken, body: {} });
    assert.equal(missing.status, 400, 'reason is required');
    const unknown = await server().request('POST', `/_matrix/client/v3/rooms/${enc('!nope:test.local')}/report`, { token: alice.accessToken, body: { reason: 'x' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    const invalid = await server().request('POST', `/_matrix/client/v3/rooms/not-a-room/report`, { token: alice.accessToken, body: { reason: 'x' } });
    assert.equal(invalid.status, 400);
  });

  it('accepts user reports; 404 for unknown local users', async () => {
    const res = await server().request('POST', `/_matrix/client/v3/users/${enc(carol.userId)}/report`, { token: bob.accessToken, body: { reason: 'spam invites' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const row = (await reports()).at(-1)!;
    assert.equal(row.kind, 'user');
    assert.equal(row.target_user_id, carol.userId);
    assert.equal(row.reporter, bob.userId);

    const remote = await server().request('POST', `/_matrix/client/v3/users/${enc('@someone:elsewhere.example')}/report`, { token: bob.accessToken, body: { reason: 'x' } });
    assert.equal(remote.status, 200);
    const unknown = await server().request('POST', `/_matrix/client/v3/users/${enc('@ghost:test.local')}/report`, { token: bob.accessToken, body: { reason: 'x' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    const invalid = await server().request('POST', `/_matrix/client/v3/users/${enc('nobody')}/report`, { token: bob.accessToken, body: { reason: 'x' } });
    assert.equal(invalid.status, 400);
  });

  it('requires authentication', async () => {
    const res = await server().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/report`, { body: { reason: 'x' } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
  });
});
