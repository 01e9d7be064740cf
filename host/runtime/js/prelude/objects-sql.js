// The synchronous storage of SQLite-backed Durable Objects: `ctx.storage.sql` (exec and its cursor, databaseSize),
// `ctx.storage.transactionSync()` and `ctx.storage.kv`, as Cloudflare documents them. Each call blocks the isolate on
// a host op ('op' invoke, internal/bridge.js); the host's main thread goes on serving meanwhile
// (host/bindings/durable/durable-sql.ts). A SQL write is durable when exec() returns, so the output gate (objects.js)
// has nothing to wait for; kv.put and kv.delete go through the object's write batches, as storage.put does, and are
// held by the output gate the same way.
//
// Differences from Workers: the key-value data stays in the object's key-value store (shared with the asynchronous
// get/put, not a table of its SQL database); transactionSync() covers SQL only and cannot be nested.
import { hostInvoke } from './internal/bridge.js';
import { structuredClone } from './structured-clone.js';

/** @import { HostOpFailure } from '../../../core/isolate-protocol.ts' */

/** @param {HostOpFailure} e */
function failure(e) {
  const message = String(e?.message ?? 'storage operation failed');
  if (e?.name === 'TypeError') return new TypeError(message);
  if (e?.name === 'RangeError') return new RangeError(message);
  return new Error(message);
}

/**
 * A host op the isolate blocks on.
 * @param {string} op
 * @param {unknown} arg
 */
function sync(op, arg) {
  const r = hostInvoke('op', { op, arg });
  if ('v' in r) return r.v;
  if ('e' in r) throw failure(r.e);
  throw new Error(r.x);
}

