// Test harness: starts a real Foyer on a random port over a fresh SQLite file or a fresh
// PostgreSQL schema, and gives tests a tiny HTTP client. Every API test runs on both databases
// through `describeEachDatabase`.
import { describe, before, after } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DestinationStream } from 'pino';
import { createApp, createLogger, type FoyerApp } from '../src/app.ts';
import { validateConfig } from '../src/config/load.ts';
import { performInit } from '../src/cli/init.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';

export type DbKind = 'sqlite' | 'postgres';

export const POSTGRES_URL = process.env.FOYER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** FOYER_TEST_DB=sqlite or =postgres narrows a run to one database while developing. */
export const DATABASES: DbKind[] = process.env.FOYER_TEST_DB
  ? (process.env.FOYER_TEST_DB.split(',') as DbKind[])
  : ['sqlite', 'postgres'];

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  localpart: string;
  password: string;
}

export interface TestResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is (for malformed-JSON tests). */
  rawBody?: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
}

export class TestServer {
  private counter = 0;
  constructor(
    public app: FoyerApp,
    public baseUrl: string,
    readonly kind: DbKind,
    private readonly cleanup: () => Promise<void>,
    private readonly reopen: () => Promise<FoyerApp>,
  ) {}

  /** Stops the server and starts a new one on the same database (a restart). */
  async restart(): Promise<void> {
    await this.app.close();
    this.app = await this.reopen();
    this.baseUrl = await this.app.listen();
  }

  get serverName(): string {
    return this.app.config.server_name;
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse<T>> {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    // A hung request fails the test within a minute instead of undici's five.
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* non-JSON body stays text */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Registers a user through the client API (m.login.dummy; tests enable open registration). */
  async registerUser(localpart?: string, password = 'correct horse battery staple'): Promise<TestUser> {
    const name = localpart ?? `user${++this.counter}_${randomBytes(3).toString('hex')}`;
    const res = await this.request('POST', '/_matrix/client/v3/register', {
      body: { username: name, password, auth: { type: 'm.login.dummy' }, inhibit_login: false },
    });
    if (res.status !== 200) throw new Error(`register ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { userId: res.body.user_id, accessToken: res.body.access_token, deviceId: res.body.device_id, localpart: name, password };
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.cleanup();
  }
}

function mergeDeep(target: Record<string, any>, source: Record<string, any>): Record<string, any> {
  for (const [k, v] of Object.entries(source)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && target[k] && typeof target[k] === 'object') mergeDeep(target[k], v);
    else target[k] = v;
  }
  return target;
}

export interface TestServerOptions {
  /** Where the server's log lines go (the level is the config's `log_level`); tests read them. */
  logDestination?: DestinationStream;
}

export async function startTestServer(kind: DbKind, overrides: DeepPartial<Config> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-test-'));
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const configPath = join(dir, 'foyer.yaml');
  performInit({
    serverName: 'test.local',
    dataDir: dir,
    configPath,
    port: 0,
    bind: '127.0.0.1',
    database: kind === 'sqlite' ? `sqlite:${join(dir, 'foyer.db')}` : POSTGRES_URL,
  });
  if (kind === 'postgres') {
    // The schema goes into the config file too, so `foyer` CLI commands run against this config
    // reach the same tables as the server.
    const doc = parseDocument(readFileSync(configPath, 'utf8'));
    doc.setIn(['database', 'schema'], schema);
    writeFileSync(configPath, doc.toString());
  }
  const base = loadConfig(configPath);
  const config = validateConfig(
    mergeDeep(
      mergeDeep(base as any, {
        registration: { enabled: true },
        rate_limits: { enabled: false },
        log_level: process.env.FOYER_TEST_LOG ?? 'silent',
      }),
      overrides as Record<string, any>,
    ),
    'test config',
  );
  const open = () =>
    createApp(config, {
      databaseSchema: kind === 'postgres' ? schema : undefined,
      logger: createLogger(config.log_level, options.logDestination),
    });
  const app = await open();
  const address = await app.listen();
  return new TestServer(app, address, kind, async () => {
    rmSync(dir, { recursive: true, force: true });
    if (kind === 'postgres') {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }, open);
}

/**
 * Runs a suite once per database. `server()` returns the suite's server, started before its
 * tests and closed after them.
 */
export function describeEachDatabase(
  name: string,
  body: (ctx: { server: () => TestServer; kind: DbKind }) => void,
  overrides: DeepPartial<Config> = {},
): void {
  for (const kind of DATABASES) {
    describe(`${name} [${kind}]`, () => {
      let server: TestServer | undefined;
      before(async () => {
        server = await startTestServer(kind, overrides);
      });
      after(async () => {
        await server?.close();
      });
      body({
        kind,
        server: () => {
          if (!server) throw new Error('server not started');
          return server;
        },
      });
    });
  }
}
