// User-Interactive Authentication (client-server spec, "User-Interactive Authentication API").
// A session is stored in the database and bound to the request that opened it: the same method
// and path always, and — for requests made on behalf of a logged-in user — the same user and the
// same body (minus `auth`), so a session completed to delete one device cannot delete another.
// Registration keeps Synapse's leniency: the body may change between stages (clients probe with
// `{}` first) and a later request with an empty body falls back to the stored one.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { MatrixError } from '../../core/errors.ts';
import { randomString } from '../../core/ids.ts';
import type { DB } from '../../storage/schema/index.ts';
import type { UiaStore, UiaSessionRow } from '../../storage/stores/uia.ts';

export interface UiaFlow {
  stages: string[];
}

/** The 401 answer of UIA: flows, params, session, completed, and errcode/error after a failed stage. */
export class UiaRequiredError extends MatrixError {
  constructor(
    readonly body: { flows: UiaFlow[]; params: Record<string, unknown>; session: string; completed: string[] },
    failure?: MatrixError,
  ) {
    super(failure?.errcode ?? '', failure?.message ?? 'Additional authentication required', failure?.extra ?? {}, 401);
  }

  override toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.errcode) Object.assign(out, { errcode: this.errcode, error: this.message, ...this.extra });
    out.flows = this.body.flows;
    out.params = this.body.params;
    out.session = this.body.session;
    if (this.body.completed.length > 0) out.completed = this.body.completed;
    return out;
  }
}

export interface StageContext {
  /** The user the request is made for (null for registration). */
  userId: string | null;
  /** Facts earlier stages recorded. */
  data: Record<string, unknown>;
  now: number;
}

export interface UiaStage {
  readonly type: string;
  /** Entry for this stage in the 401's `params`, if the client needs one. */
  params?(): Record<string, unknown> | undefined;
  /** Validates the auth dict; throws a MatrixError to fail the attempt; may return facts to record. */
  check(auth: Record<string, unknown>, ctx: StageContext, db: Kysely<DB>): Promise<Record<string, unknown> | void>;
  /** Gives back what a passed stage held when its session expires unfinished. */
  release?(data: Record<string, unknown>, trx: Kysely<DB>): Promise<void>;
}

export interface UiaRequest {
  method: string;
  path: string;
  /** The whole request body, `auth` included. `password`/`new_password` are never stored. */
  body: Record<string, unknown>;
  userId: string | null;
  /** Refuse a session reused with a different body (every endpoint but /register). */
  bindBody: boolean;
}

export interface UiaResult {
  sessionId: string;
  /** Facts recorded by the stages (e.g. the registration token to consume). */
  data: Record<string, unknown>;
  /** The body to act on (for /register, possibly the one stored by an earlier stage). */
  clientDict: Record<string, unknown>;
}

export interface UiaDeps {
  db: Kysely<DB>;
  store: UiaStore;
  stages: UiaStage[];
  now?: () => number;
  sessionLifetimeMs?: number;
}

const DEFAULT_SESSION_LIFETIME_MS = 24 * 3600_000;

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// Secrets never reach the session row, not even hashed (a fast hash of a password is
// brute-forceable): they are left out of the stored body and of the body binding. Changing the
// new password between stages is harmless, the stages still authenticate the same user.
const SECRET_KEYS = ['password', 'new_password'];

function withoutSecrets(dict: Record<string, unknown>): Record<string, unknown> {
  const out = { ...dict };
  for (const k of SECRET_KEYS) delete out[k];
  return out;
}

function hashBody(dict: Record<string, unknown>): string {
  return createHash('sha256').update(stableStringify(withoutSecrets(dict))).digest('hex');
}

function storedBody(dict: Record<string, unknown>): string {
  return stableStringify(withoutSecrets(dict));
}

const changed = () => new MatrixError('M_FORBIDDEN', 'Requested operation has changed during the UI authentication session.');

/** True if `completed` is a prefix of the flow's stages. */
function onTrack(flow: UiaFlow, completed: string[]): boolean {
  return completed.length <= flow.stages.length && completed.every((s, i) => flow.stages[i] === s);
}

export class UiaService {
  private readonly stages: Map<string, UiaStage>;
  private readonly now: () => number;
  private readonly lifetimeMs: number;

  constructor(private readonly deps: UiaDeps) {
    this.stages = new Map(deps.stages.map((s) => [s.type, s]));
    this.now = deps.now ?? Date.now;
    this.lifetimeMs = deps.sessionLifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
  }

