// Accounts of application services: `/register` with `m.login.application_service` (users in the
// appservice's namespace, created without password, even when public registration is closed),
// `/login` with `m.login.application_service` (double puppeting: a token for a user in the
// namespace, typically a real user with a `.*` non-exclusive namespace), the sender user that
// must exist for each registration, and MSC4190 device creation by the appservice.
import { MatrixError } from '../../core/errors.ts';
import { isValidUserId } from '../../core/ids.ts';
import type { CreateUserOptions, RegisterResponse } from '../accounts/registration.ts';
import type { LoginType } from '../accounts/login.ts';
import { userIdFromIdentifier } from '../accounts/identifier.ts';
import type { Requester } from '../auth/authenticator.ts';
import type { AppserviceRegistration } from './registration.ts';
import { ownsUser } from './interest.ts';

export const APPSERVICE_LOGIN_TYPE = 'm.login.application_service';

export interface AppserviceAccountsDeps {
  serverName: string;
  byAsToken(token: string): AppserviceRegistration | undefined;
  createUser(opts: CreateUserOptions): Promise<RegisterResponse>;
  userExists(userId: string): Promise<boolean>;
  ensureDevice(userId: string, deviceId: string, displayName: string | null): Promise<void>;
}

export class AppserviceAccounts {
  constructor(private readonly deps: AppserviceAccountsDeps) {}

  private requireAppservice(token: string | undefined): AppserviceRegistration {
    if (!token) throw new MatrixError('M_MISSING_TOKEN', 'Missing as_token');
    const reg = this.deps.byAsToken(token);
    if (!reg) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised as_token', { soft_logout: false });
    return reg;
  }

  /** POST /register with type m.login.application_service. */
  async register(token: string | undefined, body: Record<string, unknown>): Promise<RegisterResponse> {
    const reg = this.requireAppservice(token);
    if (typeof body.username !== 'string' || body.username.length === 0) throw new MatrixError('M_MISSING_PARAM', 'username is required');
    const userId = `@${body.username.toLowerCase()}:${this.deps.serverName}`;
    if (!ownsUser(reg, userId)) throw new MatrixError('M_EXCLUSIVE', 'This user ID is not in the namespace of the application service');
    const inhibitLogin = body.inhibit_login === true;
    return this.deps.createUser({
      localpart: body.username,
      password: null,
      appserviceId: reg.id,
      ignoreExclusive: true,
      login: inhibitLogin
        ? undefined
        : {
            deviceId: typeof body.device_id === 'string' ? body.device_id : undefined,
            displayName: typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined,
          },
    });
  }

  /** The m.login.application_service login type (LoginService.addLoginType). */
  loginType(): LoginType {
    return {
      authenticate: async (body, ctx) => {
        const reg = this.requireAppservice(ctx.accessToken);
        const userId = userIdFromIdentifier(body, this.deps.serverName);
        if (!isValidUserId(userId) || !ownsUser(reg, userId)) throw new MatrixError('M_FORBIDDEN', 'The user is not in the namespace of the application service');
        if (!(await this.deps.userExists(userId))) throw new MatrixError('M_FORBIDDEN', 'Unknown user');
        return userId;
      },
    };
  }

  /** Creates the sender user of a registration if missing (bridges expect their bot to exist). */
  async ensureSender(reg: AppserviceRegistration): Promise<void> {
    if (await this.deps.userExists(reg.senderUserId)) return;
    try {
      await this.deps.createUser({ localpart: reg.senderLocalpart, password: null, appserviceId: reg.id, ignoreExclusive: true });
    } catch (err) {
      // Created meanwhile by another process or request: fine.
      if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE')) throw err;
    }
  }

  /**
   * MSC4190: PUT /devices/{deviceId} from an appservice that opted in creates the device of the
   * masqueraded user if it does not exist. Returns true when it handled the request.
   */
  async putDeviceAsAppservice(requester: Requester, deviceId: string, displayName: string | null | undefined): Promise<boolean> {
    if (!requester.viaAppservice?.manageDevices) return false;
    await this.deps.ensureDevice(requester.userId, deviceId, displayName ?? null);
    return true;
  }
}
