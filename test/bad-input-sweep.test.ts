// Every route the server declares, called with bad input the way a buggy or hostile client would:
// no token, bodies that are not JSON or not objects or have fields of the wrong type, junk query
// parameters, and path parameters that are malformed, unknown, far too long or not UTF-8. Issue 2's
// bar is that any of these answers a Matrix error (`errcode` + the spec's status), never a 500.
// The routes come from the running server itself (Fastify's route table), so a route added later
// is swept without anyone remembering to list it here.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestResponse, type TestUser } from './harness.ts';
import { nextProbe, pathValue, routesOf, type Route } from './support/route-sweep.ts';

/** Statuses the spec gives these errcodes (a handler must not pick another one). */
const SPEC_STATUS: Record<string, number[]> = {
  M_NOT_JSON: [400],
  M_BAD_JSON: [400],
  M_MISSING_PARAM: [400],
  M_INVALID_PARAM: [400],
  M_MISSING_TOKEN: [401],
  M_UNKNOWN_TOKEN: [401],
  M_FORBIDDEN: [403],
  M_NOT_FOUND: [404],
  M_UNRECOGNIZED: [404, 405],
  M_TOO_LARGE: [413],
  M_LIMIT_EXCEEDED: [429],
};

interface Context {
  admin: TestUser;
  victim: TestUser;
  roomId: string;
  eventId: string;
  alias: string;
}

/** Bad values for any path parameter (already URL-encoded where that matters). */
const BAD_PATH_VALUES = [
  'x',
  '%00',
  '%FF%FE',
  encodeURIComponent('\u{1F600}\u0001'),
  'a'.repeat(1200),
  encodeURIComponent('!unknown:elsewhere.example'),
  encodeURIComponent('@nobody:elsewhere.example'),
  encodeURIComponent('$unknown'),
];

/** Field names clients send, each given a value of the wrong type (a string where an object goes and so on). */
const WRONG_TYPES: Record<string, unknown> = Object.fromEntries(
  [
    'name', 'topic', 'body', 'msgtype', 'membership', 'user_id', 'reason', 'displayname', 'avatar_url', 'content', 'limit',
    'filter', 'type', 'auth', 'device_id', 'password', 'new_password', 'visibility', 'room_alias_name', 'invite', 'preset',
    'initial_state', 'timeout', 'typing', 'actions', 'enabled', 'm.fully_read', 'm.read', 'm.read.private', 'search_term',
    'search_categories', 'one_time_keys', 'device_keys', 'fallback_keys', 'messages', 'keys', 'algorithm', 'auth_data',
    'rooms', 'sessions', 'room_id', 'event_id', 'score', 'tags', 'order', 'presence', 'status_msg', 'new_version', 'server',
    'username', 'initial_device_display_name', 'identifier', 'refresh_token', 'logout_devices', 'devices', 'media_ids',
    'user', 'nonce', 'mac', 'admin', 'id', 'url', 'sender_localpart', 'namespaces', 'as_token', 'hs_token', 'rate_limited',
    'thread_id', 'ts', 'dir', 'master_key', 'self_signing_key', 'user_signing_key', 'from', 'to', 'creation_content',
    'power_level_content_override', 'is_direct', 'room_version', 'server_name', 'include_all_networks',
    'third_party_instance_id', 'since', 'erase', 'id_server', 'token', 'session', 'device_display_name',
    'transaction_id', 'event_fields', 'account_data', 'presence_list', 'room_ids', 'include_leave', 'order_by',
    'event_context', 'groupings', 'include_state', 'keys_count', 'rule_id', 'pattern', 'conditions', 'after', 'before',
    'display_name', 'registration_token', 'inhibit_login', 'kind', 'app_display_name', 'data', 'lang', 'append',
    'profile_tag', 'pushkey', 'app_id', 'device_data', 'events', 'next_batch', 'shared_secret', 'localpart',
  ].map((field, i) => [field, [42, 'text', [1, 'x'], { nested: [] }, true, -1, 2 ** 70, null][i % 8]]),
);

