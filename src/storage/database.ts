// Opens the database: SQLite (better-sqlite3, WAL) or PostgreSQL (pg), behind one Kysely API.
// Stores receive a `Database` and never know which engine is underneath, except through
// `dialect.ts` for the few statements that differ.
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  type SqliteDatabase as KyselySqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
// Each engine's driver is loaded only when that engine is used (pg alone is several MB of
// resident code and data that a SQLite server would carry for nothing).
import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DB } from './schema/index.ts';
import { LruCache } from '../util/lru.ts';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';
import { StatementNames, registerSqliteConnection, registerStatementNames } from './prepared.ts';

export type Engine = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  engine: Engine;
  /** PostgreSQL schema in use, if not the default one. */
  schema?: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** "sqlite:PATH", "sqlite::memory:" or a "postgres://" URL. */
  url: string;
  /** PostgreSQL only: schema to use (created if missing); tests use one schema each. */
  schema?: string;
  poolSize?: number;
}

// int8 (bigint) and numeric come back from pg as strings; our integers fit in 2^53.
function pgTypesOf(driver: typeof pg) {
  return {
    getTypeParser(oid: number, format?: string) {
      if (oid === 20 || oid === 1700) return (value: string) => Number(value);
      return driver.types.getTypeParser(oid, format as 'text');
    },
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { url } = options;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const { default: SqliteDriver } = await import('better-sqlite3');
    const sqlite = new SqliteDriver(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = OFF');
    sqlite.pragma('cache_size = -16000');
    const checkpointer = path === ':memory:' ? undefined : new SqliteCheckpointer(path);
    if (checkpointer) sqlite.pragma('wal_autocheckpoint = 0');
    const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }, sqlite) });
    registerSqliteConnection(db, sqlite);
    return {
      db,
      engine: 'sqlite',
      close: async () => {
        await db.destroy();
        await checkpointer?.stop();
      },
    };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const schema = options.schema;
    if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
    const { default: pg } = await import('pg');
    if (schema) {
      const setup = new pg.Client({ connectionString: url });
      await setup.connect();
      try {
        await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      } finally {
        await setup.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      types: pgTypesOf(pg),
      options: schema ? `-c search_path=${schema}` : undefined,
      // Lets a client write a query before the previous one is answered (namingPool sends a
      // transaction's BEGIN with its first statement). pg then refuses cursors (Foyer streams
      // no query); everything else runs one query at a time per client as before.
      pipeline: true,
    } as pg.PoolConfig);
    const names = new StatementNames();
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: namingPool(pool, names) }) });
    registerStatementNames(db, names);
    await sql`select 1`.execute(db);
    return { db, engine: 'postgres', schema, close: () => db.destroy() };
  }
  throw new Error(`unsupported database URL (expected sqlite:PATH or postgres://…): ${url.replace(/:[^:@/]*@/, ':***@')}`);
}

/**
 * The pool Kysely uses. Its clients:
 * - send the SQL texts of prepared queries (prepared.ts) as named statements: PostgreSQL then
 *   parses and plans each once per connection rather than on every execution, and the client
 *   sends only Bind/Execute (pg keeps track of which names each connection has prepared).
 *   Every other text (ad-hoc Kysely queries, BEGIN/COMMIT) is sent as before, unnamed;
 * - hold a transaction's BEGIN back and write it together with the transaction's first
 *   statement (pipeline mode): one round trip to the server less per transaction. Kysely waits
 *   for BEGIN's answer before it sends anything else, so BEGIN is answered at once here, and
 *   its real outcome is reported with the statement's: if BEGIN failed, so does that statement;
 * - in the same way, answer a pipelined write (prepared.ts) inside a transaction at once, once
 *   it is written: a send's forward extremity, push actions and search row then go out back to
 *   back with its COMMIT, in one round trip instead of four. Their real outcomes are collected
 *   with the next statement's answer, or COMMIT's: if one failed, PostgreSQL has aborted the
 *   transaction (and answers COMMIT with a ROLLBACK), and that statement or the COMMIT fails with
 *   the first failure.
 */
