// The central client flows driven by the real matrix-js-sdk against a real Foyer, on both
// databases: registration through interactive auth, password login, room creation, invite seen
// through the SDK's sync loop, join, messages, an edit, a redaction, back-pagination, logout.
// Assertions are on what the SDK's Room/Timeline models show, which proves that a real client
// understands our responses (not only that the JSON has the right keys).
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AuthType,
  Direction,
  EventType,
  InteractiveAuth,
  KnownMembership,
  MatrixError,
  MsgType,
  RelationType,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from 'matrix-js-sdk';
import { anonymousSdkClient, liveEvents, sdkClientFor, startSdkClient, stopAllSdkClients, stopSdkClient, waitForClient } from './support/js-sdk.ts';
import { describeEachDatabase, type TestUser } from './harness.ts';

const PASSWORD = 'a long enough password for tests';

function byId(room: Room, eventId: string): MatrixEvent | undefined {
  return liveEvents(room).find((e) => e.getId() === eventId);
}

async function expectMatrixError(promise: Promise<unknown>, httpStatus: number, errcode: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof MatrixError, `expected a MatrixError, got ${String(err)}`);
    assert.equal(err.httpStatus, httpStatus, `status of ${err.errcode}: ${err.message}`);
    assert.equal(err.errcode, errcode);
    return true;
  });
}

