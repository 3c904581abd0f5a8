// `foyer user …` and `foyer token …`: account administration from the shell, without a running
// server. They open the database named by the config (migrating it if needed) and go through the
// same stores and services as the HTTP API, so the rules (username grammar, password hashing,
// token and device cleanup) are the same.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { durationMs } from '../config/schema.ts';
import { UserStore } from '../storage/stores/users.ts';
import { TokenStore } from '../storage/stores/tokens.ts';
import { DeviceStore } from '../storage/stores/devices.ts';
import { UiaStore } from '../storage/stores/uia.ts';
import { RegistrationTokenStore, type RegistrationTokenRow } from '../storage/stores/registration-tokens.ts';
import { Authenticator } from '../services/auth/authenticator.ts';
import { UiaService } from '../services/accounts/uia.ts';
import { SessionService } from '../services/accounts/tokens.ts';
import { DeviceService } from '../services/accounts/devices.ts';
import { RegistrationService } from '../services/accounts/registration.ts';
import { AccountService } from '../services/accounts/account.ts';
import { REGISTRATION_TOKEN_PATTERN } from '../services/accounts/stages.ts';
import { CliError } from './init.ts';
import { withConfiguredDatabase } from './database.ts';

interface CliAccounts {
  serverName: string;
  users: UserStore;
  registrationTokens: RegistrationTokenStore;
  registration: RegistrationService;
  accounts: AccountService;
}

/** Opens the configured database, builds the account services, runs `fn`, closes everything. */
async function withAccounts<T>(configPath: string, fn: (a: CliAccounts) => Promise<T>): Promise<T> {
  return withConfiguredDatabase(configPath, async (database, config) => {
    const { db } = database;
    const users = new UserStore(db);
    const tokens = new TokenStore(db);
    const devices = new DeviceStore(db);
    const registrationTokens = new RegistrationTokenStore(db);
    // The CLI process has no token cache of its own to clear; a running server drops its
    // cached entries within a minute, and deleted tokens are refused on its next lookup.
    const authenticator = new Authenticator(tokens);
    const uia = new UiaService({ db, store: new UiaStore(db), stages: [] });
    const sessions = new SessionService({ db, tokens, users, devices, authenticator, accessTokenLifetimeMs: null });
    const deviceService = new DeviceService({ db, devices, tokens, authenticator, uia });
    const registration = new RegistrationService({
      db,
      serverName: config.server_name,
      settings: { enabled: false, requiresToken: false, allowGuests: false },
      users,
      registrationTokens,
      uia,
      sessions,
    });
    const accounts = new AccountService({ db, users, devices, tokens, deviceService, authenticator, uia });
    return fn({ serverName: config.server_name, users, registrationTokens, registration, accounts });
  });
}

/** Accepts "@alice:server" or just "alice". */
function userIdArg(value: string, serverName: string): string {
  return value.startsWith('@') ? value : `@${value}:${serverName}`;
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export function generateRegistrationToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(16);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** "7d", "12h", "90m" from now, or an ISO date; must be in the future. */
export function parseExpiry(value: string, now = Date.now()): number {
  let ts: number;
  if (/^\d+(ms|s|m|h|d|w|y)$/.test(value)) ts = now + durationMs(value);
  else {
    ts = Date.parse(value);
    if (Number.isNaN(ts)) throw new CliError(`--expires takes a duration like 7d or an ISO date, not "${value}"`);
  }
  if (ts <= now) throw new CliError('--expires must be in the future');
  return ts;
}

export function parseUses(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new CliError('--uses takes a positive whole number');
  return Number(value);
}

function describeToken(t: RegistrationTokenRow, now: number): string {
  const expiry = t.expiry_time === null ? 'never' : new Date(Number(t.expiry_time)).toISOString();
  const used = `${t.completed}/${t.uses_allowed ?? '∞'} used${t.pending ? `, ${t.pending} pending` : ''}`;
  const valid =
    (t.expiry_time === null || Number(t.expiry_time) > now) && (t.uses_allowed === null || t.pending + t.completed < t.uses_allowed);
  return `${t.token}\t${used}\texpires ${expiry}\t${valid ? 'valid' : 'invalid'}`;
}

export function addUserCommands(program: Command, defaultConfig: string): void {
  const user = program.command('user').description('manage local user accounts');

  user
    .command('create <localpart>')
    .description('create a user (prints its user ID)')
    .requiredOption('--password <password>', 'the password to log in with')
    .option('--admin', 'make the user a server admin')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (localpart: string, o: { password: string; admin?: boolean; config: string }) => {
      const result = await withAccounts(o.config, (a) => a.registration.performCreateUser({ localpart, password: o.password, admin: !!o.admin, ignoreExclusive: true }));
      console.log(result.user_id);
    });

  user
    .command('list')
    .description('list users (admin, guest and deactivated ones are marked)')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (o: { config: string }) => {
      const rows = await withAccounts(o.config, (a) => a.users.list({ includeDeactivated: true, includeGuests: true }));
      for (const u of rows) {
        const flags = [u.is_admin ? 'admin' : '', u.is_guest ? 'guest' : '', u.deactivated ? 'deactivated' : ''].filter(Boolean);
        console.log(flags.length ? `${u.user_id}\t${flags.join(',')}` : u.user_id);
      }
    });

  user
    .command('deactivate <userId>')
    .description('deactivate a user: no more logins, every device and token deleted')
    .option('--erase', 'also erase the profile')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (userId: string, o: { erase?: boolean; config: string }) => {
      const id = await withAccounts(o.config, async (a) => {
        const id = userIdArg(userId, a.serverName);
        await a.accounts.performDeactivation(id, { erase: !!o.erase });
        return id;
      });
      console.log(`deactivated ${id}`);
    });

  user
    .command('reset-password <userId>')
    .description('set a new password (generated and printed if not given) and log out every device')
    .option('--password <password>', 'the new password')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (userId: string, o: { password?: string; config: string }) => {
      const password = o.password ?? generatePassword();
      await withAccounts(o.config, (a) => a.accounts.performSetPassword(userIdArg(userId, a.serverName), password, { logoutDevices: true, keepDeviceId: null }));
      console.log(o.password === undefined ? password : 'password changed');
    });

  const token = program.command('token').description('manage registration tokens (registration.requires_token)');

  token
    .command('create')
    .description('create a registration token (prints it)')
    .option('--uses <n>', 'how many accounts it may create (default: unlimited)')
    .option('--expires <when>', 'a duration from now (7d, 12h) or an ISO date (default: never)')
    .option('--token <token>', 'choose the token text (A-Z a-z 0-9 . _ ~ -, at most 64)')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (o: { uses?: string; expires?: string; token?: string; config: string }) => {
      const uses = parseUses(o.uses);
      const expiry = o.expires === undefined ? null : parseExpiry(o.expires);
      const value = o.token ?? generateRegistrationToken();
      if (!REGISTRATION_TOKEN_PATTERN.test(value)) throw new CliError('--token may only use A-Z a-z 0-9 . _ ~ - and at most 64 characters');
      await withAccounts(o.config, async (a) => {
        if (await a.registrationTokens.get(value)) throw new CliError(`token ${value} already exists`);
        await a.registrationTokens.insert({ token: value, uses_allowed: uses, expiry_time: expiry, now: Date.now() });
      });
      console.log(value);
    });

  token
    .command('list')
    .description('list registration tokens with their uses and expiry')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (o: { config: string }) => {
      const rows = await withAccounts(o.config, (a) => a.registrationTokens.list());
      const now = Date.now();
      for (const t of rows) console.log(describeToken(t, now));
    });
}