function namingPool(pool: pg.Pool, names: StatementNames): PostgresPool {
  // One wrapper per pg client: Kysely keeps its connection object per client it is given.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let heldBegin = false;
    let inTransaction = false;
    /** Outcomes of the pipelined writes not yet reported (each settles, never rejects). */
    let unreported: Array<Promise<Error | undefined>> = [];
    const send = (text: string, values: unknown[] | undefined, name: string | undefined): Promise<unknown> =>
      name === undefined ? client.query(text, values) : client.query({ name, text, values });
    /** `answer`, unless a pipelined write sent before it failed: then that write's error. */
    const withUnreported = (answer: Promise<unknown>): Promise<unknown> => {
      const earlier = unreported;
      unreported = [];
      return Promise.allSettled([Promise.all(earlier), answer]).then(([e, a]) => {
        const failure = e.status === 'fulfilled' ? e.value.find((err) => err !== undefined) : undefined;
        if (failure) throw failure;
        if (a.status === 'rejected') throw a.reason;
        return a.value;
      });
    };
    function query<R>(sqlText: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query(text: unknown, parameters?: ReadonlyArray<unknown>): unknown {
      if (typeof text !== 'string') return client.query(text as pg.Submittable);
      if (text === 'begin') {
        heldBegin = true;
        inTransaction = true;
        return Promise.resolve(BEGUN);
      }
      // Kysely passes a copy of the compiled query's parameters: pg may keep it, as is.
      const values = parameters as unknown[];
      const name = names.nameOf(text);
      if (!heldBegin) {
        if (text === 'commit' || text === 'rollback') {
          inTransaction = false;
          // After a ROLLBACK nothing of the transaction is left to report.
          if (text === 'rollback') unreported = [];
        } else if (inTransaction && name !== undefined && names.isPipelined(text)) {
          unreported.push(send(text, values, name).then(() => undefined, (err: Error) => err));
          return Promise.resolve(PIPELINED);
        }
        return unreported.length === 0 ? send(text, values, name) : withUnreported(send(text, values, name));
      }
      heldBegin = false;
      if (text === 'commit' || text === 'rollback') inTransaction = false;
      // Both are written now, in one write to the socket (pg writes a query as it is queued,
      // in pipeline mode); the statement's answer counts only once BEGIN's has succeeded.
      const stream = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
      stream?.cork?.();
      let begun: Promise<unknown>;
      let result: Promise<unknown>;
      try {
        begun = client.query('begin');
        result = send(text, values, name);
      } finally {
        stream?.uncork?.();
      }
      return Promise.allSettled([begun, result]).then(([b, r]) => {
        if (b.status === 'rejected') throw b.reason;
        if (r.status === 'rejected') throw r.reason;
        return r.value;
      });
    }
    // release() is replaced by pg-pool at every checkout: look it up at each call. (Kysely
    // ends every transaction before it releases; a BEGIN never outlives its checkout anyway.)
    const release = () => {
      heldBegin = false;
      inTransaction = false;
      unreported = [];
      client.release();
    };
    return { query, release } as PostgresPoolClient;
  };
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/** What a pipelined write answers at once; its callers read nothing of it. */
const PIPELINED = { command: 'INSERT', rowCount: 0, rows: [] };

/** What BEGIN answers; Kysely reads nothing of it. */
const BEGUN = { command: 'BEGIN', rowCount: null, rows: [] };

/**
 * Transactions take SQLite's write lock when they begin (BEGIN IMMEDIATE) rather than at their
 * first write. A deferred transaction that reads first holds a snapshot of the WAL, and if the
 * checkpointer's RESTART step (sqlite-checkpointer.ts) resets the WAL before that transaction's
 * first write, the write fails at once with SQLITE_BUSY_SNAPSHOT — the busy timeout does not
 * apply to an upgrade. Taking the lock at BEGIN waits (busy timeout) instead. There is one
 * connection, so nothing else was going to write meanwhile anyway.
 *
 * BEGIN, COMMIT and ROLLBACK run on statements prepared once, directly: Kysely's own driver
 * builds a query object, looks the text up in the statement cache and wraps the result
 * (BigInts included) on every transaction, and every send is one. Kysely still decides when
 * they run (its connection mutex, rollback on error), exactly as before.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly sqlite: SqliteDatabase.Database,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config, this.sqlite);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  private control?: { begin: SqliteDatabase.Statement; commit: SqliteDatabase.Statement; rollback: SqliteDatabase.Statement };

  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: SqliteDatabase.Database,
  ) {
    super(config);
  }

  /** The connection is the driver's only one, so `_connection` is always `sqlite`. */
  override async beginTransaction(_connection: DatabaseConnection): Promise<void> {
    this.statements().begin.run();
  }

  override async commitTransaction(_connection: DatabaseConnection): Promise<void> {
    this.statements().commit.run();
  }

  override async rollbackTransaction(_connection: DatabaseConnection): Promise<void> {
    this.statements().rollback.run();
  }

  private statements() {
    this.control ??= {
      begin: this.sqlite.prepare('begin immediate'),
      commit: this.sqlite.prepare('commit'),
      rollback: this.sqlite.prepare('rollback'),
    };
    return this.control;
  }
}

/**
 * Kysely prepares every statement anew, and preparing is a large share of a small query's
 * cost on SQLite. The same SQL text always gets the same prepared statement here; that is safe
 * because better-sqlite3 runs each statement to completion synchronously.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, capacity = 1000): KyselySqliteDatabase {
  const cache = new LruCache<string, SqliteDatabase.Statement>(capacity);
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = sqlite.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}
