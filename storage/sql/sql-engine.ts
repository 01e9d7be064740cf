// One D1 database on sql.js, run inside a V8 isolate of its own (sql-isolate.ts creates it and bundles this file into
// it; sql-database.ts drives it): the isolate can be stopped when a statement runs past its time limit, without
// blocking the host's event loop or other databases, and the host can also run a read in it synchronously, bounded by
// a short time budget (sql-database.ts, queryNow).
//
// Durability is the host's: every call that wrote returns a record (its statements, parameters, the time and the
// random seed it ran with), which the host appends to the database's segment log before the result is released.
// Replaying the records in order, on top of the last snapshot, gives the same rows: SQLite's clock is pinned to the
// record's time (`Date.now`, which sql.js's VFS reads), and `random()` / `randomblob()` draw from a generator seeded
// by the record, not from the OS. Nothing here may use Node: the isolate has only what sql-isolate.ts gives it.
import initSqlJs, { type Database, type Statement } from 'sql.js';
import { classify, hasParameters, hasSeveralStatements, isEmptySql, rewriteRandom, rewriteRowLimit, type StatementClass } from './sql-text.ts';
import type { SqlLimits, SqlValue, SqlRows, SqlErrorCode } from './sql-types.ts';

/** sql.js's compiled module (opaque here: the project's lib has no WebAssembly types). */
export type SqlWasmModule = object;
const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: SqlWasmModule, imports: object) => { exports: object } } }).WebAssembly;

/** A call's record: what replays it. */
export interface CallRecord {
  /**
   * `reopen`: the connection was closed and opened again here (a snapshot was taken), as a replay must do too.
   * `txn`: a committed transaction (begin ... commit), its calls in `parts`.
   */
  kind: 'query' | 'batch' | 'exec' | 'reopen' | 'txn';
  now: number;
  seed: [number, number, number, number];
  statements: Array<{ sql: string; params: SqlValue[] }>;
  parts?: TxnPart[];
}

/** One call that wrote inside a transaction: replayed in order, each with its own clock and seed, before the commit. */
export interface TxnPart {
  now: number;
  seed: [number, number, number, number];
  statements: Array<{ sql: string; params: SqlValue[] }>;
}

/** What the host sends; `seed` (four 32-bit words from the host's CSPRNG) seeds a call that may write. */
export type EngineRequest = (
  | { op: 'load'; snapshot: Uint8Array | null; records: CallRecord[] }
  | { op: 'query'; statements: Array<{ sql: string; params: SqlValue[] }> }
  | { op: 'batch'; statements: Array<{ sql: string; params: SqlValue[] }> }
  | { op: 'exec'; sql: string }
  /** SQL text of one or more statements, `params` bound to the last; the last one's rows (a Durable Object's sql.exec). */
  | { op: 'script'; sql: string; params: SqlValue[] }
  /** A transaction over several calls (a Durable Object's transactionSync): logged as one record at commit. */
  | { op: 'begin' }
  | { op: 'commit' }
  | { op: 'rollback' }
  | { op: 'export' }
) & { seed?: [number, number, number, number] };

export type EngineResponse =
  | { ok: true; results?: SqlRows[]; count?: number; durationMs?: number; record?: CallRecord; bytes?: Uint8Array }
  | { ok: false; code: SqlErrorCode; message: string; sqliteCode: string; statement?: number };

class Fail extends Error {
  readonly code: SqlErrorCode;
  readonly sqliteCode: string;
  readonly statement: number | undefined;
  constructor(code: SqlErrorCode, message: string, sqliteCode: string, statement?: number) {
    super(message);
    this.code = code;
    this.sqliteCode = sqliteCode;
    this.statement = statement;
  }
}

let limits: SqlLimits;
let SQL: Awaited<ReturnType<typeof initSqlJs>>;

/** Instantiates sql.js from the host's compiled module (synchronously: an isolate's async compile needs the host). */
export async function init(module: SqlWasmModule, databaseLimits: SqlLimits): Promise<void> {
  limits = databaseLimits;
  SQL = await initSqlJs({
    instantiateWasm(imports: object, done: (instance: object, module: SqlWasmModule) => void) {
      const instance = new wasm.Instance(module, imports);
      done(instance, module);
      return instance.exports;
    },
  } as Parameters<typeof initSqlJs>[0]);
}

