// Operating bridges: list, add, remove, and a status per appservice — reachable (a ping), last
// successful transaction, backlog, last error. Shared by the admin API (in the server) and
// `foyer appservice …` (the CLI, which works on the database directly; a running server picks
// its changes up through the registry's polling).
import type { AppserviceStore } from '../../storage/stores/appservices.ts';
import type { AppserviceRegistry } from './registry.ts';
import type { AppserviceRegistration } from './registration.ts';
import type { AppserviceQueries } from './queries.ts';
import { MatrixError } from '../../core/errors.ts';

export interface AppserviceStatus {
  id: string;
  url: string | null;
  sender: string;
  source: string;
  rate_limited: boolean;
  receive_ephemeral: boolean;
  protocols: string[];
  /** null when not checked (list without ping). */
  reachable: boolean | null;
  ping_ms: number | null;
  ping_error: string | null;
  last_success_ts: number | null;
  last_error: string | null;
  last_error_ts: number | null;
  pending_transactions: number;
  /** Events in unacknowledged transactions plus served events not yet scanned (an upper bound). */
  backlog_events: number;
}

export interface OperationsDeps {
  registry: Pick<AppserviceRegistry, 'all' | 'get' | 'add' | 'remove'>;
  store: Pick<AppserviceStore, 'getState' | 'pendingSummary' | 'countEventsAfter'>;
  queries: Pick<AppserviceQueries, 'ping'>;
}

export class AppserviceOperations {
  constructor(private readonly deps: OperationsDeps) {}

  async list(opts: { ping: boolean }): Promise<AppserviceStatus[]> {
    return Promise.all(this.deps.registry.all().map((reg) => this.statusOf(reg, opts)));
  }

  async status(id: string, opts: { ping: boolean }): Promise<AppserviceStatus> {
    const reg = this.deps.registry.get(id);
    if (!reg) throw new MatrixError('M_NOT_FOUND', `no appservice ${id}`);
    return this.statusOf(reg, opts);
  }

  async add(yamlText: string): Promise<AppserviceRegistration> {
    return this.deps.registry.add(yamlText);
  }

  async remove(id: string): Promise<void> {
    await this.deps.registry.remove(id);
  }

  private async statusOf(reg: AppserviceRegistration, opts: { ping: boolean }): Promise<AppserviceStatus> {
    const state = await this.deps.store.getState(reg.id);
    const pending = await this.deps.store.pendingSummary(reg.id);
    const cursors = state ? (JSON.parse(state.cursors) as Record<string, number>) : {};
    const unscanned = cursors.events === undefined ? 0 : await this.deps.store.countEventsAfter(cursors.events);
    let reachable: boolean | null = null;
    let pingMs: number | null = null;
    let pingError: string | null = null;
    if (opts.ping) {
      try {
        pingMs = await this.deps.queries.ping(reg);
        reachable = true;
      } catch (err) {
        reachable = false;
        pingError = err instanceof MatrixError ? `${err.errcode}: ${err.message}${err.extra.status ? ` (HTTP ${String(err.extra.status)})` : ''}` : (err as Error).message;
      }
    }
    return {
      id: reg.id,
      url: reg.url,
      sender: reg.senderUserId,
      source: reg.source,
      rate_limited: reg.rateLimited,
      receive_ephemeral: reg.receiveEphemeral,
      protocols: reg.protocols,
      reachable,
      ping_ms: pingMs,
      ping_error: pingError,
      last_success_ts: state?.last_success_ts ?? null,
      last_error: state?.last_error ?? null,
      last_error_ts: state?.last_error_ts ?? null,
      pending_transactions: pending.txns,
      backlog_events: pending.events + unscanned,
    };
  }
}