/** A bound JS value as SQL stores it: numbers, bigints, strings, null, bytes (ArrayBuffer or a view); booleans as 1/0. */
function binding(value, i) {
  if (value === null || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  throw new TypeError(`sql.exec(): binding ${i + 1} cannot be stored in SQL (${value === undefined ? 'undefined' : typeof value}); use null, a number, a bigint, a string or an ArrayBuffer`);
}

/** A result value as the object sees it: BLOBs as ArrayBuffers. */
function value(v) {
  return v instanceof Uint8Array ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v;
}

/** A UTF-16 unit moved so that units compare in code point order (surrogates, i.e. astral code points, last). */
function unitRank(u) {
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  return u >= 0xe000 ? u - 0x800 : u;
}

/** Keys in UTF-8 byte order (that is, code point order), as the host's store keeps them. */
export function compareKeys(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

/** The rows of one exec(): iterated once, as objects (next, toArray, one) or as arrays (raw). */
class SqlStorageCursor {
  #columns;
  #rows;
  #at = 0;
  #read;
  #written;
  /** @param {{ columns: string[], rows: unknown[][], rowsRead: number, rowsWritten: number }} r */
  constructor(r) {
    this.#columns = r.columns;
    this.#rows = r.rows;
    this.#read = r.rowsRead;
    this.#written = r.rowsWritten;
  }

  get columnNames() {
    return [...this.#columns];
  }

  get rowsRead() {
    return this.#read;
  }

  get rowsWritten() {
    return this.#written;
  }

  #take() {
    if (this.#at >= this.#rows.length) return null;
    return this.#rows[this.#at++].map(value);
  }

  #object(row) {
    /** @type {Record<string, unknown>} */
    const o = {};
    this.#columns.forEach((c, i) => {
      o[c] = row[i];
    });
    return o;
  }

  next() {
    const row = this.#take();
    return row === null ? { done: true, value: undefined } : { done: false, value: this.#object(row) };
  }

  toArray() {
    const out = [];
    for (let row = this.#take(); row !== null; row = this.#take()) out.push(this.#object(row));
    return out;
  }

  /** The only row; throws unless there is exactly one. */
  one() {
    const left = this.#rows.length - this.#at;
    if (left === 0) throw new Error('Expected exactly one result from SQL query, but got no results.');
    if (left > 1) throw new Error('Expected exactly one result from SQL query, but got multiple results.');
    return this.next().value;
  }

  /** The rows as arrays of values, in column order (the same cursor: what one reads, the other does not see). */
  raw() {
    const cursor = this;
    const take = () => this.#take();
    return {
      next() {
        const row = take();
        return row === null ? { done: true, value: undefined } : { done: false, value: row };
      },
      toArray() {
        const out = [];
        for (let row = take(); row !== null; row = take()) out.push(row);
        return out;
      },
      [Symbol.iterator]() {
        return this;
      },
      get columnNames() {
        return cursor.columnNames;
      },
    };
  }

  [Symbol.iterator]() {
    return this;
  }
}
Object.defineProperty(SqlStorageCursor, 'name', { value: 'SqlStorageCursor' });

/**
 * The synchronous storage of each object, made when it first touches `sql`, `kv` or transactionSync().
 * @param {{ missing: symbol, write: (obj: any, key: string, value: unknown) => void, remove: (obj: any, key: string) => void, checkKey: (key: unknown) => string }} kvStore
 *   the object runtime's (objects.js) write path and key check: the sync key-value API writes as put() does
 */
export function sqlStorageFor(kvStore) {
  const { missing, write, remove, checkKey } = kvStore;

  return function create(obj) {
    const address = () => ({ className: obj.className, id: obj.id });
    let checked = false;
    /** The open transactionSync()'s token (null: none). */
    let txn = null;
    const sqlite = () => {
      if (!checked) sync('do.sql.check', address());
      checked = true;
    };

    class SqlStorage {
      /**
       * Runs `query` (one or more statements; `bindings` go to the last one's placeholders) now; its rows come in the
       * cursor.
       * @param {string} query
       * @param {...unknown} bindings
       */
      exec(query, ...bindings) {
        if (typeof query !== 'string') throw new TypeError('sql.exec(): the query must be a string');
        const params = bindings.map(binding);
        return new SqlStorageCursor(/** @type {any} */ (sync('do.sql.exec', { ...address(), sql: query, params, txn })));
      }

      /** The database's size in bytes. */
      get databaseSize() {
        return /** @type {number} */ (sync('do.sql.size', address()));
      }
    }
    Object.defineProperty(SqlStorage, 'name', { value: 'SqlStorage' });

    /** The value of `key` from what the object knows, else from the host (the isolate blocks). */
    function kvGet(key) {
      if (obj.cache.has(key)) {
        const v = obj.cache.get(key);
        return v === missing ? undefined : structuredClone(v);
      }
      if (obj.complete) return undefined;
      const pairs = /** @type {Array<[string, unknown]>} */ (sync('do.get', { ...address(), keys: [key] }));
      const found = pairs.length > 0;
      obj.cache.set(key, found ? pairs[0][1] : missing);
      return found ? structuredClone(pairs[0][1]) : undefined;
    }

    class SyncKvStorage {
      get(key) {
        sqlite();
        return kvGet(checkKey(key));
      }

      put(key, value) {
        sqlite();
        checkKey(key);
        if (value === undefined) throw new TypeError('kv.put(): a value is required (use kv.delete() to remove a key)');
        write(obj, key, value);
      }

      /** Whether the key existed. */
      delete(key) {
        sqlite();
        const existed = kvGet(checkKey(key)) !== undefined;
        remove(obj, key);
        return existed;
      }

      /**
       * The pairs in key order within the options' bounds: the host's, with what the object wrote since laid over.
       * @param {Record<string, any>} [options]
       */
      list(options = {}) {
        sqlite();
        if (options === null || typeof options !== 'object') throw new TypeError('kv.list(): options must be an object');
        for (const k of ['start', 'startAfter', 'end', 'prefix']) if (options[k] !== undefined && typeof options[k] !== 'string') throw new TypeError(`kv.list(): ${k} must be a string`);
        if (options.start !== undefined && options.startAfter !== undefined) throw new TypeError('kv.list(): start and startAfter cannot both be given');
        if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) throw new TypeError('kv.list(): limit must be a positive integer');
        const { start, startAfter, end, prefix, limit } = options;
        const reverse = options.reverse === true;
        const inRange = (k) =>
          (start === undefined || compareKeys(k, start) >= 0) && (startAfter === undefined || compareKeys(k, startAfter) > 0) && (end === undefined || compareKeys(k, end) < 0) && (prefix === undefined || k.startsWith(prefix));
        const known = [...obj.cache].filter(([k]) => inRange(k));
        const merged = new Map();
        if (!obj.complete) {
          // Keys deleted here may still be among the host's first `limit`: ask for that many more.
          const deleted = known.filter(([, v]) => v === missing).length;
          const opts = { start, startAfter, end, prefix, reverse, limit: limit === undefined ? undefined : limit + deleted };
          const pairs = /** @type {Array<[string, unknown]>} */ (sync('do.list', { ...address(), options: opts }));
          for (const [k, v] of pairs) {
            if (!obj.cache.has(k)) obj.cache.set(k, v);
            merged.set(k, v);
          }
        }
        for (const [k, v] of known) {
          if (v === missing) merged.delete(k);
          else merged.set(k, v);
        }
        const keys = [...merged.keys()].sort(compareKeys);
        if (reverse) keys.reverse();
        return keys.slice(0, limit).map((k) => [k, structuredClone(merged.get(k))])[Symbol.iterator]();
      }
    }
    Object.defineProperty(SyncKvStorage, 'name', { value: 'SyncKvStorage' });

    let sql = null;
    let kv = null;
    return {
      get sql() {
        sqlite();
        return (sql ??= new SqlStorage());
      },
      get kv() {
        sqlite();
        return (kv ??= new SyncKvStorage());
      },
      /** Runs `closure` in a SQL transaction: committed (durably) when it returns, rolled back when it throws. */
      transactionSync(closure) {
        if (typeof closure !== 'function') throw new TypeError('transactionSync(): a function is required');
        sqlite();
        if (txn !== null) throw new Error('transactionSync() cannot be nested: call the inner function directly, its statements are already in the transaction');
        const token = sync('do.sql.begin', address());
        txn = token;
        let result;
        try {
          result = closure();
        } catch (err) {
          txn = null;
          sync('do.sql.rollback', { ...address(), txn: token });
          throw err;
        }
        txn = null;
        sync('do.sql.commit', { ...address(), txn: token });
        return result;
      },
      /** deleteAll(): the object's SQL data goes too (nothing to do for a class that is not SQLite-backed). */
      deleteAll() {
        sync('do.sql.deleteAll', address());
      },
    };
  };
}
