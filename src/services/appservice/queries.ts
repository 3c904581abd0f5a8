// Questions the homeserver asks application services (spec "Application Service API" →
// "Querying", "Third-party networks", "Pinging"): does a user or alias in your namespace exist
// (you may create it now), what do you know about third-party protocols, and are you up.
import { MatrixError } from '../../core/errors.ts';
import type { AppserviceRegistration } from './registration.ts';
import { matchesAny } from './namespaces.ts';
import { AppserviceCallError, type AppserviceClient } from './client.ts';

export interface QueryDeps {
  registrations(): readonly AppserviceRegistration[];
  client: Pick<AppserviceClient, 'call'>;
  /** A successful contact: the appservice is up (resets the sender's backoff). */
  onReachable?(id: string): void;
  now?: () => number;
}

/** Queries are made on behalf of a client request: they must not hold it for long. */
const QUERY_TIMEOUT_MS = 10_000;
const PING_TIMEOUT_MS = 15_000;

export type ThirdPartyKind = 'user' | 'location';

export class AppserviceQueries {
  constructor(private readonly deps: QueryDeps) {}

  /**
   * A local user that does not exist was looked up. Asks the appservices whose users namespace
   * covers it (exclusive ones first); true when one answered 200 (it has created the user).
   */
  async queryUser(userId: string): Promise<boolean> {
    return this.askEach(
      this.candidates((r) => r.users, userId),
      (reg) => `/_matrix/app/v1/users/${encodeURIComponent(userId)}`,
    );
  }

  /** The same for a room alias in an aliases namespace (the appservice creates the room and alias). */
  async queryAlias(alias: string): Promise<boolean> {
    return this.askEach(
      this.candidates((r) => r.aliases, alias),
      () => `/_matrix/app/v1/rooms/${encodeURIComponent(alias)}`,
    );
  }

  private candidates(ns: (r: AppserviceRegistration) => AppserviceRegistration['users'], value: string): AppserviceRegistration[] {
    const regs = this.deps.registrations().filter((r) => r.url && matchesAny(ns(r), value));
    return regs.sort((a, b) => Number(ns(b).some((n) => n.exclusive && n.matches(value))) - Number(ns(a).some((n) => n.exclusive && n.matches(value))));
  }

  private async askEach(regs: AppserviceRegistration[], path: (reg: AppserviceRegistration) => string): Promise<boolean> {
    for (const reg of regs) {
      try {
        const res = await this.deps.client.call(reg, 'GET', path(reg), { timeoutMs: QUERY_TIMEOUT_MS, okStatuses: [404] });
        this.deps.onReachable?.(reg.id);
        if (res.status === 200) return true;
      } catch {
        // An appservice that is down or answers an error does not know the name; try the next.
      }
    }
    return false;
  }

  // --- third-party networks ------------------------------------------------------------------

  private byProtocol(protocol?: string): AppserviceRegistration[] {
    return this.deps.registrations().filter((r) => r.url && (protocol === undefined ? r.protocols.length > 0 : r.protocols.includes(protocol)));
  }

  /** GET /thirdparty/protocols: every declared protocol, instances merged across appservices. */
  async protocols(): Promise<Record<string, unknown>> {
    const names = new Set(this.deps.registrations().flatMap((r) => r.protocols));
    const out: Record<string, unknown> = {};
    for (const name of names) {
      const info = await this.protocolInfo(name);
      if (info) out[name] = info;
    }
    return out;
  }

  /** GET /thirdparty/protocol/{protocol}; null when no appservice answers for it. */
  async protocolInfo(protocol: string): Promise<Record<string, unknown> | null> {
    let merged: Record<string, unknown> | null = null;
    const instances: unknown[] = [];
    for (const reg of this.byProtocol(protocol)) {
      const body = await this.tryGet(reg, `/_matrix/app/v1/thirdparty/protocol/${encodeURIComponent(protocol)}`, {});
      if (!body || typeof body !== 'object' || Array.isArray(body)) continue;
      merged ??= { ...(body as Record<string, unknown>) };
      const own = (body as { instances?: unknown }).instances;
      if (Array.isArray(own)) for (const i of own) instances.push(i && typeof i === 'object' ? { ...(i as object), instance_id: (i as { instance_id?: unknown }).instance_id ?? `${reg.id}|${(i as { network_id?: unknown }).network_id ?? ''}` } : i);
    }
    if (merged) merged.instances = instances;
    return merged;
  }

  /** GET /thirdparty/{user|location}/{protocol}: results of every appservice declaring it, concatenated. */
  async lookupByProtocol(kind: ThirdPartyKind, protocol: string, fields: Record<string, string>): Promise<unknown[]> {
    const regs = this.byProtocol(protocol);
    if (regs.length === 0) throw new MatrixError('M_NOT_FOUND', `No appservice provides protocol ${protocol}`);
    const p = encodeURIComponent(protocol);
    return this.collect(regs, kind === 'user' ? `/_matrix/app/v1/thirdparty/user/${p}` : `/_matrix/app/v1/thirdparty/location/${p}`, fields);
  }

  /** GET /thirdparty/location?alias= and /thirdparty/user?userid=: reverse lookups, all appservices with protocols. */
  async reverseLookup(kind: ThirdPartyKind, query: Record<string, string>): Promise<unknown[]> {
    return this.collect(this.byProtocol(), kind === 'user' ? '/_matrix/app/v1/thirdparty/user' : '/_matrix/app/v1/thirdparty/location', query);
  }

  private async collect(regs: AppserviceRegistration[], path: string, query: Record<string, string>): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const reg of regs) {
      const body = await this.tryGet(reg, path, query);
      if (Array.isArray(body)) out.push(...body);
    }
    return out;
  }

  private async tryGet(reg: AppserviceRegistration, path: string, query: Record<string, string>): Promise<unknown> {
    try {
      const res = await this.deps.client.call(reg, 'GET', path, { query, timeoutMs: QUERY_TIMEOUT_MS });
      this.deps.onReachable?.(reg.id);
      return res.body;
    } catch {
      return undefined; // as Synapse: one failing appservice does not fail the whole lookup
    }
  }

  // --- ping (MSC2659) ------------------------------------------------------------------------

  /** Calls the appservice's /ping; the round trip in ms, or the spec's errors. */
  async ping(reg: AppserviceRegistration, transactionId?: string): Promise<number> {
    if (!reg.url) throw new MatrixError('M_URL_NOT_SET', 'Application service URL is not set');
    const now = this.deps.now ?? Date.now;
    const start = now();
    try {
      await this.deps.client.call(reg, 'POST', '/_matrix/app/v1/ping', {
        body: transactionId === undefined ? {} : { transaction_id: transactionId },
        timeoutMs: PING_TIMEOUT_MS,
      });
    } catch (err) {
      if (!(err instanceof AppserviceCallError)) throw err;
      if (err.failure === 'timeout') throw new MatrixError('M_CONNECTION_TIMEOUT', 'Timeout while pinging the application service', {}, 504);
      if (err.failure === 'bad_status') {
        const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
        throw new MatrixError('M_BAD_STATUS', 'Application service returned a non-2xx status', { status: err.status, body }, 502);
      }
      throw new MatrixError('M_CONNECTION_FAILED', 'Connection to the application service failed', {}, 502);
    }
    this.deps.onReachable?.(reg.id);
    return now() - start;
  }
}
