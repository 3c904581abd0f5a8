import { it, before } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDatabase, type TestUser } from './harness.ts';
import { PushRulesService } from '../src/services/push/push-rules-service.ts';
import { PushRuleStore } from '../src/storage/stores/push-rules.ts';
import { evaluatePushRules } from '../src/core/push/evaluate.ts';

const P = '/_matrix/client/v3/pushrules';
const ids = (rules: Array<{ rule_id: string; default: boolean }>, onlyUser = false): string[] =>
  rules.filter((r) => !onlyUser || !r.default).map((r) => r.rule_id);

describeEachDatabase('push rules API', ({ server }) => {
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    alice = await server().registerUser();
    bob = await server().registerUser();
  });
  const req = (method: string, path: string, opts: { body?: unknown; query?: Record<string, string>; user?: TestUser } = {}) =>
    server().request(method, `${P}${path}`, { token: (opts.user ?? alice).accessToken, body: opts.body, query: opts.query });

  it('serves the default ruleset with the user’s ID and localpart filled in', async () => {
    const res = await req('GET', '/');
    assert.equal(res.status, 200);
    const g = res.body.global;
    assert.deepEqual(Object.keys(g).sort(), ['content', 'override', 'room', 'sender', 'underride']);
    assert.equal(g.override[0].rule_id, '.m.rule.master');
    assert.equal(g.override[0].enabled, false);
    assert.deepEqual(ids(g.underride), ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
    assert.equal(ids(g.override).length, 12);
    assert.deepEqual(g.content, [
      {
        rule_id: '.m.rule.contains_user_name',
        default: true,
        enabled: true,
        pattern: alice.localpart,
        actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
      },
    ]);
    const invite = g.override.find((r: any) => r.rule_id === '.m.rule.invite_for_me');
    assert.equal(invite.conditions[2].pattern, alice.userId);

    const global = await req('GET', '/global/');
    assert.deepEqual(global.body, g);
    const r0 = await server().request('GET', '/_matrix/client/r0/pushrules/', { token: alice.accessToken });
    assert.deepEqual(r0.body.global, g);
    const kind = await req('GET', '/global/underride/');
    assert.deepEqual(kind.body, g.underride);
  });

  it('serves one rule, its enabled flag and its actions', async () => {
    const rule = await req('GET', '/global/underride/.m.rule.message');
    assert.equal(rule.status, 200);
    assert.deepEqual(rule.body, {
      rule_id: '.m.rule.message',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
      actions: ['notify'],
    });
    assert.deepEqual((await req('GET', '/global/override/.m.rule.master/enabled')).body, { enabled: false });
    assert.deepEqual((await req('GET', '/global/underride/.m.rule.call/actions')).body, { actions: ['notify', { set_tweak: 'sound', value: 'ring' }] });
  });

  it('answers 404 M_NOT_FOUND for unknown rules and M_INVALID_PARAM for unknown kinds', async () => {
    for (const path of ['/global/override/nope', '/global/override/nope/enabled', '/global/override/nope/actions', '/global/underride/.m.rule.master']) {
      const res = await req('GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND', path);
    }
    const bad = await req('GET', '/global/sideways/x');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
    const badPut = await req('PUT', '/global/sideways/x', { body: { actions: [] } });
    assert.equal(badPut.body.errcode, 'M_INVALID_PARAM');
    const scope = await req('GET', '/device/override/x');
    assert.equal(scope.status, 404);
    assert.equal(scope.body.errcode, 'M_UNRECOGNIZED');
  });

  it('requires an access token', async () => {
    const res = await server().request('GET', `${P}/`);
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
  });

  it('creates rules of every kind, enabled, ahead of the server defaults', async () => {
    const put = await req('PUT', '/global/content/cake', { body: { pattern: 'cake*lie', actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }] } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, {});
    const rule = await req('GET', '/global/content/cake');
    assert.deepEqual(rule.body, { rule_id: 'cake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }] });

    const roomId = `!abc:${server().serverName}`;
    assert.equal((await req('PUT', `/global/room/${encodeURIComponent(roomId)}`, { body: { actions: [] } })).status, 200);
    assert.equal((await req('PUT', `/global/sender/${encodeURIComponent('@spambot:matrix.org')}`, { body: { actions: [] } })).status, 200);
    const override = await req('PUT', '/global/override/beer', {
      body: {
        conditions: [
          { kind: 'event_match', key: 'content.body', pattern: 'beer' },
          { kind: 'room_member_count', is: '<=10' },
        ],
        actions: ['notify', { set_tweak: 'sound', value: 'beer.wav' }],
      },
    });
    assert.equal(override.status, 200);
    assert.equal((await req('PUT', '/global/underride/quiet', { body: { actions: [] } })).status, 200);

    const g = (await req('GET', '/')).body.global;
    assert.deepEqual(ids(g.content), ['cake', '.m.rule.contains_user_name']);
    assert.deepEqual(g.room, [{ rule_id: roomId, default: false, enabled: true, actions: [] }]);
    assert.deepEqual(ids(g.sender), ['@spambot:matrix.org']);
    assert.deepEqual(ids(g.override).slice(0, 3), ['.m.rule.master', 'beer', '.m.rule.suppress_notices']);
    assert.equal(g.override[1].conditions[1].is, '<=10');
    assert.deepEqual(g.underride[0], { rule_id: 'quiet', default: false, enabled: true, conditions: [], actions: [] });

    // Another user sees none of it.
    const other = (await req('GET', '/', { user: bob })).body.global;
    assert.deepEqual(ids(other.content), ['.m.rule.contains_user_name']);
    assert.deepEqual(other.room, []);
  });

  it('orders new rules with before and after, and moves existing ones', async () => {
    const put = (id: string, query?: Record<string, string>) =>
      req('PUT', `/global/override/${id}`, { body: { conditions: [{ kind: 'event_match', key: 'type', pattern: id }], actions: [] }, query, user: bob });
    const order = async () => ids((await req('GET', '/global/override/', { user: bob })).body, true);
    assert.equal((await put('a')).status, 200);
    assert.equal((await put('b')).status, 200);
    assert.deepEqual(await order(), ['b', 'a'], 'new rules go first');
    assert.equal((await put('c', { after: 'b' })).status, 200);
    assert.deepEqual(await order(), ['b', 'c', 'a']);
    assert.equal((await put('d', { before: 'b' })).status, 200);
    assert.deepEqual(await order(), ['d', 'b', 'c', 'a']);
    assert.equal((await put('e', { after: 'a' })).status, 200);
    assert.deepEqual(await order(), ['d', 'b', 'c', 'a', 'e']);
    assert.equal((await put('a', { before: 'd' })).status, 200);
    assert.deepEqual(await order(), ['a', 'd', 'b', 'c', 'e'], 'an existing rule moves');
    assert.equal((await put('x', { before: 'c', after: 'a' })).status, 200);
    assert.deepEqual(await order(), ['a', 'd', 'b', 'x', 'c', 'e'], 'before wins over after');
    assert.equal((await put('b')).status, 200);
    assert.deepEqual(await order(), ['a', 'd', 'b', 'x', 'c', 'e'], 'an update without before/after keeps its place');
  });

  it('refuses before/after naming an unknown or server-default rule', async () => {
    const queries: Array<Record<string, string>> = [{ before: 'missing' }, { after: 'missing' }, { before: '.m.rule.master' }, { after: '.m.rule.suppress_notices' }];
    for (const query of queries) {
      const res = await req('PUT', '/global/override/placed', { body: { conditions: [], actions: [] }, query });
      assert.equal(res.status, 400, JSON.stringify(query));
      assert.equal(res.body.errcode, 'M_INVALID_PARAM', JSON.stringify(query));
    }
    assert.equal((await req('GET', '/global/override/placed')).status, 404, 'nothing was created');
  });

  it('refuses reserved or malformed rule IDs and bad rule bodies', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['/global/override/.m.rule.mine', { conditions: [], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/.m.rule.master', { conditions: [], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/a%2Fb', { conditions: [], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/a%5Cb', { conditions: [], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/r1', { conditions: [], actions: ['explode'] }, 'M_INVALID_PARAM'],
      ['/global/override/r1', { conditions: [], actions: [{ value: 'x' }] }, 'M_INVALID_PARAM'],
      ['/global/override/r1', { conditions: [{ key: 'type' }], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/r1', { conditions: [{ kind: 'room_member_count', is: 'lots' }], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/r1', { conditions: [{ kind: 'event_property_is', key: 'content.x', value: [1] }], actions: [] }, 'M_INVALID_PARAM'],
      ['/global/override/r1', { conditions: [] }, 'M_MISSING_PARAM'],
      ['/global/override/r1', { actions: 'notify' }, 'M_BAD_JSON'],
      ['/global/content/r1', { actions: [] }, 'M_MISSING_PARAM'],
      ['/global/content/r1', { pattern: 5, actions: [] }, 'M_BAD_JSON'],
      ['/global/room/not-a-room', { actions: [] }, 'M_INVALID_PARAM'],
      ['/global/sender/not-a-user', { actions: [] }, 'M_INVALID_PARAM'],
    ];
    for (const [path, body, errcode] of cases) {
      const res = await req('PUT', path, { body });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.equal(res.body.errcode, errcode, `${path} ${JSON.stringify(body)}`);
    }
    const notJson = await server().request('PUT', `${P}/global/override/r1`, { token: alice.accessToken, rawBody: '{nope' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.errcode, 'M_NOT_JSON');
    assert.equal((await req('GET', '/global/override/r1')).status, 404);
  });

  it('keeps unknown condition kinds (they never match) and strips historical actions', async () => {
    const res = await req('PUT', '/global/override/future', {
      body: { conditions: [{ kind: 'org.example.future', foo: 'bar' }], actions: ['dont_notify', 'coalesce'] },
    });
    assert.equal(res.status, 200);
    const rule = (await req('GET', '/global/override/future')).body;
    assert.deepEqual(rule.conditions, [{ kind: 'org.example.future', foo: 'bar' }]);
    assert.deepEqual(rule.actions, []);
  });

  it('updates a user rule in place, keeping it disabled if it was', async () => {
    await req('PUT', '/global/content/tea', { body: { pattern: 'tea', actions: ['notify'] } });
    assert.equal((await req('PUT', '/global/content/tea/enabled', { body: { enabled: false } })).status, 200);
    assert.deepEqual((await req('GET', '/global/content/tea/enabled')).body, { enabled: false });
    await req('PUT', '/global/content/tea', { body: { pattern: 'green tea', actions: [] } });
    const rule = (await req('GET', '/global/content/tea')).body;
    assert.equal(rule.pattern, 'green tea');
    assert.equal(rule.enabled, false);
    assert.deepEqual(rule.actions, []);
  });

  it('changes enabled and actions of server-default rules', async () => {
    const user = await server().registerUser();
    const opts = { user };
    assert.equal((await req('PUT', '/global/override/.m.rule.master/enabled', { ...opts, body: { enabled: true } })).status, 200);
    assert.deepEqual((await req('GET', '/global/override/.m.rule.master/enabled', opts)).body, { enabled: true });
    const actions = ['notify', { set_tweak: 'sound', value: 'bing' }];
    assert.equal((await req('PUT', '/global/underride/.m.rule.message/actions', { ...opts, body: { actions } })).status, 200);
    assert.deepEqual((await req('GET', '/global/underride/.m.rule.message/actions', opts)).body, { actions });
    // Changing one attribute leaves the other alone.
    assert.equal((await req('PUT', '/global/underride/.m.rule.message/enabled', { ...opts, body: { enabled: false } })).status, 200);
    const rule = (await req('GET', '/global/underride/.m.rule.message', opts)).body;
    assert.equal(rule.enabled, false);
    assert.deepEqual(rule.actions, actions);
    assert.equal(rule.default, true);
    assert.deepEqual(rule.conditions, [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }]);
    // Server-default rules cannot be redefined or deleted.
    const redefine = await req('PUT', '/global/underride/.m.rule.message', { ...opts, body: { conditions: [], actions: [] } });
    assert.equal(redefine.body.errcode, 'M_INVALID_PARAM');
    const del = await req('DELETE', '/global/underride/.m.rule.message', opts);
    assert.equal(del.status, 400);
    assert.equal(del.body.errcode, 'M_INVALID_PARAM');
    // Another user's defaults are untouched.
    assert.deepEqual((await req('GET', '/global/override/.m.rule.master/enabled')).body, { enabled: false });
  });

  it('answers 404 when setting attributes of unknown rules, and checks their bodies', async () => {
    for (const [path, body] of [
      ['/global/override/nope/enabled', { enabled: true }],
      ['/global/override/nope/actions', { actions: [] }],
      ['/global/override/.m.rule.nope/enabled', { enabled: true }],
      ['/global/underride/.m.rule.master/enabled', { enabled: true }],
    ] as const) {
      const res = await req('PUT', path, { body });
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND', path);
    }
    const badEnabled = await req('PUT', '/global/override/.m.rule.master/enabled', { body: { enabled: 'yes' } });
    assert.equal(badEnabled.body.errcode, 'M_BAD_JSON');
    const missing = await req('PUT', '/global/override/.m.rule.master/enabled', { body: {} });
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    const badActions = await req('PUT', '/global/override/.m.rule.master/actions', { body: { actions: ['loud'] } });
    assert.equal(badActions.body.errcode, 'M_INVALID_PARAM');
  });

  it('deletes user rules', async () => {
    await req('PUT', '/global/sender/%40troll%3Aexample.org', { body: { actions: [] } });
    const del = await req('DELETE', '/global/sender/%40troll%3Aexample.org');
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, {});
    assert.equal((await req('GET', '/global/sender/%40troll%3Aexample.org')).status, 404);
    const again = await req('DELETE', '/global/sender/%40troll%3Aexample.org');
    assert.equal(again.status, 404);
    assert.equal(again.body.errcode, 'M_NOT_FOUND');
  });
});

