// Accounts: registration, login, tokens, devices, passwords, deactivation, profiles and
// shared-secret registration, with their routes. What other areas must learn about (deleted
// devices, profile changes, deactivations) arrives through `AccountHooks`, which the
// composition root fills with the rooms and E2EE wiring built after this one.
import { durationMs } from '../config/schema.ts';
import type { TokenStore } from '../storage/stores/tokens.ts';
import type { UserStore } from '../storage/stores/users.ts';
import type { DeviceStore } from '../storage/stores/devices.ts';
import { UiaStore } from '../storage/stores/uia.ts';
import { RegistrationTokenStore } from '../storage/stores/registration-tokens.ts';
import type { Authenticator } from '../services/auth/authenticator.ts';
import { UiaService } from '../services/accounts/uia.ts';
import { dummyStage, passwordStage, registrationTokenStage } from '../services/accounts/stages.ts';
import { SessionService } from '../services/accounts/tokens.ts';
import { DeviceService } from '../services/accounts/devices.ts';
import { RegistrationService } from '../services/accounts/registration.ts';
import { LoginService } from '../services/accounts/login.ts';
import { AccountService } from '../services/accounts/account.ts';
import { ProfileService } from '../services/accounts/profile.ts';
import { SharedSecretRegistration } from '../services/accounts/shared-secret.ts';
import { AppserviceAccounts, APPSERVICE_LOGIN_TYPE } from '../services/appservice/accounts.ts';
import type { AppserviceRegistry } from '../services/appservice/registry.ts';
import type { AppserviceQueries } from '../services/appservice/queries.ts';
import { registerRoutes } from '../api/client/register.ts';
import { loginRoutes } from '../api/client/login.ts';
import { logoutRoutes } from '../api/client/logout.ts';
import { accountRoutes } from '../api/client/account.ts';
import { deviceRoutes, trackDeviceActivity } from '../api/client/devices.ts';
import { profileRoutes } from '../api/client/profile.ts';
import { adminRegisterRoutes } from '../api/admin/register.ts';
import type { WiringContext } from './context.ts';

/** Called only after start-up, when the areas built after accounts exist. */
export interface AccountHooks {
  devicesDeleted(userId: string, deviceIds: string[]): Promise<void>;
  deviceChanged(userId: string): Promise<void>;
  userDeactivated(userId: string): Promise<void>;
  profileChanged(userId: string): Promise<void>;
}

export interface AccountsDeps {
  tokens: TokenStore;
  users: UserStore;
  devices: DeviceStore;
  authenticator: Authenticator;
  appserviceRegistry: AppserviceRegistry;
  appserviceQueries: AppserviceQueries;
  hooks: AccountHooks;
}

export function wireAccounts(ctx: WiringContext, deps: AccountsDeps) {
  const { config, db, router, rateLimiters } = ctx;
  const { tokens: tokenStore, users: userStore, devices: deviceStore, authenticator, appserviceRegistry, appserviceQueries, hooks } = deps;
  const registrationTokenStore = new RegistrationTokenStore(db);
  const uiaStore = new UiaStore(db);
  const uiaService = new UiaService({
    db,
    store: uiaStore,
    stages: [
      dummyStage,
      passwordStage({ users: userStore, serverName: config.server_name, limiter: rateLimiters.login }),
      registrationTokenStage({ tokens: registrationTokenStore }),
    ],
  });
  const devices = new DeviceService({
    db,
    devices: deviceStore,
    tokens: tokenStore,
    authenticator,
    uia: uiaService,
    onDevicesDeleted: (userId, deviceIds) => hooks.devicesDeleted(userId, deviceIds),
    onDeviceRenamed: (userId) => hooks.deviceChanged(userId),
  });
  const sessions = new SessionService({
    db,
    tokens: tokenStore,
    users: userStore,
    devices: deviceStore,
    authenticator,
    accessTokenLifetimeMs: config.access_token_lifetime === undefined ? null : durationMs(config.access_token_lifetime),
    onDeviceCreated: (userId) => hooks.deviceChanged(userId),
  });
  const registration = new RegistrationService({
    db,
    serverName: config.server_name,
    settings: { enabled: config.registration.enabled, requiresToken: config.registration.requires_token, allowGuests: config.registration.allow_guests },
    users: userStore,
    registrationTokens: registrationTokenStore,
    uia: uiaService,
    sessions,
    limiter: rateLimiters.registration,
    isExclusive: (userId) => appserviceRegistry.isExclusiveUser(userId),
  });
  const login = new LoginService({ db, serverName: config.server_name, users: userStore, sessions });
  const appserviceAccounts = new AppserviceAccounts({
    serverName: config.server_name,
    byAsToken: (token) => appserviceRegistry.byAsToken(token),
    createUser: (opts) => registration.performCreateUser(opts),
    userExists: (userId) => userStore.exists(userId),
    ensureDevice: async (userId, deviceId, displayName) => {
      await deviceStore.ensure({ user_id: userId, device_id: deviceId, display_name: displayName, now: Date.now() });
    },
  });
  login.addLoginType(APPSERVICE_LOGIN_TYPE, appserviceAccounts.loginType());
  // Local users that do not exist yet may be created on demand by the appservice owning them.
  const usersWithQueries = Object.assign(Object.create(userStore) as UserStore, {
    get: async (userId: string) => {
      const user = await userStore.get(userId);
      if (user || !userId.endsWith(`:${config.server_name}`) || !(await appserviceQueries.queryUser(userId))) return user;
      return userStore.get(userId);
    },
  });
  const accounts = new AccountService({
    db,
    users: userStore,
    devices: deviceStore,
    tokens: tokenStore,
    deviceService: devices,
    authenticator,
    uia: uiaService,
    onUserDeactivated: (userId) => hooks.userDeactivated(userId),
    onProfileChanged: (userId) => hooks.profileChanged(userId),
  });
  const profiles = new ProfileService({
    serverName: config.server_name,
    users: usersWithQueries,
    onProfileChanged: (userId) => hooks.profileChanged(userId),
  });
  const sharedSecret = new SharedSecretRegistration({ secret: config.registration.shared_secret, nonces: uiaStore, registration });

  trackDeviceActivity(router.app, { resolveToken: router.resolveToken, devices });
  registerRoutes(router, {
    registration,
    registrationTokens: registrationTokenStore,
    appserviceRegister: (token, body) => appserviceAccounts.register(token, body),
  });
  loginRoutes(router, { login, sessions });
  logoutRoutes(router, { devices });
  accountRoutes(router, { accounts });
  deviceRoutes(router, {
    devices,
    putDeviceAsAppservice: (requester, deviceId, displayName) => appserviceAccounts.putDeviceAsAppservice(requester, deviceId, displayName),
  });
  profileRoutes(router, { profiles });
  adminRegisterRoutes(router, { sharedSecret });

  return { uiaService, devices, appserviceAccounts, usersWithQueries };
}