describeEachDatabase('matrix-js-sdk: register, login, rooms, messages, edits, redactions, pagination, logout', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  let aliceClient: MatrixClient | undefined;
  let bobClient: MatrixClient | undefined;
  let lateClient: MatrixClient | undefined;
  let roomId: string;
  const sent: { first?: string; second?: string; third?: string; edit?: string; redaction?: string } = {};

  // The harness's after hook (closing the server) runs before this one, so the last test stops
  // the clients itself; this is the safety net when a test failed before reaching it.
  after(stopAllSdkClients);

  it('registers through the SDK’s InteractiveAuth (m.login.dummy stage)', async () => {
    const tmp = anonymousSdkClient(server());
    const localpart = `alice_${randomBytes(3).toString('hex')}`;
    const authDicts: unknown[] = [];
    const stages: string[] = [];
    const auth = new InteractiveAuth({
      matrixClient: tmp,
      // The first call has no auth dict: the server answers 401 with flows and a session, which
      // InteractiveAuth parses; it completes the m.login.dummy stage by itself (a UI is only
      // asked, through stateUpdated, for stages that need the user).
      doRequest: (authDict) => {
        authDicts.push(authDict);
        return tmp.registerRequest({ username: localpart, password: PASSWORD, initial_device_display_name: 'sdk test', ...(authDict ? { auth: authDict } : {}) });
      },
      stateUpdated: (stage) => void stages.push(stage),
      requestEmailToken: async () => {
        throw new Error('no email stage expected');
      },
    });
    const res = (await auth.attemptAuth()) as { user_id: string; access_token: string; device_id: string };
    assert.deepEqual(stages, [], 'no stage needed the user');
    assert.equal(authDicts.length, 2, 'one request for the flows, one completing the dummy stage');
    assert.equal(authDicts[0], null);
    assert.equal((authDicts[1] as { type: string }).type, AuthType.Dummy);
    assert.equal(typeof (authDicts[1] as { session: string }).session, 'string', 'the session from the 401 is sent back');
    assert.equal(res.user_id, `@${localpart}:${server().serverName}`);
    assert.ok(res.access_token && res.device_id);
    alice = { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, localpart, password: PASSWORD };

    // The one-shot helper too (auth dict given up front).
    const bobLocalpart = `bob_${randomBytes(3).toString('hex')}`;
    const bobRes = await tmp.register(bobLocalpart, PASSWORD, null, { type: AuthType.Dummy });
    assert.equal(bobRes.user_id, `@${bobLocalpart}:${server().serverName}`);
    bob = { userId: bobRes.user_id, accessToken: bobRes.access_token!, deviceId: bobRes.device_id!, localpart: bobLocalpart, password: PASSWORD };

    // A taken name is refused with the spec's error, which the SDK surfaces as a MatrixError.
    await expectMatrixError(tmp.register(bobLocalpart, PASSWORD, null, { type: AuthType.Dummy }), 400, 'M_USER_IN_USE');
  });

  it('logs in with a password (new device) and refuses a wrong one', async () => {
    const tmp = anonymousSdkClient(server());
    const flows = await tmp.loginFlows();
    assert.ok(flows.flows.some((f) => f.type === 'm.login.password'), JSON.stringify(flows));

    const res = await tmp.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: alice.localpart },
      password: PASSWORD,
      initial_device_display_name: 'sdk login',
    });
    assert.equal(res.user_id, alice.userId);
    assert.notEqual(res.device_id, alice.deviceId, 'a login without device_id creates a new device');
    assert.notEqual(res.access_token, alice.accessToken);
    // From here on Alice uses the session created by /login.
    alice = { ...alice, accessToken: res.access_token, deviceId: res.device_id };

    await expectMatrixError(
      tmp.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password: 'wrong password' }),
      403,
      'M_FORBIDDEN',
    );
    const who = await sdkClientFor(server(), alice).whoami();
    assert.equal(who.user_id, alice.userId);
    assert.equal(who.device_id, alice.deviceId);
  });

  it('creates a room; Alice’s running client shows it with its name and her membership', async () => {
    aliceClient = await startSdkClient(sdkClientFor(server(), alice));
    bobClient = await startSdkClient(sdkClientFor(server(), bob));

    const created = await aliceClient.createRoom({ name: 'SDK room', topic: 'driven by matrix-js-sdk', preset: 'private_chat' as any });
    roomId = created.room_id;
    const room = await waitForClient(aliceClient, () => aliceClient!.getRoom(roomId), 10_000, 'room in Alice’s client');
    // /createRoom answered after all its events were persisted, but a sync may have delivered
    // the first of them earlier: wait until the client has the last one (the topic).
    await waitForClient(aliceClient, () => room.currentState.getStateEvents(EventType.RoomTopic, ''), 10_000, 'room topic');
    assert.equal(room.name, 'SDK room');
    assert.equal(room.getMyMembership(), KnownMembership.Join);
    assert.equal(room.currentState.getStateEvents(EventType.RoomTopic, '')?.getContent().topic, 'driven by matrix-js-sdk');
    assert.equal(room.currentState.getStateEvents(EventType.RoomCreate, '')?.getSender(), alice.userId);
    assert.deepEqual(
      room.getJoinedMembers().map((m) => m.userId),
      [alice.userId],
    );
  });

  it('Bob sees the invite through his sync loop (RoomMember and Room events) and joins', async () => {
    const seenInvite = waitForClient(
      bobClient!,
      () => {
        const room = bobClient!.getRoom(roomId);
        return room?.getMyMembership() === KnownMembership.Invite ? room : undefined;
      },
      10_000,
      'invite in Bob’s client',
    );
    const memberEvent = new Promise<string>((resolve) => {
      bobClient!.on('RoomMember.membership' as any, (_ev: MatrixEvent, member: { userId: string; membership?: string }) => {
        if (member.userId === bob.userId && member.membership === KnownMembership.Invite) resolve(member.membership);
      });
    });
    await aliceClient!.invite(roomId, bob.userId);
    const invited = await seenInvite;
    assert.equal(await memberEvent, KnownMembership.Invite);
    // Stripped state gives the invitee the room's name before joining.
    assert.equal(invited.name, 'SDK room');
    assert.equal(invited.getDMInviter() ?? invited.getMember(bob.userId)?.events.member?.getSender(), alice.userId);

    await bobClient!.joinRoom(roomId);
    const joined = await waitForClient(
      bobClient!,
      () => {
        const room = bobClient!.getRoom(roomId);
        return room?.getMyMembership() === KnownMembership.Join && room.currentState.getStateEvents(EventType.RoomCreate, '') ? room : undefined;
      },
      10_000,
      'Bob joined in his client',
    );
    assert.equal(joined.name, 'SDK room');
    // Alice's client learns of the join through her own sync loop.
    await waitForClient(aliceClient!, () => aliceClient!.getRoom(roomId)?.getMember(bob.userId)?.membership === KnownMembership.Join, 10_000, 'Bob’s join in Alice’s client');
  });

  it('messages, an edit and a redaction reach Bob’s live timeline through the long-poll', async () => {
    const bobRoom = bobClient!.getRoom(roomId)!;
    const t0 = Date.now();
    sent.first = (await aliceClient!.sendMessage(roomId, { msgtype: MsgType.Text, body: 'first' })).event_id;
    sent.second = (await aliceClient!.sendMessage(roomId, { msgtype: MsgType.Text, body: 'second' })).event_id;
    sent.third = (await aliceClient!.sendMessage(roomId, { msgtype: MsgType.Text, body: 'third (to be redacted)' })).event_id;

    // Bob's sync loop is parked in a 30 s long-poll: the messages arriving well before that shows
    // the server wakes waiting /sync requests.
    await waitForClient(bobClient!, () => byId(bobRoom, sent.third!), 10_000, 'third message in Bob’s timeline');
    assert.ok(Date.now() - t0 < 5_000, `messages took ${Date.now() - t0} ms to arrive (long-poll not woken?)`);
    assert.equal(byId(bobRoom, sent.first!)?.getContent().body, 'first');
    assert.equal(byId(bobRoom, sent.first!)?.getSender(), alice.userId);

    sent.edit = (
      await aliceClient!.sendEvent(roomId, EventType.RoomMessage, {
        msgtype: MsgType.Text,
        body: '* second, edited',
        'm.new_content': { msgtype: MsgType.Text, body: 'second, edited' },
        'm.relates_to': { rel_type: RelationType.Replace, event_id: sent.second! },
      } as any)
    ).event_id;
    sent.redaction = (await aliceClient!.redactEvent(roomId, sent.third!, undefined, { reason: 'typo' })).event_id;

    await waitForClient(
      bobClient!,
      () => byId(bobRoom, sent.third!)?.isRedacted() && byId(bobRoom, sent.second!)?.replacingEvent(),
      10_000,
      'edit and redaction applied in Bob’s timeline',
    );
    const second = byId(bobRoom, sent.second!)!;
    assert.equal(second.replacingEventId(), sent.edit);
    assert.equal(second.replacingEvent()?.getId(), sent.edit);
    assert.equal(second.getContent().body, 'second, edited', 'getContent() shows the replacement');
    assert.equal(second.getOriginalContent().body, 'second');

    const third = byId(bobRoom, sent.third!)!;
    assert.ok(third.isRedacted());
    assert.deepEqual(third.getContent(), {});
    assert.equal(third.getUnsigned().redacted_because?.event_id ?? third.getRedactionEvent()?.event_id, sent.redaction);

    // The live timeline is in the order the events were sent.
    const ids = liveEvents(bobRoom).map((e) => e.getId());
    const order = [sent.first, sent.second, sent.third, sent.edit, sent.redaction].map((id) => ids.indexOf(id!));
    assert.ok(order.every((i) => i >= 0), `all events in Bob’s timeline: ${JSON.stringify(order)}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'timeline order');

    // The sender's own client matched its local echoes to the server's events.
    const aliceRoom = aliceClient!.getRoom(roomId)!;
    await waitForClient(aliceClient!, () => byId(aliceRoom, sent.redaction!) && byId(aliceRoom, sent.third!)?.isRedacted(), 10_000, 'Alice’s remote echoes');
    assert.deepEqual(
      liveEvents(aliceRoom).filter((e) => e.status !== null).map((e) => e.getId()),
      [],
      'no local echo left pending',
    );
    assert.equal(byId(aliceRoom, sent.second!)?.getContent().body, 'second, edited');
  });

  it('a fresh client with a short initial timeline paginates back through /messages', async () => {
    // More history than fits in the first sync.
    for (let i = 0; i < 12; i++) await aliceClient!.sendMessage(roomId, { msgtype: MsgType.Text, body: `filler ${i}` });
    const last = (await aliceClient!.sendMessage(roomId, { msgtype: MsgType.Text, body: 'last' })).event_id;

    lateClient = await startSdkClient(sdkClientFor(server(), bob), { initialSyncLimit: 3 });
    const room = await waitForClient(lateClient, () => {
      const r = lateClient!.getRoom(roomId);
      return r && byId(r, last) ? r : undefined;
    }, 10_000, 'room with the last message');
    assert.ok(liveEvents(room).length <= 3 + 1, `initial timeline limited, got ${liveEvents(room).length}`);
    assert.ok(room.oldState.paginationToken, 'prev_batch token given to the SDK');
    assert.equal(byId(room, sent.first!), undefined, 'older history not yet loaded');

    // The raw request the SDK uses, backwards from the prev_batch token.
    const page = await lateClient.createMessagesRequest(roomId, room.oldState.paginationToken, 5, Direction.Backward);
    assert.equal(page.chunk.length, 5);
    assert.ok(page.end, 'more history: an end token');
    const ts = page.chunk.map((e) => e.origin_server_ts!);
    assert.deepEqual([...ts].sort((a, b) => b - a), ts, 'dir=b returns newest first');

    // scrollback until the SDK reaches the start of the room (no more token).
    for (let i = 0; i < 20 && room.oldState.paginationToken !== null; i++) await lateClient.scrollback(room, 5);
    assert.equal(room.oldState.paginationToken, null, 'reached the start of the room');

    const events = liveEvents(room);
    assert.equal(events[0].getType(), EventType.RoomCreate, 'timeline starts with m.room.create');
    const ids = events.map((e) => e.getId());
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    const bodies = events.filter((e) => e.getType() === EventType.RoomMessage && !e.isRelation()).map((e) => e.getContent().body);
    assert.deepEqual(bodies, ['first', 'second, edited', undefined, ...Array.from({ length: 12 }, (_, i) => `filler ${i}`), 'last']);
    const third = byId(room, sent.third!)!;
    assert.ok(third.isRedacted(), 'paginated event carries redacted_because');
    assert.deepEqual(third.getContent(), {});
    assert.equal(byId(room, sent.second!)?.replacingEvent()?.getId(), sent.edit, 'edit found in paginated history');
  });

  it('logs out: the session’s token stops working', async () => {
    await stopSdkClient(lateClient);
    const token = bob.accessToken;
    await bobClient!.logout(true);
    await stopSdkClient(bobClient);
    const stale = sdkClientFor(server(), bob);
    await expectMatrixError(stale.getJoinedRooms(), 401, 'M_UNKNOWN_TOKEN');
    const raw = await server().request('GET', '/_matrix/client/v3/sync', { token });
    assert.equal(raw.status, 401);
    // Alice's other session is untouched.
    assert.deepEqual((await aliceClient!.getJoinedRooms()).joined_rooms, [roomId]);
    await stopAllSdkClients();
  });
});
