// host/web holds the host sides of the Web APIs the isolate prelude offers (crypto.subtle, the Cache API),
// registered as host ops by the server.
//
// Host side of the prelude's Cache API (prelude/cache.js): the 'cache.*' host ops, storing in a CacheStore
// (storage/cache) under the calling worker's name, so a worker only ever reaches its own caches. Bodies may stay
// outside the isolate both ways: a put of a host stream the worker did not read (`bodyRef`) is read by the host, and
// a match's body longer than HELD_ABOVE is held for the request (HostOpContext.holdBody) instead of copied in.
import { CACHE_LIMITS } from '../../core/limits.ts';
import { CacheEntryTooLargeError, type CacheStore, type HeaderList } from '../../../storage/cache/cache-store.ts';
import { HostOpError, type HostOpContext, type HostOps } from '../../core/host-ops.ts';

const MAX_URL_LENGTH = CACHE_LIMITS.urlLength;
const MAX_CACHE_NAME_LENGTH = CACHE_LIMITS.cacheNameLength;
const MAX_HEADERS = CACHE_LIMITS.headers;
/** A matched body longer than this stays on the host until the worker reads it (returned as it is, it never enters). */
const HELD_ABOVE = 64 * 1024;

function bad(message: string): never {
  throw new HostOpError('TypeError', message);
}

function record(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('cache operation: the argument must be an object');
  return v as Record<string, unknown>;
}

/** The stored cache's key: caches.default and caches.open(name) never collide, whatever the name. */
function cacheKey(v: unknown): string {
  if (v === null) return 'default';
  if (typeof v !== 'string' || v.length > MAX_CACHE_NAME_LENGTH) bad(`a cache name must be a string of at most ${MAX_CACHE_NAME_LENGTH} characters`);
  return `named:${v}`;
}

function url(v: unknown): string {
  if (typeof v !== 'string' || v.length > MAX_URL_LENGTH) bad(`a cache key must be a URL of at most ${MAX_URL_LENGTH} characters`);
  if (!/^https?:\/\//i.test(v)) bad(`the Cache API only stores http(s) URLs, not ${v.slice(0, 100)}`);
  return v;
}

function headers(v: unknown, what: string): HeaderList {
  if (!Array.isArray(v) || v.length > MAX_HEADERS) bad(`${what} must be a list of at most ${MAX_HEADERS} [name, value] pairs`);
  for (const h of v) if (!Array.isArray(h) || typeof h[0] !== 'string' || typeof h[1] !== 'string') bad(`${what} must be [name, value] string pairs`);
  return v as HeaderList;
}

/** Registers 'cache.put', 'cache.match' and 'cache.delete' on `store`; one an embedder registered first (HostOptions.ops) is kept. */
export function registerCacheOps(ops: HostOps, store: CacheStore): void {
  const register = (name: string, handler: (arg: unknown, ctx: HostOpContext) => unknown): void => {
    if (ops.get(name) === undefined) ops.register(name, handler);
  };
  register('cache.put', async (arg: unknown, ctx: HostOpContext) => {
    const a = record(arg);
    const status = a.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) bad('Cache.put(): the response status must be an integer from 200 to 599');
    if (status === 206) bad('Cache.put(): cannot cache a response to a range request (206 Partial Content).');
    if (!(a.body instanceof Uint8Array)) bad('Cache.put(): the body must be bytes');
    let body = a.body;
    if (a.bodyRef !== undefined) {
      // A host stream the worker handed over unread (an R2 body, its request's body): read here, at most the entry bound.
      if (!ctx.readHostBody) bad('Cache.put(): a body stream can only be stored during a request');
      const tooLarge = typeof a.tooLarge === 'string' ? a.tooLarge : `Cache.put(): the response body is larger than ${store.maxEntryBytes} bytes.`;
      try {
        body = await ctx.readHostBody(a.bodyRef, store.maxEntryBytes, tooLarge);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        throw new HostOpError('TypeError', err instanceof Error ? err.message : String(err));
      }
    }
    try {
      const r = store.put(ctx.worker, cacheKey(a.cache), {
        url: url(a.url),
        requestHeaders: headers(a.requestHeaders, 'the request headers'),
        status,
        statusText: typeof a.statusText === 'string' ? a.statusText : '',
        headers: headers(a.headers, 'the response headers'),
        body,
      });
      return r.stored ? { stored: true } : { stored: false, reason: r.reason };
    } catch (err) {
      if (err instanceof CacheEntryTooLargeError) throw new HostOpError('TypeError', err.message);
      throw err;
    }
  });
  register('cache.match', (arg: unknown, ctx: HostOpContext) => {
    const a = record(arg);
    const r = store.match(ctx.worker, cacheKey(a.cache), url(a.url), headers(a.headers, 'the request headers'));
    if (r === null || r.body === null) return r;
    if (r.body.byteLength > HELD_ABOVE && ctx.holdBody) return { ...r, body: ctx.holdBody(r.body) };
    // A view (a Range of the entry) would cross into the isolate with the whole buffer under it.
    return r.body.byteLength === r.body.buffer.byteLength ? r : { ...r, body: r.body.slice() };
  });
  register('cache.delete', (arg: unknown, ctx: HostOpContext) => {
    const a = record(arg);
    return store.delete(ctx.worker, cacheKey(a.cache), url(a.url));
  });
}
