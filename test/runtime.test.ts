// The worker runtime end to end: bodies streaming both ways through a real host, Web APIs as a handler sees
// them, timers and waitUntil, escape attempts, tail, cold starts after eviction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';

/** A request body of `total` bytes produced 64 KiB at a time, only as fast as it is read. */
function generatedUpload(total: number, fill: number): { body: Readable; sent(): number } {
  const chunk = Buffer.alloc(64 * 1024, fill);
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= total) return this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { body, sent: () => sent };
}

describe('worker runtime', () => {
  let t: TestHost;
  const events: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => events.push(e));
  });
  afterAll(async () => {
    await t.close();
  });

  it('streams a 50 MB upload through a worker without buffering it in the host', async () => {
    await t.deploy('sink', {
      toml: manifestFor('sink', 'index.js', '[limits]\ncpu_ms = 5000'),
      modules: {
        'index.js': `export default { async fetch(req) {
          let bytes = 0, chunks = 0, sum = 0;
          const reader = req.body.getReader();
          for (;;) { const { value, done } = await reader.read(); if (done) break; bytes += value.byteLength; chunks++; sum = (sum + value[0]) % 65536; }
          return Response.json({ bytes, chunks, sum });
        } };`,
      },
    });
    const total = 50 * 1024 * 1024;
    const upload = generatedUpload(total, 7);
    const res = await t.get('sink', '/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: upload.body });
    expect(res.status).toBe(200);
    const out = JSON.parse(res.text);
    expect(out.bytes).toBe(total);
    expect(out.chunks).toBeGreaterThan(50);
  });

  it('reads the request body only as fast as the worker pulls it (backpressure reaches the client)', async () => {
    await t.deploy('sip', {
      modules: {
        'index.js': `export default { async fetch(req) {
          const reader = req.body.getReader();
          const first = await reader.read();
          await new Promise((r) => setTimeout(r, 300));
          return new Response(String(first.value.byteLength));
        } };`,
      },
    });
    const upload = generatedUpload(50 * 1024 * 1024, 1);
    const res = await t.get('sip', '/', { method: 'POST', body: upload.body });
    expect(res.status).toBe(200);
    // If the host buffered bodies, all 50 MB would have been drained from the client by the time it answered.
    expect(upload.sent()).toBeLessThan(16 * 1024 * 1024);
  });

  it('echoes a request body and reads text/json/arrayBuffer', async () => {
    await t.deploy('echo', {
      modules: {
        'index.js': `export default { async fetch(req) {
          const p = new URL(req.url).pathname;
          if (p === '/json') { const j = await req.json(); return Response.json({ got: j, method: req.method }); }
          if (p === '/bytes') { const b = new Uint8Array(await req.arrayBuffer()); return new Response(b.reverse()); }
          if (p === '/twice') { await req.text(); try { await req.text(); return new Response('no error'); } catch (e) { return new Response(e.constructor.name + ': ' + e.message); } }
          return new Response(await req.text(), { headers: { 'x-len': String(req.headers.get('content-length')) } });
        } };`,
      },
    });
    const text = await t.get('echo', '/', { method: 'POST', body: 'héllo wörld ✓ 🎉' });
    expect(text.text).toBe('héllo wörld ✓ 🎉');
    const json = await t.get('echo', '/json', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [1, 'ü'] }) });
    expect(JSON.parse(json.text)).toEqual({ got: { a: [1, 'ü'] }, method: 'PUT' });
    const bytes = await t.get('echo', '/bytes', { method: 'POST', body: new Uint8Array([1, 2, 3, 255]) });
    expect([...bytes.body]).toEqual([255, 3, 2, 1]);
    const twice = await t.get('echo', '/twice', { method: 'POST', body: 'x' });
    expect(twice.text).toMatch(/^TypeError: .*already been used/);
  });

  it('streams a large response out of a worker chunk by chunk', async () => {
    await t.deploy('gen', {
      toml: manifestFor('gen', 'index.js', '[limits]\ncpu_ms = 5000'),
      modules: {
        'index.js': `export default { fetch(req) {
          const n = Number(new URL(req.url).searchParams.get('mb') ?? 1) * 16;
          let i = 0;
          const chunk = new Uint8Array(65536).fill(97);
          const body = new ReadableStream({
            async pull(c) { if (i++ >= n) return c.close(); if (i % 4 === 0) await new Promise((r) => setTimeout(r, 0)); c.enqueue(chunk); },
          });
          return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
        } };`,
      },
    });
    const res = await t.get('gen', '/?mb=20');
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(20 * 1024 * 1024);
    expect(res.headers['transfer-encoding']).toBe('chunked');
  });

  it('cancels the guest stream when the client goes away', async () => {
    await t.deploy('forever', {
      modules: {
        'index.js': `let cancelled = 0;
          export default { fetch(req) {
            if (new URL(req.url).pathname === '/stats') return new Response(String(cancelled));
            const body = new ReadableStream({ async pull(c) { await new Promise((r) => setTimeout(r, 5)); c.enqueue(new Uint8Array(1024)); }, cancel() { cancelled++; } });
            return new Response(body);
          } };`,
      },
    });
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${t.host.dataUrl}/`, { headers: { host: `forever.localhost:${t.port}` } }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 8 * 1024) {
            req.destroy();
            resolve();
          }
        });
      });
      req.end();
    });
    let cancelled = '0';
    for (let i = 0; i < 50 && cancelled === '0'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      cancelled = (await t.get('forever', '/stats')).text;
    }
    expect(cancelled).toBe('1');
  });

  it('gives handlers Web-standard Request, Headers and Response behaviour', async () => {
    await t.deploy('webapi', {
      modules: {
        'index.js': `export default { async fetch(req, env, ctx) {
          const u = new URL(req.url);
          const out = {
            method: req.method,
            path: u.pathname,
            q: u.searchParams.get('q'),
            host: u.hostname,
            xCustom: req.headers.get('X-CUSTOM'),
            hasCustom: req.headers.has('x-custom'),
            immutable: (() => { try { req.headers.set('a', 'b'); return false; } catch (e) { return e instanceof TypeError; } })(),
            ip: req.headers.get('cf-connecting-ip'),
            utf8: new TextDecoder().decode(new TextEncoder().encode('✓ ü 🎉')),
            b64: btoa('hello'),
            uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
            clone: structuredClone({ d: new Date(0), m: new Map([[1, 2]]) }).m.get(1),
            timers: await new Promise((r) => setTimeout(() => r('fired'), 10)),
            micro: await new Promise((r) => queueMicrotask(() => r('ran'))),
            typeofs: [typeof process, typeof require, typeof Buffer, typeof globalThis.__edgeInit, typeof globalThis.__edgeWorker, typeof globalThis.__edgeHost],
          };
          const res = Response.json(out, { status: 201, headers: { 'x-one': '1' } });
          res.headers.append('Set-Cookie', 'a=1');
          res.headers.append('Set-Cookie', 'b=2');
          return res;
        } };`,
      },
    });
    // A client cannot claim another address: its own cf-connecting-ip is dropped.
    const res = await t.get('webapi', '/p/a%20th?q=%C3%BC+x', { headers: { 'X-Custom': 'yes', 'CF-Connecting-IP': '192.0.2.10' } });
    expect(res.status).toBe(201);
    expect(res.headers['x-one']).toBe('1');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(JSON.parse(res.text)).toEqual({
      method: 'GET',
      path: '/p/a%20th',
      q: 'ü x',
      host: 'webapi.localhost',
      xCustom: 'yes',
      hasCustom: true,
      immutable: true,
      ip: '127.0.0.1',
      utf8: '✓ ü 🎉',
      b64: 'aGVsbG8=',
      uuid: true,
      clone: 2,
      timers: 'fired',
      micro: 'ran',
      typeofs: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'],
    });
  });

  it('runs ctx.waitUntil work after the response and logs console output to tail', async () => {
    await t.deploy('bg', {
      modules: {
        'index.js': `export default { fetch(req, env, ctx) {
          ctx.waitUntil(new Promise((r) => setTimeout(r, 50)).then(() => console.log('after response', { n: 1 })));
          console.warn('before response');
          return new Response('fast');
        } };`,
      },
    });
    const r = await t.get('bg');
    expect(r.text).toBe('fast');
    for (let i = 0; i < 50 && !events.some((e) => e.worker === 'bg' && e.message.includes('after response')); i++) await new Promise((res) => setTimeout(res, 10));
    const logs = events.filter((e) => e.worker === 'bg' && e.kind === 'console');
    expect(logs.map((e) => [e.level, e.message])).toEqual([
      ['warn', 'before response'],
      ['log', "after response { n: 1 }"],
    ]);
  });

  it('keeps guests away from the host through constructors of objects that crossed the boundary', async () => {
    await t.deploy('escape', {
      modules: {
        'index.js': `export default { async fetch(req, env, ctx) {
          const probes = {
            fnCtor: () => Function('return typeof process')(),
            reqCtor: () => req.constructor.constructor('return typeof process + typeof require')(),
            headersCtor: () => String(req.headers.constructor.constructor('return this')().process),
            envCtor: () => env.constructor.constructor('return typeof process')(),
            ctxCtor: () => ctx.waitUntil.constructor('return typeof require')(),
            protoChain: () => String(Object.getPrototypeOf(Object.getPrototypeOf(req)).constructor.constructor('return globalThis.process')()),
            globalKeys: () => Object.getOwnPropertyNames(globalThis).filter((k) => /^(process|require|module|Buffer|__dirname|__filename|ivm|_ivm|global|exports)$/.test(k)).join(','),
            errorStack: () => { try { null.x } catch (e) { return /node:|\\/host\\/|isolated-vm/.test(e.stack) ? 'leak' : 'clean'; } },
            dynamicImport: async () => { try { await import('node:fs'); return 'imported'; } catch (e) { return 'refused'; } },
            evalImport: async () => { try { await eval('import("fs")'); return 'imported'; } catch (e) { return 'refused'; } },
            prepareStack: () => { Error.prepareStackTrace = (e, frames) => frames.map((f) => typeof f.getThis === 'function' && f.getThis() && f.getThis().process ? 'leak' : 'ok').join(); return String(new Error('x').stack).includes('leak') ? 'leak' : 'clean'; },
          };
          const out = {};
          for (const [k, f] of Object.entries(probes)) { try { out[k] = await f(); } catch (e) { out[k] = 'threw ' + e.name; } }
          return Response.json(out);
        } };`,
      },
    });
    const out = JSON.parse((await t.get('escape')).text);
    expect(out).toEqual({
      fnCtor: 'undefined',
      reqCtor: 'undefinedundefined',
      headersCtor: 'undefined',
      envCtor: 'undefined',
      ctxCtor: 'undefined',
      protoChain: 'undefined',
      globalKeys: '',
      errorStack: 'clean',
      dynamicImport: 'refused',
      evalImport: 'refused',
      prepareStack: 'clean',
    });
  });

  it('cold-starts an evicted worker from the pool with its deploy-time code cache', async () => {
    await t.deploy('coldy', { modules: { 'index.js': 'let n = 0; export default { fetch() { return new Response(String(++n)); } };' } });
    expect((await t.get('coldy')).text).toBe('1');
    expect((await t.get('coldy')).text).toBe('2');
    expect(t.host.runtime.evict('coldy')).toBe(true);
    // A fresh isolate: module state starts over.
    expect((await t.get('coldy')).text).toBe('1');
    const metrics = await t.admin('GET', '/metrics');
    expect(metrics.body).toMatch(/edge_cold_starts_total\{worker="coldy"\} 1/);
  });

  it('does not let a cold start block warm requests of other workers', async () => {
    await t.deploy('warm1', { modules: { 'index.js': 'export default { fetch() { return new Response("w"); } };' } });
    const big = `export default { fetch() { return new Response("big"); } };\n` + Array.from({ length: 9000 }, (_, i) => `export function f${i}(a) { return a * ${i} + ${i}; }`).join('\n');
    await t.deploy('bigcold', { modules: { 'index.js': big } });
    t.host.runtime.evict('bigcold');
    const cold = t.get('bigcold');
    const warm = await t.get('warm1');
    expect(warm.text).toBe('w');
    expect((await cold).text).toBe('big');
  });
});

describe('isolate eviction', () => {
  it('keeps at most maxIsolates warm isolates, evicting the least recently used', async () => {
    const t = await startTestHost({ maxIsolates: 3 });
    try {
      const boot: Record<string, string> = {};
      for (let i = 1; i <= 5; i++) {
        await t.deploy(`lru${i}`, { modules: { 'index.js': 'const boot = crypto.randomUUID(); export default { fetch() { return new Response(boot); } };' } });
        boot[`lru${i}`] = (await t.get(`lru${i}`)).text;
        expect(t.host.runtime.isolatesAlive).toBeLessThanOrEqual(3);
      }
      // The three most recently used kept their isolates; lru1 was evicted and starts a fresh one.
      expect((await t.get('lru5')).text).toBe(boot.lru5);
      expect((await t.get('lru4')).text).toBe(boot.lru4);
      expect((await t.get('lru1')).text).not.toBe(boot.lru1);
      expect(t.host.runtime.isolatesAlive).toBeLessThanOrEqual(3);
      expect(t.host.runtime.evictions).toBeGreaterThanOrEqual(3);
    } finally {
      await t.close();
    }
  });
});
