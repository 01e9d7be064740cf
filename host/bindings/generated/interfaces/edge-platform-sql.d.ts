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
export type Error = ErrorNotGranted | ErrorInvalidSql | ErrorConstraint | ErrorTooLarge | ErrorInternal;
/**
 * The manifest grants no database under this binding name (`d1_databases`).
 */
export interface ErrorNotGranted {
  tag: 'not-granted',
  val: string,
}
/**
 * The SQL did not parse, or names something that does not exist: SQLite's message.
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
 * A statement, a value or the result was larger than allowed.
 */
export interface ErrorTooLarge {
  tag: 'too-large',
  val: string,
}
export interface ErrorInternal {
  tag: 'internal',
  val: string,
}
export interface Statement {
  sql: string,
  /**
   * Bound to `?` or `?NNN` placeholders in order.
   */
  params: Array<Value>,
}
export interface Meta {
  changes: bigint,
  lastRowId: bigint,
  rowsRead: bigint,
  rowsWritten: bigint,
  durationMs: number,
}
export interface Rows {
  columns: Array<string>,
  rows: Array<Array<Value>>,
  meta: Meta,
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
  * Runs one statement (D1's `prepare(sql).bind(...).all()`).
  */
  query(statement: Statement): Rows;
  /**
  * Runs the statements in one transaction: all of them or none (D1's `batch`).
  */
  batch(statements: Array<Statement>): Array<Rows>;
  /**
  * Runs SQL text holding several statements, without parameters (D1's `exec`).
  */
  exec(sql: string): Meta;
}
