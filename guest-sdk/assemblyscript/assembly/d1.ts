// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// D1 (SQLite) for AssemblyScript workers: `import { D1Database, SqlValue } from "@edge/guest/d1"`, then
// `D1Database.open("DB")` for a database the manifest binds in `d1_databases`. The same host implementation and rules
// as JS workers' env.DB (a JS worker and a component bound to the same database_id see the same rows): prepared
// statements with bound values, `all`/`first`/`raw`/`run`, `batch` (one transaction), `exec`, `dump`, `bookmark`.
// Calls are synchronous for the guest. A failure (SQL that does not parse, no such table, a constraint, a limit) is
// logged with its reason and traps, ending the request with a 500 that `edge tail` shows; a batch that fails
// changes nothing.

import { Database, SqlError, Statement, Value, Rows, Meta } from "./bindings";
import { console } from "./console";
import { jsonString } from "./json";

function describe(e: SqlError): string {
  if (e.tag == SqlError.NOT_GRANTED) return "no D1 database is bound as \"" + e.asNotGranted + "\" (d1_databases in wrangler.toml)";
  if (e.tag == SqlError.INVALID_SQL) return "invalid SQL: " + e.asInvalidSql;
  if (e.tag == SqlError.CONSTRAINT) return "constraint failed: " + e.asConstraint;
  if (e.tag == SqlError.NOT_AUTHORIZED) return "not authorized: " + e.asNotAuthorized;
  if (e.tag == SqlError.TOO_LARGE) return "too large: " + e.asTooLarge;
  if (e.tag == SqlError.TIMEOUT) return "timeout: " + e.asTimeout;
  return "internal: " + e.asInternal;
}

/** The statement as a log line names it: its SQL, cut at 200 characters. */
function quote(sql: string): string {
  return jsonString(sql.length > 200 ? sql.substring(0, 200) + "..." : sql);
}

function abort(message: string): void {
  console.error(message);
  throw new Error(message);
}

function fail(op: string, e: SqlError): void {
  abort("D1 " + op + " failed: " + describe(e));
}

const KIND_NAMES = ["null", "integer", "real", "text", "blob"];

/** A SQLite value: NULL, INTEGER (i64), REAL (f64), TEXT (string) or BLOB (bytes). `kind` is one of the constants. */
export class SqlValue {
  static readonly NULL: u32 = 0;
  static readonly INTEGER: u32 = 1;
  static readonly REAL: u32 = 2;
  static readonly TEXT: u32 = 3;
  static readonly BLOB: u32 = 4;

  kind: u32 = 0;
  private i: i64 = 0;
  private r: f64 = 0;
  private s: string | null = null;
  private b: Uint8Array | null = null;

  static null(): SqlValue {
    return new SqlValue();
  }
  static integer(v: i64): SqlValue {
    const x = new SqlValue();
    x.kind = SqlValue.INTEGER;
    x.i = v;
    return x;
  }
  static real(v: f64): SqlValue {
    const x = new SqlValue();
    x.kind = SqlValue.REAL;
    x.r = v;
    return x;
  }
  static text(v: string): SqlValue {
    const x = new SqlValue();
    x.kind = SqlValue.TEXT;
    x.s = v;
    return x;
  }
  static blob(v: Uint8Array): SqlValue {
    const x = new SqlValue();
    x.kind = SqlValue.BLOB;
    x.b = v;
    return x;
  }
  /** As D1 binds a JS boolean: INTEGER 1 or 0. */
  static boolean(v: bool): SqlValue {
    return SqlValue.integer(v ? 1 : 0);
  }

