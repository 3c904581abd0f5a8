// Queries built and compiled once, executed many times with new values. Building a Kysely query
// (an immutable AST, one object per `.where`) and compiling it to SQL cost more CPU than SQLite
// takes to run a small statement; on the send and sync paths that was a quarter to a third of
// the server's busy time. A prepared query is written as an ordinary Kysely builder over
// placeholder arguments; it is compiled on first use per *shape* and afterwards only its
// parameter list is filled in. The compiled SQL string is the same string object every time,
// so the SQLite statement cache (database.ts) finds it without re-hashing a new string.
//
// Placeholders are marker strings that the compiled query carries as parameters; each is
// replaced by the argument of the same name at execution. Every argument must therefore reach
// the query as a bound value (`where(col, '=', p.x)`, `values({ col: p.x })`, `limit(p.n)`),
// never through `sql.raw` or JavaScript logic. The shape — the length of each array argument and
// which arguments are undefined — is part of the cache key, so a builder may branch on those
// (`if (p.excluded.length > 0) q = q.where('sender', 'not in', p.excluded)`) and `in` lists of
// any length work (one compiled variant per length in use).
//
// On SQLite a prepared query runs its statement directly on the better-sqlite3 connection,
// synchronously, rather than through Kysely's executor (connection mutex, driver promises,
// result objects): on the send path that executor cost more than SQLite itself. This is only
// done when Kysely would run the statement on that same connection at once:
// - inside a transaction of the query's database: SQLite has one connection, so the
//   transaction's connection *is* it (and it must be inside BEGIN…COMMIT to be one);
// - outside a transaction, when the connection is in no transaction: Kysely would take the
//   free connection and run the statement to completion synchronously, exactly as here.
// Outside a transaction while another task's transaction is open (it awaits between its
// statements), a direct statement would see or join that transaction's uncommitted work, so
// the query goes through Kysely, whose mutex makes it wait for the COMMIT, as before.
//
// On PostgreSQL a prepared query goes through Kysely, but its SQL is registered in the
// database's StatementNames: the pool's clients (database.ts) send a registered text as a named
// statement, which each connection parses and plans once instead of on every execution (an
// unnamed statement is parsed, analysed and planned every time). A write prepared with
// `{ pipelined: true }` — one whose answer its callers never read — is, inside a PostgreSQL
// transaction, written at once and answered at once: the transaction's next statement goes out
// without waiting for it, and its failure fails that next statement or the COMMIT
// (database.ts). Its `run` then counts 0 rows.
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import type { DB } from './schema/index.ts';

const MARK = '\u0000foyer-arg\u0000';

type Args = Record<string, unknown>;

interface Compiled {
  /** The shape it was compiled for: argument names and kinds (see kindOf), in order. */
  names: string[];
  kinds: number[];
  query: CompiledQuery;
  /** For each parameter of `query`: where its value comes from (a constant when undefined). */
  slots: Array<{ name: string; index: number } | undefined>;
  /** The statement on the SQLite connection, prepared on first direct use. */
  stmt?: Statement;
}

/** The SQLite connection behind each Kysely instance that has one (registered by database.ts). */
const sqliteConnections = new WeakMap<Kysely<DB>, SqliteConnection>();

/** Lets prepared queries of `db` run directly on `connection`, its only connection. */
export function registerSqliteConnection(db: Kysely<DB>, connection: SqliteConnection): void {
  sqliteConnections.set(db, connection);
}

/**
 * Names for the SQL texts of prepared queries on one PostgreSQL database (see the top). The
 * texts are a bounded set — one per prepared query and shape — but an `in` list makes a variant
 * per length, so each query names only its first few variants and the database a bounded total:
 * every named statement holds memory in every backend that ran it.
 */
export class StatementNames {
  /** Text → name; looked up per query by the pool clients. */
  private readonly names = new Map<string, string>();
  /** Named texts of pipelined writes (see the top). */
  private readonly pipelined = new Set<string>();
  private generation = 0;
  private next = 0;

  constructor(readonly capacity = 512) {}

  /** Gives `text` a name (if it has none and there is room); whether it has one now. */
  register(text: string): boolean {
    if (this.names.has(text)) return true;
    if (this.names.size >= this.capacity) return false;
    this.names.set(text, this.nameFor(this.next++));
    return true;
  }

