// `env.DB`: D1 for JS workers (d1_databases in the manifest), a D1Database over the edge:platform/sql interface
// (d1.ts), the same implementation components import. The database is in the host: every call is asynchronous.
// Prelude code: bundled into the isolate snapshot; it imports nothing and gets what it needs from `host`
// (host/runtime/js/prelude/env.js).
export default function d1Facade(host) {
  const SQL = 'edge:platform/sql';
  const INTERNAL = Symbol('internal');
  const ArrayBufferCtor = ArrayBuffer;
  const MAX_I64 = 9223372036854775807n;
  const MIN_I64 = -9223372036854775808n;

  function typeError(value) {
    const type = value === null ? 'null' : typeof value;
    let shown;
    try {
      shown = String(value);
    } catch {
      shown = Object.prototype.toString.call(value);
    }
    return new Error(`D1_TYPE_ERROR: Type '${type}' not supported for value '${shown}'`);
  }

  /**
   * A bound JS value as D1 binds it: safe integers (and booleans) as 64-bit INTEGERs (bigint), other numbers as REAL,
   * strings as TEXT, buffers and arrays of byte values as BLOBs (a copy), null as NULL; anything else is D1's error.
   */
  function bindable(value) {
    if (value === null) return null;
    switch (typeof value) {
      case 'number':
        return Number.isSafeInteger(value) && !Object.is(value, -0) ? BigInt(value) : value;
      case 'bigint':
        if (value > MAX_I64 || value < MIN_I64) throw new RangeError(`D1_TYPE_ERROR: ${value} does not fit in a 64-bit INTEGER`);
        return value;
      case 'boolean':
        return value ? 1n : 0n;
      case 'string':
        return value;
      case 'object':
        if (value instanceof ArrayBufferCtor) return new Uint8Array(value.slice(0));
        if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
        // D1 takes an array of byte values as a BLOB too.
        if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(value);
        throw typeError(value);
      default:
        throw typeError(value);
    }
  }

  function isPrimitive(v) {
    return v === null || typeof v !== 'object';
  }

  /** A bound value (bindable's) as a WIT sql value. */
  function toWit(v) {
    if (v === null) return { tag: 'null' };
    switch (typeof v) {
      case 'bigint':
        return { tag: 'integer', val: v };
      case 'number':
        return { tag: 'real', val: v };
      case 'string':
        return { tag: 'text', val: v };
    }
    return { tag: 'blob', val: v };
  }

  /** A WIT sql value as D1 returns it: INTEGER and REAL as numbers, BLOB as an array of byte values. */
  function fromWit(v) {
    switch (v.tag) {
      case 'null':
        return null;
      case 'integer':
        return Number(v.val);
      case 'real':
        return v.val;
      case 'text':
        return v.val;
      case 'blob':
        return Array.from(v.val);
    }
    return null;
  }

  /** queryNowJson's parsed text (`[columns, rows, meta values]`, SqlDatabaseHandle.queryNowJson) as plainOf's shape. */
  function plainOfJson(a) {
    const m = a[2];
    return { columns: a[0], rows: a[1], meta: { changes: m[0], lastRowId: m[1], rowsRead: m[2], rowsWritten: m[3], changedDb: m[4], sizeAfter: m[5], durationMs: m[6] } };
  }

  /** The rows of a WIT answer as D1 gives them to JavaScript: `{ columns, rows: values[][], meta }`. */
  function plainOf(r) {
    return { columns: r.columns, rows: r.rows.map((row) => row.map(fromWit)), meta: r.meta };
  }

  function metaOf(m) {
    return {
      served_by: 'edge-d1',
      served_by_region: 'local',
      served_by_primary: true,
      timings: { sql_duration_ms: m.durationMs },
      duration: m.durationMs,
      changes: Number(m.changes),
      last_row_id: Number(m.lastRowId),
      changed_db: m.changedDb,
      size_after: Number(m.sizeAfter),
      rows_read: Number(m.rowsRead),
      rows_written: Number(m.rowsWritten),
    };
  }

  /** Rows (plain) as objects keyed by column (a later column of the same name wins, as in D1). */
  function objects(r) {
    return r.rows.map((row) => rowObject(r.columns, row));
  }

  function rowObject(cols, row) {
    const o = {};
    for (let i = 0; i < cols.length; i++) o[cols[i]] = row[i];
    return o;
  }

  function resultOf(r) {
    return { success: true, meta: metaOf(r.meta), results: objects(r) };
  }

  /** A WIT error of the sql interface as D1 reports it: `D1_ERROR: <SQLite's message>`, the message as `cause`. */
  function guestError(err, prefix = 'D1_ERROR') {
    if (!(err instanceof host.CapabilityError)) return err;
    const p = err.payload;
    const val = p !== null && typeof p === 'object' && typeof p.val === 'string' ? p.val : err.message;
    if (p?.tag === 'not-granted') return new TypeError(`no D1 database is bound as ${JSON.stringify(val)} (d1_databases in the manifest)`);
    return new Error(`${prefix}: ${val}`, { cause: new Error(val) });
  }

  function handleOf(db) {
    const state = db[INTERNAL];
    if (state.handle === 0) state.handle = host.callSync(SQL, 'Database', 'open', 'static', 0, [state.binding]).__h;
    return state.handle;
  }

  function invoke(db, member, args, prefix) {
    let h;
    try {
      h = handleOf(db);
    } catch (err) {
      return Promise.reject(guestError(err, prefix));
    }
    return host.call(SQL, 'Database', member, 'method', h, args).catch((err) => {
      throw guestError(err, prefix);
    });
  }

  /** SQL that may be a plain read (the host decides): others go the asynchronous way at once. */
  const MAYBE_READ = /^\s*(?:SELECT|VALUES|EXPLAIN|PRAGMA)\b/i;

  function checkSql(sql) {
    if (typeof sql !== 'string') throw new TypeError(`D1_ERROR: prepare() takes SQL text, not ${sql === null ? 'null' : typeof sql}`);
    return sql;
  }

  class D1PreparedStatement {
    #db;
    #sql;
    #params;
    constructor(key, db, sql, params) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor');
      this.#db = db;
      this.#sql = sql;
      this.#params = params;
    }

    /** A new statement with these values bound to its placeholders (`?`, `?NNN`). */
    bind(...values) {
      return new D1PreparedStatement(INTERNAL, this.#db, this.#sql, values.map(bindable));
    }

    /** @internal the WIT statement (for batch). */
    static witOf(s) {
      return { sql: s.#sql, params: s.#params.map(toWit) };
    }
    static dbOf(s) {
      return s.#db;
    }

    /** The statement's rows, plain (see plainOf). */
    #query() {
      if (MAYBE_READ.test(this.#sql)) {
        // A read the host can answer now comes back in this call, as JSON text, without a second entry into the isolate.
        let text;
        try {
          const h = handleOf(this.#db);
          // Parameters that are all primitives (no BLOB) cross as they are, without a call object to copy.
          text = this.#params.every(isPrimitive)
            ? host.callSyncFlat(SQL, 'Database', 'queryNowJsonFlat', h, [this.#sql, ...this.#params])
            : host.callSync(SQL, 'Database', 'queryNowJson', 'method', h, [this.#sql, this.#params]);
        } catch (err) {
          return Promise.reject(guestError(err));
        }
        if (text !== undefined) return Promise.resolve(plainOfJson(JSON.parse(text)));
      }
      return invoke(this.#db, 'query', [{ sql: this.#sql, params: this.#params.map(toWit) }]).then(plainOf);
    }

    /** The first row as an object, or one column of it; null when there is no row. */
    async first(column) {
      const r = await this.#query();
      if (r.rows.length === 0) return null;
      const cols = r.columns;
      const row = r.rows[0];
      if (column === undefined) return rowObject(cols, row);
      // The last column of that name, as the object would have it.
      const at = cols.lastIndexOf(column);
      if (at < 0) throw new Error('D1_COLUMN_NOTFOUND: Column not found');
      return row[at];
    }

    async all() {
      return resultOf(await this.#query());
    }

    async run() {
      return resultOf(await this.#query());
    }

    /** Rows as arrays; with `{ columnNames: true }` the column names come first. */
    async raw(options) {
      const r = await this.#query();
      if (options && options.columnNames) return [r.columns.slice(), ...r.rows];
      return r.rows;
    }
  }

  Object.defineProperty(D1PreparedStatement, 'name', { value: 'D1PreparedStatement' });
  Object.defineProperty(D1PreparedStatement.prototype, Symbol.toStringTag, { value: 'D1PreparedStatement' });

  async function runBatch(db, statements) {
    if (!Array.isArray(statements)) throw new TypeError('D1_ERROR: batch() takes an array of prepared statements');
    const wit = statements.map((s, i) => {
      if (!(s instanceof D1PreparedStatement)) throw new TypeError(`D1_ERROR: batch() item ${i} is not a prepared statement (use db.prepare(sql).bind(...))`);
      if (D1PreparedStatement.dbOf(s)[INTERNAL].binding !== db[INTERNAL].binding) throw new TypeError(`D1_ERROR: batch() item ${i} was prepared on another database`);
      return D1PreparedStatement.witOf(s);
    });
    if (wit.length === 0) return [];
    const results = await invoke(db, 'batch', [wit]);
    return results.map((r) => resultOf(plainOf(r)));
  }

  class D1Database {
    constructor(key, state) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor');
      Object.defineProperty(this, INTERNAL, { value: state });
    }

    prepare(sql) {
      return new D1PreparedStatement(INTERNAL, this, checkSql(sql), []);
    }

    /** The statements in one transaction: all applied, or none (the first error is thrown). */
    batch(statements) {
      return runBatch(this, statements);
    }

    /** SQL text of several statements (no parameters), in one transaction. */
    async exec(sql) {
      checkSql(sql);
      const r = await invoke(this, 'exec', [sql], 'D1_EXEC_ERROR');
      return { count: r.count, duration: r.durationMs };
    }

    /** The database as a SQLite file. */
    async dump() {
      const bytes = await invoke(this, 'dump', []);
      return bytes.buffer.byteLength === bytes.byteLength ? bytes.buffer : bytes.slice().buffer;
    }

    /**
     * A session (D1 read replication): every query of it sees at least the writes the bookmark it started from names.
     * One host has one copy of each database, so every session reads the primary.
     */
    withSession(constraintOrBookmark) {
      if (constraintOrBookmark !== undefined && typeof constraintOrBookmark !== 'string') throw new TypeError('withSession() takes "first-primary", "first-unconstrained" or a bookmark string');
      const start = constraintOrBookmark === undefined || constraintOrBookmark === 'first-primary' || constraintOrBookmark === 'first-unconstrained' ? null : constraintOrBookmark;
      return new D1DatabaseSession(INTERNAL, this, start);
    }
  }

  Object.defineProperty(D1Database, 'name', { value: 'D1Database' });
  Object.defineProperty(D1Database.prototype, Symbol.toStringTag, { value: 'D1Database' });

  class D1DatabaseSession {
    #db;
    #bookmark;
    #used = false;
    constructor(key, db, bookmark) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor');
      this.#db = db;
      this.#bookmark = bookmark;
    }

    #latest() {
      try {
        const b = host.callSync(SQL, 'Database', 'bookmark', 'method', handleOf(this.#db), []);
        if (this.#bookmark === null || b > this.#bookmark) this.#bookmark = b;
      } catch {
        // keeps the last one known
      }
    }

    prepare(sql) {
      const session = this;
      const stmt = this.#db.prepare(sql);
      // The session's statements are the database's: the bookmark is taken after each one.
      return wrapStatement(stmt, () => session.#seen());
    }

    #seen() {
      this.#used = true;
      this.#latest();
    }

    async batch(statements) {
      const r = await runBatch(this.#db, statements.map((s) => (s instanceof SessionStatement ? s.inner : s)));
      this.#seen();
      return r;
    }

    /** The bookmark after the latest query of this session (null before the first, unless it started from one). */
    getBookmark() {
      if (this.#used) this.#latest();
      return this.#bookmark;
    }
  }

  Object.defineProperty(D1DatabaseSession, 'name', { value: 'D1DatabaseSession' });
  Object.defineProperty(D1DatabaseSession.prototype, Symbol.toStringTag, { value: 'D1DatabaseSession' });

  /** A session's prepared statement: the database's, noting each query in the session. */
  class SessionStatement {
    constructor(inner, seen) {
      this.inner = inner;
      this.seen = seen;
    }
    bind(...values) {
      return new SessionStatement(this.inner.bind(...values), this.seen);
    }
    async first(column) {
      const r = await this.inner.first(column);
      this.seen();
      return r;
    }
    async all() {
      const r = await this.inner.all();
      this.seen();
      return r;
    }
    async run() {
      const r = await this.inner.run();
      this.seen();
      return r;
    }
    async raw(options) {
      const r = await this.inner.raw(options);
      this.seen();
      return r;
    }
  }
  Object.defineProperty(SessionStatement, 'name', { value: 'D1PreparedStatement' });

  function wrapStatement(stmt, seen) {
    return new SessionStatement(stmt, seen);
  }

  return {
    create(binding) {
      return new D1Database(INTERNAL, { binding: String(binding), handle: 0 });
    },
  };
}
