// The SQL store (D1 on sql.js): every database of a host under `<dir>/<id>/`, each with its own thread, log and
// snapshots (sql-database.ts). sql.js's WebAssembly module is compiled once and shared with every thread.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SqlDatabase } from './sql-database.ts';
import type { SqlWasmModule } from './sql-thread.ts';
import { SQL_DATABASE_ID_RE, SQL_LIMITS, type SqlLimits, type SqlStore } from './sql-types.ts';

export interface SqlEngineOptions {
  /** Defaults: SQL_LIMITS. */
  limits?: Partial<SqlLimits>;
  /** Bytes of records after which a database takes a snapshot. */
  snapshotBytes?: number;
  /** A database's thread stops after this long without a call. */
  idleMs?: number;
  onTornTail?(info: { database: string; file: string; offset: number; droppedBytes: number; reason: string }): void;
}

export class SqlEngine implements SqlStore {
  readonly dir: string;
  readonly limits: Readonly<SqlLimits>;
  private readonly module: SqlWasmModule;
  private readonly options: SqlEngineOptions;
  private readonly databases = new Map<string, SqlDatabase>();
  private closed = false;

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

  database(id: string): SqlDatabase {
    if (!SQL_DATABASE_ID_RE.test(id)) throw new TypeError(`"${id}" is not a database id (letters, digits, "_", "." and "-", at most 63)`);
    if (this.closed) throw new Error('the SQL store is closed');
    let db = this.databases.get(id);
    if (!db) {
      const onTornTail = this.options.onTornTail;
      db = new SqlDatabase(id, {
        dir: join(this.dir, id),
        module: this.module,
        limits: this.limits,
        ...(this.options.snapshotBytes !== undefined ? { snapshotBytes: this.options.snapshotBytes } : {}),
        ...(this.options.idleMs !== undefined ? { idleMs: this.options.idleMs } : {}),
        ...(onTornTail ? { onTornTail: (t: { file: string; offset: number; droppedBytes: number; reason: string }) => onTornTail({ database: id, ...t }) } : {}),
      });
      this.databases.set(id, db);
    }
    return db;
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

  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => SQL_DATABASE_ID_RE.test(n)).sort();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.databases.values()].map((d) => d.close()));
    this.databases.clear();
  }
}
