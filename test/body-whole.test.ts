// A host body the worker reads whole (arrayBuffer(), text(), json(), bytes() of the request's body, an R2 object, a KV
// stream) is read by the host into one buffer and moved into the isolate: no chunk enters, nothing is concatenated
// inside, so a 30 MB upload read with arrayBuffer() on a fresh isolate fits the default cpu_ms 50 (it used to take
// ~460 entries and a fresh 30 MB buffer in the isolate, and was cut off with E_CPU_LIMIT). A body larger than the
// worker's memory limit fails the read with a RangeError the worker can catch, its isolate kept; a client that goes
// away mid-upload hurts nobody.
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charged, chargedAfter } from './helpers/bytes.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const MB = 1024 * 1024;
const BLOCK = randomBytes(MB);

/** `size` bytes in 64 KiB chunks cut at shifting offsets of one random block. */
function payload(size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < size; at += 65536, i++) {
    const n = Math.min(65536, size - at);
    const off = (i * 4099) % (BLOCK.length - 65536);
    out.push(BLOCK.subarray(off, off + n));
  }
  return out;
}

/** The checksum the worker's /sum computes: every 4099th byte, folded. */
function sampleSum(bytes: Uint8Array): number {
  let x = 0;
  for (let i = 0; i < bytes.length; i += 4099) x = (x * 31 + bytes[i]!) >>> 0;
  return x;
}

interface Sent {
  status: number;
  text: string;
}

/**
 * A PUT of `chunks` to `name` (with Content-Length unless `chunked`); `abortAfter` bytes, when given, are all that is
 * sent before the socket is destroyed (the promise then resolves with status 0).
 */
