// The SQL store (D1 on sql.js): every database of a host under `<dir>/<id>/`, each with its own thread, log and
// snapshots (sql-database.ts). sql.js's WebAssembly module is compiled once and shared with every thread.
import { access, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SqlDatabase } from './sql-database.ts';
import type { SqlWasmModule } from './sql-engine.ts';
import { SQL_DATABASE_ID_RE, SQL_LIMITS, type SqlLimits, type SqlStore } from './sql-types.ts';

export interface SqlEngineOptions {
  /** Defaults: SQL_LIMITS. */
  limits?: Partial<SqlLimits>;
  /** Bytes of records after which a database takes a snapshot. */
  snapshotBytes?: number;
  /** A database's thread stops after this long without a call. */
  idleMs?: number;
  onTornTail?(info: { database: string; file: string; offset: number; droppedBytes: number; reason: string }): void;
  /**
   * The database ids this store takes, and how an error describes them (default: SQL_DATABASE_ID_RE). An id is a path
   * under the store's directory: one with `/` nests (a Durable Object's database is `<worker>/<class>/<object id>`).
   */
  ids?: { re: RegExp; what: string };
  /**
   * At most this many database threads run at once: past it, those of the databases used least recently stop (when
   * not in the middle of a call). Default: no cap (they stop when idle).
   */
  maxThreads?: number;
}

const D1_IDS = { re: SQL_DATABASE_ID_RE, what: 'letters, digits, "_", "." and "-", at most 63' };

export class SqlEngine implements SqlStore {
  readonly dir: string;
  readonly limits: Readonly<SqlLimits>;
  private readonly module: SqlWasmModule;
  private readonly options: SqlEngineOptions;
  private readonly databases = new Map<string, SqlDatabase>();
  private closed = false;
  /** The database database() returned last (most recently used already). */
  private last: SqlDatabase | null = null;

  private constructor(dir: string, module: SqlWasmModule, options: SqlEngineOptions) {
    this.dir = dir;
    this.module = module;
    this.options = options;
    this.limits = Object.freeze({ ...SQL_LIMITS, ...options.limits });
  }

  static async open(dir: string, options: SqlEngineOptions = {}): Promise<SqlEngine> {
    const wasm = await readFile(createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm'));
    const api = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<SqlWasmModule> } }).WebAssembly;
    return new SqlEngine(dir, await api.compile(wasm), options);
  }

  /** Another store under `dir`, sharing this one's compiled sql.js module (no second compile). */
  sibling(dir: string, options: SqlEngineOptions = {}): SqlEngine {
    return new SqlEngine(dir, this.module, options);
  }

  /** Whether database `id` was ever written to this host (without opening it). */
  async exists(id: string): Promise<boolean> {
    if (this.databases.has(id)) return true;
    return access(join(this.dir, this.checkId(id))).then(
      () => true,
      () => false,
    );
  }

  private checkId(id: string): string {
    const ids = this.options.ids ?? D1_IDS;
    if (!ids.re.test(id)) throw new TypeError(`"${id}" is not a database id (${ids.what})`);
    return id;
  }

  database(id: string): SqlDatabase {
    if (this.closed) throw new Error('the SQL store is closed');
    let db = this.databases.get(id);
    if (db) {
      // Most recently used last: the order the thread cap stops them in (none without a cap; nor for the last one).
      if (this.options.maxThreads !== undefined && this.last !== db) {
        this.databases.delete(id);
        this.databases.set(id, db);
      }
    } else {
      // (An id already in the map passed this check.)
      this.checkId(id);
      const onTornTail = this.options.onTornTail;
      db = new SqlDatabase(id, {
        dir: join(this.dir, id),
        module: this.module,
        limits: this.limits,
        ...(this.options.snapshotBytes !== undefined ? { snapshotBytes: this.options.snapshotBytes } : {}),
        ...(this.options.idleMs !== undefined ? { idleMs: this.options.idleMs } : {}),
        ...(onTornTail ? { onTornTail: (t: { file: string; offset: number; droppedBytes: number; reason: string }) => onTornTail({ database: id, ...t }) } : {}),
        onThreadStart: () => this.capThreads(id),
      });
      this.databases.set(id, db);
    }
    this.last = db;
    return db;
  }

  /** Database `starting` starts its thread: past maxThreads, the least recently used others stop theirs. */
  private capThreads(starting: string): void {
    const max = this.options.maxThreads;
    if (max === undefined) return;
    let excess = this.runningThreads() + 1 - max;
    for (const [id, db] of this.databases) {
      if (excess <= 0) break;
      if (id === starting || !db.running) continue;
      void db.stopIfIdle().catch(() => {});
      excess--;
    }
  }

  /** How many databases have their thread running now (idle ones stop theirs). */
  runningThreads(): number {
    let n = 0;
    for (const db of this.databases.values()) if (db.running) n++;
    return n;
  }

  /** Records appended and fdatasync calls made by every database's log since the store opened (read-only: metrics, the bench). */
  stats(): { appends: number; fsyncs: number } {
    let appends = 0;
    let fsyncs = 0;
    for (const db of this.databases.values()) {
      const s = db.logStats;
      appends += s.appends;
      fsyncs += s.fsyncs;
    }
    return { appends, fsyncs };
  }

  /** The databases under the store's directory (ids without `/`: nested ones are not listed). */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => (this.options.ids ?? D1_IDS).re.test(n)).sort();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.databases.values()].map((d) => d.close()));
    this.databases.clear();
  }
}