/** UTF-8 length of `s` (lone surrogates count 3, as they are encoded). */
function utf8Bytes(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

const realNow = Date.now;
/** The pinned clock of the call running now (null: the real one). */
let pinnedNow: number | null = null;
Date.now = () => pinnedNow ?? realNow();

// xoshiro128** over the record's seed: what random() and randomblob() draw from.
const rs = new Uint32Array(4);
function seedRandom(seed: readonly number[]): void {
  rs[0] = seed[0]!;
  rs[1] = seed[1]!;
  rs[2] = seed[2]!;
  rs[3] = seed[3]!;
  if (rs[0] === 0 && rs[1] === 0 && rs[2] === 0 && rs[3] === 0) rs[0] = 1;
}
function next32(): number {
  const s = rs;
  const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
  const t = s[1]! << 9;
  s[2]! ^= s[0]!;
  s[3]! ^= s[1]!;
  s[1]! ^= s[2]!;
  s[0]! ^= s[3]!;
  s[2]! ^= t;
  s[3] = rotl(s[3]!, 11);
  return r;
}
function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let db: Database;
/** Whether a call changed a connection-level PRAGMA: they are reset after each call, so that a replay sees the same. */
let pragmasTouched = false;
let replaying = false;
/** The open transaction's calls that wrote (null: none open), logged together at commit. */
let txn: TxnPart[] | null = null;
/** The connection's last inserted rowid and the database's size, as of the last statement that changed it. */
let lastRowId = 0n;
/** The database's page size (SQLite's default until a snapshot says otherwise). */
let pageSize = 4096;
let currentSize = 0;

function openDatabase(bytes: Uint8Array | null): void {
  txn = null;
  statements.clear();
  own.clear();
  db = bytes ? new SQL.Database(bytes) : new SQL.Database();
  configure();
}

function configure(): void {
  // The file lives in sql.js's in-memory file system and durability is the host's log: the rollback journal stays in
  // memory and the connection keeps its lock, so that a read does not look for a hot journal through the emulated
  // file system first (an exception per lookup: half of a point read's time).
  db.run('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA temp_store = MEMORY;');
  // random(): 64 bits from two 32-bit draws (sql.js returns a JS function's numbers as REAL; the CASTs make an INTEGER).
  db.create_function('__edge_rand32', (signed: number) => (signed ? next32() | 0 : next32()));
  db.create_function('randomblob', (n: number) => {
    const len = Math.max(1, Math.min(Number(n) | 0, limits.databaseBytes));
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i += 4) {
      const v = next32();
      out[i] = v & 0xff;
      if (i + 1 < len) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < len) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < len) out[i + 3] = v >>> 24;
    }
    return out;
  });
  resetPragmas();
  currentSize = sizeBytes();
  lastRowId = bigScalar('SELECT last_insert_rowid()');
}

function resetPragmas(): void {
  pageSize = Number(db.exec('PRAGMA page_size')[0]!.values[0]![0]);
  // A replay applies what was acknowledged, whatever the limit is now.
  const maxPages = replaying ? 4294967294 : Math.max(1, Math.floor(limits.databaseBytes / pageSize));
  db.run(
    `PRAGMA foreign_keys = ON; PRAGMA recursive_triggers = OFF; PRAGMA case_sensitive_like = OFF; PRAGMA ignore_check_constraints = OFF; PRAGMA legacy_alter_table = OFF; PRAGMA reverse_unordered_selects = OFF; PRAGMA max_page_count = ${maxPages};`,
  );
  pragmasTouched = false;
}

/** Statements of the store's own bookkeeping, prepared once per connection (parsing them each time cost as much as the write). */
const own = new Map<string, Statement>();
function ownStatement(sql: string): Statement {
  let s = own.get(sql);
  if (!s) own.set(sql, (s = db.prepare(sql)));
  return s;
}

function sizeBytes(): number {
  return scalar('PRAGMA page_count') * pageSize;
}

function bigScalar(sql: string): bigint {
  const stmt = ownStatement(sql);
  try {
    stmt.step();
    return BigInt((stmt.get as (p: null, o: { useBigInt: boolean }) => Array<bigint | number>)(null, { useBigInt: true })[0]!);
  } finally {
    stmt.reset();
  }
}

function scalar(sql: string): number {
  const s = ownStatement(sql);
  try {
    s.step();
    return Number(s.get()[0]);
  } finally {
    s.reset();
  }
}

