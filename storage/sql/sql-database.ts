// One D1 database: its SQL runs in a V8 isolate of its own (sql-isolate.ts, "the thread" below), its durability is
// here.
//
// Calls go to the thread in order and run one at a time. A call that wrote comes back with a record (statements,
// parameters, time, random seed), appended to the database's segment log (storage/log) before the call's result is
// released: an acknowledged write survives SIGKILL. A result that only read waits for the writes that ran before it
// to be durable (it may have seen them), not for anything after. Appends group-commit while the thread runs the next
// call. A call running past `statementMs` is stopped by terminating the thread; the database is loaded again (the
// last snapshot, then the records since) and the calls queued behind it go on. Snapshots (the SQLite file, written
// beside the log) bound the log and recovery: taken past `snapshotBytes` of records, on dump() and when the
// database goes idle.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SegmentLog, syncDir, type Loc } from '../log/segment-log.ts';
import { SqlError, type SqlDatabaseHandle, type SqlErrorCode, type SqlExecResult, type SqlLimits, type SqlRows, type SqlStatement, type SqlValue } from './sql-types.ts';
import type { SqlWasmModule } from './sql-engine.ts';
import { SqlIsolate, SqlIsolateTimeout, type SqlCallRequest as ThreadRequest, type SqlCallResponse as ThreadResponse } from './sql-isolate.ts';
import { classify, hasSeveralStatements } from './sql-text.ts';
import { serialize } from 'node:v8';

export interface SqlDatabaseOptions {
  /** The database's directory: `log/` and `snapshot-<seq>.sqlite`. */
  dir: string;
  /** sql.js's WebAssembly module, compiled once per host. */
  module: SqlWasmModule;
  limits: SqlLimits;
  /** Records since the last snapshot, in bytes, past which a snapshot is taken. Default 8 MiB. */
  snapshotBytes?: number;
  /** The thread is stopped (after a snapshot) once no call came for this long. Default 60 s. */
  idleMs?: number;
  onTornTail?(info: { file: string; offset: number; droppedBytes: number; reason: string }): void;
  /** Told when the database's thread starts (the store keeps the number of running threads under its cap). */
  onThreadStart?(): void;
}

interface Call {
  req: ThreadRequest;
  resolve(res: ThreadResponse & { ok: true }): void;
  reject(err: unknown): void;
}

interface LoggedRecord {
  seq: bigint;
  loc: Loc;
  payload: Uint8Array;
}

const SNAPSHOT_RE = /^snapshot-([0-9a-f]{16})\.sqlite$/;
const REOPEN = serialize({ kind: 'reopen' });

/**
 * The time budget of a read run on the host's thread (readNow), and how long, after one ran past it (it was stopped:
 * the database is loaded again), its SQL text and every read of that database go the other way. Wall-clock time, so
 * not a small figure: a thread preempted on a busy machine must not look like a slow read.
 */
const NOW_BUDGET_MS = 20;
const NOW_OFF_MS = 10_000;
const RESTARTED = Symbol('restarted');

/** A single statement that cannot change the database (SELECT, VALUES, EXPLAIN, a PRAGMA that reads). */
const plainReads = new Map<string, boolean>();
function isPlainRead(sql: string): boolean {
  let yes = plainReads.get(sql);
  if (yes === undefined) {
    const c = classify(sql);
    yes = c.kind === 'read' && !c.refused && !hasSeveralStatements(sql);
    if (plainReads.size >= 4096) plainReads.clear();
    plainReads.set(sql, yes);
  }
  return yes;
}

function seqHex(seq: bigint): string {
  return seq.toString(16).padStart(16, '0');
}

function errorOf(res: ThreadResponse & { ok: false }): SqlError {
  return new SqlError(res.code, res.message, res.sqliteCode, res.statement);
}

