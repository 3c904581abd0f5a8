// Requests made with an application service's as_token (spec "Application Service API" →
// "Client-Server API Extensions"): they act as the appservice's sender, or — with `user_id` —
// as any existing user in its users namespace ("masquerading"), and with `device_id` (or MSC3202's
// `org.matrix.msc3202.device_id`) as one of that user's existing devices.
import { MatrixError } from '../../core/errors.ts';
import type { Requester } from '../auth/authenticator.ts';
import type { AppserviceRegistration } from './registration.ts';
import { ownsUser } from './interest.ts';

export interface AppserviceAuthDeps {
  byAsToken(token: string): AppserviceRegistration | undefined;
  userExists(userId: string): Promise<{ deactivated: boolean } | undefined>;
  deviceExists(userId: string, deviceId: string): Promise<boolean>;
  /** The appservice is evidently up (it is calling us). */
  onRequest?(id: string): void;
}

export class AppserviceAuthenticator {
  constructor(private readonly deps: AppserviceAuthDeps) {}

  /** The requester for an as_token, or null when the token is not one (then it is a user's). */
  async authenticate(token: string, query: Record<string, unknown>): Promise<Requester | null> {
    const reg = this.deps.byAsToken(token);
    if (!reg) return null;
    this.deps.onRequest?.(reg.id);
    const masquerade = typeof query.user_id === 'string' ? query.user_id : undefined;
    const userId = masquerade ?? reg.senderUserId;
    if (masquerade !== undefined) {
      if (!ownsUser(reg, masquerade)) throw new MatrixError('M_FORBIDDEN', 'Application service cannot masquerade as this user');
      const user = await this.deps.userExists(masquerade);
      if (!user) throw new MatrixError('M_FORBIDDEN', 'Application service has not registered this user');
      if (user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This user has been deactivated');
    }
    const deviceParam = query['org.matrix.msc3202.device_id'] ?? query.device_id;
    let deviceId = '';
    if (typeof deviceParam === 'string' && deviceParam.length > 0) {
      if (!(await this.deps.deviceExists(userId, deviceParam))) {
        throw new MatrixError('M_UNKNOWN_DEVICE', 'Application service has not registered this device', {}, 400);
      }
      deviceId = deviceParam;
    }
    return {
      userId,
      deviceId,
      isGuest: false,
      isAdmin: false,
      appserviceId: reg.id,
      tokenId: 0,
      viaAppservice: { id: reg.id, rateLimited: reg.rateLimited, manageDevices: reg.msc4190 },
    };
  }
}
