// Login (spec "Login", POST /login). Password login is built in; other login types (tokens,
// application services, SSO) plug in with `addLoginType` and appear in GET /login. Unknown users
// and wrong passwords get the same 403 and take the same time; deactivated accounts answer
// M_USER_DEACTIVATED (their password hash is gone, as in Synapse).
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { UserRow, UserStore } from '../../storage/stores/users.ts';
import { userIdFromIdentifier } from './identifier.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import type { IssuedSession, SessionService } from './tokens.ts';

export interface LoginContext {
  /** The access token the request carried, if any (application services authenticate /login with theirs). */
  accessToken?: string;
}

export interface LoginType {
  /** Extra fields of this type's entry in GET /login's `flows`. */
  flow?: Record<string, unknown>;
  /** Verifies the credentials of the body; returns the user ID to log in. */
  authenticate(body: Record<string, unknown>, ctx: LoginContext): Promise<string>;
}

export interface LoginResponse extends IssuedSession {
  home_server: string;
}

export interface LoginDeps {
  db: Kysely<DB>;
  serverName: string;
  users: Pick<UserStore, 'get' | 'findCaseInsensitive' | 'setPasswordHash'>;
  sessions: Pick<SessionService, 'createSession' | 'afterCommit'>;
  /** Runs after a login is committed. */
  onLoggedIn?: (userId: string, deviceId: string) => Promise<void>;
}

const invalid = () => new MatrixError('M_FORBIDDEN', 'Invalid username or password');

export class LoginService {
  private readonly types = new Map<string, LoginType>();

  constructor(private readonly deps: LoginDeps) {
    this.types.set('m.login.password', { authenticate: (body) => this.checkPassword(body) });
  }

  /** Seam for other login types (m.login.token, m.login.application_service, m.login.sso). */
  addLoginType(type: string, handler: LoginType): void {
    this.types.set(type, handler);
  }

  flows(): Record<string, unknown>[] {
    return [...this.types].map(([type, t]) => ({ type, ...(t.flow ?? {}) }));
  }

  async login(body: Record<string, unknown>, ctx: LoginContext = {}): Promise<LoginResponse> {
    const type = this.types.get(body.type as string);
    if (!type) throw new MatrixError('M_UNKNOWN', 'Unknown login type');
    const userId = await type.authenticate(body, ctx);
    const session = await this.deps.db.transaction().execute((trx) =>
      this.deps.sessions.createSession(trx, {
        userId,
        deviceId: typeof body.device_id === 'string' ? body.device_id : undefined,
        displayName: typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined,
        refreshable: body.refresh_token === true,
      }),
    );
    await this.deps.sessions.afterCommit(session);
    await this.deps.onLoggedIn?.(userId, session.device_id);
    return { ...session, home_server: this.deps.serverName };
  }

  private async checkPassword(body: Record<string, unknown>): Promise<string> {
    const password = body.password;
    if (typeof password !== 'string') throw new MatrixError('M_MISSING_PARAM', 'Missing password');
    const requested = userIdFromIdentifier(body, this.deps.serverName);
    const user = await this.findUser(requested);
    if (user?.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    const hash = user && !user.is_guest ? user.password_hash : null;
    if (!(await verifyPassword(password, hash))) throw invalid();
    // Hashes imported from Synapse (bcrypt) become argon2id the first time they are proven.
    if (hash && needsRehash(hash)) await this.deps.users.setPasswordHash(user!.user_id, await hashPassword(password));
    return user!.user_id;
  }

  /** Exact match first; else a unique case-insensitive match (people type "Alice" for @alice). */
  private async findUser(userId: string): Promise<UserRow | undefined> {
    const exact = await this.deps.users.get(userId);
    if (exact) return exact;
    const matches = await this.deps.users.findCaseInsensitive(userId);
    return matches.length === 1 ? matches[0] : undefined;
  }
}
