// The Web platform additions through a real host: a multipart upload from Node's fetch read with request.formData(),
// FormData bodies read back by Node, compression round trips against Node's zlib, AbortSignal.timeout() firing on the
// request's own timers, and request.cf with the headers the host refuses to take from clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

describe('Web platform through a real host', () => {
  let t: TestHost;
  let base: string;
  beforeAll(async () => {
    t = await startTestHost();
    base = t.host.dataUrl.replace('localhost', '127.0.0.1');
    // A route on the loopback address: Node's fetch cannot set the Host header that <name>.localhost routing needs.
    const res = await t.deploy('forms', {
      // The checksum loop below runs interpreted over 300 KB: more than the default 50 ms on a busy machine.
      toml: manifestFor('forms', 'index.js', 'routes = ["127.0.0.1/forms/*"]\n[limits]\ncpu_ms = 2000'),
      modules: {
        'index.js': `export default { async fetch(request) {
          const url = new URL(request.url);
          if (url.pathname === '/forms/upload') {
            const fd = await request.formData();
            const out = {};
            for (const [name, value] of fd) {
              if (typeof value === 'string') { out[name] = value; continue; }
              const bytes = await value.bytes();
              let sum = 0;
              for (const b of bytes) sum = (sum * 31 + b) >>> 0;
              out[name] = { file: value instanceof File, name: value.name, type: value.type, size: value.size, sum };
            }
            return Response.json(out);
          }
          if (url.pathname === '/forms/make') {
            const fd = new FormData();
            fd.append('greeting', 'héllo');
            fd.append('doc', new File([new Uint8Array([1, 2, 3, 250])], 'doc.bin', { type: 'application/x-doc' }));
            return new Response(fd);
          }
          if (url.pathname === '/forms/bad') {
            try { await request.formData(); return new Response('parsed'); } catch (e) { return new Response(e.constructor.name + ': ' + e.message, { status: 400 }); }
          }
          return new Response('no such path', { status: 404 });
        } };`,
      },
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  it("parses a real multipart upload sent by Node's fetch with a Node FormData holding a file", async () => {
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
    let sum = 0;
    for (const b of payload) sum = (sum * 31 + b) >>> 0;
    const fd = new FormData();
    fd.append('title', 'Grüße aus Node');
    fd.append('photo', new Blob([payload], { type: 'image/png' }), 'photo ä.png');
    fd.append('note', 'second field');
    const res = await fetch(`${base}/forms/upload`, { method: 'POST', body: fd });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      title: 'Grüße aus Node',
      photo: { file: true, name: 'photo ä.png', type: 'image/png', size: payload.length, sum },
      note: 'second field',
    });
  });

  it('sends a FormData response body that Node parses as multipart', async () => {
    const res = await fetch(`${base}/forms/make`);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const fd = await res.formData();
    expect(fd.get('greeting')).toBe('héllo');
    const doc = fd.get('doc') as File;
    expect([doc.name, doc.type, [...new Uint8Array(await doc.arrayBuffer())]]).toEqual(['doc.bin', 'application/x-doc', [1, 2, 3, 250]]);
  });

  it('answers a malformed multipart body with the TypeError the worker caught', async () => {
    const res = await fetch(`${base}/forms/bad`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\ncut off' });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('TypeError: Body.formData(): the multipart/form-data body is malformed: it ends before the closing boundary.');
  });

  it('decompresses a gzip upload and compresses its answer, both checked with Node zlib', async () => {
    await t.deploy('zip', {
      // fflate runs interpreted until V8 warms up: a first 120 KB round trip takes ~100 ms of CPU (50 ms is the default).
      toml: manifestFor('zip', 'index.js', '[limits]\ncpu_ms = 2000'),
      modules: {
        'index.js': `export default { async fetch(request) {
          const format = new URL(request.url).searchParams.get('format');
          const text = await new Response(request.body.pipeThrough(new DecompressionStream(format))).text();
          const upper = new Blob([text.toUpperCase()]).stream().pipeThrough(new CompressionStream(format));
          return new Response(upper, { headers: { 'x-length': String(text.length) } });
        } };`,
      },
    });
    const text = 'edge compression round trip — '.repeat(4000);
    for (const [format, compress, decompress] of [
      ['gzip', zlib.gzipSync, zlib.gunzipSync],
      ['deflate', zlib.deflateSync, zlib.inflateSync],
      ['deflate-raw', zlib.deflateRawSync, zlib.inflateRawSync],
    ] as const) {
      const res = await t.get('zip', `/?format=${format}`, { method: 'POST', body: compress(Buffer.from(text)) });
      expect(res.status, res.text).toBe(200);
      expect(res.headers['x-length']).toBe(String(text.length));
      expect(decompress(res.body).toString('utf8')).toBe(text.toUpperCase());
    }
    const bad = await t.get('zip', '/?format=gzip', { method: 'POST', body: 'this is not gzip' });
    expect(bad.status).toBe(500);
  });

  it('fires AbortSignal.timeout() on the runtime timers of the request, alone and through AbortSignal.any()', async () => {
    await t.deploy('timeouts', {
      modules: {
        'index.js': `export default { async fetch(request) {
          const started = Date.now();
          const timeout = AbortSignal.timeout(60);
          const manual = new AbortController();
          const any = AbortSignal.any([manual.signal, AbortSignal.timeout(30)]);
          const anyReason = await new Promise((resolve) => any.addEventListener('abort', () => resolve(any.reason.name)));
          const events = [];
          await new Promise((resolve) => { timeout.onabort = (e) => { events.push(e.type); resolve(); }; });
          let thrown;
          try { timeout.throwIfAborted(); } catch (e) { thrown = e.name + ': ' + e.message; }
          return Response.json({ anyReason, events, thrown, aborted: timeout.aborted, waited: Date.now() - started >= 50, signal: request.signal.aborted });
        } };`,
      },
    });
    const res = await t.get('timeouts');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ anyReason: 'TimeoutError', events: ['abort'], thrown: 'TimeoutError: The operation was aborted due to timeout', aborted: true, waited: true, signal: false });
  });

  it('gives request.cf and cf-ipcountry from the host, not from what the client sent', async () => {
    await t.deploy('cf', {
      modules: {
        'index.js': `export default { fetch(request) {
          // cf is read after clone() and new Request() here: each still has it, as the same object as the original's.
          const clone = request.clone();
          const copy = new Request(request);
          const cf = request.cf;
          return Response.json({ cf, same: [cf === request.cf, clone.cf === cf, copy.cf === cf], country: request.headers.get('cf-ipcountry'), ip: request.headers.get('cf-connecting-ip'), signal: [request.signal instanceof AbortSignal, request.signal.aborted] });
        } };`,
      },
    });
    const res = await t.get('cf', '/', { headers: { 'cf-ipcountry': 'DE', 'cf-connecting-ip': '6.6.6.6', 'accept-encoding': 'gzip, br' } });
    const body = JSON.parse(res.text);
    expect(body.country).toBe('XX');
    expect(body.ip).toBe('127.0.0.1');
    expect(body.signal).toEqual([true, false]);
    expect(body.same).toEqual([true, true, true]);
    expect(body.cf).toMatchObject({ clientIp: '127.0.0.1', country: 'XX', colo: 'LOCAL', httpProtocol: 'HTTP/1.1', tlsVersion: '', clientAcceptEncoding: 'gzip, br', asn: 0 });
  });
});

describe('request.cf behind a trusted proxy', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({ cf: { trustCountryHeader: true, colo: 'AMS' } });
    await t.deploy('cf', { modules: { 'index.js': `export default { fetch(request) { return Response.json([request.cf.country, request.cf.colo, request.headers.get('cf-ipcountry')]); } };` } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('takes the country from cf-ipcountry when configured to, and still refuses a malformed one', async () => {
    expect(JSON.parse((await t.get('cf', '/', { headers: { 'cf-ipcountry': 'de' } })).text)).toEqual(['DE', 'AMS', 'DE']);
    expect(JSON.parse((await t.get('cf', '/', { headers: { 'cf-ipcountry': 'Germany' } })).text)).toEqual(['XX', 'AMS', 'XX']);
  });
});