function sqliteFailure(err: unknown, statement?: number): Fail {
  if (err instanceof Fail) return err;
  const e = err as { message?: string; code?: string };
  const message = String(e?.message ?? err);
  const code = typeof e?.code === 'string' ? e.code : 'SQLITE_ERROR';
  if (code.startsWith('SQLITE_CONSTRAINT')) return new Fail('constraint', message, code, statement);
  if (code === 'SQLITE_FULL' || /database or disk is full/.test(message)) {
    return new Fail('too-large', `the database is full: it may hold at most ${limits.databaseBytes} bytes (the D1 database size limit)`, 'SQLITE_FULL', statement);
  }
  if (code === 'SQLITE_TOOBIG' || /too big|too large/.test(message)) return new Fail('too-large', message, 'SQLITE_TOOBIG', statement);
  if (err instanceof RangeError) return new Fail('invalid-sql', message, 'SQLITE_RANGE', statement);
  return new Fail('invalid-sql', message, code === 'undefined' ? 'SQLITE_ERROR' : code, statement);
}

/** What the engine reads off a statement's text before running it, kept per text (a point read's text repeats). */
interface TextFacts {
  cls: StatementClass;
  several: boolean;
}
const textFacts = new Map<string, TextFacts>();
function textOf(sql: string): TextFacts {
  let f = textFacts.get(sql);
  if (f === undefined) {
    f = { cls: classify(sql), several: hasSeveralStatements(sql) };
    if (textFacts.size >= 1024) textFacts.clear();
    textFacts.set(sql, f);
  }
  return f;
}

function checkStatement(sql: string, params: readonly SqlValue[], cls: StatementClass): void {
  if (cls.refused) throw new Fail('not-authorized', cls.refused, 'SQLITE_AUTH');
  // A replay applies what was acknowledged, whatever the limits are now.
  if (replaying) return;
  // (UTF-8 takes at most 3 bytes per UTF-16 unit: short text needs no count.)
  if (sql.length * 3 > limits.sqlBytes && utf8Bytes(sql) > limits.sqlBytes) throw new Fail('too-large', `the statement is ${utf8Bytes(sql)} bytes of SQL; D1 allows at most ${limits.sqlBytes}`, 'SQLITE_TOOBIG');
  if (params.length > limits.params) throw new Fail('too-large', `the statement binds ${params.length} parameters; D1 allows at most ${limits.params}`, 'SQLITE_TOOBIG');
}

function bindParams(stmt: Statement, params: readonly SqlValue[]): void {
  if (params.length === 0) return;
  stmt.bind(params as never);
}

interface RunState {
  wrote: boolean;
}

/** Runs one prepared statement to the end: its rows and meta. */
function runStatement(stmt: Statement, cls: StatementClass, state: RunState, started: number): SqlRows {
  const write = cls.kind !== 'read';
  const before = write ? scalar('SELECT total_changes()') : 0;
  const schemaBefore = write ? scalar('PRAGMA schema_version') : 0;
  const columns = stmt.getColumnNames();
  const rows: SqlValue[][] = [];
  while (stmt.step()) {
    if (rows.length >= limits.rowsPerQuery && !replaying) throw new Fail('too-large', `the statement returned more than ${limits.rowsPerQuery} rows (the limit per query); add a LIMIT`, 'SQLITE_TOOBIG');
    rows.push((stmt.get as (p: null, o: { useBigInt: boolean }) => SqlValue[])(null, { useBigInt: true }));
  }
  if (cls.kind === 'pragma-set') pragmasTouched = true;
  let changes = 0;
  let written = 0;
  let changed = false;
  if (write) {
    written = scalar('SELECT total_changes()') - before;
    changed = written > 0 || scalar('PRAGMA schema_version') !== schemaBefore;
    changes = cls.kind === 'write' && written > 0 ? db.getRowsModified() : 0;
    if (cls.kind === 'write' || changed) state.wrote = true;
    if (changed) {
      lastRowId = bigScalar('SELECT last_insert_rowid()');
      currentSize = sizeBytes();
    }
  }
  return {
    columns,
    rows,
    meta: {
      changes,
      lastRowId,
      rowsRead: rows.length,
      rowsWritten: written,
      changedDb: changed,
      sizeAfter: currentSize,
      durationMs: performance.now() - started,
    },
  };
}

