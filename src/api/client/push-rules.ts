// Push rules API (client-server "Push Notifications" → "Push Rules: API"). Only the `global`
// scope exists; other scopes fall through to 404 M_UNRECOGNIZED like any unknown endpoint.
import Type from 'typebox';
import type { Router } from '../router.ts';
import { checkKind, type PushRulesService } from '../../services/push/push-rules-service.ts';

const KindParams = Type.Object({ kind: Type.String() });
const RuleParams = Type.Object({ kind: Type.String(), ruleId: Type.String({ minLength: 1 }) });
const PlacementQuery = Type.Object(
  { before: Type.Optional(Type.String({ minLength: 1 })), after: Type.Optional(Type.String({ minLength: 1 })) },
  { additionalProperties: true },
);
// Item-level checks (known actions, condition parameters) are the service's, so that they
// answer M_INVALID_PARAM with a precise message.
const RuleBody = Type.Object(
  {
    actions: Type.Array(Type.Unknown()),
    conditions: Type.Optional(Type.Array(Type.Unknown())),
    pattern: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const EnabledBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: true });
const ActionsBody = Type.Object({ actions: Type.Array(Type.Unknown()) }, { additionalProperties: true });

const BASE = '/_matrix/client/v3/pushrules';

export function pushRuleRoutes(r: Router, deps: { pushRules: PushRulesService }): void {
  const { pushRules } = deps;

  // GET /_matrix/client/v3/pushrules/
  r.route({
    method: 'GET',
    path: `${BASE}/`,
    auth: 'user',
    handler: async ({ requester }) => ({ global: await pushRules.queryRuleset(requester.userId) }),
  });

  // GET /_matrix/client/v3/pushrules/global/
  r.route({
    method: 'GET',
    path: `${BASE}/global/`,
    auth: 'user',
    handler: ({ requester }) => pushRules.queryRuleset(requester.userId),
  });

  // GET /_matrix/client/v3/pushrules/global/{kind}/ (not in the spec; older clients list one kind)
  r.route({
    method: 'GET',
    path: `${BASE}/global/:kind/`,
    auth: 'user',
    params: KindParams,
    handler: async ({ requester, params }) => {
      const kind = checkKind(params.kind);
      return (await pushRules.queryRuleset(requester.userId))[kind];
    },
  });

  // GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}
  r.route({
    method: 'GET',
    path: `${BASE}/global/:kind/:ruleId`,
    auth: 'user',
    params: RuleParams,
    handler: ({ requester, params }) => pushRules.queryRule(requester.userId, checkKind(params.kind), params.ruleId),
  });

  // PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}
  r.route({
    method: 'PUT',
    path: `${BASE}/global/:kind/:ruleId`,
    auth: 'user',
    params: RuleParams,
    query: PlacementQuery,
    body: RuleBody,
    handler: async ({ requester, params, query, body }) => {
      await pushRules.performPutRule(requester.userId, checkKind(params.kind), params.ruleId, body, { before: query.before, after: query.after });
      return {};
    },
  });

  // DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}
  r.route({
    method: 'DELETE',
    path: `${BASE}/global/:kind/:ruleId`,
    auth: 'user',
    params: RuleParams,
    handler: async ({ requester, params }) => {
      await pushRules.performDeleteRule(requester.userId, checkKind(params.kind), params.ruleId);
      return {};
    },
  });

  // GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled
  r.route({
    method: 'GET',
    path: `${BASE}/global/:kind/:ruleId/enabled`,
    auth: 'user',
    params: RuleParams,
    handler: async ({ requester, params }) => {
      const rule = await pushRules.queryRule(requester.userId, checkKind(params.kind), params.ruleId);
      return { enabled: rule.enabled };
    },
  });

  // PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled
  r.route({
    method: 'PUT',
    path: `${BASE}/global/:kind/:ruleId/enabled`,
    auth: 'user',
    params: RuleParams,
    body: EnabledBody,
    handler: async ({ requester, params, body }) => {
      await pushRules.performSetEnabled(requester.userId, checkKind(params.kind), params.ruleId, body.enabled);
      return {};
    },
  });

  // GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions
  r.route({
    method: 'GET',
    path: `${BASE}/global/:kind/:ruleId/actions`,
    auth: 'user',
    params: RuleParams,
    handler: async ({ requester, params }) => {
      const rule = await pushRules.queryRule(requester.userId, checkKind(params.kind), params.ruleId);
      return { actions: rule.actions };
    },
  });

  // PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions
  r.route({
    method: 'PUT',
    path: `${BASE}/global/:kind/:ruleId/actions`,
    auth: 'user',
    params: RuleParams,
    body: ActionsBody,
    handler: async ({ requester, params, body }) => {
      await pushRules.performSetActions(requester.userId, checkKind(params.kind), params.ruleId, body.actions);
      return {};
    },
  });
}
