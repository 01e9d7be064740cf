// A worker's outbound fetch() streaming both ways: bodies larger than any buffer pass through with the host's memory
// bounded, first bytes arrive before the origin finishes, cancelling or aborting reaches the origin, redirects, the
// egress policy, and service bindings (env.X.fetch to another worker in-process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { request } from './helpers/http.ts';

/** A loopback origin whose routes the tests define; it records which responses the client side closed early. */
interface Origin {
  server: Server;
  url: string;
  routes: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

async function startOrigin(): Promise<Origin> {
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes.get(path);
    if (route) return route(req, res);
    res.statusCode = 404;
    res.end('no route ' + path);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, routes, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** Resolves when the origin's response is closed before it finished (the host released the upstream). */
function closedEarly(res: ServerResponse): Promise<void> {
  return new Promise((r) => res.on('close', () => !res.writableFinished && r()));
}

/** Deterministic bytes, `total` of them in 64 KiB chunks, with their SHA-256 known once read. */
function generated(total: number): { stream: Readable; digest(): string } {
  const hash = createHash('sha256');
  let sent = 0;
  let seed = 1;
  const stream = new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(65536, total - sent);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        chunk.writeUInt32LE(seed, i);
      }
      sent += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

describe('fetch() streaming', () => {
  let t: TestHost;
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
    t = await startTestHost({ egress: { allow: ['127.0.0.1/32'] } });
  });
  afterAll(async () => {
    await t?.close();
    origin?.server.close();
  });

  it('gives the guest the first bytes of a slow origin before the origin finishes, and streams them to the client', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let finished = false;
    origin.routes.set('/slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void released.then(() => {
        finished = true;
        res.end('second');
      });
    });
    await t.deploy('slowproxy', {
      modules: {
        'index.js': `export default { async fetch(req) {
          const r = await fetch(${JSON.stringify(origin.url + '/slow')});
          const reader = r.body.getReader();
          const first = new TextDecoder().decode((await reader.read()).value);
          // What the guest read first goes out first; the rest follows as the origin sends it.
          const body = new ReadableStream({
            start(c) { c.enqueue(new TextEncoder().encode('guest saw ' + first + ' ')); },
            async pull(c) { const { done, value } = await reader.read(); if (done) c.close(); else c.enqueue(value); },
          });
          return new Response(body, { status: r.status, headers: { 'x-origin-type': r.headers.get('content-type') } });
        } };`,
      },
    });
    const text = await new Promise<string>((resolveText, reject) => {
      const req = httpRequest(`${t.host.dataUrl}/`, { headers: { host: `slowproxy.localhost:${t.port}` } }, (res) => {
        expect(res.headers['x-origin-type']).toBe('text/plain');
        let got = '';
        res.on('data', (c: Buffer) => {
          got += c.toString();
          if (got.includes('first;') && !finished) release();
        });
        res.on('end', () => resolveText(got));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(text).toBe('guest saw first; second');
  });

  it('sends a returned fetch response on to the client as the origin produces it', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let finished = false;
    origin.routes.set('/slow2', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void released.then(() => {
        finished = true;
        res.end('second');
      });
    });
    await t.deploy('passon', { modules: { 'index.js': `export default { fetch() { return fetch(${JSON.stringify(origin.url + '/slow2')}); } };` } });
    const text = await new Promise<string>((resolveText, reject) => {
      const req = httpRequest(`${t.host.dataUrl}/`, { headers: { host: `passon.localhost:${t.port}` } }, (res) => {
        let got = '';
        res.on('data', (c: Buffer) => {
          got += c.toString();
          // The origin finishes only once the client has its first bytes.
          if (got === 'first;' && !finished) release();
        });
        res.on('end', () => resolveText(got));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(text).toBe('first;second');
  });

  it('streams a ReadableStream request body to the origin as the guest produces it', async () => {
    origin.routes.set('/count', (req, res) => {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ n, te: req.headers['transfer-encoding'] ?? null, sha: hash.digest('hex') })));
    });
    await t.deploy('uploader', {
      toml: manifestFor('uploader', 'index.js', '[limits]\ncpu_ms = 5000'),
      modules: {
        'index.js': `export default { async fetch(req) {
          let i = 0;
          const chunk = new Uint8Array(65536).fill(7);
          const body = new ReadableStream({ async pull(c) { if (i++ === 64) return c.close(); await new Promise((r) => setTimeout(r, 0)); c.enqueue(chunk.slice()); } });
          const r = await fetch(${JSON.stringify(origin.url + '/count')}, { method: 'PUT', body, duplex: 'half' });
          return new Response(await r.text());
        } };`,
      },
    });
    const res = await t.get('uploader');
    const got = JSON.parse(res.text);
    expect(got.n).toBe(64 * 65536);
    expect(got.te).toBe('chunked');
    expect(got.sha).toBe(createHash('sha256').update(Buffer.alloc(64 * 65536, 7)).digest('hex'));
  });

  it('passes the incoming request and its body straight through: fetch(origin, request)', async () => {
    origin.routes.set('/echo', (req, res) => {
      res.writeHead(200, { 'x-method': req.method ?? '', 'x-client': String(req.headers['x-client']) });
      req.pipe(res);
    });
    await t.deploy('proxy', {
      toml: manifestFor('proxy', 'index.js', '[limits]\ncpu_ms = 5000'),
      modules: { 'index.js': `export default { fetch(request) { return fetch(${JSON.stringify(origin.url + '/echo')}, request); } };` },
    });
    const input = generated(8 * 1024 * 1024);
    const res = await t.get('proxy', '/', { method: 'POST', headers: { 'x-client': 'yes' }, body: input.stream });
    expect(res.status).toBe(200);
    expect(res.headers['x-method']).toBe('POST');
    expect(res.headers['x-client']).toBe('yes');
    expect(res.body.length).toBe(8 * 1024 * 1024);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(input.digest());
  });

  it('releases the upstream when the guest cancels the body, aborts the fetch, or the client goes away', async () => {
    const closes: Array<Promise<void>> = [];
    origin.routes.set('/endless', (_req, res) => {
      closes.push(closedEarly(res));
      res.writeHead(200);
      const block = Buffer.alloc(16384, 1);
      const pump = (): void => {
        while (!res.destroyed && res.write(block));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    origin.routes.set('/stall', (_req, res) => {
      // Never answers: only the abort can end it.
      closes.push(closedEarly(res));
    });
    await t.deploy('canceller', {
      modules: {
        'index.js': `export default { async fetch(req) {
          const mode = new URL(req.url).searchParams.get('mode');
          if (mode === 'cancel') {
            const r = await fetch(${JSON.stringify(origin.url + '/endless')});
            const reader = r.body.getReader();
            const first = await reader.read();
            await reader.cancel();
            return new Response('cancelled after ' + (first.value.byteLength > 0));
          }
          if (mode === 'abort-body') {
            const ac = new AbortController();
            const r = await fetch(${JSON.stringify(origin.url + '/endless')}, { signal: ac.signal });
            const reader = r.body.getReader();
            await reader.read();
            ac.abort();
            try { await reader.read(); return new Response('read on'); } catch (e) { return new Response('body ' + e.name); }
          }
          if (mode === 'abort-head') {
            const ac = new AbortController();
            setTimeout(() => ac.abort(), 20);
            try { await fetch(${JSON.stringify(origin.url + '/stall')}, { signal: ac.signal }); return new Response('answered'); } catch (e) { return new Response('head ' + e.name); }
          }
          if (mode === 'ignore') {
            const r = await fetch(${JSON.stringify(origin.url + '/endless')});
            return new Response('ignored ' + r.status);
          }
          if (mode === 'pre-aborted') {
            try { await fetch(${JSON.stringify(origin.url + '/stall')}, { signal: AbortSignal.abort() }); return new Response('sent'); } catch (e) { return new Response('pre ' + e.name); }
          }
          return fetch(${JSON.stringify(origin.url + '/endless')});
        } };`,
      },
    });
    expect((await t.get('canceller', '/?mode=cancel')).text).toBe('cancelled after true');
    await closes[0];
    expect((await t.get('canceller', '/?mode=abort-body')).text).toBe('body AbortError');
    await closes[1];
    expect((await t.get('canceller', '/?mode=abort-head')).text).toBe('head AbortError');
    await closes[2];
    expect((await t.get('canceller', '/?mode=pre-aborted')).text).toBe('pre AbortError');
    expect(closes.length).toBe(3);
    // A body the worker never reads is released when its request ends.
    expect((await t.get('canceller', '/?mode=ignore')).text).toBe('ignored 200');
    await closes[3];
    // The client reads a little of a proxied endless body, then goes away.
    await new Promise<void>((done, reject) => {
      const req = httpRequest(`${t.host.dataUrl}/`, { headers: { host: `canceller.localhost:${t.port}` } }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 100_000) {
            req.destroy();
            done();
          }
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      req.end();
    });
    await closes[4];
  });

  it('follows, refuses or hands back redirects; a streamed body cannot be sent twice', async () => {
    origin.routes.set('/r307', (_req, res) => {
      res.writeHead(307, { location: '/echo' });
      res.end();
    });
    origin.routes.set('/r303', (req, res) => {
      req.resume();
      res.writeHead(303, { location: `${origin.url}/echo` });
      res.end();
    });
    await t.deploy('redirects', {
      modules: {
        'index.js': `const base = ${JSON.stringify(origin.url)};
          const stream = () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } });
          const show = async (p) => { try { const r = await p; return r.status + ' ' + r.redirected + ' ' + new URL(r.url).pathname + ' ' + (r.headers.get('location') ?? '-') + ' ' + r.headers.get('x-method') + ' ' + (await r.text()); } catch (e) { return e.name + ': ' + e.message; } };
          export default { async fetch() {
            return Response.json([
              await show(fetch(base + '/r307', { method: 'POST', body: 'bytes' })),
              await show(fetch(base + '/r307', { method: 'POST', body: stream() })),
              await show(fetch(base + '/r303', { method: 'POST', body: stream() })),
              await show(fetch(base + '/r307', { redirect: 'manual' })),
              await show(fetch(base + '/r307', { redirect: 'error' })),
            ]);
          } };`,
      },
    });
    const r = JSON.parse((await t.get('redirects')).text) as string[];
    expect(r[0]).toBe('200 true /echo - POST bytes');
    expect(r[1]).toMatch(/^TypeError: fetch\(\): cannot follow the 307 redirect .* the request body is a stream, which cannot be sent twice/);
    expect(r[2]).toBe('200 true /echo - GET ');
    expect(r[3]).toBe('307 false /r307 /echo null ');
    expect(r[4]).toMatch(/^TypeError: .*redirect is "error"/);
  });

  it('refuses an address the egress policy does not allow, and counts every fetch against the limit', async () => {
    const port = new URL(origin.url).port;
    await t.deploy('policed', {
      toml: manifestFor('policed', 'index.js', '[limits]\nsubrequests = 2'),
      modules: {
        'index.js': `export default { async fetch(req) {
          const n = Number(new URL(req.url).searchParams.get('n'));
          const out = [];
          try { await fetch('http://127.0.0.2:${port}/echo'); out.push('reached'); } catch (e) { out.push(e.name + ': ' + e.message); }
          for (let i = 1; i < n; i++) out.push((await fetch(${JSON.stringify(origin.url + '/echo')})).status);
          return Response.json(out);
        } };`,
      },
    });
    const ok = await t.get('policed', '/?n=2');
    const out = JSON.parse(ok.text);
    expect(out[0]).toMatch(/^TypeError: fetch\(\): 127\.0\.0\.2:\d+ is a private address, which workers may not reach/);
    expect(out[1]).toBe(200);
    const over = await t.get('policed', '/?n=3');
    expect(over.status).toBe(503);
    expect(over.headers['x-edge-error']).toBe('E_SUBREQUEST_LIMIT');
  });
});

describe('service bindings', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.close();
  });

  const callerToml = manifestFor('front', 'index.js', 'services = [{ binding = "AUTH", service = "auth-worker" }]\n[limits]\nsubrequests = 3\ncpu_ms = 5000');
  const callerSource = `export default { async fetch(req, env) {
    const n = Number(new URL(req.url).searchParams.get('n') ?? 1);
    const out = [Object.prototype.toString.call(env.AUTH)];
    for (let i = 0; i < n; i++) {
      let part = 0;
      const body = new ReadableStream({ pull(c) { if (part++ === 3) return c.close(); c.enqueue(new TextEncoder().encode('part' + part + ';')); } });
      try {
        const r = await env.AUTH.fetch('https://auth.example/check?i=' + i, { method: 'POST', body, headers: { 'x-user': 'ada' } });
        out.push(r.status + ' ' + (await r.text()));
      } catch (e) { out.push(e.name + ': ' + e.message); }
    }
    return Response.json(out);
  } };`;

  it('answers a clear error at call time while the bound service is not deployed', async () => {
    const d = await t.deploy('front', { toml: callerToml, modules: { 'index.js': callerSource } });
    expect(d.status).toBeLessThan(300);
    const r = JSON.parse((await t.get('front')).text);
    expect(r[0]).toBe('[object Fetcher]');
    expect(r[1]).toBe('TypeError: env.AUTH.fetch(): the service "auth-worker" that AUTH is bound to is not deployed on this host (deploy it, or fix `services` in the manifest).');
  });

  it('calls the bound worker in-process with a streamed body, whatever the URL host, as a counted subrequest', async () => {
    await t.deploy('auth-worker', {
      modules: {
        'index.js': `export default { async fetch(req) {
          const u = new URL(req.url);
          if (u.pathname === '/moved') return Response.redirect('https://elsewhere.example/check', 302);
          const body = await req.text();
          return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(req.method + ' ' + u.host + u.pathname + ' ' + req.headers.get('x-user') + ' ' + body)); c.close(); } }));
        } };`,
      },
    });
    const r = JSON.parse((await t.get('front', '/?n=2')).text);
    expect(r.slice(1)).toEqual(['200 POST auth.example/check ada part1;part2;part3;', '200 POST auth.example/check ada part1;part2;part3;']);
    const over = await t.get('front', '/?n=4');
    expect(over.status).toBe(503);
    expect(over.headers['x-edge-error']).toBe('E_SUBREQUEST_LIMIT');
  });

  it('follows a redirect the bound worker answers, through the binding', async () => {
    await t.deploy('front2', {
      toml: manifestFor('front2', 'index.js', 'services = [{ binding = "AUTH", service = "auth-worker" }]'),
      modules: {
        'index.js': `export default { async fetch(req, env) {
          const r = await env.AUTH.fetch('https://auth.example/moved', { method: 'POST', body: 'dropped', headers: { 'x-user': 'bob' } });
          const m = await env.AUTH.fetch('https://auth.example/moved', { redirect: 'manual' });
          return new Response(r.redirected + ' ' + r.url + ' ' + (await r.text()) + ' | ' + m.status + ' ' + m.headers.get('location'));
        } };`,
      },
    });
    expect((await t.get('front2')).text).toBe('true https://elsewhere.example/check GET elsewhere.example/check bob  | 302 https://elsewhere.example/check');
  });

  it('streams a <name>.localhost call in-process both ways', async () => {
    await t.deploy('sink', {
      toml: manifestFor('sink', 'index.js', '[limits]\ncpu_ms = 5000'),
      modules: {
        'index.js': `export default { async fetch(req) {
          let n = 0;
          const reader = req.body.getReader();
          for (;;) { const { done, value } = await reader.read(); if (done) break; n += value.byteLength; }
          let i = 0;
          return new Response(new ReadableStream({ pull(c) { if (i++ === 40) return c.close(); c.enqueue(new Uint8Array(65536).fill(i)); } }), { headers: { 'x-got': String(n) } });
        } };`,
      },
    });
    await t.deploy('relay', {
      toml: manifestFor('relay', 'index.js', '[limits]\ncpu_ms = 5000'),
      modules: { 'index.js': `export default { fetch(req) { return fetch('http://sink.localhost/', req); } };` },
    });
    const input = generated(5 * 1024 * 1024);
    const res = await t.get('relay', '/', { method: 'POST', body: input.stream });
    expect(res.headers['x-got']).toBe(String(5 * 1024 * 1024));
    expect(res.body.length).toBe(40 * 65536);
  });
});

