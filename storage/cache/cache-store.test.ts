// CacheStore: the Cache API's HTTP rules and storage, with an injected clock and a temporary directory.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheEntryTooLargeError, CacheStore, parseRange, storagePolicy, type CachePutInput, type HeaderList } from './cache-store.ts';

const URL_A = 'https://example.com/a';
const body = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array(0));
const put = (headers: HeaderList, extra: Partial<CachePutInput> = {}): CachePutInput => ({ url: URL_A, requestHeaders: [], status: 200, statusText: 'OK', headers, body: body('hello'), ...extra });

describe('CacheStore', () => {
  let dir: string;
  let now = 1_000_000;
  let store: CacheStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cache-store-'));
    now = 1_000_000;
    store = new CacheStore({ dir, now: () => now, maxEntryBytes: 4096, maxWorkerBytes: 1000 });
  });
  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('expires by s-maxage before max-age, then Expires, then the default TTL of the status', () => {
    expect(storagePolicy(200, [['cache-control', 'max-age=60, s-maxage=10']], 0)).toMatchObject({ store: true, expiresAt: 10_000 });
    expect(storagePolicy(200, [['Cache-Control', 'public, max-age=60']], 0)).toMatchObject({ store: true, expiresAt: 60_000 });
    expect(storagePolicy(200, [['expires', new Date(30_000).toUTCString()]], 0)).toMatchObject({ store: true, expiresAt: 30_000 });
    expect(storagePolicy(200, [], 0)).toMatchObject({ store: true, expiresAt: 7_200_000 });
    expect(storagePolicy(404, [], 0)).toMatchObject({ store: true, expiresAt: 180_000 });
    expect(storagePolicy(500, [], 0)).toMatchObject({ store: false });
    expect(storagePolicy(500, [['cache-control', 'max-age=5']], 0)).toMatchObject({ store: true, expiresAt: 5000 });
    expect(storagePolicy(200, [['cache-control', 'max-age=0']], 0)).toMatchObject({ store: false });
    expect(storagePolicy(200, [['expires', '0']], 0)).toMatchObject({ store: false });
  });

  it('does not store no-store, private, no-cache or Set-Cookie responses; private=Set-Cookie stores without the cookie', () => {
    for (const cc of ['no-store', 'private', 'no-cache', 'public, max-age=60, no-store']) expect(storagePolicy(200, [['cache-control', cc]], 0).store).toBe(false);
    expect(storagePolicy(200, [['set-cookie', 'a=1']], 0)).toMatchObject({ store: false, reason: expect.stringMatching(/Set-Cookie/) });
    const p = storagePolicy(200, [['set-cookie', 'a=1'], ['cache-control', 'private="Set-Cookie", max-age=60'], ['x', 'y']], 0);
    expect(p).toEqual({ store: true, expiresAt: 60_000, headers: [['cache-control', 'private="Set-Cookie", max-age=60'], ['x', 'y']] });
  });

  it('matches until expiry, then misses and reclaims the entry', () => {
    expect(store.put('w', 'default', put([['cache-control', 'max-age=10'], ['content-type', 'text/plain']]))).toEqual({ stored: true, expiresAt: now + 10_000 });
    const hit = store.match('w', 'default', URL_A, []);
    expect(hit).toMatchObject({ status: 200, statusText: 'OK' });
    expect(hit!.headers).toEqual([['cache-control', 'max-age=10'], ['content-type', 'text/plain'], ['cf-cache-status', 'HIT']]);
    expect(text(hit!.body)).toBe('hello');
    now += 10_000;
    expect(store.match('w', 'default', URL_A, [])).toBeNull();
    expect(store.sizeOf('w')).toBe(0);
  });

  it('keeps workers and named caches apart', () => {
    store.put('w1', 'default', put([], { body: body('w1 default') }));
    store.put('w1', 'named:x', put([], { body: body('w1 x') }));
    expect(store.match('w2', 'default', URL_A, [])).toBeNull();
    expect(text(store.match('w1', 'default', URL_A, [])!.body)).toBe('w1 default');
    expect(text(store.match('w1', 'named:x', URL_A, [])!.body)).toBe('w1 x');
    expect(store.match('w1', 'named:y', URL_A, [])).toBeNull();
  });

  it('honours Vary: a stored variant matches only requests with the same values of the varied headers', () => {
    store.put('w', 'default', put([['vary', 'Accept-Language']], { requestHeaders: [['accept-language', 'fr']], body: body('bonjour') }));
    store.put('w', 'default', put([['vary', 'accept-language']], { requestHeaders: [['Accept-Language', 'en']], body: body('hello') }));
    expect(text(store.match('w', 'default', URL_A, [['accept-language', 'fr']])!.body)).toBe('bonjour');
    expect(text(store.match('w', 'default', URL_A, [['accept-language', 'en']])!.body)).toBe('hello');
    expect(store.match('w', 'default', URL_A, [['accept-language', 'de']])).toBeNull();
    expect(store.match('w', 'default', URL_A, [])).toBeNull();
    // A put replaces the variant the request matches, not the others.
    store.put('w', 'default', put([['vary', 'accept-language']], { requestHeaders: [['accept-language', 'en']], body: body('hi') }));
    expect(text(store.match('w', 'default', URL_A, [['accept-language', 'en']])!.body)).toBe('hi');
    expect(text(store.match('w', 'default', URL_A, [['accept-language', 'fr']])!.body)).toBe('bonjour');
    expect(store.delete('w', 'default', URL_A)).toBe(true);
    expect(store.delete('w', 'default', URL_A)).toBe(false);
    expect(store.match('w', 'default', URL_A, [['accept-language', 'fr']])).toBeNull();
  });

  it('serves ranges (206/416) and conditional requests (304) from a stored 200', () => {
    store.put('w', 'default', put([['etag', '"v1"'], ['content-length', '10'], ['last-modified', new Date(0).toUTCString()]], { body: body('0123456789') }));
    const r = store.match('w', 'default', URL_A, [['range', 'bytes=2-4']])!;
    expect(r.status).toBe(206);
    expect(text(r.body)).toBe('234');
    expect(r.headers).toContainEqual(['content-range', 'bytes 2-4/10']);
    expect(r.headers).toContainEqual(['content-length', '3']);
    expect(text(store.match('w', 'default', URL_A, [['range', 'bytes=-3']])!.body)).toBe('789');
    expect(text(store.match('w', 'default', URL_A, [['range', 'bytes=7-']])!.body)).toBe('789');
    expect(store.match('w', 'default', URL_A, [['range', 'bytes=20-']])).toMatchObject({ status: 416, body: null });
    expect(store.match('w', 'default', URL_A, [['range', 'bytes=1-2,4-5']])).toMatchObject({ status: 200 });
    expect(store.match('w', 'default', URL_A, [['if-none-match', 'W/"v1"']])).toMatchObject({ status: 304, body: null });
    expect(store.match('w', 'default', URL_A, [['if-none-match', '"v2"']])).toMatchObject({ status: 200 });
    expect(store.match('w', 'default', URL_A, [['if-modified-since', new Date(1000).toUTCString()]])).toMatchObject({ status: 304 });
    expect(parseRange('bytes=0-0', 0)).toBe('unsatisfiable');
  });

  it('refuses entries over the entry bound and evicts the least recently used past the worker bound', () => {
    expect(() => store.put('w', 'default', put([], { body: new Uint8Array(5000) }))).toThrow(CacheEntryTooLargeError);
    const at = (i: number): string => `https://example.com/${i}`;
    for (let i = 0; i < 4; i++) {
      now += 1;
      store.put('w', 'default', put([], { url: at(i), body: new Uint8Array(200) }));
    }
    now += 1;
    expect(store.match('w', 'default', at(0), [])).not.toBeNull(); // 0 is now the most recently used
    now += 1;
    store.put('w', 'default', put([], { url: at(4), body: new Uint8Array(200) }));
    expect(store.sizeOf('w')).toBeLessThanOrEqual(1000);
    expect(store.match('w', 'default', at(1), [])).toBeNull();
    for (const i of [0, 2, 3, 4]) expect(store.match('w', 'default', at(i), [])).not.toBeNull();
  });

  it('survives being closed and reopened (a host restart)', () => {
    store.put('w', 'named:x', put([['cache-control', 'max-age=60']]));
    store.close();
    const again = new CacheStore({ dir, now: () => now });
    expect(text(again.match('w', 'named:x', URL_A, [])!.body)).toBe('hello');
    again.close();
  });
});
