// A worker's response reaches the client byte for byte whichever way it crosses from the isolate: a small plain
// response comes back from a synchronous entry as one string (its body one char per byte), a larger one as an array
// with its bytes, others as objects (isolate-protocol.ts, FlatResponse and FlatResponseText). Bodies around the
// 16 KiB boundary, every byte value, no body, an empty body, UTF-8 text, repeated headers; and the request's head,
// which crosses the other way as lines of one string.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const WORKER = `
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/bytes') {
      const n = Number(url.searchParams.get('n'));
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) % 256;
      const headers = new Headers({ 'content-type': 'application/octet-stream', 'x-a': 'v1' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response(b, { status: 201, statusText: 'Made It', headers });
    }
    if (url.pathname === '/echo') return Response.json({ method: request.method, url: request.url, headers: [...request.headers], country: request.cf?.country });
    if (url.pathname === '/none') return new Response(null, { status: 204, headers: { 'x-none': 'yes' } });
    if (url.pathname === '/empty') return new Response('', { status: 200 });
    if (url.pathname === '/text') return new Response('héllo ✓ 😀\\n\\nline', { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    if (url.pathname === '/await') {
      await null;
      return Response.json({ deferred: true, n: [1, 2, 3] });
    }
    return new Response('no route', { status: 404 });
  },
};
`;

function expected(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) % 256;
  return b;
}

describe('response heads and bodies across the isolate boundary', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
    const res = await t.deploy('heads', { toml: manifestFor('heads', 'index.js'), modules: { 'index.js': WORKER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('bodies of every byte value, at and around the 16 KiB boundary, with their headers', async () => {
    for (const n of [0, 1, 255, 256, 4096, 16383, 16384, 16385, 70000]) {
      const res = await t.get('heads', `/bytes?n=${n}`);
      expect(res.status, `n=${n}`).toBe(201);
      expect(res.body.equals(expected(n)), `n=${n}: ${res.body.length} bytes`).toBe(true);
      expect(res.headers['content-length'], `n=${n}`).toBe(String(n));
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['x-a']).toBe('v1');
      expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    }
  });

  it("the request's head arrives as sent: method, URL, headers (an empty value too), cf", async () => {
    const res = await t.get('heads', '/echo?q=a%20b&x=%E2%9C%93', { method: 'DELETE', headers: { 'x-empty': '', 'x-list': 'a, b', 'x-utf': 'caf\u00e9' } });
    const body = JSON.parse(res.text);
    expect(body.method).toBe('DELETE');
    expect(body.url).toMatch(/\/echo\?q=a%20b&x=%E2%9C%93$/);
    const headers = Object.fromEntries(body.headers);
    expect(headers['x-empty']).toBe('');
    expect(headers['x-list']).toBe('a, b');
    expect(headers['x-utf']).toBe(Buffer.from('caf\u00e9', 'latin1').toString('latin1'));
    expect(headers['cf-connecting-ip']).toBe('127.0.0.1');
    expect(body.country).toBe('XX');
  });

  it('no body, an empty body, UTF-8 text with line feeds, and a response that waited', async () => {
    const none = await t.get('heads', '/none');
    expect(none.status).toBe(204);
    expect(none.body.length).toBe(0);
    expect(none.headers['x-none']).toBe('yes');
    const empty = await t.get('heads', '/empty');
    expect(empty.status).toBe(200);
    expect(empty.body.length).toBe(0);
    expect(empty.headers['content-length']).toBe('0');
    const text = await t.get('heads', '/text');
    expect(text.text).toBe('héllo ✓ 😀\n\nline');
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    const waited = await t.get('heads', '/await');
    expect(JSON.parse(waited.text)).toEqual({ deferred: true, n: [1, 2, 3] });
  });
});