export class SqlDatabase implements SqlDatabaseHandle {
  readonly id: string;
  private readonly opts: Required<Omit<SqlDatabaseOptions, 'onTornTail' | 'onThreadStart'>> & Pick<SqlDatabaseOptions, 'onTornTail' | 'onThreadStart'>;
  private thread: SqlIsolate | null = null;
  /** Settles when the thread has loaded the database (null: no thread). */
  private starting: Promise<void> | null = null;
  private log: SegmentLog | null = null;
  /** Sent to the thread, answered in this order; the first is running. */
  private inflight: Call[] = [];
  /**
   * Waiting for the thread to finish the call in flight (one at a time): reads among them then run at once on the
   * host's thread (pump), the others are sent.
   */
  private queue: Call[] = [];
  /** Waiting for the thread to (re)start. */
  private backlog: Call[] = [];
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** When the last call was answered (performance.now()). */
  private usedAt = 0;
  /** The last record's sequence number, and the snapshot's. */
  private seq = 0n;
  private snapshotSeq = 0n;
  /** The last record known durable (every one before it is too): what bookmarks name. */
  private durableSeq = 0n;
  /** Records since the snapshot (what a reload replays), and their bytes. */
  private records: LoggedRecord[] = [];
  private recordBytes = 0;
  /** Settles when every record appended so far is durable (rejects if one could not be). */
  private durable: Promise<void> = Promise.resolve();
  private snapshotting: Promise<Uint8Array> | null = null;
  private closed = false;
  /**
   * The transaction open on the thread (begin ... commit), named by its token; `lost` when the thread was restarted
   * under it (its writes are gone: every later call of it fails with that error).
   */
  private txn: { token: number; lost: SqlError | null } | null = null;
  private nextTxn = 1;
  /** Counts the thread's stops: a start that finds it changed lost its place to a later one. */
  private generation = 0;
  /** Reads that ran past the time budget of readNow (by SQL text), until when (performance.now()): they are sent. */
  private readonly slowReads = new Map<string, number>();
  /** queryNow is off until then (performance.now()), after one of its reads ran past its budget. */
  private nowOffUntil = 0;
  /** Appends and fdatasync calls of the logs this database closed (the log is opened again after idling or a failure). */
  private readonly closedLogStats = { appends: 0, fsyncs: 0 };

  constructor(id: string, options: SqlDatabaseOptions) {
    this.id = id;
    this.opts = { snapshotBytes: 8 * 1024 * 1024, idleMs: 60_000, ...options };
  }

  async query(statement: SqlStatement): Promise<SqlRows> {
    const res = await this.call({ op: 'query', statements: [{ sql: statement.sql, params: [...statement.params] }] });
    return res.results![0]!;
  }

  /**
   * A read answered at once, on the caller's thread, when it can be: the database is loaded, no call is in flight or
   * waiting (the read would have queued behind it), every write so far is durable (a read may see them all), and the
   * statement is one that cannot write. Otherwise (or past a budget of NOW_BUDGET_MS) null: the caller uses query().
   * A read past the budget costs the host that much once: its text is remembered, queryNow stays off for a while
   * for this database, and the database is loaded again (the engine was stopped mid-statement).
   */
  queryNow(statement: SqlStatement): SqlRows | null {
    if (!this.canReadNow()) return null;
    const res = this.readNow({ op: 'query', statements: [{ sql: statement.sql, params: [...statement.params] }] });
    if (res === null || res === RESTARTED) return null;
    this.touch();
    if (!res.ok) throw errorOf(res);
    return res.results![0]!;
  }

  /**
   * As queryNow, the rows as JSON text (sql-engine.ts, readJson: what a JS worker's D1 facade parses), so that they
   * cross from the SQL isolate to the worker's as one string rather than as objects converted at every step.
   */
  queryNowJson(sql: string, params: readonly SqlValue[]): string | null {
    if (!this.canReadNow()) return null;
    const thread = this.thread;
    if (!thread || !this.mayReadNow(sql)) return null;
    const res = this.bounded(sql, () => thread.readSync(sql, params, NOW_BUDGET_MS));
    if (res === RESTARTED) return null;
    this.touch();
    if (typeof res === 'string') return res;
    if (!res.ok) throw errorOf(res);
    // readJson answers a plain read with its text: anything else is a bug, said as such.
    throw new SqlError('internal', `database ${this.id}: a plain read was answered with more than rows`, 'SQLITE_INTERNAL');
  }