/** Raw bodies sent with a JSON content type. */
const BAD_BODIES: string[] = [
  'not json',
  '{"unterminated": ',
  '[]',
  'null',
  '"a string"',
  '12',
  '{}',
  JSON.stringify(WRONG_TYPES),
  // Deep nesting, well under the body limit: a recursive walk over it must not overflow.
  '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000),
  JSON.stringify({ content: { body: '\u0000\uD800', msgtype: 'm.text' }, body: '\uDFFF', name: '\u0000' }),
];

/** Query parameters of the wrong shape, all at once. */
const BAD_QUERY: Record<string, string> = {
  limit: 'many',
  from: 'not-a-token',
  to: '%%%',
  since: 's-1',
  dir: 'sideways',
  timeout: '-5',
  filter: '{"room":',
  ts: 'yesterday',
  at: 's99999999999999999999',
  membership: 'dancing',
  not_membership: 'x',
  full_state: 'perhaps',
  set_presence: 'invisible',
  next_batch: '[object Object]',
  server: '',
  include: 'x',
  order_by: 'x',
  recurse: 'maybe',
  width: '-1',
  height: '99999999',
  method: 'melt',
  animated: 'x',
  allow_remote: 'x',
  timeout_ms: 'x',
  user_id: 'nobody',
  kind: 'x',
  only: 'x',
};