  /** Marks a registered text as a write whose answer nobody waits for (see the top). */
  markPipelined(text: string): void {
    if (this.names.has(text)) this.pipelined.add(text);
  }

  isPipelined(text: string): boolean {
    return this.pipelined.has(text);
  }

  /** The statement name of `text`, if it is a registered text. */
  nameOf(text: string): string | undefined {
    return this.names.get(text);
  }

  /**
   * After the schema changed (migrations): a statement prepared before may no longer fit it
   * (PostgreSQL refuses to run a `select *` whose columns changed: "cached plan must not change
   * result type"), so every text gets a new name, which each connection prepares anew.
   */
  renew(): void {
    this.generation++;
    for (const text of this.names.keys()) this.names.set(text, this.nameFor(this.next++));
  }

  private nameFor(n: number): string {
    return `foyer_${this.generation}_${n}`;
  }
}

/** The statement names of each Kysely instance on PostgreSQL (registered by database.ts). */
const statementNames = new WeakMap<Kysely<DB>, StatementNames>();

/** Lets prepared queries of `db` run as named statements registered in `names`. */
export function registerStatementNames(db: Kysely<DB>, names: StatementNames): void {
  statementNames.set(db, names);
}

/** To call after a schema change of `db` (see StatementNames.renew). */
export function schemaChanged(db: Kysely<DB>): void {
  statementNames.get(db)?.renew();
}

/** Variants of one prepared query that get a statement name; further ones run unnamed. */
const NAMED_VARIANTS_PER_QUERY = 8;

/** Placeholder for an argument: a marker string, or an array of them for an array argument. */
function placeholdersOf(args: Args): Args {
  const out: Args = {};
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined) out[name] = undefined;
    else if (Array.isArray(value)) out[name] = value.map((_, i) => `${MARK}${name}\u0000${i}`);
    else out[name] = `${MARK}${name}\u0000-1`;
  }
  return out;
}

/** An argument's part of the shape: -2 undefined, -1 a single value, n an array of n. */
function kindOf(value: unknown): number {
  return value === undefined ? -2 : Array.isArray(value) ? value.length : -1;
}

/** Whether `args` has the shape `compiled` was made for (no string built, nothing allocated). */
function hasShape(compiled: Compiled, args: Args): boolean {
  const { names, kinds } = compiled;
  let i = 0;
  for (const name in args) {
    if (i >= names.length || names[i] !== name || kinds[i] !== kindOf(args[name])) return false;
    i++;
  }
  return i === names.length;
}

function shapeOf(args: Args): string {
  let key = '';
  for (const name in args) {
    const value = args[name];
    key += `${name}:${value === undefined ? 'u' : Array.isArray(value) ? value.length : '-'},`;
  }
  return key;
}

export class PreparedQuery<A extends Args, R> {
  private readonly variants = new Map<string, Compiled>();
  /** The variant used last: nearly every call has the same shape as the one before. */
  private last: Compiled | undefined;
  /** The SQLite connection of `db`; undefined until looked up, null when there is none. */
  private connection: SqliteConnection | null | undefined;
  /** Variants given a statement name so far (PostgreSQL). */
  private named = 0;

  /**
   * `db` compiles (its dialect decides the SQL); execution may use another handle of the same
   * database, e.g. a transaction.
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly build: (db: Kysely<DB>, args: A) => Compilable<R>,
    private readonly options: PrepareOptions = {},
  ) {}

  /** All rows. */
  async execute(args: A, on: Kysely<DB> = this.db): Promise<R[]> {
    const direct = this.directOn(on);
    if (direct) {
      const { stmt, parameters } = this.statement(args, direct);
      return stmt.reader ? (stmt.all(parameters) as R[]) : (stmt.run(parameters), []);
    }
    const result = await on.executeQuery<R>(this.bind(args));
    return result.rows;
  }

  async executeTakeFirst(args: A, on: Kysely<DB> = this.db): Promise<R | undefined> {
    const direct = this.directOn(on);
    if (direct) {
      const { stmt, parameters } = this.statement(args, direct);
      if (stmt.reader) return stmt.get(parameters) as R | undefined;
      stmt.run(parameters);
      return undefined;
    }
    const rows = await this.execute(args, on);
    return rows[0];
  }