/** Prepared statements by SQL text, most recently used last (SQLite prepares them again itself after a schema change). */
const statements = new Map<string, Statement>();
const STATEMENT_CACHE = 128;

function prepare(sql: string, statement?: number): Statement {
  const cached = statements.get(sql);
  if (cached) {
    // Most recently used last: only worth the reordering once the cache is full and evicts.
    if (statements.size >= STATEMENT_CACHE) {
      statements.delete(sql);
      statements.set(sql, cached);
    }
    return cached;
  }
  let stmt: Statement;
  try {
    stmt = db.prepare(rewriteRandom(sql));
  } catch (err) {
    // DELETE/UPDATE ... LIMIT, which D1's SQLite parses and sql.js's does not (chanfana's D1 delete endpoint sends one).
    const limited = /near "(?:LIMIT|ORDER)": syntax error/.test(String((err as Error)?.message)) ? rewriteRowLimit(sql) : null;
    if (limited === null) throw sqliteFailure(err, statement);
    try {
      stmt = db.prepare(rewriteRandom(limited));
    } catch (again) {
      throw sqliteFailure(again, statement);
    }
  }
  statements.set(sql, stmt);
  if (statements.size > STATEMENT_CACHE) {
    const [oldest, old] = statements.entries().next().value as [string, Statement];
    statements.delete(oldest);
    old.free();
  }
  return stmt;
}

/** A savepoint makes a call atomic inside an open transaction as well as outside one (where it acts as BEGIN). */
const SAVEPOINT = { open: 'SAVEPOINT __edge_call', commit: 'RELEASE __edge_call', rollback: 'ROLLBACK TO __edge_call; RELEASE __edge_call' };
const TRANSACTION = { open: 'BEGIN', commit: 'COMMIT', rollback: 'ROLLBACK' };

/**
 * Runs `statements` (one transaction when any may write; a savepoint when `nested`, as inside an open transaction);
 * returns their rows and whether the call wrote.
 */
function runStatements(statements: ReadonlyArray<{ sql: string; params: SqlValue[] }>, atomic: boolean, nested = false): { results: SqlRows[]; wrote: boolean } {
  const tx = nested ? SAVEPOINT : TRANSACTION;
  const facts = statements.map((s) => textOf(s.sql));
  statements.forEach((s, i) => {
    try {
      checkStatement(s.sql, s.params, facts[i]!.cls);
    } catch (err) {
      const f = sqliteFailure(err);
      throw new Fail(f.code, f.message, f.sqliteCode, i + 1);
    }
  });
  // Text of several statements may write after a first that reads.
  const inTx = atomic || facts.some((f) => f.cls.kind !== 'read' || f.several);
  const state: RunState = { wrote: false };
  const results: SqlRows[] = [];
  if (inTx) db.run(tx.open);
  try {
    statements.forEach((s, i) => {
      const started = performance.now();
      if (facts[i]!.several) {
        results.push(severalRows(runEach(s.sql, s.params, state, true, i + 1), started));
        return;
      }
      const stmt = prepare(s.sql, i + 1);
      try {
        bindParams(stmt, s.params);
        results.push(runStatement(stmt, facts[i]!.cls, state, started));
      } catch (err) {
        throw sqliteFailure(err, i + 1);
      } finally {
        // Back to the cache: reset (bindings cleared too) for the next use.
        stmt.reset();
      }
    });
    if (inTx) db.run(tx.commit);
  } catch (err) {
    if (inTx) {
      try {
        db.run(tx.rollback);
      } catch {
        // SQLite already rolled back (some errors end the transaction themselves).
      }
    }
    throw err;
  } finally {
    if (pragmasTouched) resetPragmas();
  }
  if (inTx && state.wrote) {
    // The size after the whole transaction (a statement's own figure was taken inside it).
    const size = sizeBytes();
    for (const r of results) if (r.meta.changedDb) r.meta.sizeAfter = size;
  }
  return { results, wrote: state.wrote };
}

/** The rows of SQL text that held no statement to run. */
function noRows(): SqlRows {
  return { columns: [], rows: [], meta: { changes: 0, lastRowId, rowsRead: 0, rowsWritten: 0, changedDb: false, sizeAfter: currentSize, durationMs: 0 } };
}