describeEachDatabase('bad input on every route', ({ server }) => {
  it('answers every bad request with a Matrix error, never a 500', async () => {
    const s = server();
    const failures: string[] = [];
    let requests = 0;
    let counter = 0;

    const admin = await s.registerUser();
    await s.app.database.db.updateTable('users').set({ is_admin: 1 }).where('user_id', '=', admin.userId).execute();
    const victim = await s.registerUser();
    const ctx: Context = { admin, victim, roomId: '', eventId: '', alias: '' };

    // A room the admin is in with an event to point at. Sweeping can leave the room (/leave),
    // log out (/logout) or delete the alias, so this is checked and remade between routes.
    const ensureContext = async () => {
      const who = await s.request('GET', '/_matrix/client/v3/account/whoami', { token: ctx.admin.accessToken });
      if (who.status !== 200) {
        const login = await s.request('POST', '/_matrix/client/v3/login', {
          body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: admin.localpart }, password: admin.password },
        });
        assert.equal(login.status, 200, `log in again: ${JSON.stringify(login.body)}`);
        ctx.admin = { ...ctx.admin, accessToken: login.body.access_token, deviceId: login.body.device_id };
      }
      const joined = await s.request('GET', '/_matrix/client/v3/joined_rooms', { token: ctx.admin.accessToken });
      if (ctx.roomId && joined.body.joined_rooms.includes(ctx.roomId)) return;
      const localAlias = `sweep${++counter}`;
      const room = await s.request('POST', '/_matrix/client/v3/createRoom', {
        token: ctx.admin.accessToken,
        body: { preset: 'public_chat', room_alias_name: localAlias, invite: [victim.userId] },
      });
      assert.equal(room.status, 200, `create the sweep room: ${JSON.stringify(room.body)}`);
      ctx.roomId = room.body.room_id;
      ctx.alias = `#${localAlias}:${s.serverName}`;
      const sent = await s.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(ctx.roomId)}/send/m.room.message/ctx${counter}`, {
        token: ctx.admin.accessToken,
        body: { msgtype: 'm.text', body: 'something to point at' },
      });
      ctx.eventId = sent.body.event_id;
    };

    const check = async (route: Route, what: string, path: string, opts: { token?: string; rawBody?: string; query?: Record<string, string> }): Promise<TestResponse | undefined> => {
      requests++;
      const res = await s.request(route.method, path, {
        token: opts.token,
        rawBody: opts.rawBody,
        query: opts.query,
        headers: opts.rawBody !== undefined ? { 'content-type': 'application/json' } : undefined,
      });
      const where = `${route.method} ${route.path} (${what})`;
      if (res.status >= 500) {
        failures.push(`${where}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        return res;
      }
      if (res.status < 400) return res;
      // User-interactive auth asks for a stage with a 401 that carries its flows, and an errcode
      // only after a failed attempt (spec: "User-interactive authentication API").
      if (res.status === 401 && Array.isArray((res.body as { flows?: unknown } | undefined)?.flows)) return res;
      const errcode = (res.body as { errcode?: unknown } | undefined)?.errcode;
      if (typeof errcode !== 'string' || !/^M_[A-Z0-9_]+$/.test(errcode) || typeof res.body.error !== 'string') {
        failures.push(`${where}: ${res.status} without a Matrix error body: ${JSON.stringify(res.body).slice(0, 200)}`);
        return res;
      }
      const allowed = SPEC_STATUS[errcode];
      if (allowed && !allowed.includes(res.status)) failures.push(`${where}: ${errcode} with status ${res.status}`);
      return res;
    };

    const routes = routesOf(s);
    assert.ok(routes.length > 100, `found ${routes.length} routes`);
    // Logging out and deactivating go last: they end the admin's session or account.
    const last = (r: Route) => /\/(logout|deactivate)/.test(r.path);
    routes.sort((a, b) => Number(last(a)) - Number(last(b)));

    for (const route of routes) {
      await ensureContext();
      const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const pathWith = (bad?: { name: string; value: string }) =>
        route.path.replace(/:(\w+)/g, (_m, name: string) =>
          bad?.name === name
            ? bad.value
            : encodeURIComponent(pathValue(name, { userId: ctx.admin.userId, deviceId: ctx.admin.deviceId, roomId: ctx.roomId, eventId: ctx.eventId, alias: ctx.alias }, `sweep${++counter}`)),
        );
      const token = ctx.admin.accessToken;
      const hasBody = route.method === 'POST' || route.method === 'PUT';

      await check(route, 'no token', pathWith(), { rawBody: hasBody ? '{}' : undefined });
      await check(route, 'unknown token', pathWith(), { token: 'syt_not_a_token', rawBody: hasBody ? '{}' : undefined });
      for (const name of params) {
        for (const value of BAD_PATH_VALUES) {
          await check(route, `${name}=${value.slice(0, 20)}`, pathWith({ name, value }), { token, rawBody: hasBody ? '{}' : undefined });
        }
      }
      // Junk query parameters; each one the route's schema refuses is dropped in turn, so the
      // handler itself sees the rest (a `from` token of the wrong shape, say).
      const query = { ...BAD_QUERY };
      for (let step = 0; step < Object.keys(BAD_QUERY).length; step++) {
        const res = await check(route, `query ${Object.keys(query).length} junk parameters`, pathWith(), { token, query, rawBody: hasBody ? '{}' : undefined });
        const refused = /^Invalid parameter (\S+):/.exec(res?.body?.error ?? '')?.[1];
        if (!refused || !(refused in query)) break;
        delete query[refused];
      }
      if (hasBody) {
        for (const body of BAD_BODIES) await check(route, `body ${body.slice(0, 24)}`, pathWith(), { token, rawBody: body });
        // A body grown from {} by what the validator asks for, filled with edge values (empty
        // strings, -1, empty objects and arrays), until the handler itself has to answer.
        const probe: Record<string, unknown> = {};
        for (let step = 0; step < 16; step++) {
          const res = await check(route, `probe ${JSON.stringify(probe).slice(0, 60)}`, pathWith(), { token, rawBody: JSON.stringify(probe) });
          const next = nextProbe(probe, res?.body?.error ?? '');
          if (!next) break;
        }
      }
    }

    // r0 aliases go through the same routes; unknown paths answer M_UNRECOGNIZED.
    await check({ method: 'GET', path: '/_matrix/client/r0/sync' }, 'r0 alias', '/_matrix/client/r0/sync', { token: ctx.admin.accessToken, query: BAD_QUERY });
    await check({ method: 'GET', path: '/_matrix/client/v3/nonexistent' }, 'unknown', '/_matrix/client/v3/nonexistent/%FF', {});

    if (failures.length > 0) assert.fail(`${failures.length} of ${requests} requests answered badly:\n${failures.join('\n')}`);
    assert.ok(requests > 2000, `swept ${requests} requests`);
  });
});
