// Account registration (spec "Account registration", POST /register): closed by default, open
// with m.login.dummy, or gated by registration tokens. Username checks run before UIA (the spec
// requires M_INVALID_USERNAME / M_USER_IN_USE / M_EXCLUSIVE first) and again at creation, where
// the users primary key decides races: of two concurrent registrations of one name, exactly one
// insert succeeds and the other answers M_USER_IN_USE.
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { isValidNewLocalpart } from '../../core/ids.ts';
import type { DB } from '../../storage/schema/index.ts';
import { isUniqueViolation, type UserStore } from '../../storage/stores/users.ts';
import type { RegistrationTokenStore } from '../../storage/stores/registration-tokens.ts';
import type { RateLimiter } from '../../util/rate-limiter.ts';
import { checkNewPassword, hashPassword } from './passwords.ts';
import type { IssuedSession, SessionService } from './tokens.ts';
import type { UiaFlow, UiaService } from './uia.ts';

export interface RegistrationSettings {
  enabled: boolean;
  requiresToken: boolean;
  allowGuests: boolean;
}

export interface RegistrationDeps {
  db: Kysely<DB>;
  serverName: string;
  settings: RegistrationSettings;
  users: UserStore;
  registrationTokens: Pick<RegistrationTokenStore, 'complete'>;
  uia: Pick<UiaService, 'performAuth' | 'finish'>;
  sessions: Pick<SessionService, 'createSession' | 'afterCommit'>;
  /** Limits accounts created per IP (only successful creations count, as in Synapse). */
  limiter?: RateLimiter;
  /** Seam for application services: true if the user ID is in an exclusive namespace (M_EXCLUSIVE). */
  isExclusive?: (userId: string) => boolean;
  /** Runs after a new account is committed (e.g. user directory). */
  onUserRegistered?: (userId: string) => Promise<void>;
  now?: () => number;
}

export interface RegisterRequest {
  kind: 'user' | 'guest';
  body: Record<string, unknown>;
  ip: string;
}

export interface RegisterResponse {
  user_id: string;
  home_server: string;
  access_token?: string;
  device_id?: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export interface CreateUserOptions {
  localpart: string;
  /** Plain password (hashed here) — or null for an account without password login. */
  password: string | null;
  admin?: boolean;
  displayname?: string | null;
  appserviceId?: string | null;
  /** Skip the M_EXCLUSIVE check (the appservice registering its own users). */
  ignoreExclusive?: boolean;
  /** Synapse user type ("bot", "support"), or null. */
  userType?: string | null;
  /** Also log in: device ID (generated if absent), its display name, refresh support. */
  login?: { deviceId?: string; displayName?: string; refreshable?: boolean };
}

/** The canonical operation name UIA sessions of /register are bound to (v3 and r0 alike). */
export const REGISTER_OPERATION = '/register';

export class RegistrationService {
  private readonly now: () => number;

  constructor(private readonly deps: RegistrationDeps) {
    this.now = deps.now ?? Date.now;
  }

  flows(): UiaFlow[] {
    return this.deps.settings.requiresToken ? [{ stages: ['m.login.registration_token'] }] : [{ stages: ['m.login.dummy'] }];
  }

  /**
   * Maps a requested username onto a user ID (lowercased, as Synapse does) or refuses it.
   * All-digit localparts are reserved for guests, a leading "_" for appservices by convention
   * (which may use it, as in Synapse).
   */
  userIdFor(username: string, opts: { forAppservice?: boolean } = {}): string {
    const localpart = username.toLowerCase();
    if (localpart.length === 0) throw new MatrixError('M_INVALID_USERNAME', 'User ID cannot be empty');
    if (!isValidNewLocalpart(localpart, this.deps.serverName)) {
      throw new MatrixError('M_INVALID_USERNAME', "User ID can only contain characters a-z, 0-9, or '=_-./+' and must fit in 255 characters");
    }
    if (localpart.startsWith('_') && !opts.forAppservice) throw new MatrixError('M_INVALID_USERNAME', 'User ID may not begin with _');
    if (/^\d+$/.test(localpart)) throw new MatrixError('M_INVALID_USERNAME', 'Numeric user IDs are reserved for guest users');
    return `@${localpart}:${this.deps.serverName}`;
  }

  /** GET /register/available; also the pre-UIA check of POST /register. */
  async checkAvailable(username: string, opts: { ignoreExclusive?: boolean; forAppservice?: boolean } = {}): Promise<string> {
    const userId = this.userIdFor(username, opts);
    if (!opts.ignoreExclusive && this.deps.isExclusive?.(userId)) {
      throw new MatrixError('M_EXCLUSIVE', 'This user ID is reserved by an application service');
    }
    if (await this.deps.users.exists(userId)) throw new MatrixError('M_USER_IN_USE', 'User ID already taken.');
    return userId;
  }

  assertOpen(): void {
    if (!this.deps.settings.enabled) throw new MatrixError('M_FORBIDDEN', 'Registration has been disabled');
  }