  /** Rows changed by an insert, update or delete without `returning`. */
  async run(args: A, on: Kysely<DB> = this.db): Promise<number> {
    const direct = this.directOn(on);
    if (direct) {
      const { stmt, parameters } = this.statement(args, direct);
      if (stmt.reader) {
        stmt.all(parameters);
        return 0;
      }
      return stmt.run(parameters).changes;
    }
    const result = await on.executeQuery<R>(this.bind(args));
    return Number(result.numAffectedRows ?? 0);
  }

  /** The SQLite connection to run on directly, when that is what Kysely would do (see the top). */
  private directOn(on: Kysely<DB>): SqliteConnection | undefined {
    if (this.connection === null) return undefined;
    if (this.connection === undefined) this.connection = sqliteConnections.get(this.db) ?? null;
    const connection = this.connection;
    if (!connection) return undefined;
    // `on` is the query's own database or a transaction of it (a store never mixes databases).
    if (on === this.db) return connection.inTransaction ? undefined : connection;
    return on.isTransaction && connection.inTransaction ? connection : undefined;
  }

  private statement(args: A, connection: SqliteConnection): { stmt: Statement; parameters: unknown[] } {
    const compiled = this.variant(args);
    compiled.stmt ??= connection.prepare(compiled.query.sql);
    return { stmt: compiled.stmt, parameters: this.parametersOf(compiled, args) };
  }

  private bind(args: A): CompiledQuery<R> {
    const compiled = this.variant(args);
    return { ...compiled.query, parameters: this.parametersOf(compiled, args) } as CompiledQuery<R>;
  }

  private variant(args: A): Compiled {
    // The shape key is a string built from every argument; checking the last variant first
    // spares building (and hashing) it on nearly every call.
    if (this.last && hasShape(this.last, args)) return this.last;
    const shape = shapeOf(args);
    let compiled = this.variants.get(shape);
    if (!compiled) {
      compiled = this.compile(args);
      this.variants.set(shape, compiled);
    }
    this.last = compiled;
    return compiled;
  }

  private parametersOf({ query, slots }: Compiled, args: A): unknown[] {
    const parameters = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      if (slot === undefined) parameters[i] = query.parameters[i];
      else {
        const value = args[slot.name];
        parameters[i] = slot.index < 0 ? value : (value as unknown[])[slot.index];
      }
    }
    return parameters;
  }

  private compile(args: A): Compiled {
    const query = this.build(this.db, placeholdersOf(args) as A).compile() as CompiledQuery;
    const used = new Set<string>();
    const slots = query.parameters.map((p) => {
      if (typeof p !== 'string' || !p.startsWith(MARK)) return undefined;
      const [name, index] = p.slice(MARK.length).split('\u0000');
      used.add(name);
      return { name, index: Number(index) };
    });
    // An argument that is neither undefined nor an empty array must reach the SQL; one that
    // does not was consumed by JavaScript in the builder, and the query would ignore it.
    for (const [name, value] of Object.entries(args)) {
      if (value === undefined || (Array.isArray(value) && value.length === 0) || used.has(name)) continue;
      throw new Error(`prepared query: argument "${name}" is not a bound parameter of ${query.sql}`);
    }
    const pgNames = statementNames.get(this.db);
    if (pgNames && this.named < NAMED_VARIANTS_PER_QUERY && pgNames.register(query.sql)) {
      this.named++;
      if (this.options.pipelined) pgNames.markPipelined(query.sql);
    }
    const names = Object.keys(args);
    return { names, kinds: names.map((name) => kindOf(args[name])), query, slots };
  }
}

export interface PrepareOptions {
  /**
   * A write whose answer its callers never read (no rows, no count) and which fails only if
   * something is broken: inside a PostgreSQL transaction it does not cost a round trip of its
   * own (see the top).
   */
  pipelined?: boolean;
}

/** A query compiled once per shape; see the comment at the top of this file. */
export function prepare<A extends Args, R>(db: Kysely<DB>, build: (db: Kysely<DB>, args: A) => Compilable<R>, options?: PrepareOptions): PreparedQuery<A, R> {
  return new PreparedQuery(db, build, options);
}
