// Send-to-device messaging (client-server "Send-to-Device messaging"); delivery is in /sync.
import Type from 'typebox';
import type { Router } from '../router.ts';
import type { ToDeviceMessages, ToDeviceService } from '../../services/e2ee/to-device.ts';

const Content = Type.Object({}, { additionalProperties: true });
const SendToDeviceBody = Type.Object(
  { messages: Type.Record(Type.String({ minLength: 1 }), Type.Record(Type.String({ minLength: 1 }), Content)) },
  { additionalProperties: true },
);

export function toDeviceRoutes(r: Router, deps: { toDevice: ToDeviceService }): void {
  // PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}
  r.route({
    method: 'PUT',
    path: '/_matrix/client/v3/sendToDevice/:eventType/:txnId',
    auth: 'guest',
    rateLimit: 'to_device',
    params: Type.Object({ eventType: Type.String({ minLength: 1, maxLength: 255 }), txnId: Type.String({ minLength: 1, maxLength: 255 }) }),
    body: SendToDeviceBody,
    handler: async ({ params, body, requester }) => {
      await deps.toDevice.send(requester, params.eventType, params.txnId, body.messages as ToDeviceMessages);
      return {};
    },
  });
}