/**
 * A prepared statement whose text holds several statements (as D1 runs it, like a Durable Object's sql.exec): the
 * last one's rows, with the rows read and written, and the changes, of all of them.
 */
function severalRows(r: EachResult, started: number): SqlRows {
  const last = r.last ?? noRows();
  return { ...last, meta: { ...last.meta, changes: r.changes, rowsRead: r.rowsRead, rowsWritten: r.rowsWritten, changedDb: r.changed, durationMs: performance.now() - started } };
}

/** exec(): SQL text of several statements, split by SQLite itself, run in one transaction. */
function runExec(sql: string): { count: number; statements: Array<{ sql: string; params: SqlValue[] }>; wrote: boolean } {
  if (utf8Bytes(sql) > limits.sqlBytes * 100) throw new Fail('too-large', `exec() was given ${utf8Bytes(sql)} bytes of SQL; at most ${limits.sqlBytes * 100}`, 'SQLITE_TOOBIG');
  const r = runText(sql, [], TRANSACTION, false);
  return { count: r.count, statements: r.statements, wrote: r.wrote };
}

/**
 * A script: SQL text of one or more statements, `params` bound to the last one (as a Durable Object's sql.exec binds
 * them), run in a savepoint (atomic, inside an open transaction too). Returns the last statement's rows, with the rows
 * read and written by all of them.
 */
function runScript(sql: string, params: readonly SqlValue[]): { result: SqlRows; statements: Array<{ sql: string; params: SqlValue[] }>; wrote: boolean } {
  const bytes = utf8Bytes(sql);
  if (bytes > limits.sqlBytes) throw new Fail('too-large', `the query is ${bytes} bytes of SQL; at most ${limits.sqlBytes} are allowed`, 'SQLITE_TOOBIG');
  if (params.length > limits.params) throw new Fail('too-large', `the query binds ${params.length} parameters; at most ${limits.params} are allowed`, 'SQLITE_TOOBIG');
  const started = performance.now();
  const r = runText(sql, params, SAVEPOINT, true);
  const last = r.last ?? noRows();
  if (r.wrote) last.meta.sizeAfter = sizeBytes();
  last.meta = { ...last.meta, rowsRead: r.rowsRead, rowsWritten: r.rowsWritten, durationMs: performance.now() - started };
  return { result: last, statements: r.statements, wrote: r.wrote };
}

/** SQL text split into statements by SQLite itself, run one after another in `tx`, `params` bound to the last one. */
function runText(sql: string, params: readonly SqlValue[], tx: typeof TRANSACTION, strict: boolean) {
  const state: RunState = { wrote: false };
  db.run(tx.open);
  let r: EachResult;
  try {
    r = runEach(sql, params, state, strict, null);
    db.run(tx.commit);
  } catch (err) {
    try {
      db.run(tx.rollback);
    } catch {
      // SQLite already rolled back (some errors end the transaction themselves): none is open any more.
      txn = null;
    }
    throw err;
  } finally {
    if (pragmasTouched) resetPragmas();
  }
  return { ...r, wrote: state.wrote };
}

/** What the statements were, as they ran (for the log), and the last one's rows, with what all of them read and wrote. */
interface EachResult {
  count: number;
  statements: Array<{ sql: string; params: SqlValue[] }>;
  last: SqlRows | null;
  rowsRead: number;
  rowsWritten: number;
  changes: number;
  /** Whether any of them changed the database. */
  changed: boolean;
}

/** workerd's words (a Durable Object's sql.exec, D1's prepare) for parameters in a statement before the last. */
const PARAMS_BEFORE_LAST = 'When executing multiple SQL statements in a single call, only the last statement can have parameters.';

/**
 * Runs SQL text split into statements by SQLite itself, one after another, in the transaction open now, `params`
 * bound to the last one. `strict`: a statement before the last may not have parameters at all (as in workerd), rather
 * than run with them unbound (NULL). Errors name statement `at`, or (null) the statement of the text that failed.
 */
