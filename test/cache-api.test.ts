// The Cache API (caches.default, caches.open) in workers through a real host: hits and misses, Workers' refusals,
// expiry, Vary, Range, per-worker and per-name isolation, persistence across a host restart, the entry size cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childAdmin, kill9, startChildHost, type ChildHost } from './helpers/child-host.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from './helpers/http.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const worker = `
export default {
  async fetch(req) {
    const u = new URL(req.url);
    const q = (k, d) => u.searchParams.get(k) ?? d;
    const key = q('key', 'https://cache.test/item');
    const cache = u.searchParams.has('cache') ? await caches.open(q('cache')) : caches.default;
    const reqHeaders = JSON.parse(q('reqHeaders', '{}'));
    try {
      switch (u.pathname) {
        case '/put': {
          const res = new Response(q('body', 'cached body'), { status: Number(q('status', 200)), headers: JSON.parse(q('headers', '{}')) });
          await cache.put(new Request(key, { method: q('method', 'GET'), headers: reqHeaders }), res);
          return new Response('stored; bodyUsed ' + res.bodyUsed);
        }
        case '/match': {
          const r = await cache.match(new Request(key, { method: q('method', 'GET'), headers: reqHeaders }), { ignoreMethod: u.searchParams.has('ignoreMethod') });
          if (r === undefined) return new Response('miss', { status: 404 });
          return Response.json({ status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() });
        }
        case '/delete':
          return Response.json(await cache.delete(new Request(key, { method: q('method', 'GET') }), { ignoreMethod: u.searchParams.has('ignoreMethod') }));
        case '/stream': {
          const size = Number(q('size', 100));
          const chunk = new Uint8Array(64 * 1024).fill(120);
          let sent = 0;
          const body = new ReadableStream({ pull(c) { if (sent >= size) return c.close(); const n = Math.min(chunk.length, size - sent); c.enqueue(chunk.subarray(0, n)); sent += n; } });
          await cache.put(key, new Response(body, { headers: { 'cache-control': 'max-age=60' } }));
          const r = await cache.match(new URL(key));
          return new Response('stream stored ' + (await r.arrayBuffer()).byteLength);
        }
        case '/misc':
          return Response.json([
            caches.default === caches.default,
            Object.prototype.toString.call(caches),
            Object.prototype.toString.call(caches.default),
            await cache.match('https://cache.test/never'),
          ]);
      }
    } catch (e) {
      return new Response(e.constructor.name + ': ' + e.message, { status: 400 });
    }
    return new Response('no route', { status: 404 });
  },
};
`;

type Params = Record<string, string | Record<string, string>>;

describe('Cache API', () => {
  let t: TestHost;
  const call = async (name: string, path: string, params: Params = {}): Promise<{ status: number; text: string; json: () => any }> => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    const r = await t.get(name, `${path}?${qs}`);
    return { status: r.status, text: r.text, json: () => JSON.parse(r.text) };
  };
  beforeAll(async () => {
    t = await startTestHost();
    for (const name of ['c1', 'c2']) expect((await t.deploy(name, { modules: { 'index.js': worker } })).status).toBe(201);
  });
  afterAll(() => t.close());

  it('stores a response and matches it with its headers and cf-cache-status: HIT; misses otherwise', async () => {
    const key = 'https://cache.test/hit';
    expect((await call('c1', '/match', { key })).text).toBe('miss');
    expect((await call('c1', '/put', { key, headers: { 'content-type': 'text/x-test', 'cache-control': 'max-age=300', 'x-custom': 'kept' } })).text).toBe('stored; bodyUsed true');
    const hit = (await call('c1', '/match', { key })).json();
    expect(hit.status).toBe(200);
    expect(hit.body).toBe('cached body');
    expect(hit.headers).toMatchObject({ 'content-type': 'text/x-test', 'x-custom': 'kept', 'cf-cache-status': 'HIT' });
    expect((await call('c1', '/misc')).json()).toEqual([true, '[object CacheStorage]', '[object Cache]', null]);
  });

  it('refuses what Workers refuses: non-GET requests, 206 responses, Vary: *', async () => {
    expect((await call('c1', '/put', { method: 'POST' })).text).toBe('TypeError: Cannot cache response to non-GET request.');
    expect((await call('c1', '/put', { status: '206' })).text).toBe('TypeError: Cannot cache response to a range request (206 Partial Content).');
    expect((await call('c1', '/put', { headers: { vary: 'Accept, *' } })).text).toBe("TypeError: Cannot cache response with 'Vary: *' header.");
  });

  it('does not store no-store, private or Set-Cookie responses; private=Set-Cookie stores them without the cookie', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['no-store', { 'cache-control': 'no-store' }],
      ['private', { 'cache-control': 'private, max-age=60' }],
      ['cookie', { 'set-cookie': 'session=1', 'cache-control': 'max-age=60' }],
    ];
    for (const [name, headers] of cases) {
      const key = `https://cache.test/${name}`;
      expect((await call('c1', '/put', { key, headers })).status).toBe(200);
      expect((await call('c1', '/match', { key })).text).toBe('miss');
    }
    const key = 'https://cache.test/cookie-stripped';
    await call('c1', '/put', { key, headers: { 'set-cookie': 'session=1', 'cache-control': 'private=Set-Cookie, max-age=60' } });
    const hit = (await call('c1', '/match', { key })).json();
    expect(hit.body).toBe('cached body');
    expect(hit.headers['set-cookie']).toBeUndefined();
  });

  it('expires entries after max-age (s-maxage first)', async () => {
    const key = 'https://cache.test/short';
    await call('c1', '/put', { key, headers: { 'cache-control': 'max-age=600, s-maxage=1' } });
    expect((await call('c1', '/match', { key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call('c1', '/match', { key })).text).toBe('miss');
  });

  it('honours Vary with the stored request\'s header values', async () => {
    const key = 'https://cache.test/vary';
    await call('c1', '/put', { key, body: 'bonjour', headers: { vary: 'Accept-Language', 'cache-control': 'max-age=60' }, reqHeaders: { 'accept-language': 'fr' } });
    expect((await call('c1', '/match', { key, reqHeaders: { 'accept-language': 'fr' } })).json().body).toBe('bonjour');
    expect((await call('c1', '/match', { key, reqHeaders: { 'accept-language': 'en' } })).text).toBe('miss');
    expect((await call('c1', '/match', { key })).text).toBe('miss');
  });

  it('matches and deletes GETs only unless ignoreMethod; delete says whether something was deleted', async () => {
    const key = 'https://cache.test/methods';
    await call('c1', '/put', { key, headers: { 'cache-control': 'max-age=60' } });
    expect((await call('c1', '/match', { key, method: 'POST' })).text).toBe('miss');
    expect((await call('c1', '/match', { key, method: 'POST', ignoreMethod: '1' })).status).toBe(200);
    expect((await call('c1', '/delete', { key, method: 'POST' })).json()).toBe(false);
    expect((await call('c1', '/delete', { key })).json()).toBe(true);
    expect((await call('c1', '/delete', { key })).json()).toBe(false);
    expect((await call('c1', '/match', { key })).text).toBe('miss');
  });

  it('answers a Range request from a stored 200 with 206', async () => {
    const key = 'https://cache.test/range';
    await call('c1', '/put', { key, body: '0123456789', headers: { 'cache-control': 'max-age=60' } });
    const r = (await call('c1', '/match', { key, reqHeaders: { range: 'bytes=3-5' } })).json();
    expect(r).toMatchObject({ status: 206, body: '345', headers: { 'content-range': 'bytes 3-5/10' } });
  });

  it('keeps workers and named caches apart', async () => {
    const key = 'https://cache.test/isolated';
    await call('c1', '/put', { key, body: 'c1 default', headers: { 'cache-control': 'max-age=60' } });
    await call('c1', '/put', { key, body: 'c1 named', cache: 'assets', headers: { 'cache-control': 'max-age=60' } });
    expect((await call('c2', '/match', { key })).text).toBe('miss');
    expect((await call('c2', '/match', { key, cache: 'assets' })).text).toBe('miss');
    expect((await call('c1', '/match', { key })).json().body).toBe('c1 default');
    expect((await call('c1', '/match', { key, cache: 'assets' })).json().body).toBe('c1 named');
    expect((await call('c1', '/match', { key, cache: 'other' })).text).toBe('miss');
  });

  it('caches streamed bodies and refuses entries over the 8 MiB cap with a clear error', async () => {
    expect((await call('c1', '/stream', { key: 'https://cache.test/stream', size: String(300 * 1024) })).text).toBe(`stream stored ${300 * 1024}`);
    const big = await call('c1', '/stream', { key: 'https://cache.test/big', size: String(9 * 1024 * 1024) });
    expect(big.text).toBe('TypeError: Cache.put(): the response body is larger than 8388608 bytes, the most this runtime caches per entry.');
  });

  it('forgets a deleted worker\'s entries: a new worker of the same name starts empty', async () => {
    const key = 'https://cache.test/deleted';
    expect((await t.deploy('c3', { modules: { 'index.js': worker } })).status).toBe(201);
    await call('c3', '/put', { key, body: 'old worker', headers: { 'cache-control': 'max-age=600' } });
    expect((await call('c3', '/match', { key })).json().body).toBe('old worker');
    expect((await t.admin('DELETE', '/v1/workers/c3')).status).toBe(200);
    expect((await t.deploy('c3', { modules: { 'index.js': worker } })).status).toBe(201);
    expect((await call('c3', '/match', { key })).text).toBe('miss');
  });

  it('persists entries across a host restart', async () => {
    const key = 'https://cache.test/persist';
    await call('c1', '/put', { key, body: 'still here', cache: 'p', headers: { 'cache-control': 'max-age=600' } });
    await t.restart();
    expect((await call('c1', '/match', { key, cache: 'p' })).json().body).toBe('still here');
  });
});