  async register(req: RegisterRequest): Promise<RegisterResponse> {
    if (req.kind === 'guest') return this.registerGuest(req);
    this.assertOpen();
    await this.checkRequestFields(req.body);

    const auth = await this.deps.uia.performAuth({ method: 'POST', path: REGISTER_OPERATION, body: req.body, userId: null, bindBody: false }, this.flows());
    const body = auth.clientDict;
    await this.checkRequestFields(body);
    if (typeof body.username !== 'string' && body.username !== undefined) throw new MatrixError('M_INVALID_USERNAME', 'username must be a string');
    if (typeof body.password !== 'string') throw new MatrixError('M_MISSING_PARAM', 'Missing params: password');
    this.takeRateLimit(req.ip);

    const passwordHash = await hashPassword(body.password);
    const inhibitLogin = body.inhibit_login === true;
    const attempt = async (userId: string) =>
      this.deps.db.transaction().execute(async (trx) => {
        await this.deps.users.insert({ user_id: userId, password_hash: passwordHash, displayname: userId.slice(1, userId.indexOf(':')), now: this.now() }, trx);
        const token = auth.data.registration_token;
        if (typeof token === 'string') await this.deps.registrationTokens.complete(token, trx);
        await this.deps.uia.finish(auth.sessionId, trx);
        if (inhibitLogin) return undefined;
        return this.deps.sessions.createSession(trx, {
          userId,
          deviceId: typeof body.device_id === 'string' ? body.device_id : undefined,
          displayName: typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined,
          refreshable: body.refresh_token === true,
        });
      });

    let userId: string;
    let session: IssuedSession | undefined;
    if (typeof body.username === 'string') {
      userId = await this.checkAvailable(body.username);
      session = await this.insertOrInUse(() => attempt(userId));
    } else {
      ({ userId, session } = await this.withGeneratedId((id) => attempt(id)));
    }
    return this.finishRegistration(userId, session);
  }

  /** Guests: no UIA; every field but initial_device_display_name is ignored (spec). */
  private async registerGuest(req: RegisterRequest): Promise<RegisterResponse> {
    if (!this.deps.settings.allowGuests) throw new MatrixError('M_FORBIDDEN', 'Guest access is disabled');
    this.takeRateLimit(req.ip);
    const displayName = typeof req.body.initial_device_display_name === 'string' ? req.body.initial_device_display_name : undefined;
    const { userId, session } = await this.withGeneratedId((userId) =>
      this.deps.db.transaction().execute(async (trx) => {
        await this.deps.users.insert({ user_id: userId, password_hash: null, is_guest: true, now: this.now() }, trx);
        return this.deps.sessions.createSession(trx, { userId, displayName });
      }),
    );
    return this.finishRegistration(userId, session);
  }

  /**
   * Creates an account outside of /register: CLI, shared-secret registration, admin API,
   * application services. Validates the localpart the same way; throws M_USER_IN_USE if taken.
   * With `login`, also opens a session (device + tokens) in the same transaction.
   */
  async performCreateUser(opts: CreateUserOptions): Promise<RegisterResponse> {
    const userId = await this.checkAvailable(opts.localpart, { ignoreExclusive: opts.ignoreExclusive, forAppservice: !!opts.appserviceId });
    if (opts.password !== null) checkNewPassword(opts.password);
    const passwordHash = opts.password === null ? null : await hashPassword(opts.password);
    const session = await this.insertOrInUse(() =>
      this.deps.db.transaction().execute(async (trx) => {
        await this.deps.users.insert(
          {
            user_id: userId,
            password_hash: passwordHash,
            is_admin: opts.admin,
            appservice_id: opts.appserviceId ?? null,
            user_type: opts.userType ?? null,
            displayname: opts.displayname === undefined ? userId.slice(1, userId.indexOf(':')) : opts.displayname,
            now: this.now(),
          },
          trx,
        );
        return opts.login ? this.deps.sessions.createSession(trx, { userId, ...opts.login }) : undefined;
      }),
    );
    return this.finishRegistration(userId, session);
  }

  private async finishRegistration(userId: string, session: IssuedSession | undefined): Promise<RegisterResponse> {
    if (session) await this.deps.sessions.afterCommit(session);
    await this.deps.onUserRegistered?.(userId);
    const out: RegisterResponse = { user_id: userId, home_server: this.deps.serverName };
    if (session) {
      out.access_token = session.access_token;
      out.device_id = session.device_id;
      if (session.refresh_token !== undefined) out.refresh_token = session.refresh_token;
      if (session.expires_in_ms !== undefined) out.expires_in_ms = session.expires_in_ms;
    }
    return out;
  }

  /** Field checks that must answer before UIA (and again after, on the body actually used). */
  private async checkRequestFields(body: Record<string, unknown>): Promise<void> {
    if (typeof body.username === 'string') await this.checkAvailable(body.username);
    if (typeof body.password === 'string') checkNewPassword(body.password);
  }

  private takeRateLimit(ip: string): void {
    const wait = this.deps.limiter?.take(ip) ?? 0;
    if (wait > 0) throw new MatrixError('M_LIMIT_EXCEEDED', 'Too many registrations', { retry_after_ms: wait });
  }

  private async insertOrInUse<T>(insert: () => Promise<T>): Promise<T> {
    try {
      return await insert();
    } catch (err) {
      if (isUniqueViolation(err)) throw new MatrixError('M_USER_IN_USE', 'User ID already taken.');
      throw err;
    }
  }

  /** Numeric localparts, as Synapse generates for guests and for registrations without a username. */
  private async withGeneratedId<T>(create: (userId: string) => Promise<T>): Promise<{ userId: string; session: T }> {
    for (let attempt = 0; ; attempt++) {
      const userId = `@${randomInt(1, 2 ** 47)}:${this.deps.serverName}`;
      try {
        return { userId, session: await create(userId) };
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 5) throw err;
      }
    }
  }
}
