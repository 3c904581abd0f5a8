// GET /_matrix/client/versions and /_matrix/client/v3/capabilities
import type { Router } from '../router.ts';
import { SUPPORTED_ROOM_VERSIONS, ROOM_VERSIONS } from '../../core/room-versions.ts';

export const SPEC_VERSIONS = [
  'r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12',
  'v1.13', 'v1.14', 'v1.15', 'v1.16',
];

export function versionRoutes(r: Router, deps: { defaultRoomVersion: string }): void {
  // GET /_matrix/client/versions
  r.route({
    method: 'GET',
    path: '/_matrix/client/versions',
    auth: 'none',
    // MSC3814 (dehydrated devices): matrix-js-sdk and Element look for it here.
    handler: () => ({ versions: SPEC_VERSIONS, unstable_features: { 'org.matrix.msc3814': true } }),
  });

  // GET /_matrix/client/v3/capabilities
  r.route({
    method: 'GET',
    path: '/_matrix/client/v3/capabilities',
    auth: 'guest',
    handler: () => ({
      capabilities: {
        'm.change_password': { enabled: true },
        'm.room_versions': {
          default: deps.defaultRoomVersion,
          available: Object.fromEntries(
            [...ROOM_VERSIONS.keys()]
              .filter((v) => (SUPPORTED_ROOM_VERSIONS as readonly string[]).includes(v))
              .map((v) => [v, 'stable']),
          ),
        },
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
        'm.get_login_token': { enabled: false },
      },
    }),
  });
}