function runEach(sql: string, params: readonly SqlValue[], state: RunState, strict: boolean, at: number | null): EachResult {
  const statements: Array<{ sql: string; params: SqlValue[] }> = [];
  let last: SqlRows | null = null;
  let rowsRead = 0;
  let rowsWritten = 0;
  let changes = 0;
  let changed = false;
  let n = 0;
  const it = db.iterateStatements(rewriteRandom(sql));
  for (;;) {
    let stmt: Statement;
    try {
      const r = it.next();
      if (r.done) break;
      stmt = r.value;
    } catch (err) {
      throw sqliteFailure(err, at ?? n + 1);
    }
    n++;
    try {
      const text = stmt.getSQL();
      const cls = classify(text);
      if (cls.refused) throw new Fail('not-authorized', cls.refused, 'SQLITE_AUTH', at ?? n);
      const isLast = isEmptySql(it.getRemainingSQL());
      if (strict && !isLast && !replaying && hasParameters(text)) throw new Fail('invalid-sql', PARAMS_BEFORE_LAST, 'SQLITE_ERROR', at ?? n);
      const bound = params.length > 0 && isLast ? [...params] : [];
      bindParams(stmt, bound);
      last = runStatement(stmt, cls, state, performance.now());
      rowsRead += last.meta.rowsRead;
      rowsWritten += last.meta.rowsWritten;
      changes += last.meta.changes;
      changed ||= last.meta.changedDb;
      statements.push({ sql: text, params: bound });
    } catch (err) {
      throw sqliteFailure(err, at ?? n);
    } finally {
      stmt.free();
    }
  }
  return { count: n, statements, last, rowsRead, rowsWritten, changes, changed };
}

/** The seed the host sent with the call running now. */
let callSeed: [number, number, number, number] = [1, 2, 3, 4];
function newSeed(): [number, number, number, number] {
  return callSeed;
}

function withPinned<T>(now: number, seed: readonly number[], fn: () => T): T {
  pinnedNow = now;
  seedRandom(seed);
  try {
    return fn();
  } finally {
    pinnedNow = null;
  }
}

function replay(rec: CallRecord, index: number): void {
  if (rec.kind === 'reopen') {
    // export() frees every prepared statement itself.
    statements.clear();
    own.clear();
    db.export();
    configure();
    return;
  }
  try {
    if (rec.kind === 'txn') {
      db.run(TRANSACTION.open);
      try {
        for (const part of rec.parts ?? []) withPinned(part.now, part.seed, () => runStatements(part.statements, true, true));
        db.run(TRANSACTION.commit);
      } catch (err) {
        db.run(TRANSACTION.rollback);
        throw err;
      }
      return;
    }
    withPinned(rec.now, rec.seed, () => {
      if (rec.kind === 'exec') runStatements(rec.statements, true);
      else runStatements(rec.statements, rec.kind === 'batch');
    });
  } catch (err) {
    throw new Fail('internal', `replaying write ${index + 1} of the database's log failed (${(err as Error).message}): the log and the snapshot disagree`, 'SQLITE_CORRUPT');
  }
}

function handle(req: EngineRequest): EngineResponse {
  switch (req.op) {
    case 'load': {
      openDatabase(req.snapshot);
      replaying = true;
      resetPragmas();
      try {
        req.records.forEach(replay);
      } finally {
        replaying = false;
        resetPragmas();
      }
      return { ok: true };
    }
    case 'query':
    case 'batch': {
      const now = realNow();
      const seed = newSeed();
      const started = performance.now();
      const { results, wrote } = withPinned(now, seed, () => runStatements(req.statements, req.op === 'batch'));
      const record: CallRecord | undefined = wrote ? { kind: req.op, now, seed, statements: req.statements } : undefined;
      return { ok: true, results, durationMs: performance.now() - started, ...(record ? { record } : {}) };
    }
    case 'exec': {
      const now = realNow();
      const seed = newSeed();
      const started = performance.now();
      const r = withPinned(now, seed, () => runExec(req.sql));
      const record: CallRecord | undefined = r.wrote ? { kind: 'exec', now, seed, statements: r.statements } : undefined;
      return { ok: true, count: r.count, durationMs: performance.now() - started, ...(record ? { record } : {}) };
    }
    case 'script': {
      const now = realNow();
      const seed = newSeed();
      const r = withPinned(now, seed, () => runScript(req.sql, req.params));
      if (!r.wrote) return { ok: true, results: [r.result], durationMs: r.result.meta.durationMs };
      // Inside a transaction the write is logged with it, at commit.
      if (txn) {
        txn.push({ now, seed, statements: r.statements });
        return { ok: true, results: [r.result], durationMs: r.result.meta.durationMs };
      }
      const record: CallRecord = { kind: 'exec', now, seed, statements: r.statements };
      return { ok: true, results: [r.result], durationMs: r.result.meta.durationMs, record };
    }
    case 'begin': {
      if (txn) throw new Fail('invalid-sql', 'a transaction is already open', 'SQLITE_MISUSE');
      db.run(TRANSACTION.open);
      txn = [];
      return { ok: true };
    }
    case 'commit': {
      if (!txn) throw new Fail('internal', 'the transaction was rolled back by SQLite after an error in it; nothing of it was applied', 'SQLITE_ABORT');
      const parts = txn;
      txn = null;
      try {
        db.run(TRANSACTION.commit);
      } catch (err) {
        // A deferred constraint failed: the transaction is still open, and goes.
        db.run(TRANSACTION.rollback);
        throw err;
      }
      if (parts.length === 0) return { ok: true };
      const record: CallRecord = { kind: 'txn', now: parts[0]!.now, seed: parts[0]!.seed, statements: [], parts };
      return { ok: true, record };
    }
    case 'rollback': {
      if (txn) {
        txn = null;
        db.run(TRANSACTION.rollback);
      }
      return { ok: true };
    }
    case 'export': {
      // sql.js's export() closes and reopens the connection (freeing every prepared statement): functions and
      // PRAGMAs are set up again.
      statements.clear();
      own.clear();
      const bytes = db.export();
      configure();
      return { ok: true, bytes };
    }
  }
}