describe('Cache API under SIGKILL', () => {
  let dataDir = '';
  let host: ChildHost | undefined;

  afterAll(async () => {
    if (host) await kill9(host);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every entry whose put was acknowledged', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-cache-kill-'));
    host = await startChildHost(dataDir);
    const deployed = await childAdmin(host, 'POST', '/v1/workers', { manifest: { fileName: 'wrangler.toml', content: manifestFor('ck', 'index.js') }, modules: [{ path: 'index.js', content: worker }] });
    expect(deployed.status).toBe(201);
    const get = async (path: string): Promise<string> => {
      const r = await request(`${host!.dataUrl}${path}`, { host: `ck.localhost:${host!.port}` });
      return r.text;
    };
    for (let i = 0; i < 5; i++) {
      const qs = new URLSearchParams({ key: `https://cache.test/k${i}`, body: `value ${i}`, headers: JSON.stringify({ 'cache-control': 'max-age=600' }) });
      expect(await get(`/put?${qs}`)).toBe('stored; bodyUsed true');
    }
    await kill9(host);
    host = await startChildHost(dataDir);
    for (let i = 0; i < 5; i++) expect(JSON.parse(await get(`/match?key=${encodeURIComponent(`https://cache.test/k${i}`)}`)).body).toBe(`value ${i}`);
  });
});