  /**
   * Runs one round of UIA for a request. Resolves once a flow is complete; otherwise throws a
   * UiaRequiredError (401) describing what is left. Call `finish` after the operation succeeds.
   */
  async performAuth(req: UiaRequest, flows: UiaFlow[]): Promise<UiaResult> {
    const rawAuth = req.body.auth;
    if (rawAuth !== undefined && rawAuth !== null && (typeof rawAuth !== 'object' || Array.isArray(rawAuth))) {
      throw new MatrixError('M_BAD_JSON', 'auth must be an object');
    }
    const auth = (rawAuth ?? undefined) as Record<string, unknown> | undefined;
    const { auth: _ignored, ...clientDict } = req.body;
    const now = this.now();

    let row: UiaSessionRow;
    const sid = auth?.session;
    if (sid !== undefined) {
      if (typeof sid !== 'string') throw new MatrixError('M_BAD_JSON', 'auth.session must be a string');
      const found = await this.deps.store.get(sid);
      if (!found || found.expires_ts <= now) throw new MatrixError('M_UNKNOWN', `Unknown session ID: ${sid}`);
      if (found.method !== req.method || found.path !== req.path || found.user_id !== req.userId) throw changed();
      if (found.body_hash !== null && found.body_hash !== hashBody(clientDict)) throw changed();
      row = found;
      if (found.body_hash === null && Object.keys(clientDict).length > 0 && storedBody(clientDict) !== found.client_dict) {
        row = { ...row, client_dict: storedBody(clientDict) };
        await this.deps.store.update(sid, { client_dict: row.client_dict });
      }
    } else {
      row = await this.createSession(req, clientDict, now);
    }

    let completed = JSON.parse(row.completed) as string[];
    let data = JSON.parse(row.data) as Record<string, unknown>;
    const challenge = (failure?: MatrixError) =>
      new UiaRequiredError({ flows, params: this.paramsFor(flows), session: row.session_id, completed }, failure);

    const type = auth?.type;
    if (type !== undefined && !completed.includes(type as string)) {
      if (typeof type !== 'string') throw new MatrixError('M_BAD_JSON', 'auth.type must be a string');
      const stage = this.stages.get(type);
      if (!stage || !flows.some((f) => f.stages.includes(type))) {
        throw challenge(new MatrixError('M_UNRECOGNIZED', `Unrecognised authentication type: ${type}`));
      }
      if (!flows.some((f) => onTrack(f, completed) && f.stages[completed.length] === type)) {
        throw challenge(new MatrixError('M_FORBIDDEN', `Stage ${type} is not the next stage of any flow`));
      }
      // Not in a transaction: checks can be slow (password hashing) and SQLite has one
      // connection. A stage that reserves something does it in one statement, and gives it
      // back through `release` if the session never finishes.
      let recorded: Record<string, unknown> | void;
      try {
        recorded = await stage.check(auth!, { userId: req.userId, data, now }, this.deps.db);
      } catch (err) {
        // Rate limiting is not a failed attempt: it answers 429, not a UIA 401.
        if (err instanceof MatrixError && err.errcode !== 'M_LIMIT_EXCEEDED') throw challenge(err);
        throw err;
      }
      completed = [...completed, type];
      data = { ...data, ...(recorded ?? {}) };
      await this.deps.store.update(row.session_id, { completed: JSON.stringify(completed), data: JSON.stringify(data) });
    }

    if (flows.some((f) => f.stages.length === completed.length && onTrack(f, completed))) {
      const effective = Object.keys(clientDict).length > 0 || row.body_hash !== null ? clientDict : (JSON.parse(row.client_dict) as Record<string, unknown>);
      return { sessionId: row.session_id, data, clientDict: effective };
    }
    throw challenge();
  }

  /** Ends a session whose operation succeeded (inside the operation's transaction, if given). */
  async finish(sessionId: string, trx?: Kysely<DB>): Promise<void> {
    await this.deps.store.delete(sessionId, trx);
  }

  private paramsFor(flows: UiaFlow[]): Record<string, unknown> {
    const params: Record<string, unknown> = {};
    for (const type of new Set(flows.flatMap((f) => f.stages))) {
      const p = this.stages.get(type)?.params?.();
      if (p) params[type] = p;
    }
    return params;
  }

  private async createSession(req: UiaRequest, clientDict: Record<string, unknown>, now: number): Promise<UiaSessionRow> {
    await this.expireSessions(now);
    const row: UiaSessionRow = {
      session_id: randomString(24),
      method: req.method,
      path: req.path,
      body_hash: req.bindBody ? hashBody(clientDict) : null,
      // Only unbound sessions (registration) need the body back later.
      client_dict: req.bindBody ? '{}' : storedBody(clientDict),
      user_id: req.userId,
      completed: '[]',
      data: '{}',
      created_ts: now,
      expires_ts: now + this.lifetimeMs,
    };
    await this.deps.store.insert(row);
    return row;
  }

  /** Drops expired sessions, letting their stages release what they reserved. */
  async expireSessions(now = this.now()): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const expired = await this.deps.store.deleteExpired(now, trx);
      for (const s of expired) {
        const data = JSON.parse(s.data) as Record<string, unknown>;
        for (const type of JSON.parse(s.completed) as string[]) await this.stages.get(type)?.release?.(data, trx);
      }
    });
  }
}