  /** No call in flight or waiting (a read would have queued behind it), and every write so far durable (a read may see them all). */
  private canReadNow(): boolean {
    return !this.closed && !this.starting && this.inflight.length === 0 && this.queue.length === 0 && this.backlog.length === 0 && this.seq === this.durableSeq;
  }

  async batch(statements: readonly SqlStatement[]): Promise<SqlRows[]> {
    if (statements.length > this.opts.limits.batchStatements) {
      throw new SqlError('too-large', `a batch holds at most ${this.opts.limits.batchStatements} statements; this one has ${statements.length}`, 'SQLITE_TOOBIG');
    }
    if (statements.length === 0) return [];
    const res = await this.call({ op: 'batch', statements: statements.map((s) => ({ sql: s.sql, params: [...s.params] })) });
    return res.results!;
  }

  async exec(sql: string): Promise<SqlExecResult> {
    const res = await this.call({ op: 'exec', sql });
    return { count: res.count ?? 0, durationMs: res.durationMs ?? 0 };
  }

  /**
   * SQL text of one or more statements, `params` bound to the last (a Durable Object's sql.exec): the last statement's
   * rows, with the rows read and written by all of them. Atomic; inside transaction `txn` (begin()) it is logged, and
   * durable, with the transaction's commit.
   */
  async script(sql: string, params: readonly SqlValue[], txn?: number): Promise<SqlRows> {
    this.checkTxn(txn);
    const res = await this.call({ op: 'script', sql, params: [...params] });
    return res.results![0]!;
  }

  /**
   * Opens a transaction over several calls (a Durable Object's transactionSync); returns its token for script(),
   * commit() and rollback(). A transaction still open from before is rolled back first: its owner is gone (calls of
   * one database come from one owner, who waits for each).
   */
  async begin(): Promise<number> {
    this.abandon();
    const token = this.nextTxn++;
    this.txn = { token, lost: null };
    try {
      await this.call({ op: 'begin' });
    } catch (err) {
      if (this.txn?.token === token) this.txn = null;
      throw err;
    }
    return token;
  }

  /** Applies transaction `txn`: resolves once its writes are durable. */
  async commit(txn: number): Promise<void> {
    this.checkTxn(txn);
    this.txn = null;
    await this.call({ op: 'commit' });
  }

  /** Drops transaction `txn`'s writes. */
  async rollback(txn: number): Promise<void> {
    if (this.txn?.token !== txn) return;
    const lost = this.txn.lost;
    this.txn = null;
    if (!lost) await this.call({ op: 'rollback' });
  }

  /** A call in transaction `txn` (undefined: outside any); one outside while a transaction is open ends that one. */
  private checkTxn(txn: number | undefined): void {
    if (txn === undefined) return this.abandon();
    if (this.txn?.token !== txn) throw new SqlError('internal', `database ${this.id}: the transaction is no longer open`, 'SQLITE_MISUSE');
    if (this.txn.lost) throw this.txn.lost;
  }

  /** Rolls back the open transaction, whose owner went away without ending it. */
  private abandon(): void {
    const t = this.txn;
    if (!t) return;
    this.txn = null;
    if (!t.lost) this.call({ op: 'rollback' }).catch(() => {});
  }

  /** The thread was restarted under an open transaction: its writes are gone. */
  private loseTxn(why: string): void {
    if (this.txn && !this.txn.lost) this.txn.lost = new SqlError('internal', `database ${this.id}: the transaction was rolled back (${why}); nothing of it was applied`, 'SQLITE_ABORT');
  }

  /** The database as a SQLite file (also written as the new snapshot). */
  dump(): Promise<Uint8Array> {
    return this.snapshot();
  }

  bookmark(): string {
    return seqHex(this.durableSeq);
  }

  /** Whether the database's thread is running (it stops after `idleMs` without a call). */
  get running(): boolean {
    return this.thread !== null || this.starting !== null;
  }

  /** Records appended to this database's log and fdatasync calls made for them, since it was first opened (read-only). */
  get logStats(): { appends: number; fsyncs: number } {
    const s = this.log?.stats;
    return { appends: this.closedLogStats.appends + (s?.appends ?? 0), fsyncs: this.closedLogStats.fsyncs + (s?.fsyncs ?? 0) };
  }

