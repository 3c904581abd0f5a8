// The set of application services in force: those named by `app_service_config_files` (read at
// start-up; a bad file stops the server with a message naming file and field) plus those added
// at run time and kept in the database (`foyer appservice add`, the admin API). Hot reload: the
// registry re-reads the database rows every few seconds (and at once after an add/remove through
// this process), so a CLI in another process, or another Foyer process on the same PostgreSQL,
// takes effect without a restart. A bad row found while running is logged and skipped; adding
// one is refused up front by the same checks.
import { readFileSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.ts';
import type { AppserviceStore } from '../../storage/stores/appservices.ts';
import { isUniqueViolation } from '../../storage/stores/users.ts';
import { checkRegistrationSet, parseRegistration, RegistrationError, type AppserviceRegistration } from './registration.ts';
import { matchesAny, matchesExclusive } from './namespaces.ts';

export const DATABASE_SOURCE = 'database';

export interface RegistryDeps {
  serverName: string;
  configFiles: readonly string[];
  store: Pick<AppserviceStore, 'listRegistrations' | 'insertRegistration' | 'deleteRegistration'>;
  logger: Logger;
  /** How often the database list is re-read (ms). */
  pollMs?: number;
  now?: () => number;
}

type ChangeListener = (current: readonly AppserviceRegistration[]) => Promise<void> | void;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class AppserviceRegistry {
  private fromFiles: AppserviceRegistration[] = [];
  private fromDatabase: AppserviceRegistration[] = [];
  private byToken = new Map<string, AppserviceRegistration>();
  private readonly listeners: ChangeListener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private fingerprint = '';
  private loaded = false;
  private reloading: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RegistryDeps) {}

  /** Reads the config files (throwing a RegistrationError on any problem) and the database rows. */
  async load(): Promise<void> {
    this.fromFiles = this.deps.configFiles.map((file) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new RegistrationError(`${file}: cannot read the appservice registration file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      return parseRegistration(text, file, this.deps.serverName);
    });
    checkRegistrationSet(this.fromFiles);
    await this.reload();
  }

  /** Starts watching the database list. */
  watch(): void {
    this.timer = setInterval(() => void this.reload().catch((err) => this.deps.logger.warn({ err }, 'appservice registry reload failed')), this.deps.pollMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  all(): readonly AppserviceRegistration[] {
    return [...this.fromFiles, ...this.fromDatabase];
  }

  get(id: string): AppserviceRegistration | undefined {
    return this.all().find((r) => r.id === id);
  }

  /** The appservice owning this as_token, compared in constant time after a hash lookup. */
  byAsToken(token: string): AppserviceRegistration | undefined {
    // Every authenticated request asks, and most servers have no appservice: no hash then.
    if (this.byToken.size === 0) return undefined;
    const hash = sha256(token);
    const reg = this.byToken.get(hash.toString('hex'));
    if (!reg || !timingSafeEqual(sha256(reg.asToken), hash)) return undefined;
    return reg;
  }

  /** True when some appservice other than `exceptId` claims the user ID exclusively. */
  isExclusiveUser(userId: string, exceptId?: string): boolean {
    return this.all().some((r) => r.id !== exceptId && (matchesExclusive(r.users, userId) || r.senderUserId === userId));
  }

  isExclusiveAlias(alias: string, exceptId?: string): boolean {
    return this.all().some((r) => r.id !== exceptId && matchesExclusive(r.aliases, alias));
  }

  /** The appservice's own users: its namespace (exclusive or not) and its sender. */
  ownsUser(reg: AppserviceRegistration, userId: string): boolean {
    return userId === reg.senderUserId || matchesAny(reg.users, userId);
  }

  /** Validates a registration and stores it; takes effect at once in this process. */
  async add(yamlText: string): Promise<AppserviceRegistration> {
    const reg = parseRegistration(yamlText, DATABASE_SOURCE, this.deps.serverName);
    checkRegistrationSet([...this.all(), { ...reg, source: `the new registration ${reg.id}` }]);
    try {
      await this.deps.store.insertRegistration({ id: reg.id, registration_yaml: yamlText, added_ts: (this.deps.now ?? Date.now)() });
    } catch (err) {
      if (isUniqueViolation(err)) throw new RegistrationError(`id: an appservice ${reg.id} already exists`);
      throw err;
    }
    await this.reload();
    return reg;
  }

  async remove(id: string): Promise<void> {
    const reg = this.get(id);
    if (reg && reg.source !== DATABASE_SOURCE) {
      throw new MatrixError('M_FORBIDDEN', `appservice ${id} comes from ${reg.source}: remove it from app_service_config_files instead`);
    }
    if (!(await this.deps.store.deleteRegistration(id))) throw new MatrixError('M_NOT_FOUND', `no appservice ${id}`);
    await this.reload();
  }

  /** Re-reads the database rows; listeners run when the set changed. Serialised. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.performReload(), () => this.performReload());
    return this.reloading;
  }

  private async performReload(): Promise<void> {
    const rows = await this.deps.store.listRegistrations();
    const fingerprint = rows.map((r) => `${r.id}\u0000${r.added_ts}`).join('\u0001');
    if (this.loaded && fingerprint === this.fingerprint) return;
    const accepted: AppserviceRegistration[] = [];
    for (const row of rows) {
      try {
        const reg = parseRegistration(row.registration_yaml, DATABASE_SOURCE, this.deps.serverName);
        checkRegistrationSet([...this.fromFiles, ...accepted, { ...reg, source: `database row ${row.id}` }]);
        accepted.push(reg);
      } catch (err) {
        this.deps.logger.error({ appservice: row.id, error: (err as Error).message }, 'skipping an invalid appservice registration');
      }
    }
    this.fromDatabase = accepted;
    this.fingerprint = fingerprint;
    this.loaded = true;
    this.byToken = new Map(this.all().map((r) => [sha256(r.asToken).toString('hex'), r]));
    for (const l of this.listeners) await l(this.all());
  }
}
