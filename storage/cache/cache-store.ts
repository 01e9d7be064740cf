// The Cache API's storage (caches.default / caches.open(name) in workers) and its HTTP semantics, as Cloudflare
// Workers apply them: what may be stored (Cache-Control, Set-Cookie, Vary), for how long (s-maxage, max-age,
// Expires, else Cloudflare's default edge TTL by status), how a match is served (Vary, Range, conditional requests).
// Knows nothing of isolates: the 'cache.*' host ops (host/web/cache/cache-ops.ts) call it with plain values.
//
// One SQLite database per worker (<dir>/<worker>.sqlite, node:sqlite), so two workers never share a table, with
// named caches as a key column. Bounds: an entry (body plus headers) of at most `maxEntryBytes` (8 MiB by default)
// is refused larger with E_CACHE_ENTRY_TOO_LARGE; a worker's entries total at most `maxWorkerBytes` (64 MiB by
// default), the least recently used (matched or stored) evicted past it. Expired entries are deleted when a match
// finds them, at every put, and when a worker's database is opened; the file gives freed pages back (auto_vacuum).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export type HeaderList = Array<[string, string]>;

export interface CacheStoreOptions {
  /** Directory of the per-worker databases (the host uses <dataDir>/cache). */
  dir: string;
  maxEntryBytes?: number;
  maxWorkerBytes?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Open worker databases kept at most; the least recently used one is closed past it. */
  maxOpenDatabases?: number;
}

export interface CachePutInput {
  url: string;
  /** The request's headers: the values of the headers the response varies on are stored with it. */
  requestHeaders: HeaderList;
  status: number;
  statusText: string;
  headers: HeaderList;
  body: Uint8Array;
}

export interface CachedResponse {
  status: number;
  statusText: string;
  headers: HeaderList;
  body: Uint8Array | null;
}

export type PutOutcome = { stored: true; expiresAt: number } | { stored: false; reason: string };

/** A put larger than the entry bound (code E_CACHE_ENTRY_TOO_LARGE); the guest gets it as a TypeError. */
export class CacheEntryTooLargeError extends Error {
  readonly code = 'E_CACHE_ENTRY_TOO_LARGE';
}

export const DEFAULT_MAX_ENTRY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_WORKER_BYTES = 64 * 1024 * 1024;

/** Cloudflare's default edge TTL (seconds) when a response says nothing about its freshness. */
const DEFAULT_TTL_S: Record<number, number> = { 200: 7200, 206: 7200, 301: 7200, 302: 1200, 303: 1200, 404: 180, 410: 180 };

interface Directives {
  noStore: boolean;
  noCache: boolean;
  private: boolean;
  /** private="Set-Cookie" (or no-cache="Set-Cookie"): store, without the Set-Cookie headers. */
  stripSetCookie: boolean;
  sMaxAge: number | null;
  maxAge: number | null;
}

function header(headers: HeaderList, name: string): string | null {
  const values = headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length === 0 ? null : values.join(', ');
}

