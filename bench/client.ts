// A small Matrix client for the benchmarks over undici keep-alive pools, so each request costs
// what a real client's would on a warm connection (no TCP handshake per request, no fetch()
// overhead). Long-polling /sync gets its own pool so parked polls never starve the senders.
// Message sends, the measured hot loop, go over raw keep-alive connections instead
// (./raw-connection.ts says why).
import { Pool } from 'undici';
import { RawConnection } from './raw-connection.ts';

export interface BenchUser {
  userId: string;
  accessToken: string;
}

export class BenchClient {
  readonly pool: Pool;
  readonly syncPool: Pool;
  private txn = 0;
  /** Idle raw connections for sends, by access token (a user sending in parallel gets more). */
  private readonly idleSenders = new Map<string, RawConnection[]>();
  private readonly senders: RawConnection[] = [];

  constructor(readonly baseUrl: string, opts: { connections?: number; syncConnections?: number } = {}) {
    this.pool = new Pool(baseUrl, { connections: opts.connections ?? 32, pipelining: 1, keepAliveTimeout: 60_000 });
    this.syncPool = new Pool(baseUrl, {
      connections: opts.syncConnections ?? 128,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      // Long-polls are held open by the server on purpose.
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
  }

  async request<T = any>(method: 'GET' | 'POST' | 'PUT', path: string, opts: { token?: string; body?: unknown; pool?: Pool } = {}): Promise<T> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await (opts.pool ?? this.pool).request({ method, path, headers, body });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${method} ${path.split('?')[0]} → ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  async register(localpart: string): Promise<BenchUser> {
    const res = await this.request<{ user_id: string; access_token: string }>('POST', '/_matrix/client/v3/register', {
      body: { username: localpart, password: `bench-${localpart}-password`, auth: { type: 'm.login.dummy' } },
    });
    return { userId: res.user_id, accessToken: res.access_token };
  }

  /** Registers `count` users, a few at a time (password hashing is deliberately slow). */
  async registerMany(prefix: string, count: number, parallel = 4): Promise<BenchUser[]> {
    const users: BenchUser[] = new Array(count);
    await inParallel(count, parallel, async (i) => {
      users[i] = await this.register(`${prefix}${i}`);
    });
    return users;
  }

  async createRoom(user: BenchUser, body: Record<string, unknown> = {}): Promise<string> {
    const res = await this.request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body });
    return res.room_id;
  }

  async join(user: BenchUser, roomId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: user.accessToken, body: {} });
  }

  async sendMessage(user: BenchUser, roomId: string, content: Record<string, unknown>): Promise<string> {
    // Shaped like matrix-js-sdk's transaction IDs ("m" + time + "." + counter): they grow with
    // time, so each send's row lands near the end of event_txns' key order, as real clients' do.
    // (A "prefix-counter" ID without padding sorts "x-1001" between "x-100" and "x-101" and
    // splits pages mid-tree: measured 2.2 WAL pages per send for that table alone.)
    const txnId = `m${Date.now()}.${++this.txn}`;
    let idle = this.idleSenders.get(user.accessToken);
    if (!idle) this.idleSenders.set(user.accessToken, (idle = []));
    let connection = idle.pop();
    if (!connection) this.senders.push((connection = new RawConnection(this.baseUrl, user.accessToken)));
    const res = await connection.requestJson<{ event_id: string }>(
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`,
      JSON.stringify(content),
    );
    idle.push(connection);
    return res.body.event_id;
  }

  async sendState(user: BenchUser, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    const res = await this.request<{ event_id: string }>(
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`,
      { token: user.accessToken, body: content },
    );
    return res.event_id;
  }

  /** GET /sync; `timeout` in ms makes it a long-poll (on the sync pool). */
  async sync(user: BenchUser, params: { since?: string; timeout?: number; filter?: string } = {}): Promise<any> {
    const q = new URLSearchParams();
    if (params.since) q.set('since', params.since);
    if (params.timeout !== undefined) q.set('timeout', String(params.timeout));
    if (params.filter) q.set('filter', params.filter);
    const qs = q.toString();
    return this.request('GET', `/_matrix/client/v3/sync${qs ? `?${qs}` : ''}`, { token: user.accessToken, pool: this.syncPool });
  }

  async close(): Promise<void> {
    for (const connection of this.senders) connection.close();
    await Promise.all([this.pool.close(), this.syncPool.close()]);
  }
}

/** Runs `count` jobs with at most `parallel` in flight. */
export async function inParallel(count: number, parallel: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}
