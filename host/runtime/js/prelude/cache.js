// The Workers Cache API: `caches.default` and `caches.open(name)`, each a Cache with match/put/delete, stored by the
// host per worker (the 'cache.*' host ops, host/runtime/cache-ops.ts and cache-store.ts), which applies the HTTP
// caching rules (Cache-Control, Set-Cookie, Vary, expiry, Range). The errors Workers throws on put are thrown here.
// A body the worker read is sent as bytes, so an entry is capped (MAX_ENTRY_BYTES, as the host's default); a host
// stream nobody read (an R2 body, the request's body, a KV stream) is read by the host itself, and a match's body
// longer than a few KB stays on the host (a held body, host-streams.js) until the worker reads it: returned as it
// is, the host sends it without it entering the isolate.
import { hostAsync } from './internal/async.js';
import { Request, isRequest, getRequestHead } from './request.js';
import { isResponse, getResponseHead, createFetchResponse } from './response.js';
import { takeBody, readAllBytes } from './body.js';
import { URL } from './url.js';
import { claimHostStream, heldStream, isHeldBody } from './host-streams.js';
/** @import { HeaderList, HeldBody } from '../../../core/isolate-protocol.ts' */

export const MAX_ENTRY_BYTES = 8 * 1024 * 1024;
const CONSTRUCT = Symbol('construct');

function requestOf(method, input) {
  if (isRequest(input)) return input;
  if (typeof input === 'string' || input instanceof URL) return new Request(input);
  throw new TypeError(`Failed to execute '${method}' on 'Cache': the request must be a Request, a URL or a URL string.`);
}

function readCapped(stream) {
  return readAllBytes(stream, {
    max: MAX_ENTRY_BYTES,
    what: 'Cache.put(): the response body stream',
    tooLarge: (max) => new TypeError(`Cache.put(): the response body is larger than ${max} bytes, the most this runtime caches per entry.`),
  });
}

function headerValue(list, name) {
  const values = [];
  for (const [n, v] of list) if (n.toLowerCase() === name) values.push(v);
  return values.length === 0 ? null : values.join(', ');
}

const names = new WeakMap();

class Cache {
  constructor(token, name) {
    if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
    names.set(this, name);
  }

  /** The stored Response for a GET of the request's URL (its Vary headers matching), or undefined. */
  async match(request, options) {
    const head = getRequestHead(requestOf('match', request));
    if (head.method !== 'GET' && !options?.ignoreMethod) return undefined;
    // The stored response, as the host's 'cache.match' (host/web/cache/cache-ops.ts) answers it.
    const r = /** @type {{ status: number, statusText: string, headers: HeaderList, body: Uint8Array | HeldBody | null } | null | undefined} */ (
      await hostAsync('cache.match', { cache: names.get(this), url: head.url, headers: head.headers })
    );
    if (r === null || r === undefined) return undefined;
    const body = isHeldBody(r.body) ? heldStream(r.body) : r.body;
    return createFetchResponse({ status: r.status, statusText: r.statusText, headers: r.headers, body, url: head.url });
  }

  /** Stores the response for GETs of the request's URL (unless its headers say not to); consumes its body. */
  async put(request, response) {
    const head = getRequestHead(requestOf('put', request));
    if (head.method !== 'GET') throw new TypeError('Cannot cache response to non-GET request.');
    if (!isResponse(response)) throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
    const res = getResponseHead(response);
    if (res.status === 206) throw new TypeError('Cannot cache response to a range request (206 Partial Content).');
    const vary = headerValue(res.headers, 'vary');
    if (vary !== null && vary.split(',').some((v) => v.trim() === '*')) throw new TypeError("Cannot cache response with 'Vary: *' header.");
    const taken = takeBody(response);
    // A host stream nobody read is read whole by the host (with the same cap), never entering the isolate.
    const bodyRef = taken === null || taken instanceof Uint8Array ? null : claimHostStream(taken);
    const body = taken === null ? new Uint8Array(0) : taken instanceof Uint8Array ? taken : bodyRef !== null ? new Uint8Array(0) : await readCapped(taken);
    if (body.byteLength > MAX_ENTRY_BYTES) {
      throw new TypeError(`Cache.put(): the response body is ${body.byteLength} bytes; this runtime caches at most ${MAX_ENTRY_BYTES} bytes per entry.`);
    }
    await hostAsync('cache.put', {
      cache: names.get(this),
      url: head.url,
      requestHeaders: head.headers,
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
      body,
      ...(bodyRef !== null ? { bodyRef, tooLarge: `Cache.put(): the response body is larger than ${MAX_ENTRY_BYTES} bytes, the most this runtime caches per entry.` } : {}),
    });
    return undefined;
  }

  /** Removes what is stored for the request's URL; whether there was something. */
  async delete(request, options) {
    const head = getRequestHead(requestOf('delete', request));
    if (head.method !== 'GET' && !options?.ignoreMethod) return false;
    return hostAsync('cache.delete', { cache: names.get(this), url: head.url });
  }
}
Object.defineProperty(Cache.prototype, Symbol.toStringTag, { value: 'Cache', configurable: true });

let defaultCache = null;

class CacheStorage {
  constructor(token) {
    if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
  }

  /** The worker's default cache. */
  get default() {
    return (defaultCache ??= new Cache(CONSTRUCT, null));
  }

  /** A named cache of the worker, separate from the default one and from other names. */
  async open(cacheName) {
    if (cacheName === undefined) throw new TypeError("Failed to execute 'open' on 'CacheStorage': parameter 1 is not of type 'string'.");
    return new Cache(CONSTRUCT, String(cacheName));
  }
}
Object.defineProperty(CacheStorage.prototype, Symbol.toStringTag, { value: 'CacheStorage', configurable: true });

export { Cache, CacheStorage };
export const caches = new CacheStorage(CONSTRUCT);