function put(t: TestHost, name: string, path: string, chunks: Buffer[], opts: { chunked?: boolean; agent?: Agent; abortAfter?: number } = {}): Promise<Sent> {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: `${name}.localhost:${t.port}` };
    if (!opts.chunked) headers['content-length'] = size;
    const req = httpRequest(`${t.host.dataUrl}${path}`, { method: 'PUT', headers, ...(opts.agent ? { agent: opts.agent } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', (err) => (opts.abortAfter !== undefined ? resolve({ status: 0, text: err.message }) : reject(err)));
    void (async () => {
      let sent = 0;
      for (const c of chunks) {
        if (opts.abortAfter !== undefined && sent >= opts.abortAfter) {
          req.destroy();
          return;
        }
        sent += c.length;
        if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })();
  });
}

/** A GET of `path` from `name`: its body as text. */
function get(t: TestHost, name: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(`${t.host.dataUrl}${path}`, { headers: { host: `${name}.localhost:${t.port}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

const WORKER = `
let served = 0;
/** The length and every 4099th byte folded (sampleSum): cheap, unlike a hash of many MB on a fresh isolate. */
const sum = (b) => {
  let x = 0;
  for (let i = 0; i < b.length; i += 4099) x = (x * 31 + b[i]) >>> 0;
  return b.length + ' ' + x;
};
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    served++;
    switch (url.pathname) {
      case '/sum':
        return new Response(sum(new Uint8Array(await request.arrayBuffer())));
      case '/sha': {
        const b = await request.arrayBuffer();
        return new Response(b.byteLength + ' ' + hex(await crypto.subtle.digest('SHA-256', b)));
      }
      case '/text': {
        const s = await request.text();
        return Response.json({ length: s.length, head: s.slice(0, 8), tail: s.slice(-8), used: request.bodyUsed, locked: request.body.locked });
      }
      case '/json': {
        const v = await request.json();
        return Response.json({ items: v.items.length, last: v.items[v.items.length - 1] });
      }
      case '/twice': {
        await request.arrayBuffer();
        try {
          await request.text();
          return new Response('read twice');
        } catch (e) {
          return new Response(e.name + ': ' + e.message);
        }
      }
      case '/clone': {
        const copy = request.clone();
        const [a, b] = await Promise.all([request.arrayBuffer(), copy.arrayBuffer()]);
        return new Response(a.byteLength + ' ' + b.byteLength + ' ' + (hex(await crypto.subtle.digest('SHA-256', a)) === hex(await crypto.subtle.digest('SHA-256', b))));
      }
      case '/guarded': {
        try {
          const b = await request.arrayBuffer();
          return new Response('read ' + b.byteLength);
        } catch (e) {
          return new Response(e.name + ': ' + e.message, { status: 413 });
        }
      }
      case '/fetch-sum': {
        const r = await env.ORIGIN.fetch('http://origin/big');
        return new Response(sum(new Uint8Array(await r.arrayBuffer())));
      }
      case '/fetch-to-r2': {
        // A fetched body put into R2 unread: read by the host from the upstream.
        const r = await env.ORIGIN.fetch('http://origin/big');
        const o = await env.BUCKET.put(url.searchParams.get('key'), r.body);
        return Response.json({ size: o.size });
      }
      case '/served':
        return new Response(String(served));
      case '/r2': {
        const o = await env.BUCKET.get(url.searchParams.get('key'));
        return new Response(sum(new Uint8Array(await o.arrayBuffer())));
      }
      case '/r2-head': {
        const o = await env.BUCKET.get(url.searchParams.get('key'));
        return new Response(String(o.size));
      }
      case '/kv': {
        const s = await env.KV.get(url.searchParams.get('key'), 'stream');
        return new Response(sum(new Uint8Array(await new Response(s).arrayBuffer())));
      }
    }
    return new Response('not found', { status: 404 });
  },
};
`;

let t: TestHost;
let deployed = 0;

/** The worker ORIGIN is bound to: answers /big with the R2 object `big`, returned unread. */
const ORIGIN = `export default { async fetch(request, env) { return new Response((await env.BUCKET.get('big')).body); } };`;

/** A new deployment (its first request runs on a fresh isolate), with the default limits unless `limits` says more. */
async function freshWorker(limits = ''): Promise<string> {
  const name = `whole-${++deployed}`;
  const bindings = 'r2_buckets = [{ binding = "BUCKET", bucket_name = "whole" }]\nkv_namespaces = [{ binding = "KV", id = "whole-kv" }]\nservices = [{ binding = "ORIGIN", service = "whole-origin" }]';
  const toml = manifestFor(name, 'index.js', `${bindings}\n${limits}`);
  const r = await t.deploy(name, { toml, modules: { 'index.js': WORKER } });
  expect(r.status).toBe(201);
  return name;
}

beforeAll(async () => {
  t = await startTestHost();
  const toml = manifestFor('whole-origin', 'index.js', 'r2_buckets = [{ binding = "BUCKET", bucket_name = "whole" }]');
  expect((await t.deploy('whole-origin', { toml, modules: { 'index.js': ORIGIN } })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('a body read whole enters the isolate as one buffer', () => {
  it('reads a 30 MB upload with arrayBuffer() on fresh isolates under the default cpu_ms 50, in a few entries', async () => {
    const size = 30_000_000;
    const chunks = payload(size);
    const want = `${size} ${sampleSum(Buffer.concat(chunks))}`;
    const figures: string[] = [];
    for (let i = 0; i < 3; i++) {
      const name = await freshWorker();
      for (const chunked of [false, true]) {
        const before = await charged(t, name);
        const r = await put(t, name, '/sum', chunks, { chunked });
        expect(r.text).toBe(want);
        expect(r.status).toBe(200);
        const c = await chargedAfter(t, name, before);
        figures.push(`${c.ms.toFixed(1)} ms/${c.entries}`);
        // Read chunk by chunk, the body took ~460 entries (one per 64 KiB read ahead).
        expect(c.entries, figures.join(', ')).toBeLessThanOrEqual(6);
      }
    }
    if (process.env.EDGE_BYTES_FIGURES) console.log(`30 MB arrayBuffer(): ${figures.join(', ')}`);
  }, 120_000);

  it('gives text(), json() and arrayBuffer() the bytes exactly, and a body read whole is used', async () => {
    // (Decoding 4 MB of multi-byte text and parsing 3 MB of JSON is the worker's own CPU, tens of ms on a fresh isolate.)
    const name = await freshWorker('[limits]\ncpu_ms = 2000');
    const text = 'é€😀a'.repeat(400_000); // 4 MB of 1-4 byte UTF-8 sequences
    const r = await put(t, name, '/text', [Buffer.from(text)]);
    expect(JSON.parse(r.text)).toEqual({ length: text.length, head: text.slice(0, 8), tail: text.slice(-8), used: true, locked: true });
    const items = Array.from({ length: 100_000 }, (_, i) => ({ i, name: `item-${i}` }));
    const j = await put(t, name, '/json', [Buffer.from(JSON.stringify({ items }))], { chunked: true });
    expect(JSON.parse(j.text)).toEqual({ items: 100_000, last: { i: 99_999, name: 'item-99999' } });
    const bytes = Buffer.concat(payload(5 * MB + 17));
    const sha = await put(t, name, '/sha', [bytes]);
    expect(sha.text).toBe(`${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`);
    const twice = await put(t, name, '/twice', [Buffer.from('once')]);
    expect(twice.text).toMatch(/^TypeError: .*(used|read)/i);
    // A clone tees the body: both halves still read it all.
    const cloned = await put(t, name, '/clone', [bytes]);
    expect(cloned.text).toBe(`${bytes.length} ${bytes.length} true`);
    // An empty body is an empty buffer.
    expect((await put(t, name, '/sum', [], { chunked: true })).text).toBe('0 0');
  }, 60_000);

  it('reads an R2 object and a KV stream whole in a few entries', async () => {
    const object = Buffer.concat(payload(20 * MB));
    await t.host.blob.put('whole', 'big', object);
    const value = Buffer.concat(payload(12 * MB + 3));
    await t.host.kv.put('whole-kv', 'big', value, { expiration: null, expirationTtl: null, metadata: null });
    const name = await freshWorker();
    for (const [path, bytes] of [['/r2?key=big', object], ['/kv?key=big', value]] as const) {
      const before = await charged(t, name);
      const r = await get(t, name, path);
      expect(r).toBe(`${bytes.length} ${sampleSum(bytes)}`);
      // Pulled as it was read, the object came in 64 KiB (R2) or 1 MiB (KV) per entry.
      expect((await chargedAfter(t, name, before)).entries, path).toBeLessThanOrEqual(6);
    }
    // An object small enough to come in whole with its metadata is read without asking the host again.
    const small = Buffer.concat(payload(3000));
    await t.host.blob.put('whole', 'small', small);
    expect(await get(t, name, '/r2?key=small')).toBe(`${small.length} ${sampleSum(small)}`);
    const before = await charged(t, name);
    await get(t, name, '/r2?key=small');
    const bare = await chargedAfter(t, name, before);
    const before2 = await charged(t, name);
    await get(t, name, '/r2-head?key=small');
    // The same entries as a request that gets the object and does not read its body.
    expect(bare.entries).toBe((await chargedAfter(t, name, before2)).entries);
  }, 60_000);

  it('reads a fetched response body whole, and hands one unread to R2, in a few entries', async () => {
    const object = Buffer.concat(payload(20 * MB + 5));
    await t.host.blob.put('whole', 'big', object);
    const name = await freshWorker();
    let before = await charged(t, name);
    expect(await get(t, name, '/fetch-sum')).toBe(`${object.length} ${sampleSum(object)}`);
    // Pulled as it was read, the body came in a chunk per entry.
    expect((await chargedAfter(t, name, before)).entries).toBeLessThanOrEqual(6);
    before = await charged(t, name);
    expect(JSON.parse(await get(t, name, '/fetch-to-r2?key=fetched-copy'))).toEqual({ size: object.length });
    expect((await chargedAfter(t, name, before)).entries).toBeLessThanOrEqual(6);
    const copy = await t.host.blob.get('whole', 'fetched-copy');
    expect(copy).not.toBeNull();
    const chunks: Buffer[] = [];
    for await (const c of copy!.body!) chunks.push(Buffer.from(c as Uint8Array));
    expect(Buffer.concat(chunks).equals(object)).toBe(true);
  }, 60_000);

  it('refuses a body larger than the memory limit with a RangeError the worker catches, and keeps its isolate', async () => {
    const name = await freshWorker('[limits]\nmemory_mb = 16');
    for (const chunked of [false, true]) {
      // (Each on a connection of its own: Node's client stops sending a body once the answer came, and 24 MB are left.)
      const r = await put(t, name, '/guarded', payload(40 * MB), { chunked });
      expect(r.status).toBe(413);
      expect(r.text).toContain('RangeError: The body is larger than this worker can hold in memory (its memory limit is 16 MB, [limits] memory_mb)');
    }
    // The same isolate answers (its global count went on), and a body that fits is read.
    expect((await put(t, name, '/served', [])).text).toBe('3');
    expect((await put(t, name, '/guarded', payload(4 * MB))).text).toBe(`read ${4 * MB}`);
  }, 60_000);

  it('survives a client that goes away in the middle of an upload the worker reads whole', async () => {
    const name = await freshWorker();
    const gone = await put(t, name, '/sum', payload(30 * MB), { abortAfter: 5 * MB });
    expect(gone.status).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    const next = await put(t, name, '/sum', payload(MB));
    expect(next.status).toBe(200);
    expect(next.text).toBe(`${MB} ${sampleSum(Buffer.concat(payload(MB)))}`);
  }, 60_000);
});
