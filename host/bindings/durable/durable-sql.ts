// The SQL storage of SQLite-backed Durable Objects (`ctx.storage.sql`, `transactionSync`): one database per object,
// only for classes a migration declares in `new_sqlite_classes`, on the same engine as D1 (storage/sql: a thread per
// database, a log fdatasync'ed before a write is acknowledged, snapshots, idle threads stopped). The object's code
// calls these ops synchronously (the 'op' invoke: its isolate blocks, the host's main thread goes on serving); a write
// is durable when its op answers, so the object's output gate has nothing more to wait for.
import { HostOpError, type HostOpContext, type HostOps } from '../../core/host-ops.ts';
import { SqlError, type SqlValue } from '../../../storage/sql/sql-types.ts';
import type { SqlEngine } from '../../../storage/sql/sql-store.ts';
import { objectKey, record } from './durable-ops.ts';

/** A Durable Object's database id in its store: `<worker>/<class>/<object id>`, a directory of its own. */
export const DURABLE_SQL_IDS = {
  re: /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\/[A-Za-z_$][A-Za-z0-9_$]*\/[0-9a-f]{64}$/,
  what: '<worker>/<class>/<64 hexadecimal digits>',
};

/**
 * Database threads (a sql.js instance each) running at once, for every object of the host: past it, the least
 * recently used objects' threads stop (their data stays; the next call starts the thread again).
 */
export const DURABLE_SQL_MAX_THREADS = 32;
/** An object's database thread stops this long after its last call (objects leave their isolate after 30 s idle). */
export const DURABLE_SQL_IDLE_MS = 30_000;

/** What `sql.exec` returns to the object: the last statement's rows (INTEGERs as numbers, BLOBs as bytes). */
export interface DurableSqlResult {
  columns: string[];
  rows: Array<Array<null | number | string | Uint8Array>>;
  rowsRead: number;
  rowsWritten: number;
  /** The database's size in bytes after the statement. */
  size: number;
}

const TX_REFUSED_RE = /^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE) is not allowed/;

/** The object's database, if its class is SQLite-backed; else an Error that names the class and the fix. */
function databaseId(arg: Record<string, unknown>, ctx: HostOpContext): string {
  const key = objectKey(arg, ctx);
  const cls = arg['className'] as string;
  if (!(ctx.manifest.sqliteClasses ?? []).includes(cls)) {
    throw new HostOpError(
      'Error',
      `The Durable Object class "${cls}" of worker "${ctx.worker}" is not SQLite-backed, so it has no ctx.storage.sql, ctx.storage.kv or transactionSync(): ` +
        `declare it in a migration's new_sqlite_classes instead of new_classes (as in [[migrations]] tag = "v1" new_sqlite_classes = ["${cls}"]); its key-value API (get, put, list) works either way`,
    );
  }
  return key;
}

function bindings(v: unknown): SqlValue[] {
  if (!Array.isArray(v)) throw new HostOpError('TypeError', 'sql.exec(): bad bindings');
  return v.map((b: unknown, i): SqlValue => {
    if (b === null || typeof b === 'string' || typeof b === 'bigint' || b instanceof Uint8Array) return b;
    if (typeof b === 'number') return Number.isSafeInteger(b) && !Object.is(b, -0) ? BigInt(b) : b;
    throw new HostOpError('TypeError', `sql.exec(): binding ${i + 1} is of a type SQL cannot store (${typeof b}); use null, a number, a bigint, a string or an ArrayBuffer`);
  });
}

function txnOf(a: Record<string, unknown>): number | undefined {
  const t = a['txn'];
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'number' || !Number.isInteger(t)) throw new HostOpError('TypeError', 'storage: bad transaction');
  return t;
}

