// Calls from the homeserver to an application service (spec "Application Service API"): every
// request carries the hs_token as a bearer token. Failures come back as AppserviceCallError with
// a short reason for status output; bodies of events are never logged.
import type { AppserviceRegistration } from './registration.ts';

export type CallFailure = 'url_not_set' | 'connection_failed' | 'timeout' | 'bad_status';

export class AppserviceCallError extends Error {
  constructor(
    readonly failure: CallFailure,
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface CallResult {
  status: number;
  body: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class AppserviceClient {
  constructor(private readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  /** Performs one call; a non-2xx status is an AppserviceCallError('bad_status') unless `okStatuses` allow it. */
  async call(
    reg: AppserviceRegistration,
    method: 'GET' | 'PUT' | 'POST',
    path: string,
    opts: { body?: unknown; query?: Record<string, string>; timeoutMs?: number; okStatuses?: number[] } = {},
  ): Promise<CallResult> {
    if (!reg.url) throw new AppserviceCallError('url_not_set', `appservice ${reg.id} has no url`);
    const url = new URL(reg.url + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.append(k, v);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${reg.hsToken}`, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new AppserviceCallError('timeout', `${method} ${path}: timed out`);
      throw new AppserviceCallError('connection_failed', `${method} ${path}: ${e.cause?.code ?? e.message}`);
    }
    let body: unknown;
    let text = '';
    try {
      text = await res.text();
      body = text ? JSON.parse(text) : {};
    } catch {
      body = text;
    }
    if ((res.status < 200 || res.status >= 300) && !(opts.okStatuses ?? []).includes(res.status)) {
      throw new AppserviceCallError('bad_status', `${method} ${path}: HTTP ${res.status}`, res.status, body);
    }
    return { status: res.status, body };
  }

  async putTransaction(reg: AppserviceRegistration, txnId: number, body: unknown): Promise<void> {
    await this.call(reg, 'PUT', `/_matrix/app/v1/transactions/${txnId}`, { body });
  }
}
