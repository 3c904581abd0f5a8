// A test application service: a real HTTP server speaking the homeserver → appservice API. It
// records transactions (deduplicating by txn ID as the spec asks of appservices), answers user
// and alias queries and third-party lookups from tables the test fills, and can be taken "down"
// (connections refused) and brought back on the same port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ReceivedTxn {
  txnId: string;
  body: { events: any[]; ephemeral?: any[]; [k: string]: unknown };
}

export interface TestAppserviceOptions {
  id?: string;
  senderLocalpart?: string;
  userRegex?: string;
  aliasRegex?: string;
  exclusive?: boolean;
  protocols?: string[];
  receiveEphemeral?: boolean;
  msc4190?: boolean;
  extra?: string;
}

export class TestAppservice {
  readonly id: string;
  readonly asToken = `as_${randomBytes(12).toString('hex')}`;
  readonly hsToken = `hs_${randomBytes(12).toString('hex')}`;
  readonly txns: ReceivedTxn[] = [];
  readonly seenTxnIds = new Set<string>();
  /** Every PUT, duplicates included (to prove retries resend the same body). */
  readonly attempts: Array<{ txnId: string; body: string }> = [];
  readonly pings: Array<string | undefined> = [];
  readonly unauthorised: string[] = [];
  /** Answer /transactions with this status instead of 200 (null = 200). */
  failTransactionsWith: number | null = null;
  /** Answer /ping with this status instead of 200 (null = 200). */
  failPingWith: number | null = null;
  onUserQuery: (userId: string) => Promise<boolean> = async () => false;
  onAliasQuery: (alias: string) => Promise<boolean> = async () => false;
  thirdParty: Record<string, unknown> = {};
  private server: Server | undefined;
  port = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly opts: TestAppserviceOptions = {}) {
    this.id = opts.id ?? `as${randomBytes(4).toString('hex')}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get senderLocalpart(): string {
    return this.opts.senderLocalpart ?? `${this.id}_bot`;
  }

  registrationYaml(): string {
    const o = this.opts;
    const lines = [
      `id: ${this.id}`,
      `url: ${this.port ? this.url : 'null'}`,
      `as_token: ${this.asToken}`,
      `hs_token: ${this.hsToken}`,
      `sender_localpart: ${this.senderLocalpart}`,
      'rate_limited: false',
      'namespaces:',
      '  users:',
      `    - exclusive: ${o.exclusive ?? true}`,
      `      regex: '${o.userRegex ?? `@${this.id}_.*`}'`,
      '  aliases:',
      `    - exclusive: ${o.exclusive ?? true}`,
      `      regex: '${o.aliasRegex ?? `#${this.id}_.*`}'`,
      '  rooms: []',
    ];
    if (o.protocols) lines.push(`protocols: [${o.protocols.join(', ')}]`);
    if (o.receiveEphemeral) lines.push('receive_ephemeral: true', 'de.sorunome.msc2409.push_ephemeral: true');
    if (o.msc4190) lines.push('io.element.msc4190: true');
    if (o.extra) lines.push(o.extra);
    return lines.join('\n') + '\n';
  }

  async start(port = this.port): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Down: the port refuses connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** All events received so far, in order, without duplicates. */
  get events(): any[] {
    return this.txns.flatMap((t) => t.body.events ?? []);
  }

  get ephemeral(): any[] {
    return this.txns.flatMap((t) => t.body.ephemeral ?? []);
  }

  /** Resolves once `predicate` holds over what has been received (or rejects after 30 s). */
  async waitFor(predicate: () => boolean, what = 'appservice condition'): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.hsToken}`) {
      this.unauthorised.push(url.pathname);
      return send(403, { errcode: 'M_FORBIDDEN' });
    }
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if (req.method === 'PUT' && (m = /^\/_matrix\/app\/v1\/transactions\/([^/]+)$/.exec(path))) {
      const txnId = decodeURIComponent(m[1]);
      this.attempts.push({ txnId, body: text });
      if (this.failTransactionsWith !== null) return send(this.failTransactionsWith, { errcode: 'M_UNKNOWN' });
      if (!this.seenTxnIds.has(txnId)) {
        this.seenTxnIds.add(txnId);
        this.txns.push({ txnId, body: JSON.parse(text) });
      }
      send(200, {});
      this.wake();
      return;
    }
    if (req.method === 'POST' && path === '/_matrix/app/v1/ping') {
      this.pings.push((JSON.parse(text || '{}') as { transaction_id?: string }).transaction_id);
      return this.failPingWith === null ? send(200, {}) : send(this.failPingWith, { errcode: 'M_UNKNOWN', error: 'not today' });
    }
    if (req.method === 'GET' && (m = /^\/_matrix\/app\/v1\/users\/([^/]+)$/.exec(path))) {
      return (await this.onUserQuery(decodeURIComponent(m[1]))) ? send(200, {}) : send(404, { errcode: 'M_NOT_FOUND' });
    }
    if (req.method === 'GET' && (m = /^\/_matrix\/app\/v1\/rooms\/([^/]+)$/.exec(path))) {
      return (await this.onAliasQuery(decodeURIComponent(m[1]))) ? send(200, {}) : send(404, { errcode: 'M_NOT_FOUND' });
    }
    if (req.method === 'GET' && path.startsWith('/_matrix/app/v1/thirdparty/')) {
      const key = path.slice('/_matrix/app/v1/thirdparty/'.length) + (url.search ? url.search : '');
      const answer = this.thirdParty[key] ?? this.thirdParty[path.slice('/_matrix/app/v1/thirdparty/'.length)];
      return answer === undefined ? send(404, { errcode: 'M_NOT_FOUND' }) : send(200, answer);
    }
    send(404, { errcode: 'M_UNRECOGNIZED' });
  }
}
