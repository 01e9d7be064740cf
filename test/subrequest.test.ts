// Subrequests: a worker's fetch() to another worker in-process and to a loopback origin under the egress
// policy, and the per-request subrequest limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const caller = `export default { async fetch(req) {
  const u = new URL(req.url);
  const target = u.searchParams.get('target');
  const n = Number(u.searchParams.get('n') ?? 1);
  const out = [];
  for (let i = 0; i < n; i++) {
    try { const r = await fetch(target, { method: 'POST', body: 'ping ' + i, headers: { 'x-from': 'caller' } }); out.push(r.status + ' ' + (await r.text())); }
    catch (e) { out.push('error ' + e.message); }
  }
  return Response.json(out);
} };`;

describe('subrequests', () => {
  let t: TestHost;
  let origin: Server;
  let originUrl = '';
  beforeAll(async () => {
    origin = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => res.end(`origin got ${req.method} ${body} from ${req.headers['x-from']}`));
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}/`;
    t = await startTestHost();
    await t.deploy('callee', { modules: { 'index.js': 'export default { async fetch(req) { return new Response("callee got " + (await req.text()) + " from " + req.headers.get("x-from")); } };' } });
    await t.deploy('caller', { toml: manifestFor('caller', 'index.js', '[limits]\nsubrequests = 3'), modules: { 'index.js': caller } });
  });
  afterAll(async () => {
    await t.close();
    origin.close();
  });

  it('calls another worker in-process', async () => {
    const r = await t.get('caller', `/?target=${encodeURIComponent('http://callee.localhost/x')}&n=2`);
    expect(JSON.parse(r.text)).toEqual(['200 callee got ping 0 from caller', '200 callee got ping 1 from caller']);
  });

  it('ends a request that passes its subrequest limit with E_SUBREQUEST_LIMIT', async () => {
    const r = await t.get('caller', `/?target=${encodeURIComponent('http://callee.localhost/x')}&n=5`);
    expect(r.status).toBe(503);
    expect(r.headers['x-edge-error']).toBe('E_SUBREQUEST_LIMIT');
    expect(r.text).toMatch(/limit of 3 subrequests/);
    expect((await t.get('callee', '/', { method: 'POST', body: 'still' })).text).toBe('callee got still from null');
  });

  it('refuses private addresses by default', async () => {
    const r = await t.get('caller', `/?target=${encodeURIComponent(originUrl)}`);
    expect(JSON.parse(r.text)[0]).toMatch(/^error .*private address/);
    const viaName = await t.get('caller', `/?target=${encodeURIComponent(originUrl.replace('127.0.0.1', 'localhost'))}`);
    expect(JSON.parse(viaName.text)[0]).toMatch(/^error .*private address/);
  });

  it('reaches a loopback origin that the host config allows', async () => {
    await t.restart({ egress: { allow: ['127.0.0.1/32'] } });
    const r = await t.get('caller', `/?target=${encodeURIComponent(originUrl)}`);
    expect(JSON.parse(r.text)).toEqual(['200 origin got POST ping 0 from caller']);
  });

  it('sends and receives bodies over the former 32 MiB cap', async () => {
    const big = 40 * 1024 * 1024;
    const server = createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        res.setHeader('x-received', String(n));
        res.end(Buffer.alloc(big, 1));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    await t.deploy('big', {
      toml: manifestFor('big', 'index.js', '[limits]\ncpu_ms = 5000\nmemory_mb = 256'),
      modules: {
        'index.js': `export default { async fetch() {
          const r = await fetch(${JSON.stringify(url)}, { method: 'POST', body: new Uint8Array(${big}) });
          const b = await r.arrayBuffer();
          return new Response(r.headers.get('x-received') + ' ' + b.byteLength);
        } };`,
      },
    });
    try {
      const r = await t.get('big');
      expect(r.text).toBe(`${big} ${big}`);
    } finally {
      server.close();
    }
  });

  it('stops a worker that calls itself in a loop', async () => {
    await t.deploy('loop', { toml: manifestFor('loop', 'index.js', '[limits]\nsubrequests = 2'), modules: { 'index.js': 'export default { async fetch() { const r = await fetch("http://loop.localhost/"); return new Response("d" + await r.text(), { status: r.status }); } };' } });
    const r = await t.get('loop');
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.text.length).toBeLessThan(4000);
  });
});
