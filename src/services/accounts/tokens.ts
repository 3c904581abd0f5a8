// Login sessions: a device plus an access token (and, for clients that support it, a refresh
// token), and their rotation (spec "Refreshing access tokens"). Refresh tokens form a chain:
// exchanging R1 gives R2 and points R1 at R2. R1 stays usable until R2 or an access token R2
// minted is used — a client that lost the answer can retry — and is then revoked; using R2
// deletes R1 and the access tokens R1 minted.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { randomString } from '../../core/ids.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { DeviceStore } from '../../storage/stores/devices.ts';
import type { UserStore } from '../../storage/stores/users.ts';
import type { TokenStore } from '../../storage/stores/tokens.ts';
import { generateToken, hashToken, type Authenticator } from '../auth/authenticator.ts';
import { checkDeviceDisplayName } from './devices.ts';

export interface IssuedSession {
  user_id: string;
  access_token: string;
  device_id: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export interface SessionServiceDeps {
  db: Kysely<DB>;
  tokens: TokenStore;
  users: Pick<UserStore, 'get'>;
  devices: Pick<DeviceStore, 'ensure'>;
  authenticator: Pick<Authenticator, 'invalidate'>;
  /** After the commit that created a device (E2EE: room-mates learn of it through device_lists). */
  onDeviceCreated?: (userId: string, deviceId: string) => Promise<void>;
  /** Lifetime of access tokens given to clients that support refresh; null = no expiry, no refresh tokens. */
  accessTokenLifetimeMs: number | null;
  now?: () => number;
}

export interface NewSessionOptions {
  userId: string;
  /** Reuse (or create with) this device ID; a fresh one is generated if absent. */
  deviceId?: string;
  /** Display name for a device created now (ignored for an existing device). */
  displayName?: string;
  /** The client supports refresh tokens. */
  refreshable?: boolean;
}

export const ACCESS_TOKEN_PREFIX = 'fyt';
export const REFRESH_TOKEN_PREFIX = 'fyr';

export function generateDeviceId(): string {
  return randomString(10).toUpperCase();
}

export class SessionService {
  private readonly now: () => number;
  /** Sessions whose device createSession created (rather than reused). */
  private readonly newDevices = new WeakSet<IssuedSession>();

  constructor(private readonly deps: SessionServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Creates (or reuses) the device and issues its tokens, inside the caller's transaction.
   * Reusing a device ID revokes that device's earlier tokens (spec "Relationship between access
   * tokens and devices"); the caller must call `afterCommit` with the result once committed.
   */
  async createSession(trx: Kysely<DB>, opts: NewSessionOptions): Promise<IssuedSession> {
    const now = this.now();
    const deviceId = opts.deviceId ?? generateDeviceId();
    if (deviceId.length === 0 || deviceId.length > 255) throw new MatrixError('M_INVALID_PARAM', 'device_id must be 1 to 255 characters');
    if (opts.displayName !== undefined) checkDeviceDisplayName(opts.displayName);
    const created = await this.deps.devices.ensure({ user_id: opts.userId, device_id: deviceId, display_name: opts.displayName ?? null, now }, trx);
    if (!created) await this.deps.tokens.deleteTokensOfDevice(opts.userId, deviceId, trx);

    const lifetime = opts.refreshable ? this.deps.accessTokenLifetimeMs : null;
    const accessToken = generateToken(ACCESS_TOKEN_PREFIX);
    const out: IssuedSession = { user_id: opts.userId, access_token: accessToken, device_id: deviceId };
    let refreshTokenId: number | null = null;
    if (lifetime !== null) {
      const refreshToken = generateToken(REFRESH_TOKEN_PREFIX);
      refreshTokenId = await this.deps.tokens.insertRefreshToken({ token_hash: hashToken(refreshToken), user_id: opts.userId, device_id: deviceId, now }, trx);
      out.refresh_token = refreshToken;
      out.expires_in_ms = lifetime;
    }
    await this.deps.tokens.insertAccessToken(
      { token_hash: hashToken(accessToken), user_id: opts.userId, device_id: deviceId, expires_ts: lifetime === null ? null : now + lifetime, refresh_token_id: refreshTokenId, now },
      trx,
    );
    if (created) this.newDevices.add(out);
    return out;
  }

  /** Forget cached tokens of a device whose tokens createSession replaced; announce a new device. */
  async afterCommit(session: IssuedSession): Promise<void> {
    this.deps.authenticator.invalidate(session.user_id, session.device_id);
    if (this.newDevices.has(session)) await this.deps.onDeviceCreated?.(session.user_id, session.device_id);
  }

  /** POST /refresh: exchanges a refresh token for a new access token and refresh token. */
  async refresh(refreshToken: string): Promise<{ access_token: string; refresh_token: string; expires_in_ms: number }> {
    const lifetime = this.deps.accessTokenLifetimeMs;
    const result = await this.deps.db.transaction().execute(async (trx) => {
      const now = this.now();
      const current = await this.deps.tokens.findRefreshTokenByHash(hashToken(refreshToken), trx);
      if (!current) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unknown refresh token', { soft_logout: false });
      const user = await this.deps.users.get(current.user_id, trx);
      if (!user || user.deactivated) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unknown refresh token', { soft_logout: false });
      const previousNext = current.next_token_id === null ? null : Number(current.next_token_id);
      if (previousNext !== null && (await this.deps.tokens.isRefreshTokenUsed(previousNext, trx))) {
        throw new MatrixError('M_UNKNOWN_TOKEN', 'Refresh token has already been used', { soft_logout: true });
      }
      const newRefresh = generateToken(REFRESH_TOKEN_PREFIX);
      const newAccess = generateToken(ACCESS_TOKEN_PREFIX);
      const newRefreshId = await this.deps.tokens.insertRefreshToken({ token_hash: hashToken(newRefresh), user_id: current.user_id, device_id: current.device_id, now }, trx);
      // Without a configured lifetime (refresh turned off after this token was issued), the new
      // access token simply does not expire.
      await this.deps.tokens.insertAccessToken(
        { token_hash: hashToken(newAccess), user_id: current.user_id, device_id: current.device_id, expires_ts: lifetime === null ? null : now + lifetime, refresh_token_id: newRefreshId, now },
        trx,
      );
      if (!(await this.deps.tokens.setNextRefreshToken(Number(current.id), newRefreshId, previousNext, trx))) {
        // Another refresh of the same token won the race.
        throw new MatrixError('M_UNKNOWN_TOKEN', 'Refresh token has already been used', { soft_logout: true });
      }
      // An unused successor from an earlier attempt is replaced by this one.
      if (previousNext !== null) await this.deps.tokens.deleteRefreshTokens([previousNext], trx);
      // Presenting this token proves its predecessor's exchange went through: revoke the predecessor.
      await this.deps.tokens.deleteRefreshTokens(await this.deps.tokens.predecessorsOf(Number(current.id), trx), trx);
      return { userId: current.user_id, deviceId: current.device_id, body: { access_token: newAccess, refresh_token: newRefresh, ...(lifetime !== null ? { expires_in_ms: lifetime } : {}) } };
    });
    this.deps.authenticator.invalidate(result.userId, result.deviceId);
    return result.body as { access_token: string; refresh_token: string; expires_in_ms: number };
  }
}
