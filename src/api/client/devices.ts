// Device management (spec "Device management"), and the hook that records each token's
// last-seen time and IP.
import Type from 'typebox';
import { AuthDict } from './auth-dict.ts';
import type { FastifyInstance } from 'fastify';
import type { Router } from '../router.ts';
import { accessTokenOf, authenticateRequest, type TokenResolver } from '../router.ts';
import type { Authenticator, Requester } from '../../services/auth/authenticator.ts';
import type { DeviceService } from '../../services/accounts/devices.ts';

const DeviceParams = Type.Object({ deviceId: Type.String() });

export interface DeviceRouteDeps {
  devices: Pick<DeviceService, 'list' | 'get' | 'rename' | 'deleteDevicesWithAuth'>;
  /** MSC4190: an appservice creates a device of its user with PUT; true when it handled it. */
  putDeviceAsAppservice?: (requester: Requester, deviceId: string, displayName: string | null | undefined) => Promise<boolean>;
}

export function deviceRoutes(r: Router, deps: DeviceRouteDeps): void {
  // GET /_matrix/client/v3/devices
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/devices',
    auth: 'user',
    handler: async ({ requester }) => ({ devices: await deps.devices.list(requester.userId) }),
  });

  // GET /_matrix/client/v3/devices/{deviceId}
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/devices/:deviceId',
    auth: 'user',
    params: DeviceParams,
    handler: ({ requester, params }) => deps.devices.get(requester.userId, params.deviceId),
  });

  // PUT /_matrix/client/v3/devices/{deviceId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/devices/:deviceId',
    auth: 'user',
    params: DeviceParams,
    body: Type.Object({ display_name: Type.Optional(Type.Union([Type.String(), Type.Null()])) }),
    handler: async ({ requester, params, body }) => {
      if (await deps.putDeviceAsAppservice?.(requester, params.deviceId, body.display_name)) {
        if (body.display_name !== undefined) await deps.devices.rename(requester.userId, params.deviceId, body.display_name);
        return {};
      }
      // A body without display_name changes nothing, but the device must still exist.
      if (body.display_name === undefined) await deps.devices.get(requester.userId, params.deviceId);
      else await deps.devices.rename(requester.userId, params.deviceId, body.display_name);
      return {};
    },
  });

  // DELETE /_matrix/client/v3/devices/{deviceId}
  r.route({
    method: 'DELETE',
    path: '/_matrix/client/v3/devices/:deviceId',
    auth: 'user',
    params: DeviceParams,
    // No body schema: clients send this DELETE without a body at first (the UIA probe); the
    // router hands over {} then, and UIA checks the auth dict's shape itself.
    handler: async ({ requester, params, body }) => {
      await deps.devices.deleteDevicesWithAuth(requester, `/devices/${params.deviceId}`, body as Record<string, unknown>, [params.deviceId]);
      return {};
    },
  });

  // POST /_matrix/client/v3/delete_devices
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/delete_devices',
    auth: 'user',
    body: Type.Object({ devices: Type.Array(Type.String(), { maxItems: 1000 }), auth: Type.Optional(AuthDict) }),
    handler: async ({ requester, body }) => {
      await deps.devices.deleteDevicesWithAuth(requester, '/delete_devices', body as Record<string, unknown>, body.devices);
      return {};
    },
  });
}

/**
 * Records device activity for every authenticated request: a preHandler resolves the token
 * (from the authenticator's cache, so the route's own check costs nothing more) and lets the
 * device service write last_seen at most once a minute per token.
 */
export function trackDeviceActivity(http: FastifyInstance, deps: { resolveToken: TokenResolver; devices: Pick<DeviceService, 'touch'> }): void {
  // Callback style rather than async: on every authenticated request, an async hook costs its own
  // promise and a tick more on top of the token check's.
  http.addHook('preHandler', (req, _reply, done) => {
    let token: string | undefined;
    try {
      token = accessTokenOf(req);
    } catch {
      return done();
    }
    if (!token) return done();
    authenticateRequest(deps.resolveToken, req, token).then(
      (requester) => {
        if (requester.viaAppservice) return done(); // as_tokens have no device row to mark as seen
        deps.devices.touch(requester, req.ip).then(() => done(), done);
      },
      () => done(), // the route answers the token error itself
    );
  });
}
