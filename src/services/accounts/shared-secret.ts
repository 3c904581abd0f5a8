// Shared-secret registration, compatible with Synapse's /_synapse/admin/v1/register (used by
// register_new_matrix_user, synadm, Ansible playbooks): GET hands out a single-use nonce valid
// for a minute; POST creates the account when
//   mac = hex(HMAC-SHA1(key = shared secret, nonce \0 username \0 password \0 "admin"|"notadmin" [\0 user_type]))
// Works while open registration is off: the secret is the authorisation. Errors follow Synapse's
// (the nonce is spent even when the rest of the request is invalid; a wrong MAC is 403 M_UNKNOWN).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MatrixError } from '../../core/errors.ts';
import type { UiaStore } from '../../storage/stores/uia.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import type { RegisterResponse, RegistrationService } from './registration.ts';

export const NONCE_LIFETIME_MS = 60_000;
const USER_TYPES = new Set(['bot', 'support']);

export interface SharedSecretDeps {
  /** registration.shared_secret; undefined = this way of registering is off. */
  secret: string | undefined;
  nonces: Pick<UiaStore, 'insertNonce' | 'consumeNonce' | 'deleteExpiredNonces'>;
  registration: Pick<RegistrationService, 'performCreateUser'>;
  now?: () => number;
}

export function computeRegistrationMac(secret: string, fields: { nonce: string; username: string; password: string; admin: boolean; userType?: string | null }): string {
  const mac = createHmac('sha1', Buffer.from(secret, 'utf8'));
  mac.update(fields.nonce, 'utf8');
  mac.update('\0');
  mac.update(fields.username, 'utf8');
  mac.update('\0');
  mac.update(fields.password, 'utf8');
  mac.update('\0');
  mac.update(fields.admin ? 'admin' : 'notadmin');
  if (fields.userType) {
    mac.update('\0');
    mac.update(fields.userType, 'utf8');
  }
  return mac.digest('hex');
}

const bad = (message: string, errcode = 'M_UNKNOWN') => new MatrixError(errcode, message, {}, 400);

export class SharedSecretRegistration {
  private readonly now: () => number;

  constructor(private readonly deps: SharedSecretDeps) {
    this.now = deps.now ?? Date.now;
  }

  async issueNonce(): Promise<string> {
    const now = this.now();
    await this.deps.nonces.deleteExpiredNonces(now);
    const nonce = randomBytes(64).toString('hex');
    await this.deps.nonces.insertNonce(nonce, now + NONCE_LIFETIME_MS);
    return nonce;
  }

  async register(body: Record<string, unknown>): Promise<RegisterResponse> {
    if (!this.deps.secret) throw bad('Shared secret registration is not enabled');
    const { nonce, username, password, mac } = body;
    if (nonce === undefined) throw bad('nonce must be specified', 'M_BAD_JSON');
    if (typeof nonce !== 'string' || !(await this.deps.nonces.consumeNonce(nonce, this.now()))) throw bad('unrecognised nonce');

    if (username === undefined) throw bad('username must be specified', 'M_BAD_JSON');
    if (typeof username !== 'string' || username.length > 512 || username.includes('\0')) throw bad('Invalid username');
    if (password === undefined) throw bad('password must be specified', 'M_BAD_JSON');
    if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH || password.includes('\0')) throw bad('Invalid password');
    const userType = body.user_type ?? null;
    if (userType !== null && (typeof userType !== 'string' || !USER_TYPES.has(userType))) throw bad('Invalid user type');
    const displayname = body.displayname ?? undefined;
    if (displayname !== undefined && typeof displayname !== 'string') throw bad('displayname must be a string', 'M_BAD_JSON');
    if (mac === undefined) throw bad('mac must be specified', 'M_BAD_JSON');
    if (typeof mac !== 'string') throw bad('mac must be a string', 'M_BAD_JSON');

    const admin = !!body.admin;
    const want = Buffer.from(computeRegistrationMac(this.deps.secret, { nonce, username, password, admin, userType: userType as string | null }), 'utf8');
    const got = Buffer.from(mac, 'utf8');
    // Length is not secret (always 40 hex digits); compare the bytes in constant time.
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new MatrixError('M_UNKNOWN', 'HMAC incorrect', {}, 403);

    const refreshable = body.refresh_token ?? false;
    if (typeof refreshable !== 'boolean') throw bad('refresh_token must be a boolean');
    const inhibitLogin = body.inhibit_login === true;
    return this.deps.registration.performCreateUser({
      localpart: username,
      password,
      admin,
      userType: userType as string | null,
      displayname,
      ignoreExclusive: true,
      login: inhibitLogin
        ? undefined
        : {
            deviceId: typeof body.device_id === 'string' ? body.device_id : undefined,
            displayName: typeof body.initial_device_display_name === 'string' ? body.initial_device_display_name : undefined,
            refreshable,
          },
    });
  }
}
