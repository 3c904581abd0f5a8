// Resolves access tokens to the requester. Tokens are stored as sha256 hashes; looking up by
// hash means the secret itself is never compared byte by byte, and a final constant-time
// check guards the cached path. Results are cached briefly; logout invalidates explicitly.
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MatrixError } from '../../core/errors.ts';
import { LruCache } from '../../util/lru.ts';
import type { TokenStore } from '../../storage/stores/tokens.ts';

export interface Requester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
  isAdmin: boolean;
  /** Set when the token belongs to a user registered by an appservice. */
  appserviceId: string | null;
  /** Database id of the access token used (so /logout can delete exactly it); 0 for as_tokens. */
  tokenId: number;
  /** Set when the request was authenticated by an application service's as_token. */
  viaAppservice?: { id: string; rateLimited: boolean; manageDevices: boolean };
}

interface CachedToken {
  hash: Buffer;
  requester: Requester;
  expiresTs: number | null;
  cachedAt: number;
}

const CACHE_MS = 60_000;

/**
 * One-shot sha256 (crypto.hash, Node ≥ 20.12): every authenticated request hashes its token, and
 * the one-shot form costs a third of a Hash object's create/update/digest. Older Nodes use that.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;
function sha256(token: string): Buffer {
  return oneShot ? oneShot('sha256', token, 'buffer') : createHash('sha256').update(token, 'utf8').digest();
}

export function hashToken(token: string): string {
  return sha256(token).toString('hex');
}

/** A new opaque secret with a recognisable prefix (so leaked tokens can be spotted by scanners). */
export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(30).toString('base64url')}`;
}

export class Authenticator {
  private readonly cache = new LruCache<string, CachedToken>(50_000);

  constructor(
    private readonly tokens: Pick<TokenStore, 'findOwnerByHash'>,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(token: string): Promise<Requester> {
    const hash = sha256(token);
    const hashHex = hash.toString('hex');
    const now = this.now();
    let entry = this.cache.get(hashHex);
    if (!entry || now - entry.cachedAt > CACHE_MS) {
      const owner = await this.tokens.findOwnerByHash(hashHex);
      if (!owner || owner.deactivated) {
        this.cache.delete(hashHex);
        throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token', { soft_logout: false });
      }
      entry = {
        hash,
        expiresTs: owner.expires_ts,
        cachedAt: now,
        requester: {
          userId: owner.user_id,
          deviceId: owner.device_id,
          isGuest: !!owner.is_guest,
          isAdmin: !!owner.is_admin,
          appserviceId: owner.appservice_id,
          tokenId: owner.token_id,
        },
      };
      this.cache.set(hashHex, entry);
    }
    if (!timingSafeEqual(entry.hash, hash)) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token');
    if (entry.expiresTs !== null && entry.expiresTs <= now) {
      throw new MatrixError('M_UNKNOWN_TOKEN', 'Access token has expired', { soft_logout: true });
    }
    return entry.requester;
  }

  /** Forget cached tokens of a user (all devices, or one). Call after logout, deactivation, admin change. */
  invalidate(userId: string, deviceId?: string): void {
    this.cache.deleteWhere((e) => e.requester.userId === userId && (deviceId === undefined || e.requester.deviceId === deviceId));
  }
}