  /** `"null"`, `"integer"`, `"real"`, `"text"` or `"blob"`. */
  get kindName(): string {
    return KIND_NAMES[this.kind];
  }
  get isNull(): bool {
    return this.kind == SqlValue.NULL;
  }
  /** An INTEGER's value (traps on another kind). */
  get asInteger(): i64 {
    if (this.kind != SqlValue.INTEGER) abort("D1 value: " + this.kindName + " is not an integer");
    return this.i;
  }
  /** A REAL's value, or an INTEGER's as f64 (traps on another kind). */
  get asReal(): f64 {
    if (this.kind == SqlValue.INTEGER) return <f64>this.i;
    if (this.kind != SqlValue.REAL) abort("D1 value: " + this.kindName + " is not a number");
    return this.r;
  }
  /** A TEXT's value (traps on another kind). */
  get asText(): string {
    if (this.kind != SqlValue.TEXT) abort("D1 value: " + this.kindName + " is not text");
    return this.s!;
  }
  /** A BLOB's bytes (traps on another kind). */
  get asBlob(): Uint8Array {
    if (this.kind != SqlValue.BLOB) abort("D1 value: " + this.kindName + " is not a blob");
    return this.b!;
  }

  /** As JSON: null, a number, a string, or a blob as an array of byte values. A REAL that is not finite is null. */
  toJson(): string {
    if (this.kind == SqlValue.INTEGER) return this.i.toString();
    if (this.kind == SqlValue.REAL) return isFinite(this.r) ? this.r.toString() : "null";
    if (this.kind == SqlValue.TEXT) return jsonString(this.s!);
    if (this.kind == SqlValue.BLOB) {
      const b = this.b!;
      const parts = new Array<string>(b.length);
      for (let i = 0; i < b.length; i++) parts[i] = b[i].toString();
      return "[" + parts.join(",") + "]";
    }
    return "null";
  }

  toString(): string {
    if (this.kind == SqlValue.TEXT) return this.s!;
    if (this.kind == SqlValue.BLOB) return "<blob " + this.b!.length.toString() + " bytes>";
    return this.toJson();
  }

  __wit(): Value {
    if (this.kind == SqlValue.INTEGER) return Value.integer(this.i);
    if (this.kind == SqlValue.REAL) return Value.real(this.r);
    if (this.kind == SqlValue.TEXT) return Value.text(this.s!);
    if (this.kind == SqlValue.BLOB) return Value.blob(this.b!);
    return Value.null_();
  }

  static __from(v: Value): SqlValue {
    if (v.tag == Value.INTEGER) return SqlValue.integer(v.asInteger);
    if (v.tag == Value.REAL) return SqlValue.real(v.asReal);
    if (v.tag == Value.TEXT) return SqlValue.text(v.asText);
    if (v.tag == Value.BLOB) return SqlValue.blob(v.asBlob);
    return SqlValue.null();
  }
}

/** What a statement did: D1's `meta` (`changes`, `last_row_id`, ... in camelCase). */
export class D1Meta {
  constructor(
    /** Rows changed (INSERT, UPDATE, DELETE); 0 for a read. */
    public changes: u64,
    /** The rowid of the last row inserted on this database. */
    public lastRowId: i64,
    public rowsRead: u64,
    public rowsWritten: u64,
    /** Whether the statement changed the database (rows or schema). */
    public changedDb: bool,
    /** The database's size in bytes afterwards. */
    public sizeAfter: u64,
    /** Milliseconds. */
    public duration: f64,
  ) {}

  /** As D1's JSON names it (`{"changes":1,"last_row_id":3,...}`). */
  toJson(): string {
    return "{\"changes\":" + this.changes.toString() + ",\"last_row_id\":" + this.lastRowId.toString() + ",\"rows_read\":" + this.rowsRead.toString() +
      ",\"rows_written\":" + this.rowsWritten.toString() + ",\"changed_db\":" + (this.changedDb ? "true" : "false") + ",\"size_after\":" +
      this.sizeAfter.toString() + ",\"duration\":" + this.duration.toString() + "}";
  }

  static __from(m: Meta): D1Meta {
    return new D1Meta(m.changes, m.lastRowId, m.rowsRead, m.rowsWritten, m.changedDb, m.sizeAfter, m.durationMs);
  }
}

