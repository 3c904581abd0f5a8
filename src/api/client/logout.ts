// Logout (spec "Login" → /logout, /logout/all): logging out deletes the device with its tokens.
import type { Router } from '../router.ts';
import type { DeviceService } from '../../services/accounts/devices.ts';

export function logoutRoutes(r: Router, deps: { devices: Pick<DeviceService, 'deleteDevices' | 'deleteAllDevices'> }): void {
  // POST /_matrix/client/v3/logout
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/logout',
    auth: 'guest',
    handler: async ({ requester }) => {
      await deps.devices.deleteDevices(requester.userId, [requester.deviceId]);
      return {};
    },
  });

  // POST /_matrix/client/v3/logout/all
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/logout/all',
    auth: 'guest',
    handler: async ({ requester }) => {
      await deps.devices.deleteAllDevices(requester.userId);
      return {};
    },
  });
}