function cacheControl(value: string | null): Directives {
  const d: Directives = { noStore: false, noCache: false, private: false, stripSetCookie: false, sMaxAge: null, maxAge: null };
  if (value === null) return d;
  // Directives are comma-separated, but a quoted argument (private="a, b") may contain commas.
  for (const m of value.matchAll(/\s*([A-Za-z0-9-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/g)) {
    const name = m[1]!.toLowerCase();
    const arg = m[2] === undefined ? null : m[2].replace(/^"|"$/g, '').trim();
    const seconds = arg !== null && /^\d+$/.test(arg) ? Number(arg) : null;
    const namesSetCookie = arg !== null && arg.split(',').some((f) => f.trim().toLowerCase() === 'set-cookie');
    if (name === 'no-store') d.noStore = true;
    else if (name === 'private' || name === 'no-cache') {
      if (namesSetCookie) d.stripSetCookie = true;
      else if (name === 'private') d.private = true;
      else d.noCache = true;
    } else if (name === 's-maxage' && seconds !== null) d.sMaxAge = seconds;
    else if (name === 'max-age' && seconds !== null) d.maxAge = seconds;
  }
  return d;
}

/** Header names the response varies on (lower case), or '*'. */
export function varyNames(headers: HeaderList): string[] | '*' {
  const v = header(headers, 'vary');
  if (v === null) return [];
  const names = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  return names.includes('*') ? '*' : [...new Set(names)].sort();
}

/**
 * Whether and until when a response may be stored, and the headers it is stored with. Refusals that Workers report
 * as errors (206, Vary: *) are the caller's to check first; these are the silent ones (put resolves, match misses).
 */
export function storagePolicy(status: number, headers: HeaderList, now: number): { store: false; reason: string } | { store: true; expiresAt: number; headers: HeaderList } {
  const cc = cacheControl(header(headers, 'cache-control'));
  if (cc.noStore) return { store: false, reason: 'Cache-Control: no-store' };
  if (cc.private) return { store: false, reason: 'Cache-Control: private' };
  if (cc.noCache) return { store: false, reason: 'Cache-Control: no-cache (would need revalidation with the origin on every use)' };
  let stored = headers;
  if (header(headers, 'set-cookie') !== null) {
    if (!cc.stripSetCookie) return { store: false, reason: 'a Set-Cookie header (remove it, or send Cache-Control: private=Set-Cookie to store the response without it)' };
    stored = headers.filter(([n]) => n.toLowerCase() !== 'set-cookie');
  }
  let ttlMs: number | null = null;
  if (cc.sMaxAge !== null) ttlMs = cc.sMaxAge * 1000;
  else if (cc.maxAge !== null) ttlMs = cc.maxAge * 1000;
  else {
    const expires = header(headers, 'expires');
    if (expires !== null) {
      // An invalid Expires (such as "0") means already expired; Date.parse alone would read "0" as the year 2000.
      const at = /\d{1,2}:\d{2}:\d{2}/.test(expires) ? Date.parse(expires) : NaN;
      ttlMs = Number.isNaN(at) ? 0 : at - now;
    } else if (DEFAULT_TTL_S[status] !== undefined) ttlMs = DEFAULT_TTL_S[status]! * 1000;
    else return { store: false, reason: `status ${status} is not cached without an explicit Cache-Control max-age` };
  }
  if (ttlMs <= 0) return { store: false, reason: 'the response is already expired (max-age=0 or an Expires in the past)' };
  return { store: true, expiresAt: now + ttlMs, headers: stored };
}

function variantOf(vary: string[], requestHeaders: HeaderList): Array<[string, string | null]> {
  return vary.map((n) => [n, header(requestHeaders, n)]);
}

function variantMatches(stored: Array<[string, string | null]>, requestHeaders: HeaderList): boolean {
  return stored.every(([n, v]) => header(requestHeaders, n) === v);
}

/** A single byte range of `size` bytes ("bytes=a-b", "a-", "-n"); null to serve the whole body, 'unsatisfiable' for 416. */
export function parseRange(value: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}

function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const weak = (t: string): string => t.trim().replace(/^W\//, '');
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => weak(t) === weak(etag));
}

/** Serves a stored 200 for a request: 304 for a matching conditional request, 206/416 for a Range. */
export function serve(stored: CachedResponse, requestHeaders: HeaderList): CachedResponse {
  const headers: HeaderList = [...stored.headers, ['cf-cache-status', 'HIT']];
  const etag = header(stored.headers, 'etag');
  const ifNoneMatch = header(requestHeaders, 'if-none-match');
  const lastModified = header(stored.headers, 'last-modified');
  const ifModifiedSince = header(requestHeaders, 'if-modified-since');
  if (stored.status === 200) {
    const notModified =
      ifNoneMatch !== null
        ? etag !== null && etagMatches(ifNoneMatch, etag)
        : ifModifiedSince !== null && lastModified !== null && Date.parse(lastModified) <= Date.parse(ifModifiedSince);
    if (notModified) {
      return { status: 304, statusText: 'Not Modified', headers: headers.filter(([n]) => !/^content-(length|type|encoding)$/i.test(n)), body: null };
    }
    const range = header(requestHeaders, 'range');
    const body = stored.body ?? new Uint8Array(0);
    if (range !== null) {
      const r = parseRange(range, body.byteLength);
      const rest = headers.filter(([n]) => n.toLowerCase() !== 'content-length' && n.toLowerCase() !== 'content-range');
      if (r === 'unsatisfiable') return { status: 416, statusText: 'Range Not Satisfiable', headers: [...rest, ['content-range', `bytes */${body.byteLength}`]], body: null };
      if (r !== null) {
        return {
          status: 206,
          statusText: 'Partial Content',
          headers: [...rest, ['content-range', `bytes ${r.start}-${r.end}/${body.byteLength}`], ['content-length', String(r.end - r.start + 1)]],
          body: body.subarray(r.start, r.end + 1),
        };
      }
    }
  }
  return { ...stored, headers };
}

interface Db {
  db: DatabaseSync;
  find: StatementSync;
  insert: StatementSync;
  removeById: StatementSync;
  removeKey: StatementSync;
  touch: StatementSync;
  reclaim: StatementSync;
  total: StatementSync;
  oldest: StatementSync;
}

interface Row {
  id: number;
  vary: string;
  status: number;
  status_text: string;
  headers: string;
  body: Uint8Array;
  expires_at: number;
}

export class CacheStore {
  readonly maxEntryBytes: number;
  readonly maxWorkerBytes: number;
  private readonly dir: string;
  private readonly now: () => number;
  private readonly maxOpen: number;
  /** Open databases by worker, least recently used first. */
  private readonly open = new Map<string, Db>();

  constructor(options: CacheStoreOptions) {
    this.dir = options.dir;
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.maxWorkerBytes = options.maxWorkerBytes ?? DEFAULT_MAX_WORKER_BYTES;
    this.now = options.now ?? Date.now;
    this.maxOpen = options.maxOpenDatabases ?? 32;
  }

  /**
   * Stores a response for a GET of `input.url` in the worker's cache `cache`; replaces the entry the same request
   * would have matched. Throws E_CACHE_ENTRY_TOO_LARGE past the entry bound.
   */
  put(worker: string, cache: string, input: CachePutInput): PutOutcome {
    const now = this.now();
    const vary = varyNames(input.headers);
    if (vary === '*') return { stored: false, reason: 'Vary: *' };
    const policy = storagePolicy(input.status, input.headers, now);
    if (!policy.store) return { stored: false, reason: policy.reason };
    const headersJson = JSON.stringify(policy.headers);
    const size = input.body.byteLength + headersJson.length + input.url.length;
    if (size > this.maxEntryBytes) {
      throw new CacheEntryTooLargeError(
        `Cache.put(): the response for ${input.url} is ${size} bytes with its headers; this runtime caches entries of at most ${this.maxEntryBytes} bytes.`,
      );
    }
    const d = this.db(worker);
    d.db.exec('BEGIN');
    try {
      d.reclaim.run(now);
      for (const row of d.find.all(cache, input.url) as unknown as Row[]) {
        if (variantMatches(JSON.parse(row.vary) as Array<[string, string | null]>, input.requestHeaders)) d.removeById.run(row.id);
      }
      const variant = JSON.stringify(variantOf(vary, input.requestHeaders));
      d.insert.run(cache, input.url, variant, input.status, input.statusText, headersJson, input.body, size, now, policy.expiresAt, now);
      let total = Number((d.total.get() as { total: number | null }).total ?? 0);
      while (total > this.maxWorkerBytes) {
        const victim = d.oldest.get() as { id: number; size: number } | undefined;
        if (!victim) break;
        d.removeById.run(victim.id);
        total -= victim.size;
      }
      d.db.exec('COMMIT');
    } catch (err) {
      d.db.exec('ROLLBACK');
      throw err;
    }
    return { stored: true, expiresAt: policy.expiresAt };
  }

  /** The stored response a GET of `url` with these headers matches (Vary honoured), served for them; null on a miss. */
  match(worker: string, cache: string, url: string, requestHeaders: HeaderList): CachedResponse | null {
    const now = this.now();
    const d = this.db(worker);
    for (const row of d.find.all(cache, url) as unknown as Row[]) {
      if (row.expires_at <= now) {
        d.removeById.run(row.id);
        continue;
      }
      if (!variantMatches(JSON.parse(row.vary) as Array<[string, string | null]>, requestHeaders)) continue;
      d.touch.run(now, row.id);
      const stored: CachedResponse = { status: row.status, statusText: row.status_text, headers: JSON.parse(row.headers) as HeaderList, body: new Uint8Array(row.body) };
      return serve(stored, requestHeaders);
    }
    return null;
  }

  /** Deletes every stored response for `url` in the cache (all variants); whether there was one. */
  delete(worker: string, cache: string, url: string): boolean {
    const d = this.db(worker);
    const now = this.now();
    const live = (d.find.all(cache, url) as unknown as Row[]).some((r) => r.expires_at > now);
    d.removeKey.run(cache, url);
    return live;
  }

  /** Bytes a worker's entries take (for tests and metrics). */
  sizeOf(worker: string): number {
    return Number((this.db(worker).total.get() as { total: number | null }).total ?? 0);
  }

  /** Deletes everything a worker cached (when the worker is deleted: a new worker of that name starts empty). */
  dropWorker(worker: string): void {
    const open = this.open.get(worker);
    if (open) {
      open.db.close();
      this.open.delete(worker);
    }
    const base = join(this.dir, `${encodeURIComponent(worker)}.sqlite`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(base + suffix, { force: true });
  }

  close(): void {
    for (const d of this.open.values()) d.db.close();
    this.open.clear();
  }

  private db(worker: string): Db {
    const open = this.open.get(worker);
    if (open) {
      this.open.delete(worker);
      this.open.set(worker, open);
      return open;
    }
    if (this.open.size >= this.maxOpen) {
      const [lru, d] = this.open.entries().next().value as [string, Db];
      d.db.close();
      this.open.delete(lru);
    }
    mkdirSync(this.dir, { recursive: true });
    // Worker names are DNS labels; encoded anyway so that no name can reach outside the directory.
    const db = new DatabaseSync(join(this.dir, `${encodeURIComponent(worker)}.sqlite`));
    db.exec(`
      PRAGMA auto_vacuum = FULL;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS entries (
        id INTEGER PRIMARY KEY,
        cache TEXT NOT NULL,
        url TEXT NOT NULL,
        vary TEXT NOT NULL,
        status INTEGER NOT NULL,
        status_text TEXT NOT NULL,
        headers TEXT NOT NULL,
        body BLOB NOT NULL,
        size INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS entries_key ON entries (cache, url);
      CREATE INDEX IF NOT EXISTS entries_used ON entries (used_at);
      CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at);
    `);
    const d: Db = {
      db,
      find: db.prepare('SELECT id, vary, status, status_text, headers, body, expires_at FROM entries WHERE cache = ? AND url = ? ORDER BY stored_at DESC, id DESC'),
      insert: db.prepare('INSERT INTO entries (cache, url, vary, status, status_text, headers, body, size, stored_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      removeById: db.prepare('DELETE FROM entries WHERE id = ?'),
      removeKey: db.prepare('DELETE FROM entries WHERE cache = ? AND url = ?'),
      touch: db.prepare('UPDATE entries SET used_at = ? WHERE id = ?'),
      reclaim: db.prepare('DELETE FROM entries WHERE expires_at <= ?'),
      total: db.prepare('SELECT SUM(size) AS total FROM entries'),
      oldest: db.prepare('SELECT id, size FROM entries ORDER BY used_at ASC, id ASC LIMIT 1'),
    };
    d.reclaim.run(this.now());
    this.open.set(worker, d);
    return d;
  }
}