/** A SqlError as the object sees it: an Error with SQLite's message and code, as on Workers. */
function sqlFailure(err: unknown): never {
  if (!(err instanceof SqlError)) throw err;
  if (err.sqliteCode === 'SQLITE_AUTH' && TX_REFUSED_RE.test(err.message)) {
    const kw = TX_REFUSED_RE.exec(err.message)![1];
    throw new HostOpError('Error', `${kw} is not allowed in a Durable Object's SQL: use ctx.storage.transactionSync() (or transaction()) for statements that must apply together: SQLITE_AUTH`);
  }
  // The store's own messages name D1's limits and rules, which are the same here.
  throw new HostOpError('Error', `${err.message.replace(/\bD1\b/g, 'Durable Object SQL')}: ${err.sqliteCode}`);
}

function number(v: SqlValue): null | number | string | Uint8Array {
  return typeof v === 'bigint' ? Number(v) : v;
}

export function registerDurableSqlOps(ops: HostOps, engine: SqlEngine): void {
  const db = (a: Record<string, unknown>, ctx: HostOpContext) => engine.database(databaseId(a, ctx));
  // check: whether the object may use SQL at all (what `ctx.storage.sql` asks first).
  ops.register('do.sql.check', (arg, ctx) => {
    const a = record(arg);
    // A Durable Object class written as a component keeps its storage through the synchronous key-value API (prelude
    // component-objects.js), whatever its migration; SQL itself stays for SQLite-backed classes (databaseId).
    const component = ctx.manifest.main.endsWith('.wasm') || ctx.manifest.build.language === 'assemblyscript';
    if (component && (ctx.manifest.durableClasses ?? []).includes(a['className'] as string)) objectKey(a, ctx);
    else databaseId(a, ctx);
    return true;
  });
  /** Registers op `name`: a SqlError it meets reaches the object as sqlFailure() words it; other errors as they are. */
  const sqlOp = (name: string, fn: (a: Record<string, unknown>, ctx: HostOpContext) => Promise<unknown>): void => {
    ops.register(name, async (arg, ctx) => {
      try {
        return await fn(record(arg), ctx);
      } catch (err) {
        sqlFailure(err);
      }
    });
  };
  sqlOp('do.sql.exec', async (a, ctx) => {
    if (typeof a['sql'] !== 'string') throw new HostOpError('TypeError', 'sql.exec(): the query must be a string');
    const params = bindings(a['params']);
    const r = await db(a, ctx).script(a['sql'], params, txnOf(a));
    return { columns: r.columns, rows: r.rows.map((row) => row.map(number)), rowsRead: r.meta.rowsRead, rowsWritten: r.meta.rowsWritten, size: r.meta.sizeAfter } satisfies DurableSqlResult;
  });
  sqlOp('do.sql.size', async (a, ctx) => (await db(a, ctx).script('SELECT 1', [])).meta.sizeAfter);
  sqlOp('do.sql.begin', (a, ctx) => db(a, ctx).begin());
  sqlOp('do.sql.commit', async (a, ctx) => {
    await db(a, ctx).commit(txnOf(a) ?? -1);
    return true;
  });
  sqlOp('do.sql.rollback', async (a, ctx) => {
    await db(a, ctx).rollback(txnOf(a) ?? -1);
    return true;
  });
  // deleteAll: every table, view and trigger of the object's database dropped, durably (nothing to do for an object
  // that never used SQL, or whose class is not SQLite-backed).
  sqlOp('do.sql.deleteAll', async (a, ctx) => {
    const cls = a['className'];
    const key = objectKey(a, ctx);
    if (!(ctx.manifest.sqliteClasses ?? []).includes(cls as string) || !(await engine.exists(key))) return true;
    const database = engine.database(key);
    const schema = await database.script("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", []);
    if (schema.rows.length === 0) return true;
    const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;
    const drops = schema.rows.map(([type, name]) => `DROP ${type === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${quote(String(name))};`);
    // Views first (they name tables); foreign keys are checked at the end, when no table is left to violate them.
    drops.sort((x, y) => Number(y.startsWith('DROP VIEW')) - Number(x.startsWith('DROP VIEW')));
    await database.script(['PRAGMA defer_foreign_keys = ON;', ...drops].join('\n'), []);
    return true;
  });
}
