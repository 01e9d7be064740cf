// The SQL store's contract (D1 on sql.js): what the host's `sql` capability, the admin API and the CLI call. The
// embedded engine (sql-store.ts) implements it; nothing here knows of isolates or HTTP.

/** A SQLite value as it crosses the store's boundary: INTEGER is a bigint, REAL a number, BLOB a Uint8Array. */
export type SqlValue = null | bigint | number | string | Uint8Array;

export interface SqlStatement {
  sql: string;
  /** Bound to the statement's placeholders in order (`?`, `?NNN`, `:name`, `@name`, `$name`). */
  params: readonly SqlValue[];
}

export interface SqlMeta {
  /** Rows changed by the statement; 0 for a read. */
  changes: number;
  /** The rowid of the last row inserted on this database (64 bits). */
  lastRowId: bigint;
  /** Rows the statement returned (sql.js does not expose SQLite's scan counters). */
  rowsRead: number;
  /** Rows written, triggers included. */
  rowsWritten: number;
  /** Whether the statement changed the database (rows or schema). */
  changedDb: boolean;
  /** The database's size in bytes after the statement. */
  sizeAfter: number;
  durationMs: number;
}

export interface SqlRows {
  columns: string[];
  rows: SqlValue[][];
  meta: SqlMeta;
}

export interface SqlExecResult {
  /** Statements run. */
  count: number;
  durationMs: number;
}

/** How a SqlError is classified (the `sql` WIT interface's error cases). */
export type SqlErrorCode = 'invalid-sql' | 'constraint' | 'not-authorized' | 'too-large' | 'timeout' | 'internal';

/** A statement that failed: `message` is SQLite's (or names the limit), `code` the class, `sqliteCode` as SQLite names it. */
export class SqlError extends Error {
  readonly sqlCode: SqlErrorCode;
  /** SQLITE_ERROR, SQLITE_CONSTRAINT_UNIQUE, SQLITE_FULL, SQLITE_AUTH, SQLITE_TOOBIG, SQLITE_INTERRUPT ... */
  readonly sqliteCode: string;
  /** exec(): the 1-based statement that failed. */
  readonly statement?: number;
  constructor(code: SqlErrorCode, message: string, sqliteCode: string, statement?: number) {
    super(message);
    this.name = 'SqlError';
    this.sqlCode = code;
    this.sqliteCode = sqliteCode;
    if (statement !== undefined) this.statement = statement;
  }
}

/** Per database limits (SQL_LIMITS holds the defaults). */
export interface SqlLimits {
  /** The database file's size; writes past it fail with SQLITE_FULL. D1: 500 MB (free plan) to 10 GB. */
  databaseBytes: number;
  /** Wall time one call (a statement, a batch, an exec) may run before it is interrupted. D1: 30 s. */
  statementMs: number;
  /** Rows one statement may return. */
  rowsPerQuery: number;
  /** Bytes of SQL text per statement. D1: 100 KB. */
  sqlBytes: number;
  /** Bound parameters per statement. D1: 100. */
  params: number;
  /** Statements per batch. */
  batchStatements: number;
}

export const SQL_LIMITS: Readonly<SqlLimits> = Object.freeze({
  databaseBytes: 500 * 1000 * 1000,
  statementMs: 30_000,
  rowsPerQuery: 100_000,
  sqlBytes: 100_000,
  params: 100,
  batchStatements: 10_000,
});

/** One database of the store. Calls are serialized; a result is released only once the writes before it are durable. */
export interface SqlDatabaseHandle {
  readonly id: string;
  /** One statement, in its own transaction when it writes. */
  query(statement: SqlStatement): Promise<SqlRows>;
  /**
   * The same statement answered at once when it is a read the database can run now (loaded, idle, every write
   * durable), within a small time budget; null when it cannot (then query() does). Throws the statement's SQL error.
   */
  queryNow(statement: SqlStatement): SqlRows | null;
  /**
   * As queryNow, its rows as JSON text for a JS worker's D1 facade: `[columns, rows, meta]` (sql-engine.ts, readJson),
   * values as D1 gives them to JavaScript (INTEGER and REAL as numbers, BLOB as an array of byte values), meta as
   * SqlMeta's values in order (changes, lastRowId, rowsRead, rowsWritten, changedDb, sizeAfter, durationMs).
   */
  queryNowJson(sql: string, params: readonly SqlValue[]): string | null;
  /** All statements in one transaction: every one applied or none. */
  batch(statements: readonly SqlStatement[]): Promise<SqlRows[]>;
  /** SQL text of several statements, without parameters, in one transaction. */
  exec(sql: string): Promise<SqlExecResult>;
  /** The database as a SQLite file. */
  dump(): Promise<Uint8Array>;
  /** The position after every write acknowledged so far (`<snapshot>.<record>` in hex). */
  bookmark(): string;
}

export interface SqlStore {
  /** The database `id` (created empty on first use). */
  database(id: string): SqlDatabaseHandle;
  /** Ids of the databases that exist on this host. */
  list(): Promise<string[]>;
}

/** Database ids: what wrangler's database_id (a UUID) or database_name look like, and safe as a directory name. */
export const SQL_DATABASE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