/** A result row: values by column name (as D1's row objects; when two columns share a name, the last one wins). */
export class D1Row {
  constructor(
    /** The result's column names, in order. */
    public columns: Array<string>,
    /** The values, in column order. */
    public values: Array<SqlValue>,
    private index: Map<string, i32>,
  ) {}

  has(column: string): bool {
    return this.index.has(column);
  }

  /** The value of `column` (traps when the result has no such column). */
  get(column: string): SqlValue {
    if (!this.index.has(column)) abort("D1 row: no column " + jsonString(column) + " in the result (columns: " + this.columns.join(", ") + ")");
    return this.values[this.index.get(column)];
  }

  isNull(column: string): bool {
    return this.get(column).isNull;
  }

  /** An INTEGER column's value (traps on NULL or another kind: check `isNull` first where NULL is possible). */
  getInteger(column: string): i64 {
    return this.typed(column, SqlValue.INTEGER).asInteger;
  }

  /** A REAL or INTEGER column's value as f64. */
  getReal(column: string): f64 {
    const v = this.get(column);
    if (v.kind != SqlValue.INTEGER) this.typed(column, SqlValue.REAL);
    return v.asReal;
  }

  /** A TEXT column's value. */
  getString(column: string): string {
    return this.typed(column, SqlValue.TEXT).asText;
  }

  /** A TEXT column's value, or null when it is NULL. */
  getStringOrNull(column: string): string | null {
    const v = this.get(column);
    return v.isNull ? null : this.typed(column, SqlValue.TEXT).asText;
  }

  /** A BLOB column's bytes. */
  getBlob(column: string): Uint8Array {
    return this.typed(column, SqlValue.BLOB).asBlob;
  }

  /** A BLOB column's bytes, or null when it is NULL. */
  getBlobOrNull(column: string): Uint8Array | null {
    const v = this.get(column);
    return v.isNull ? null : this.typed(column, SqlValue.BLOB).asBlob;
  }

  /** An INTEGER column as a boolean (SQLite has none: 0 is false, anything else true). */
  getBoolean(column: string): bool {
    return this.getInteger(column) != 0;
  }

  /** The row as a JSON object (`{"id":1,"title":"x"}`; values as `SqlValue.toJson`). */
  toJson(): string {
    const parts = new Array<string>(this.columns.length);
    for (let i = 0; i < this.columns.length; i++) parts[i] = jsonString(this.columns[i]) + ":" + this.values[i].toJson();
    return "{" + parts.join(",") + "}";
  }

  private typed(column: string, kind: u32): SqlValue {
    const v = this.get(column);
    if (v.kind != kind) abort("D1 row: column " + jsonString(column) + " is " + v.kindName + ", not " + KIND_NAMES[kind]);
    return v;
  }
}

/** What `all()` and `batch` return: the rows (by name in `results`, as arrays in `rows`), the columns and `meta`. */
export class D1Result {
  /** Always true: a statement that fails traps instead. */
  success: bool = true;
  constructor(
    public columns: Array<string>,
    public results: Array<D1Row>,
    public rows: Array<Array<SqlValue>>,
    public meta: D1Meta,
  ) {}

  /** The rows as a JSON array of objects. */
  toJson(): string {
    const parts = new Array<string>(this.results.length);
    for (let i = 0; i < this.results.length; i++) parts[i] = this.results[i].toJson();
    return "[" + parts.join(",") + "]";
  }

  static __from(r: Rows): D1Result {
    const index = new Map<string, i32>();
    for (let i = 0; i < r.columns.length; i++) index.set(r.columns[i], i);
    const rows = new Array<Array<SqlValue>>(r.rows.length);
    const results = new Array<D1Row>(r.rows.length);
    for (let i = 0; i < r.rows.length; i++) {
      const wit = r.rows[i];
      const values = new Array<SqlValue>(wit.length);
      for (let j = 0; j < wit.length; j++) values[j] = SqlValue.__from(wit[j]);
      rows[i] = values;
      results[i] = new D1Row(r.columns, values, index);
    }
    return new D1Result(r.columns, results, rows, D1Meta.__from(r.meta));
  }
}

