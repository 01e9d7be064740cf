// examples/gateway against a loopback origin: authentication (bearer and HMAC), per-client rate limits, header
// rewriting both ways, GET caching with the Cache API, and the A/B variant sticking to the client's cookie.
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }

describe('examples/gateway', () => {
  let t: TestHost;
  let origin: Server;
  let originUrl: string;
  const seen: Seen[] = [];

  async function deployGateway(name: string, vars: Record<string, string | number>): Promise<void> {
    const upload = await collectUpload('examples/gateway');
    let content = upload.manifest.content.replace(/^name = "gateway"$/m, `name = "${name}"`);
    for (const [k, v] of Object.entries(vars)) content = content.replace(new RegExp(`^${k} = .*$`, 'm'), `${k} = ${JSON.stringify(v)}`);
    const res = await t.admin('POST', '/v1/workers', { ...upload, manifest: { ...upload.manifest, content } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  beforeAll(async () => {
    origin = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const path = req.url!.split('?')[0];
        const headers: Record<string, string> = { 'content-type': 'application/json', server: 'origin/1.0', 'x-powered-by': 'tests' };
        if (path === '/items') headers['cache-control'] = 'public, max-age=60';
        if (path === '/private') headers['cache-control'] = 'no-store';
        res.writeHead(200, headers);
        res.end(JSON.stringify({ path: req.url, variant: req.headers['x-gateway-variant'], n: seen.length, body }));
      });
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
    t = await startTestHost({ egress: { allow: ['127.0.0.1'] } });
    await deployGateway('gateway', { ORIGIN: originUrl });
    await deployGateway('gateway-strict', { ORIGIN: originUrl, RATE_LIMIT_PER_MINUTE: 3 });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    origin?.close();
  });

  const bearer = { authorization: 'Bearer dev-token-1' };

  it('refuses requests without valid credentials', async () => {
    const none = await t.get('gateway', '/items');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(JSON.parse(none.text).detail).toContain('bearer token or an x-signature');
    expect((await t.get('gateway', '/items', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await t.get('gateway', '/items', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
  });

  it('accepts a bearer token and rewrites headers both ways', async () => {
    const before = seen.length;
    const r = await t.get('gateway', '/echo?x=1', { method: 'POST', headers: { ...bearer, cookie: 'a=b', 'x-custom': 'kept' }, body: 'payload' });
    expect(r.status).toBe(200);
    const up = seen[before]!;
    expect(up.method).toBe('POST');
    expect(up.url).toBe('/echo?x=1');
    expect(up.body).toBe('payload');
    expect(up.headers.authorization).toBeUndefined();
    expect(up.headers.cookie).toBeUndefined();
    expect(up.headers['x-custom']).toBe('kept');
    expect(up.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(up.headers['x-forwarded-host']).toMatch(/^gateway\.localhost:/);
    expect(up.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.server).not.toBe('origin/1.0');
    expect(r.headers['x-powered-by']).toBeUndefined();
    expect(r.headers['x-gateway-cache']).toBe('BYPASS');
    expect(r.headers['x-ratelimit-limit']).toBe('600');
  });

  it('accepts an HMAC-signed request and refuses a tampered or stale one', async () => {
    const sign = (t0: number, method: string, path: string, body: string, secret = 'dev-hmac-secret') => {
      const bodyHash = createHash('sha256').update(body).digest('hex');
      return `t=${t0},v1=${createHmac('sha256', secret).update(`${t0}\n${method}\n${path}\n${bodyHash}`).digest('hex')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const ok = await t.get('gateway', '/echo', { method: 'POST', headers: { 'x-signature': sign(now, 'POST', '/echo', 'signed body') }, body: 'signed body' });
    expect(ok.status, ok.text).toBe(200);
    expect(JSON.parse(ok.text).body).toBe('signed body');
    const tampered = await t.get('gateway', '/echo', { method: 'POST', headers: { 'x-signature': sign(now, 'POST', '/echo', 'signed body') }, body: 'other body' });
    expect(tampered.status).toBe(401);
    expect(JSON.parse(tampered.text).detail).toBe('bad signature');
    const wrongKey = await t.get('gateway', '/echo', { method: 'POST', headers: { 'x-signature': sign(now, 'POST', '/echo', 'b', 'nope') }, body: 'b' });
    expect(wrongKey.status).toBe(401);
    const stale = await t.get('gateway', '/items', { headers: { 'x-signature': sign(now - 3600, 'GET', '/items', '') } });
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.text).detail).toContain('too old');
  });

  it('caches GETs per variant, honouring the origin Cache-Control', async () => {
    const cookie = { cookie: 'gw_id=00000000-0000-4000-8000-000000000001' };
    const first = await t.get('gateway', '/items?page=1', { headers: { ...bearer, ...cookie } });
    expect(first.status).toBe(200);
    expect(first.headers['x-gateway-cache']).toBe('MISS');
    const hits = seen.length;
    let second = first;
    for (let i = 0; i < 20 && second.headers['x-gateway-cache'] !== 'HIT'; i++) {
      // The cache write happens in waitUntil, after the first response went out.
      await new Promise((r) => setTimeout(r, 25));
      second = await t.get('gateway', '/items?page=1', { headers: { ...bearer, ...cookie } });
    }
    expect(second.headers['x-gateway-cache']).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(seen.length).toBeLessThanOrEqual(hits + 1);

    await t.get('gateway', '/private', { headers: bearer });
    const n = seen.length;
    const again = await t.get('gateway', '/private', { headers: bearer });
    expect(again.headers['x-gateway-cache']).toBe('MISS');
    expect(seen.length).toBe(n + 1);
  });

  it('assigns a variant by cookie hash and keeps it for the same client', async () => {
    const fresh = await t.get('gateway', '/echo', { method: 'POST', headers: bearer, body: '' });
    const setCookie = String(fresh.headers['set-cookie']);
    const id = /gw_id=([0-9a-f-]{36})/.exec(setCookie)?.[1];
    expect(id).toBeDefined();
    const variant = fresh.headers['x-gateway-variant'];
    expect(['a', 'b']).toContain(variant);
    for (let i = 0; i < 3; i++) {
      const r = await t.get('gateway', '/echo', { method: 'POST', headers: { ...bearer, cookie: `gw_id=${id}` }, body: '' });
      expect(r.headers['x-gateway-variant']).toBe(variant);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    // Over many clients both variants appear, near the configured split.
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 60; i++) {
      const idN = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const r = await t.get('gateway', '/echo', { method: 'POST', headers: { ...bearer, cookie: `gw_id=${idN}` }, body: '' });
      counts[String(r.headers['x-gateway-variant'])]!++;
    }
    expect(counts.a).toBeGreaterThan(10);
    expect(counts.b).toBeGreaterThan(10);
  });

  it('rate-limits per client with Retry-After', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await t.get('gateway-strict', '/echo', { method: 'POST', headers: { authorization: 'Bearer dev-token-2' }, body: '' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another client has its own bucket.
    expect((await t.get('gateway-strict', '/echo', { method: 'POST', headers: { authorization: 'Bearer dev-token-1' }, body: '' })).status).toBe(200);
  });
});