describe('a 100 MB body through a worker', () => {
  const root = resolve(import.meta.dirname, '..');
  let child: ChildProcess;
  let dataDir = '';
  let origin: Origin;
  let info: { dataUrl: string; adminUrl: string; adminToken: string };
  const replies: Array<(m: unknown) => void> = [];
  const ask = (m: string): Promise<{ rss: number; peak: number; held: number; peakHeld: number }> =>
    new Promise((r) => {
      replies.push(r as (m: unknown) => void);
      child.send(m);
    });

  beforeAll(async () => {
    origin = await startOrigin();
    origin.routes.set('/echo', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    dataDir = await mkdtemp(join(tmpdir(), 'edge-fetch-'));
    // The host runs in its own process, so that its memory is measured alone.
    const script = `
      import { startHost } from ${JSON.stringify(join(root, 'host/server/host.ts'))};
      const host = await startHost({ dataDir: ${JSON.stringify(dataDir)}, port: 0, adminPort: 0, adminToken: 'tok', poolSize: 1, egress: { allow: ['127.0.0.1/32'] } });
      // RSS is sampled often; what the host holds on to (JS heap and buffers) after full collections, less often: garbage
      // merely not collected yet is not growth. Two collections a moment apart let V8 finish sweeping buffers.
      let peak = 0;
      let peakHeld = 0;
      const held = async () => {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 5));
        globalThis.gc();
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      setInterval(() => { const r = process.memoryUsage.rss(); if (r > peak) peak = r; }, 10).unref();
      let sampling = false;
      setInterval(async () => {
        if (sampling) return;
        sampling = true;
        const h = await held();
        if (h > peakHeld) peakHeld = h;
        sampling = false;
      }, 200).unref();
      process.on('message', async (m) => {
        const h = await held();
        if (m === 'reset') { peak = 0; peakHeld = 0; }
        const rss = process.memoryUsage.rss();
        process.send({ rss, peak: Math.max(peak, rss), held: h, peakHeld: Math.max(peakHeld, h) });
        if (m === 'exit') host.close().then(() => process.exit(0));
      });
      process.send({ dataUrl: host.dataUrl, adminUrl: host.adminUrl, adminToken: host.adminToken });
    `;
    child = spawn(join(root, 'node_modules/.bin/node'), ['--no-node-snapshot', '--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    info = await new Promise((r, reject) => {
      child.once('message', (m) => r(m as typeof info));
      child.once('exit', (code) => reject(new Error(`host process exited with ${code}`)));
    });
    child.on('message', (m) => replies.shift()?.(m));
    const deploy = async (name: string, source: string): Promise<void> => {
      const deployed = await fetch(`${info.adminUrl}/v1/workers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          manifest: { fileName: 'wrangler.toml', content: manifestFor(name, 'index.js', '[limits]\ncpu_ms = 30000\nwall_ms = 120000') },
          modules: [{ path: 'index.js', content: source }],
        }),
      });
      expect(deployed.status).toBeLessThan(300);
    };
    // A proxy: the host passes both bodies on without entering the isolate per chunk.
    await deploy('bigproxy', `export default { fetch(request) { return fetch(${JSON.stringify(origin.url + '/echo')}, request); } };`);
    // Both bodies go through guest streams, every chunk entering the isolate on its way out and back.
    await deploy(
      'bigpipe',
      `export default { async fetch(request) {
        const r = await fetch(${JSON.stringify(origin.url + '/echo')}, { method: 'POST', body: request.body.pipeThrough(new TransformStream()) });
        return new Response(r.body.pipeThrough(new TransformStream()), r);
      } };`,
    );
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.send('exit');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    origin?.server.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Streams `total` bytes client -> worker -> origin (echo) -> worker -> client; returns the length and hash received. */
  async function roundTrip(worker: string, total: number): Promise<{ sent: string; length: number; sha: string }> {
    const input = generated(total);
    const hash = createHash('sha256');
    let length = 0;
    await new Promise<void>((done, reject) => {
      const port = new URL(info.dataUrl).port;
      const req = httpRequest(`${info.dataUrl}/`, { method: 'POST', headers: { host: `${worker}.localhost:${port}` } }, (res) => {
        res.on('data', (c: Buffer) => {
          length += c.length;
          hash.update(c);
        });
        res.on('end', done);
        res.on('error', reject);
      });
      req.on('error', reject);
      input.stream.pipe(req);
    });
    return { sent: input.digest(), length, sha: hash.digest('hex') };
  }

  for (const worker of ['bigproxy', 'bigpipe']) {
    it(`keeps the host memory bounded (${worker})`, async () => {
      // Warm up (JIT, pools, socket buffers) before the baseline.
      const warm = await roundTrip(worker, 8 * 1024 * 1024);
      expect(warm.sha).toBe(warm.sent);
      const before = await ask('reset');
      const big = await roundTrip(worker, 100 * 1024 * 1024);
      const after = await ask('measure');
      expect(big.length).toBe(100 * 1024 * 1024);
      expect(big.sha).toBe(big.sent);
      const growthMb = (after.peak - before.rss) / (1024 * 1024);
      const heldMb = (after.peakHeld - before.held) / (1024 * 1024);
      console.log(`${worker}: host RSS ${Math.round(before.rss / 1048576)} MB before, peak ${Math.round(after.peak / 1048576)} MB during 100 MB (growth ${growthMb.toFixed(1)} MB; JS heap and buffers held ${heldMb.toFixed(1)} MB more at most)`);
      // Buffering the body anywhere would make the host hold 100 MB more; streaming keeps it to the chunks in flight.
      expect(heldMb).toBeLessThan(24);
      // RSS also counts garbage not collected yet: V8 lets each heap (the host's, the isolate's) collect only after
      // about 64 MB of buffers were allocated outside it, so it is bounded, but less tightly.
      expect(growthMb).toBeLessThan(80);
    }, 120_000);
  }
});