/** What `exec` returns: how many statements ran, in how long (ms). */
export class D1ExecResult {
  constructor(public count: u32, public duration: f64) {}
}

/** A statement with its bound values; `bind` gives a new statement, so a prepared one can be bound again. */
export class D1PreparedStatement {
  constructor(private db: D1Database, public sql: string, public params: Array<SqlValue> = new Array<SqlValue>()) {}

  /**
   * The values for the statement's `?`, `?NNN`, `:name`, `@name` or `$name` placeholders, in order:
   * `bind([SqlValue.integer(id), SqlValue.text(title)])` (AssemblyScript has no rest parameters).
   */
  bind(values: Array<SqlValue>): D1PreparedStatement {
    return new D1PreparedStatement(this.db, this.sql, values.slice(0));
  }

  /** Runs the statement: every row, the columns and meta. */
  all(): D1Result {
    return this.db.__query(this);
  }

  /** The first row, or null when there is none. */
  first(): D1Row | null {
    const r = this.all();
    return r.results.length > 0 ? r.results[0] : null;
  }

  /** The rows as arrays of values, in column order (D1's `raw()`). */
  raw(): Array<Array<SqlValue>> {
    return this.all().rows;
  }

  /** Runs the statement for what it does: its meta (`changes`, `lastRowId`, ...). */
  run(): D1Meta {
    return this.all().meta;
  }

  __wit(): Statement {
    const params = new Array<Value>(this.params.length);
    for (let i = 0; i < this.params.length; i++) params[i] = this.params[i].__wit();
    return new Statement(this.sql, params);
  }
}

export class D1Database {
  private constructor(private db: Database) {}

  /** The database bound as `binding` (deploy refuses a component whose manifest binds none, so this holds). */
  static open(binding: string): D1Database {
    const r = Database.open(binding);
    if (!r.isOk) fail("open", r.error);
    return new D1Database(r.value);
  }

  /** A statement to bind values to and run. Nothing runs until `all`/`first`/`raw`/`run` or `batch`. */
  prepare(sql: string): D1PreparedStatement {
    return new D1PreparedStatement(this, sql);
  }

  /** Runs the statements in one transaction, in order: every result, or (when one fails) a trap and no change. */
  batch(statements: Array<D1PreparedStatement>): Array<D1Result> {
    const wit = new Array<Statement>(statements.length);
    for (let i = 0; i < statements.length; i++) wit[i] = statements[i].__wit();
    const r = this.db.batch(wit);
    if (!r.isOk) fail("batch of " + statements.length.toString() + " statements", r.error);
    const out = new Array<D1Result>(r.value.length);
    for (let i = 0; i < out.length; i++) out[i] = D1Result.__from(r.value[i]);
    return out;
  }

  /** Runs SQL text of one or more statements separated by `;`, without bound values, in one transaction (migrations). */
  exec(sql: string): D1ExecResult {
    const r = this.db.exec(sql);
    if (!r.isOk) fail("exec " + quote(sql), r.error);
    return new D1ExecResult(r.value.count, r.value.durationMs);
  }

  /** The whole database as a SQLite file. */
  dump(): Uint8Array {
    const r = this.db.dump();
    if (!r.isOk) fail("dump", r.error);
    return r.value;
  }

  /** A position in the database's history after every write acknowledged so far (D1's session bookmarks). */
  bookmark(): string {
    return this.db.bookmark();
  }

  /** Gives the database handle back to the host (AssemblyScript has no finalizers). */
  close(): void {
    this.db.drop();
  }

  __query(statement: D1PreparedStatement): D1Result {
    const r = this.db.query(statement.__wit());
    if (!r.isOk) fail("query " + quote(statement.sql), r.error);
    return D1Result.__from(r.value);
  }
}