/** One call: its answer, a failure included (nothing thrown reaches the host but an isolate-level one). */
export function respond(req: EngineRequest): EngineResponse {
  if (req.seed) callSeed = req.seed;
  try {
    return handle(req);
  } catch (err) {
    const f = sqliteFailure(err);
    return { ok: false, code: f.code, message: f.message, sqliteCode: f.sqliteCode, ...(f.statement !== undefined ? { statement: f.statement } : {}) };
  }
}

/**
 * A plain read answered as JSON text (sql-database.ts, queryNowJson: the host hands the text to a JS worker's D1
 * facade, which parses it): `[columns, rows, meta]`, arrays only (JSON.parse then makes no property names), values as
 * D1 returns them to JavaScript (INTEGER and REAL as numbers, TEXT as strings, BLOB as arrays of byte values, NULL as
 * null; an INTEGER beyond 2^53 rounds to the nearest double as Number() would round it), meta as SqlMeta's values in
 * its order: changes, lastRowId, rowsRead, rowsWritten, changedDb, sizeAfter, durationMs. The arguments are
 * primitives, so that the call copies nothing but strings: the seed's four words, then the statement's parameters.
 * Anything but a read's rows (a failure, or a record: the host only sends plain reads) comes back as respond's answer.
 */
export function readJson(sql: string, s0: number, s1: number, s2: number, s3: number, ...params: SqlValue[]): string | EngineResponse {
  const res = respond({ op: 'query', statements: [{ sql, params }], seed: [s0, s1, s2, s3] });
  if (!res.ok || res.record || !res.results) return res;
  return rowsJson(res.results[0]!);
}

function rowsJson(r: SqlRows): string {
  let out = '[[';
  for (let i = 0; i < r.columns.length; i++) out += (i === 0 ? '' : ',') + JSON.stringify(r.columns[i]);
  out += '],[';
  for (let i = 0; i < r.rows.length; i++) {
    const row = r.rows[i]!;
    out += i === 0 ? '[' : ',[';
    for (let j = 0; j < row.length; j++) out += (j === 0 ? '' : ',') + jsonValue(row[j]!);
    out += ']';
  }
  const m = r.meta;
  return `${out}],[${m.changes},${m.lastRowId},${m.rowsRead},${m.rowsWritten},${m.changedDb},${m.sizeAfter},${jsonValue(m.durationMs)}]]`;
}

/** One value as JSON text that JSON.parse turns into what D1 gives JavaScript. */
function jsonValue(v: SqlValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'bigint':
      // JSON.parse rounds the digits to the nearest double, exactly as Number(v) would.
      return String(v);
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
      // SQLite's REAL can be infinite (it has no NaN): a literal JSON.parse reads as ±Infinity.
      return v > 0 ? '1e999' : v < 0 ? '-1e999' : 'null';
    case 'string':
      return JSON.stringify(v);
    default:
      return `[${Array.prototype.join.call(v, ',')}]`;
  }
}
