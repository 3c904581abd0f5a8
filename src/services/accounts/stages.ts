// The UIA stages Foyer offers: m.login.dummy, m.login.password (re-authenticating a logged-in
// user) and m.login.registration_token (spec "Token-authenticated registration").
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { UserStore } from '../../storage/stores/users.ts';
import type { RegistrationTokenStore } from '../../storage/stores/registration-tokens.ts';
import type { RateLimiter } from '../../util/rate-limiter.ts';
import type { UiaStage } from './uia.ts';
import { userIdFromIdentifier } from './identifier.ts';
import { verifyPassword } from './passwords.ts';

export const dummyStage: UiaStage = {
  type: 'm.login.dummy',
  async check() {},
};

export function passwordStage(deps: { users: Pick<UserStore, 'get'>; serverName: string; limiter?: RateLimiter }): UiaStage {
  return {
    type: 'm.login.password',
    async check(auth, ctx) {
      if (!ctx.userId) throw new MatrixError('M_FORBIDDEN', 'Password authentication needs a logged-in user');
      // A stolen access token must not become a password oracle: attempts are limited per user.
      const wait = deps.limiter?.take(ctx.userId) ?? 0;
      if (wait > 0) throw new MatrixError('M_LIMIT_EXCEEDED', 'Too many password attempts', { retry_after_ms: wait });
      const claimed = userIdFromIdentifier(auth, deps.serverName);
      if (typeof auth.password !== 'string') throw new MatrixError('M_MISSING_PARAM', 'Missing password');
      // The identifier must name the requester: re-authenticating as someone else proves nothing.
      if (claimed.toLowerCase() !== ctx.userId.toLowerCase()) throw new MatrixError('M_FORBIDDEN', 'Invalid password');
      const user = await deps.users.get(ctx.userId);
      if (!(await verifyPassword(auth.password, user?.password_hash ?? null))) throw new MatrixError('M_FORBIDDEN', 'Invalid password');
    },
  };
}

/** Token lengths and alphabet from the spec's Opaque Identifier Grammar (max 64). */
export const REGISTRATION_TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

export function registrationTokenStage(deps: { tokens: RegistrationTokenStore }): UiaStage {
  return {
    type: 'm.login.registration_token',
    async check(auth, ctx, db) {
      const token = auth.token;
      if (typeof token !== 'string') throw new MatrixError('M_MISSING_PARAM', 'Missing registration token');
      // One use is reserved now (pending) and turned into a completed use when the account is
      // created, so a token with one use left cannot be passed by two sessions at once.
      if (!REGISTRATION_TOKEN_PATTERN.test(token) || !(await deps.tokens.reserve(token, ctx.now, db))) {
        throw new MatrixError('M_FORBIDDEN', 'Invalid registration token');
      }
      return { registration_token: token };
    },
    async release(data, trx: Kysely<DB>) {
      if (typeof data.registration_token === 'string') await deps.tokens.release(data.registration_token, trx);
    },
  };
}