  private keepLogStats(log: SegmentLog | null): void {
    if (!log) return;
    this.closedLogStats.appends += log.stats.appends;
    this.closedLogStats.fsyncs += log.stats.fsyncs;
  }

  /** Stops the thread and closes the log; calls in flight finish first. A later call opens the database again. */
  async close(): Promise<void> {
    this.closed = true;
    await this.shutdown();
  }

  // ---- calls ----

  private call(req: ThreadRequest): Promise<ThreadResponse & { ok: true }> {
    if (this.closed) return Promise.reject(new SqlError('internal', `database ${this.id} is closed`, 'SQLITE_MISUSE'));
    this.touch();
    return new Promise((resolve, reject) => {
      const c: Call = { req, resolve, reject };
      if (this.thread && !this.starting) {
        this.queue.push(c);
        this.pump();
      } else {
        this.backlog.push(c);
        this.start();
      }
    });
  }

  /**
   * Runs what is queued while the thread is free: a plain read at once on this thread (no hand-off to the isolate's
   * own thread and back, ~0.1 ms less), anything else sent to it, one call at a time.
   */
  private pump(): void {
    while (this.thread && !this.starting && this.inflight.length === 0 && this.queue.length > 0) {
      const c = this.queue.shift()!;
      if (!this.runNow(c)) this.send(c);
    }
  }

  private send(c: Call): void {
    this.inflight.push(c);
    this.thread!.postMessage(c.req);
    if (this.inflight.length === 1) this.arm();
  }

  /**
   * Runs call `c` here and now when it is a plain read within NOW_BUDGET_MS (true: it was taken care of, its answer
   * released as onMessage would); false when it is not one (the caller sends it).
   */
  private runNow(c: Call): boolean {
    const res = this.readNow(c.req);
    if (res === null) return false;
    if (res === RESTARTED) {
      // Stopped past the budget: it runs again, the ordinary way, once the database is loaded again.
      this.backlog.unshift(c);
      this.start();
      return true;
    }
    this.answer(c, res);
    return true;
  }

  /**
   * A plain read run on this thread: its response, null when `req` is not one (or the fast way is off), RESTARTED
   * when it ran past NOW_BUDGET_MS (its text is remembered as slow, the fast way is off for NOW_OFF_MS for this
   * database, and the database is loaded again: the engine was stopped mid-statement).
   */
  private readNow(req: ThreadRequest): ThreadResponse | null | typeof RESTARTED {
    const thread = this.thread;
    if (!thread || req.op !== 'query' || req.statements.length !== 1) return null;
    const sql = req.statements[0]!.sql;
    if (!this.mayReadNow(sql)) return null;
    return this.bounded(sql, () => thread.runSync(req, NOW_BUDGET_MS));
  }

  /** Whether `sql` may run now on this thread: a plain read, not known to be slow, the fast way on, no transaction or snapshot under way. */
  private mayReadNow(sql: string): boolean {
    if (this.txn || this.snapshotting || !isPlainRead(sql)) return false;
    if (this.slowReads.size > 0) {
      const until = this.slowReads.get(sql);
      if (until !== undefined) {
        if (performance.now() < until) return false;
        this.slowReads.delete(sql);
      }
    }
    if (this.nowOffUntil !== 0) {
      if (performance.now() < this.nowOffUntil) return false;
      this.nowOffUntil = 0;
    }
    return true;
  }

  /** Runs `sql` on this thread within NOW_BUDGET_MS: its answer, or RESTARTED past the budget (see readNow). */
  private bounded<T>(sql: string, run: () => T): T | typeof RESTARTED {
    try {
      return run();
    } catch (err) {
      if (this.slowReads.size >= 1024) this.slowReads.clear();
      this.nowOffUntil = performance.now() + NOW_OFF_MS;
      this.slowReads.set(sql, this.nowOffUntil);
      if (err instanceof SqlIsolateTimeout) {
        this.stopThread();
        this.start();
      } else {
        this.fail(new SqlError('internal', `database ${this.id}: its SQL isolate failed (${(err as Error).message})`, 'SQLITE_INTERNAL'));
      }
      return RESTARTED;
    }
  }

