// Room upgrades (client-server "Room Upgrades").
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { RoomUpgrader } from '../../services/rooms/upgrade.ts';

const UpgradeBody = Type.Object(
  {
    new_version: Type.String({ minLength: 1, maxLength: 64 }),
    // v1.16: creators besides the upgrading user, for versions with privileged creators.
    additional_creators: Type.Optional(Type.Array(Type.String(), { maxItems: 100 })),
  },
  { additionalProperties: true },
);

export function upgradeRoutes(r: Router, deps: { upgrader: RoomUpgrader }): void {
  // POST /_matrix/client/v3/rooms/{roomId}/upgrade
  r.route({
    method: 'POST',
    path: '/_matrix/client/v3/rooms/:roomId/upgrade',
    auth: 'user',
    params: Type.Object({ roomId: Type.String() }),
    body: UpgradeBody,
    handler: async ({ params, body, requester }) => {
      const replacement = await deps.upgrader.performUpgrade(requester.userId, params.roomId, {
        newVersion: body.new_version,
        additionalCreators: body.additional_creators,
      });
      return { replacement_room: replacement };
    },
  });
}
