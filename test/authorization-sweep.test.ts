// Every endpoint checks who is asking (issue 2's security bar). A stranger — a user of the same
// server who is in none of the owner's rooms and is no admin — calls every route the server
// declares, with path parameters that point at the owner's things: a private room, an event in
// it, the owner's user ID, device, filter, alias and media. Bodies start as {} and grow by the
// validator's answers until a handler answers. No such request may succeed, except on the
// routes below that are public by design or that act on the caller's own data whatever the
// path says. The routes come from the running server, so a new route is swept too: one that
// forgets its check fails here until it checks, or until it is listed below with the reason.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase } from './harness.ts';
import { nextProbe, pathValue, routesOf, type Route, type SweepTargets } from './support/route-sweep.ts';

const enc = encodeURIComponent;

/** Routes a stranger may call with success: open to anyone by the spec, or acting on the caller's own data. */
const MAY_SUCCEED: Array<[RegExp, string]> = [
  [/^GET \/_matrix\/client\/versions$|^GET \/\.well-known\//, 'discovery'],
  [/^GET \/_matrix\/client\/v3\/capabilities$/, 'the caller’s capabilities'],
  [/^(GET|POST) \/_matrix\/client\/v3\/login$|^POST \/_matrix\/client\/v3\/(register|refresh)$|^GET \/_matrix\/client\/v3\/register\/available$/, 'accounts'],
  [/^GET \/_matrix\/client\/v1\/register\/m\.login\.registration_token\/validity$/, 'accounts'],
  [/^(GET|POST) \/_synapse\/admin\/v1\/register$/, 'shared-secret registration (the MAC is the check)'],
  [/^(GET|POST) \/_matrix\/client\/v3\/publicRooms$|^GET \/_matrix\/client\/v3\/directory\/(room\/:roomAlias|list\/room\/:roomId)$/, 'the room directory is public'],
  [/^GET \/_matrix\/client\/v3\/profile\/:userId/, 'profiles are public'],
  [/^GET \/_matrix\/client\/v3\/presence\/:userId\/status$/, 'presence (Foyer answers room-mates only; either answer is allowed here)'],
  [/^GET \/_matrix\/client\/v3\/thirdparty\//, 'bridged protocols'],
  [/^GET \/_matrix\/(client\/v1\/media|media\/v3)\/(download|thumbnail|config|preview_url)/, 'media is readable by any user'],
  [/^POST \/_matrix\/client\/v3\/keys\/(query|claim)$/, 'device keys are public, one-time keys are there to be claimed'],
  [/^POST \/_matrix\/client\/v3\/user_directory\/search$/, 'searches what the caller may see'],
  [/^POST \/_matrix\/client\/v3\/users\/:userId\/report$|^POST \/_matrix\/client\/v3\/rooms\/:roomId\/report$/, 'anyone may report a user or a room'],
  [/^POST \/_matrix\/client\/v3\/rooms\/:roomId\/forget$/, 'forgetting a room one was never in changes nothing'],
  [/\/account\/|^GET \/_matrix\/client\/v3\/devices$|^(GET|PUT|DELETE) \/_matrix\/client\/v3\/devices\/:deviceId$|\/delete_devices$|\/logout/, 'the caller’s account and devices'],
  [/^GET \/_matrix\/client\/v3\/joined_rooms$|\/pushrules|^(GET|POST) \/_matrix\/client\/v3\/(sync|notifications|search|createRoom)$/, 'the caller’s own'],
  [/^(GET|POST) \/_matrix\/client\/v3\/keys\/(upload|changes|device_signing\/upload|signatures\/upload)$|\/room_keys\//, 'the caller’s keys and backup'],
  [/^PUT \/_matrix\/client\/v3\/sendToDevice\//, 'anyone may message anyone’s devices'],
  [/^(PUT|GET|DELETE) \/_matrix\/client\/unstable\/org\.matrix\.msc3814\.v1\/dehydrated_device$/, 'the caller’s dehydrated device'],
  [/^POST \/_matrix\/media\/(v1\/create|v3\/upload)$/, 'the caller’s uploads'],
];

/** Query parameters routes require, with well-formed values. */
const KNOWN_QUERY: Record<string, string> = { ts: '0', dir: 'b', before_ts: '0' };

function maySucceed(route: Route): boolean {
  const line = `${route.method} ${route.path}`;
  return MAY_SUCCEED.some(([pattern]) => pattern.test(line));
}

describeEachDatabase('who is asking: a stranger on every route', ({ server }) => {
  it('lets a stranger do nothing with another user’s rooms, events, account or media', async () => {
    const s = server();
    const owner = await s.registerUser();
    const stranger = await s.registerUser();
    const room = await s.request('POST', '/_matrix/client/v3/createRoom', {
      token: owner.accessToken,
      body: { preset: 'private_chat', room_alias_name: 'owners-room', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] },
    });
    assert.equal(room.status, 200, JSON.stringify(room.body));
    const roomId = room.body.room_id as string;
    const sent = await s.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/o1`, { token: owner.accessToken, body: { msgtype: 'm.text', body: 'private' } });
    const filter = await s.request('POST', `/_matrix/client/v3/user/${enc(owner.userId)}/filter`, { token: owner.accessToken, body: { room: { timeline: { limit: 5 } } } });
    const upload = await fetch(new URL('/_matrix/media/v3/upload?filename=a.txt', s.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.accessToken}`, 'content-type': 'text/plain' },
      body: 'the owner’s file',
    });
    assert.equal(upload.status, 200);
    const mediaId = ((await upload.json()) as { content_uri: string }).content_uri.split('/').pop()!;
    const owned: SweepTargets = {
      userId: owner.userId,
      deviceId: owner.deviceId,
      roomId,
      eventId: sent.body.event_id,
      alias: `#owners-room:${s.serverName}`,
      filterId: filter.body.filter_id,
      mediaId,
    };

    // Well-formed values for the fields routes ask for, aimed at the owner and their room.
    const known: Record<string, unknown> = {
      user_id: owner.userId,
      room_id: roomId,
      new_version: '10',
      visibility: 'public',
      presence: 'online',
      typing: true,
      reason: 'sweep',
    };
    const routes = routesOf(s).filter((r) => !maySucceed(r));
    assert.ok(routes.length > 60, `${routes.length} routes to check`);
    const leaks: string[] = [];
    let requests = 0;
    let counter = 0;
    for (const route of routes) {
      const path = route.path.replace(/:(\w+)/g, (_m, name: string) => enc(pathValue(name, owned, `stranger${++counter}`)));
      const hasBody = route.method === 'POST' || route.method === 'PUT';
      const probe: Record<string, unknown> = {};
      const query: Record<string, string> = {};
      for (let step = 0; step < 16; step++) {
        requests++;
        const res = await s.request(route.method, path, {
          token: stranger.accessToken,
          query,
          rawBody: hasBody ? JSON.stringify(probe) : undefined,
          headers: hasBody ? { 'content-type': 'application/json' } : undefined,
        });
        if (res.status < 300) {
          leaks.push(`${route.method} ${route.path} with ${JSON.stringify({ ...probe, ...query }).slice(0, 80)}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
          break;
        }
        const error: string = res.body?.error ?? '';
        const missingParameter = /^Missing parameter: (\S+)/.exec(error)?.[1];
        if (missingParameter && !(missingParameter in query)) {
          query[missingParameter] = KNOWN_QUERY[missingParameter] ?? 'x';
          continue;
        }
        if (!hasBody || !nextProbe(probe, error, known)) break;
      }
    }

    // The owner's things are as they were.
    const stillPrivate = await s.request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { token: owner.accessToken });
    assert.deepEqual(Object.keys(stillPrivate.body.joined), [owner.userId]);
    if (leaks.length > 0) assert.fail(`${leaks.length} of ${requests} requests by a stranger succeeded:\n${leaks.join('\n')}`);
  });
});