describeEachDatabase('push rules service', ({ server }) => {
  it('reports changes, refreshes its cache and evaluates the stored rules', async () => {
    const db = server().app.database.db;
    const service = new PushRulesService(db, new PushRuleStore(db));
    const changed: string[] = [];
    service.onRulesChanged = (userId) => changed.push(userId);
    const user = '@carol:test.local';
    const event = { type: 'm.room.message', room_id: '!r:test.local', sender: '@dave:test.local', content: { msgtype: 'm.text', body: 'cake time' } };
    const ctx = { userId: user, displayName: null, roomMemberCount: 5, senderPowerLevel: 0, notificationPowerLevels: {} };

    const before = await service.queryCompiledRules(user);
    assert.equal(evaluatePushRules(before, event, ctx)?.ruleId, '.m.rule.message');
    assert.equal(await service.queryRuleset(user), await service.queryRuleset(user), 'cached');

    await service.performPutRule(user, 'content', 'cake', { pattern: 'cake', actions: ['notify', { set_tweak: 'highlight' }] }, {});
    assert.deepEqual(changed, [user]);
    const after = evaluatePushRules(await service.queryCompiledRules(user), event, ctx);
    assert.equal(after?.ruleId, 'cake');
    assert.equal(after?.highlight, true);

    await service.performSetEnabled(user, 'override', '.m.rule.master', true);
    assert.equal(evaluatePushRules(await service.queryCompiledRules(user), event, ctx)?.ruleId, '.m.rule.master');
    assert.deepEqual((await service.queryAccountDataContent(user)).global.override[0], {
      rule_id: '.m.rule.master',
      default: true,
      enabled: true,
      conditions: [],
      actions: [],
    });
    assert.equal(changed.length, 2);
  });

  it('serialises concurrent writes of one user without losing rules', async () => {
    const db = server().app.database.db;
    const service = new PushRulesService(db, new PushRuleStore(db));
    const user = '@erin:test.local';
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => service.performPutRule(user, 'override', `r${i}`, { conditions: [], actions: [] }, {})),
    );
    const rules = (await service.queryRuleset(user)).override.filter((r) => !r.default);
    assert.deepEqual(rules.map((r) => r.rule_id), ['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
  });
});
