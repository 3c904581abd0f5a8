// Dehydrated devices, MSC3814 (unstable prefix org.matrix.msc3814.v1): parking a device on the
// server and reading the to-device messages it received.
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { DehydratedDeviceService, DehydratedDeviceUpload } from '../../services/e2ee/dehydrated.ts';

const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';
const JsonObject = Type.Object({}, { additionalProperties: true });

const PutBody = Type.Object(
  {
    device_id: Type.String({ minLength: 1, maxLength: 255 }),
    device_data: Type.Object({ algorithm: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: true }),
    initial_device_display_name: Type.Optional(Type.String()),
    device_keys: JsonObject,
    one_time_keys: Type.Optional(JsonObject),
    fallback_keys: Type.Optional(JsonObject),
  },
  { additionalProperties: true },
);

export function dehydratedDeviceRoutes(r: Router, deps: { dehydrated: DehydratedDeviceService }): void {
  const { dehydrated } = deps;

  // PUT /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device
  r.route({
    method: 'PUT',
    path: `${PREFIX}/dehydrated_device`,
    auth: 'user',
    body: PutBody,
    handler: ({ body, requester }) => dehydrated.put(requester.userId, body as DehydratedDeviceUpload),
  });

  // GET /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device
  r.route({
    method: 'GET',
    path: `${PREFIX}/dehydrated_device`,
    auth: 'user',
    handler: ({ requester }) => dehydrated.get(requester.userId),
  });

  // DELETE /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device
  r.route({
    method: 'DELETE',
    path: `${PREFIX}/dehydrated_device`,
    auth: 'user',
    handler: ({ requester }) => dehydrated.delete(requester.userId),
  });

  // POST /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device/{deviceId}/events
  r.route({
    method: 'POST',
    path: `${PREFIX}/dehydrated_device/:deviceId/events`,
    auth: 'user',
    params: Type.Object({ deviceId: Type.String({ minLength: 1 }) }),
    body: Type.Object({ next_batch: Type.Optional(Type.String()) }, { additionalProperties: true }),
    handler: ({ params, body, requester }) => dehydrated.events(requester.userId, params.deviceId, body.next_batch),
  });

  // GET …/dehydrated_device/{deviceId}/events?from= — the form matrix-js-sdk 43 sends
  // (rust-crypto/DehydratedDeviceManager), same answer as the POST.
  r.route({
    method: 'GET',
    path: `${PREFIX}/dehydrated_device/:deviceId/events`,
    auth: 'user',
    params: Type.Object({ deviceId: Type.String({ minLength: 1 }) }),
    query: Type.Object({ from: Type.Optional(Type.String()), next_batch: Type.Optional(Type.String()) }, { additionalProperties: true }),
    handler: ({ params, query, requester }) => dehydrated.events(requester.userId, params.deviceId, query.from ?? query.next_batch),
  });
}