  /** The time limit of the call now running (the first in flight). */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const head = this.inflight[0];
    if (!head) return;
    // Snapshots and loads are the host's own work, not a statement.
    if (head.req.op === 'export') return;
    this.timer = setTimeout(() => this.interrupt(head), this.opts.limits.statementMs);
  }

  private onMessage(thread: SqlIsolate, res: ThreadResponse): void {
    if (thread !== this.thread) return;
    const c = this.inflight.shift();
    this.arm();
    this.touch();
    if (c) this.answer(c, res);
    this.pump();
  }

  /** Releases call `c`'s answer: once what it wrote, and every write before it (it may have seen them), is durable. */
  private answer(c: Call, res: ThreadResponse): void {
    if (!res.ok) {
      const err = errorOf(res);
      // An error may tell of rows it saw (a UNIQUE failure): released after the writes before it are durable.
      if (this.seq === this.durableSeq) return c.reject(err);
      this.durable.then(
        () => c.reject(err),
        (e: unknown) => c.reject(e),
      );
      return;
    }
    if (!res.record && c.req.op !== 'export' && this.seq === this.durableSeq) return c.resolve(res);
    let after = this.durable;
    if (res.record) after = this.append(res.record);
    // sql.js reopened its connection to export: a replay from an older snapshot must do the same at this point.
    if (c.req.op === 'export') {
      after = this.append(REOPEN);
      (res as { seq?: bigint }).seq = this.seq;
    }
    after.then(
      () => c.resolve(res),
      (e: unknown) => c.reject(e),
    );
  }

  private append(record: Uint8Array): Promise<void> {
    const seq = ++this.seq;
    const payload = new Uint8Array(8 + record.byteLength);
    new DataView(payload.buffer).setBigUint64(0, seq, true);
    payload.set(record, 8);
    const log = this.log!;
    const prev = this.durable;
    const p = log.append(payload).then(
      (loc) => {
        this.records.push({ seq, loc, payload });
        this.recordBytes += payload.byteLength;
        // Not under an open transaction: the snapshot (sql.js's export) reopens the connection.
        if (this.recordBytes > this.opts.snapshotBytes && !this.snapshotting && !this.txn) this.snapshot().catch(() => {});
      },
      (err: unknown) => {
        // The thread holds a write the log does not: start again from what is durable.
        this.fail(new SqlError('internal', `database ${this.id}: a write could not be made durable (${(err as Error).message})`, 'SQLITE_IOERR'));
        throw err;
      },
    );
    // Durable in order: a record counts only once every one before it does.
    this.durable = Promise.all([prev, p]).then(() => {
      if (seq > this.durableSeq) this.durableSeq = seq;
    });
    this.durable.catch(() => {});
    return this.durable;
  }

  /** A call ran past its time: the thread is stopped and the database loaded again. */
  private interrupt(head: Call): void {
    if (this.inflight[0] !== head) return;
    const ms = this.opts.limits.statementMs;
    this.inflight.shift();
    head.reject(new SqlError('timeout', `the statement ran for more than ${ms} ms (the D1 statement time limit) and was interrupted`, 'SQLITE_INTERRUPT'));
    this.loseTxn(`a statement in it ran for more than ${ms} ms`);
    // Calls behind it had not started: they run on the next thread.
    this.backlog = [...this.inflight, ...this.queue, ...this.backlog];
    this.inflight = [];
    this.queue = [];
    this.stopThread();
    this.start();
  }

  /** The thread's state cannot be trusted (a failed append, a crashed thread): every call in flight fails. */
  private fail(err: unknown): void {
    this.loseTxn((err as Error).message);
    const calls = [...this.inflight];
    this.inflight = [];
    // Calls not sent yet had not started: they run on the next thread.
    this.backlog = [...this.queue, ...this.backlog];
    this.queue = [];
    this.stopThread();
    for (const c of calls) c.reject(err);
    // The log refuses appends after a failure: it is opened again (and the records read again) by the next start.
    const log = this.log;
    this.keepLogStats(log);
    this.log = null;
    this.records = [];
    this.recordBytes = 0;
    void log?.close().catch(() => {});
    this.durable = Promise.resolve();
    if (this.backlog.length > 0) this.start();
  }

  private stopThread(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const t = this.thread;
    this.thread = null;
    this.starting = null;
    if (t) t.terminate();
  }

  // ---- start, load, recovery ----

  private start(): void {
    if (this.starting) return;
    this.opts.onThreadStart?.();
    const starting = this.load().then(
      () => {
        if (this.starting !== starting) return;
        this.starting = null;
        this.queue = [...this.queue, ...this.backlog];
        this.backlog = [];
        this.pump();
      },
      (err: unknown) => {
        if (this.starting !== starting) return;
        this.starting = null;
        this.stopThread();
        const calls = this.backlog;
        this.backlog = [];
        for (const c of calls) c.reject(err);
      },
    );
    this.starting = starting;
  }

  /** Opens the log (once), starts a thread and loads the snapshot and the records since into it. */
  private async load(): Promise<void> {
    // Writes still being appended are part of what is loaded.
    await this.durable.catch(() => {});
    if (!this.log) await this.openLog();
    const snapshot = this.snapshotSeq > 0n ? await readFile(this.snapshotPath(this.snapshotSeq)) : null;
    const generation = this.generation;
    const thread = await SqlIsolate.create(this.opts.module, this.opts.limits);
    if (generation !== this.generation) {
      // Stopped while the isolate was being made (a failure, an interrupt): a later start loads its own.
      thread.terminate();
      throw new SqlError('internal', `database ${this.id}: its SQL isolate was stopped while starting`, 'SQLITE_INTERNAL');
    }
    this.thread = thread;
    await new Promise<void>((resolve, reject) => {
      thread.on('message', (m: ThreadResponse) => {
        if (this.thread !== thread) return;
        if (this.starting !== null && this.inflight.length === 0) {
          // The answer to `load`.
          if (m.ok) resolve();
          else reject(errorOf(m as ThreadResponse & { ok: false }));
          return;
        }
        this.onMessage(thread, m);
      });
      thread.on('error', (err) => {
        if (this.thread !== thread) return;
        if (this.starting !== null && this.inflight.length === 0) reject(err);
        else this.fail(new SqlError('internal', `database ${this.id}: its SQL isolate failed (${err.message})`, 'SQLITE_INTERNAL'));
      });
      this.records.sort((a, b) => (a.seq < b.seq ? -1 : 1));
      thread.postMessage({ op: 'load', snapshot: snapshot ? new Uint8Array(snapshot) : null, records: this.records.map((r) => r.payload.subarray(8)) });
    });
  }

  private snapshotPath(seq: bigint): string {
    return join(this.opts.dir, `snapshot-${seqHex(seq)}.sqlite`);
  }

  private async openLog(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    // The newest snapshot is in force; older ones and unfinished ones are left-overs.
    let newest = 0n;
    const names = await readdir(this.opts.dir);
    for (const n of names) {
      const m = SNAPSHOT_RE.exec(n);
      if (m) newest = BigInt(`0x${m[1]}`) > newest ? BigInt(`0x${m[1]}`) : newest;
    }
    for (const n of names) {
      const m = SNAPSHOT_RE.exec(n);
      if ((m && BigInt(`0x${m[1]}`) !== newest) || n.endsWith('.tmp')) await rm(join(this.opts.dir, n), { force: true });
    }
    this.snapshotSeq = newest;
    this.seq = newest;
    this.durableSeq = newest;
    const records: LoggedRecord[] = [];
    let bytes = 0;
    let bad: Error | null = null;
    this.log = await SegmentLog.open(join(this.opts.dir, 'log'), {
      segmentBytes: 16 * 1024 * 1024,
      headBytes: 64 * 1024 * 1024,
      onRecord: ({ loc, head }) => {
        const seq = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
        if (seq <= newest) return;
        if (seq !== this.seq + 1n) {
          bad ??=
            this.seq === newest
              ? new Error(`database ${this.id}: its log (${join(this.opts.dir, 'log')}) goes on from write ${seq}, but no snapshot holds the writes before it; refusing to open rather than lose them`)
              : new Error(`database ${this.id}: write ${seq} follows write ${this.seq} in its log (${join(this.opts.dir, 'log')}); refusing to open rather than lose the ones between`);
        }
        this.seq = seq;
        const payload = new Uint8Array(head);
        records.push({ seq, loc, payload });
        bytes += payload.byteLength;
      },
      ...(this.opts.onTornTail ? { onTornTail: this.opts.onTornTail } : {}),
    });
    if (bad) {
      await this.log.close();
      this.log = null;
      throw bad;
    }
    this.records = records;
    this.recordBytes = bytes;
    this.durableSeq = this.seq;
  }

  // ---- snapshots ----

  /** Writes the database as the new snapshot and drops the records it holds from the log; returns the file. */
  private snapshot(): Promise<Uint8Array> {
    this.snapshotting ??= this.takeSnapshot().finally(() => {
      this.snapshotting = null;
    });
    return this.snapshotting;
  }

  private async takeSnapshot(): Promise<Uint8Array> {
    const res = await this.call({ op: 'export' });
    const bytes = res.bytes!;
    const seq = (res as { seq?: bigint }).seq!;
    const path = this.snapshotPath(seq);
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(this.opts.dir);
    const old = this.snapshotSeq;
    this.snapshotSeq = seq;
    if (old > 0n) await rm(this.snapshotPath(old), { force: true });
    this.records = this.records.filter((r) => r.seq > seq);
    this.recordBytes = this.records.reduce((n, r) => n + r.payload.byteLength, 0);
    const log = this.log;
    if (log) {
      await log.compact(
        (sealedUpTo) => this.records.filter((r) => r.loc.segment <= sealedUpTo).map((r) => r.loc),
        (from, to) => {
          const r = this.records.find((x) => x.loc.segment === from.segment && x.loc.offset === from.offset);
          if (r) r.loc = to;
        },
      );
    }
    return bytes;
  }

  // ---- idle ----

  /** Idle is measured from now: the timer, when it fires early, waits for the rest (a call only notes the time). */
  private touch(): void {
    this.usedAt = performance.now();
    if (this.idleTimer) return;
    this.idleTimer = setTimeout(() => this.idleCheck(), this.opts.idleMs);
    this.idleTimer.unref();
  }

  private idleCheck(): void {
    this.idleTimer = null;
    const left = this.usedAt + this.opts.idleMs - performance.now();
    if (left > 1) {
      this.idleTimer = setTimeout(() => this.idleCheck(), left);
      this.idleTimer.unref();
      return;
    }
    void this.goIdle();
  }

  /**
   * Stops the thread now (after a snapshot) unless a call or a transaction is under way: the store's cap on running
   * threads asks this of the databases used least recently. A later call starts it again.
   */
  stopIfIdle(): Promise<void> {
    if (this.txn) return Promise.resolve();
    return this.goIdle();
  }

  private async goIdle(): Promise<void> {
    if (!this.thread && !this.starting) return;
    // A transaction open through a whole idle period lost its owner.
    this.abandon();
    // Busy (or still starting): idle is measured from the last answer.
    if (this.inflight.length > 0 || this.queue.length > 0 || this.backlog.length > 0 || this.starting) return this.touch();
    try {
      if (this.records.length > 0) await this.snapshot();
    } catch {
      // The records stay in the log; the next open replays them.
    }
    if (this.inflight.length > 0 || this.queue.length > 0 || this.backlog.length > 0 || this.starting) return this.touch();
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    while (this.inflight.length > 0 || this.queue.length > 0 || this.backlog.length > 0 || this.starting) {
      await Promise.allSettled([...this.inflight, ...this.queue, ...this.backlog].map((c) => new Promise<void>((r) => {
        const { resolve, reject } = c;
        c.resolve = (v) => (resolve(v), r());
        c.reject = (e) => (reject(e), r());
      })));
      if (this.starting) await this.starting.catch(() => {});
    }
    await this.durable.catch(() => {});
    await this.snapshotting?.catch(() => {});
    this.stopThread();
    const log = this.log;
    this.keepLogStats(log);
    this.log = null;
    await log?.close();
  }
}

export type { SqlErrorCode };
