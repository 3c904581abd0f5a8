// Account management (spec "Account management"): changing the password and deactivating the
// account, both behind UIA (m.login.password) for users, and callable directly by the CLI and
// the admin API. Each is one transaction; caches and hooks run after commit.
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { UserStore } from '../../storage/stores/users.ts';
import type { DeviceStore } from '../../storage/stores/devices.ts';
import type { TokenStore } from '../../storage/stores/tokens.ts';
import type { Authenticator, Requester } from '../auth/authenticator.ts';
import type { DeviceService } from './devices.ts';
import { checkNewPassword, hashPassword } from './passwords.ts';
import type { UiaFlow, UiaService } from './uia.ts';

export const PASSWORD_FLOWS: UiaFlow[] = [{ stages: ['m.login.password'] }];

export interface AccountServiceDeps {
  db: Kysely<DB>;
  users: UserStore;
  devices: Pick<DeviceStore, 'deleteAllExcept'>;
  tokens: Pick<TokenStore, 'deleteTokensOfUserExcept'>;
  deviceService: Pick<DeviceService, 'afterDelete'>;
  authenticator: Pick<Authenticator, 'invalidate'>;
  uia: Pick<UiaService, 'performAuth' | 'finish'>;
  /** Leaves the user's rooms and rejects invites (wired to the rooms service). */
  onUserDeactivated?: (userId: string) => Promise<void>;
  /** Propagates profile changes to rooms (erase clears displayname and avatar). */
  onProfileChanged?: (userId: string) => Promise<void>;
}

export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  /** POST /account/password (UIA). */
  async changePassword(requester: Requester, body: Record<string, unknown>): Promise<void> {
    const newPassword = body.new_password;
    if (typeof newPassword !== 'string') throw new MatrixError('M_MISSING_PARAM', 'Missing new_password');
    checkNewPassword(newPassword);
    const auth = await this.deps.uia.performAuth(
      { method: 'POST', path: '/account/password', body, userId: requester.userId, bindBody: true },
      PASSWORD_FLOWS,
    );
    await this.performSetPassword(requester.userId, newPassword, {
      logoutDevices: body.logout_devices !== false,
      keepDeviceId: requester.deviceId,
      uiaSession: auth.sessionId,
    });
  }

  /**
   * Sets a password. With logoutDevices, every other device (all of them if keepDeviceId is
   * null) is deleted with its tokens, as the spec's logout_devices asks.
   */
  async performSetPassword(userId: string, newPassword: string, opts: { logoutDevices: boolean; keepDeviceId?: string | null; uiaSession?: string }): Promise<void> {
    checkNewPassword(newPassword);
    const user = await this.deps.users.get(userId);
    if (!user) throw new MatrixError('M_NOT_FOUND', 'User not found');
    if (user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    const hash = await hashPassword(newPassword);
    const keep = opts.keepDeviceId ?? null;
    const deleted = await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.users.setPasswordHash(userId, hash, trx);
      if (opts.uiaSession) await this.deps.uia.finish(opts.uiaSession, trx);
      if (!opts.logoutDevices) return [];
      const ids = await this.deps.devices.deleteAllExcept(userId, keep, trx);
      await this.deps.tokens.deleteTokensOfUserExcept(userId, keep, trx);
      return ids;
    });
    if (opts.logoutDevices) await this.deps.deviceService.afterDelete(userId, deleted, keep === null);
  }

  /** POST /account/deactivate (UIA). */
  async deactivate(requester: Requester, body: Record<string, unknown>): Promise<{ id_server_unbind_result: 'success' | 'no-support' }> {
    const auth = await this.deps.uia.performAuth(
      { method: 'POST', path: '/account/deactivate', body, userId: requester.userId, bindBody: true },
      PASSWORD_FLOWS,
    );
    await this.performDeactivation(requester.userId, { erase: body.erase === true, uiaSession: auth.sessionId });
    // No third-party identifiers are bound through this server, so there is nothing to unbind.
    return { id_server_unbind_result: 'success' };
  }

  /**
   * Deactivates an account: marks it (password hash dropped), deletes every device and token;
   * with erase, also clears the profile. Then leaves rooms through onUserDeactivated.
   */
  async performDeactivation(userId: string, opts: { erase?: boolean; uiaSession?: string } = {}): Promise<void> {
    const erase = opts.erase === true;
    const deleted = await this.deps.db.transaction().execute(async (trx) => {
      const user = await this.deps.users.get(userId, trx);
      if (!user) throw new MatrixError('M_NOT_FOUND', 'User not found');
      if (!(await this.deps.users.markDeactivated(userId, erase, trx))) throw new MatrixError('M_USER_DEACTIVATED', 'This account has already been deactivated');
      if (erase) {
        await this.deps.users.setProfile(userId, { displayname: null, avatar_url: null }, trx);
        await this.deps.users.deleteProfileFields(userId, trx);
      }
      if (opts.uiaSession) await this.deps.uia.finish(opts.uiaSession, trx);
      const ids = await this.deps.devices.deleteAllExcept(userId, null, trx);
      await this.deps.tokens.deleteTokensOfUserExcept(userId, null, trx);
      return ids;
    });
    await this.deps.deviceService.afterDelete(userId, deleted, true);
    if (erase) await this.deps.onProfileChanged?.(userId);
    await this.deps.onUserDeactivated?.(userId);
  }
}
