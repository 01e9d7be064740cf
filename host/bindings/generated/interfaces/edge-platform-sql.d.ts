/** @module Interface edge:platform/sql@0.1.0 **/
/**
 * A SQLite value.
 */
export type Value = ValueNull | ValueInteger | ValueReal | ValueText | ValueBlob;
export interface ValueNull {
  tag: 'null',
}
export interface ValueInteger {
  tag: 'integer',
  val: bigint,
}
export interface ValueReal {
  tag: 'real',
  val: number,
}
export interface ValueText {
  tag: 'text',
  val: string,
}
export interface ValueBlob {
  tag: 'blob',
  val: Uint8Array,
}
export type Error = ErrorNotGranted | ErrorInvalidSql | ErrorConstraint | ErrorNotAuthorized | ErrorTooLarge | ErrorTimeout | ErrorInternal;
/**
 * The manifest grants no database under this binding name (`d1_databases`).
 */
export interface ErrorNotGranted {
  tag: 'not-granted',
  val: string,
}
/**
 * The SQL did not parse, names something that does not exist, or failed as it ran: SQLite's message.
 */
export interface ErrorInvalidSql {
  tag: 'invalid-sql',
  val: string,
}
/**
 * A constraint failed (unique, foreign key, not null, check): SQLite's message.
 */
export interface ErrorConstraint {
  tag: 'constraint',
  val: string,
}
/**
 * What D1 does not allow here (ATTACH, transactions outside `batch`, most PRAGMAs), named.
 */
export interface ErrorNotAuthorized {
  tag: 'not-authorized',
  val: string,
}
/**
 * A statement, its parameters, its result or the database grew larger than allowed: which limit.
 */
export interface ErrorTooLarge {
  tag: 'too-large',
  val: string,
}
/**
 * The statement ran past the database's time limit and was interrupted.
 */
export interface ErrorTimeout {
  tag: 'timeout',
  val: string,
}
export interface ErrorInternal {
  tag: 'internal',
  val: string,
}
export interface Statement {
  sql: string,
  /**
   * Bound to `?`, `?NNN`, `:name`, `@name` or `$name` placeholders in order.
   */
  params: Array<Value>,
}
export interface Meta {
  /**
   * Rows changed by the statement (INSERT, UPDATE, DELETE); 0 for a read.
   */
  changes: bigint,
  /**
   * The rowid of the last row inserted on this database.
   */
  lastRowId: bigint,
  /**
   * Rows the statement returned (SQLite's scan counters are not available here).
   */
  rowsRead: bigint,
  /**
   * Rows written, triggers included.
   */
  rowsWritten: bigint,
  /**
   * Whether the statement changed the database (rows or schema).
   */
  changedDb: boolean,
  /**
   * The database's size in bytes after the statement.
   */
  sizeAfter: bigint,
  durationMs: number,
}
export interface Rows {
  columns: Array<string>,
  rows: Array<Array<Value>>,
  meta: Meta,
}
export interface ExecResult {
  /**
   * Statements run.
   */
  count: number,
  durationMs: number,
}

export class Database {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * The database bound as `binding` in the manifest.
  */
  static open(binding: string): Database;
  /**
  * Runs a statement (D1's `prepare(sql).bind(...).all()`). Text of several statements runs them all in one
  * transaction, as D1 does: the parameters go to the last one, whose rows come back.
  */
  query(statement: Statement): Rows;
  /**
  * The same statement answered at once, when it is a read the database can run right away (loaded, nothing
  * queued, every write durable): none otherwise, and the caller uses `query`. For JS workers, whose `query`
  * would otherwise cost a second entry into the isolate.
  */
  queryNow(statement: Statement): Rows | undefined;
  /**
  * Runs the statements in one transaction: all of them or none (D1's `batch`).
  */
  batch(statements: Array<Statement>): Array<Rows>;
  /**
  * Runs SQL text holding several statements, without parameters, in one transaction (D1's `exec`).
  */
  exec(sql: string): ExecResult;
  /**
  * The whole database as a SQLite file (D1's `dump`).
  */
  dump(): Uint8Array;
  /**
  * A position in the database's history, after every write acknowledged so far (D1's session bookmarks).
  */
  bookmark(): string;
}
