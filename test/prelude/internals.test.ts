// The prelude's non-global exports for the runtime (takeBody, createIncomingRequest, makeImmutable, ...), tested
// by bundling them with esbuild into a small script of their own and evaluating it in a real isolate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as esbuild from 'esbuild';
import ivm from 'isolated-vm';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { hostUrlParse } from '../helpers/prelude-isolate.ts';

const preludeDir = fileURLToPath(new URL('../../host/runtime/js/prelude/', import.meta.url));

const ENTRY = `
import { setBridge } from './internal/bridge.js';
import { installGlobals } from './globals.js';
import { takeBody } from './body.js';
import { createIncomingRequest, getRequestHead, isRequest } from './request.js';
import { makeImmutable, headersFromList, headersToList } from './headers.js';
import { getResponseHead, isResponse, createFetchResponse } from './response.js';
import { inspect, reportError } from './console.js';
installGlobals(globalThis);
globalThis.__t = { takeBody, createIncomingRequest, getRequestHead, isRequest, makeImmutable, headersFromList, headersToList, getResponseHead, isResponse, createFetchResponse, inspect, reportError };
globalThis.__wire = (log, randomBytes, urlParse) => setBridge({ log, randomBytes, urlParse, call: log, invoke: log, wait: log });
`;

let isolate: ivm.Isolate;
let context: ivm.Context;
const logs: Array<{ level: string; text: string }> = [];

async function run<T = unknown>(body: string): Promise<T> {
  const json = await context.eval(`(async () => { const t = globalThis.__t; ${body} })().then((v) => JSON.stringify(v === undefined ? null : v))`, {
    promise: true,
    timeout: 5000,
  });
  return JSON.parse(json as string) as T;
}

beforeAll(async () => {
  const built = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: preludeDir, sourcefile: 'internals-entry.js' },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2023',
    logLevel: 'silent',
  });
  isolate = new ivm.Isolate({ memoryLimit: 64 });
  context = await isolate.createContext();
  await context.eval(built.outputFiles[0]!.text);
  const wire = await context.global.get('__wire', { reference: true });
  await wire.apply(undefined, [
    new ivm.Reference((level: string, text: string) => void logs.push({ level: String(level), text: String(text) })),
    new ivm.Reference((n: number) => new ivm.ExternalCopy(new Uint8Array(randomBytes(n))).copyInto()),
    new ivm.Reference(hostUrlParse),
  ]);
});
afterAll(() => {
  if (isolate && !isolate.isDisposed) isolate.dispose();
});

describe('takeBody', () => {
  it('returns the bytes directly for string, bytes and URLSearchParams bodies that were never streamed', async () => {
    expect(
      await run(`
        const out = [];
        for (const body of ['hé', new Uint8Array([1, 2]), new Uint16Array([0x0201]).buffer, new URLSearchParams('a=b c')]) {
          const r = new Response(body);
          const b = t.takeBody(r);
          out.push([b instanceof Uint8Array, [...b], r.bodyUsed]);
        }
        return out;
      `),
    ).toEqual([
      [true, [0x68, 0xc3, 0xa9], true],
      [true, [1, 2], true],
      [true, [1, 2], true],
      [true, [...Buffer.from('a=b+c')], true],
    ]);
  });

  it('returns null for no body, without marking it used', async () => {
    expect(await run(`const r = new Response(null, { status: 204 }); return [t.takeBody(r), r.bodyUsed, t.takeBody(new Response())];`)).toEqual([
      null,
      false,
      null,
    ]);
  });

  it('returns the ReadableStream for stream bodies and for bodies whose .body was touched', async () => {
    expect(
      await run(`
        const s = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([7])); c.close(); } });
        const r = new Response(s);
        const taken = t.takeBody(r);
        const touched = new Response('abc');
        const stream = touched.body;
        const fromTouched = t.takeBody(touched);
        const reader = fromTouched.getReader();
        const { value } = await reader.read();
        return [taken === s, r.bodyUsed, fromTouched === stream, [...value]];
      `),
    ).toEqual([true, true, true, [97, 98, 99]]);
  });

  it('throws TypeError when the body was already used, taken or locked', async () => {
    expect(
      await run(`
        const out = [];
        const read = new Response('x'); await read.text();
        const taken = new Response('x'); t.takeBody(taken);
        const locked = new Response(new ReadableStream()); locked.body.getReader();
        for (const r of [read, taken, locked]) { try { t.takeBody(r); out.push('taken'); } catch (e) { out.push(e.constructor.name); } }
        return out;
      `),
    ).toEqual(['TypeError', 'TypeError', 'TypeError']);
  });

  it('works on Requests too', async () => {
    expect(await run(`const r = new Request('https://e.com/', { method: 'POST', body: 'hi' }); return [...t.takeBody(r)];`)).toEqual([104, 105]);
  });
});

describe('createIncomingRequest', () => {
  it('builds a Request with lowercase, combined, immutable headers', async () => {
    expect(
      await run(`
        const req = t.createIncomingRequest({
          method: 'POST',
          url: 'https://example.com/path?q=1',
          headers: [['Host', 'example.com'], ['X-Forwarded-For', '1.1.1.1'], ['x-forwarded-for', '2.2.2.2'], ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2']],
          body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('payload')); c.close(); } }),
          cf: { colo: 'TST' },
        });
        let err = null;
        try { req.headers.set('x', 'y'); } catch (e) { err = e.message; }
        return [
          req instanceof Request, req.method, req.url, req.headers.get('host'), req.headers.get('x-forwarded-for'),
          req.headers.getSetCookie(), err, req.cf, req.redirect, req.signal.aborted, await req.text(), req.bodyUsed,
        ];
      `),
    ).toEqual([
      true, 'POST', 'https://example.com/path?q=1', 'example.com', '1.1.1.1, 2.2.2.2',
      ['a=1', 'b=2'], "Can't modify immutable headers.", { colo: 'TST' }, 'follow', false, 'payload', true,
    ]);
  });

  it('has no body for GET; clones keep immutable headers; a copy via new Request is mutable', async () => {
    expect(
      await run(`
        const req = t.createIncomingRequest({ method: 'GET', url: 'https://e.com/', headers: [['A', '1']], body: null, cf: undefined });
        const clone = req.clone();
        let cloneErr = null;
        try { clone.headers.set('a', '2'); } catch (e) { cloneErr = e.constructor.name; }
        const copy = new Request(req, { headers: req.headers });
        copy.headers.set('a', '3');
        return [req.body, clone.headers.get('a'), cloneErr, copy.headers.get('a'), req.headers.get('a'), req.cf === undefined];
      `),
    ).toEqual([null, '1', 'TypeError', '3', '1', true]);
  });

  it('getRequestHead hands back the raw header list while headers were never touched', async () => {
    expect(
      await run(`
        const raw = [['A', '1']];
        const req = t.createIncomingRequest({ method: 'GET', url: 'https://e.com/', headers: raw, body: null, cf: undefined });
        const untouched = t.getRequestHead(req).headers === raw;
        req.headers.get('a');
        return [untouched, t.getRequestHead(req), t.isRequest(req), t.isRequest(Object.create(Request.prototype))];
      `),
    ).toEqual([true, { method: 'GET', url: 'https://e.com/', headers: [['a', '1']], redirect: 'follow' }, true, false]);
  });
});

describe('headers and response helpers', () => {
  it('makeImmutable guards an existing Headers', async () => {
    expect(
      await run(`
        const h = new Headers({ a: '1' });
        t.makeImmutable(h);
        try { h.append('b', '2'); } catch (e) { return [e.constructor.name, e.message, h.get('a')]; }
        return 'mutated';
      `),
    ).toEqual(['TypeError', "Can't modify immutable headers.", '1']);
  });

  it('getResponseHead returns status and header pairs, Set-Cookie values separate', async () => {
    expect(
      await run(`
        const a = new Response('x');
        const b = new Response(null, { status: 201, statusText: 'Created', headers: [['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['X', 'y']] });
        return [t.getResponseHead(a), t.getResponseHead(b), t.isResponse(a), t.isResponse(Object.create(Response.prototype)), t.headersToList(t.headersFromList([['A', '1'], ['a', '2']]))];
      `),
    ).toEqual([
      { status: 200, statusText: '', headers: [['content-type', 'text/plain;charset=UTF-8']] },
      { status: 201, statusText: 'Created', headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x', 'y']] },
      true,
      false,
      [['a', '1, 2']],
    ]);
  });

  it('inspect and reportError format values for the runtime', async () => {
    logs.length = 0;
    const got = await run(`t.reportError(new TypeError('boom')); t.reportError('str'); return t.inspect({ a: [1, 'x'] });`);
    expect(got).toBe("{ a: [ 1, 'x' ] }");
    expect(logs[0]).toEqual({ level: 'error', text: expect.stringMatching(/^Uncaught TypeError: boom\n\s+at /) });
    expect(logs[1]).toEqual({ level: 'error', text: "Uncaught 'str'" });
  });

  it('createFetchResponse builds a subrequest Response with immutable headers, url and redirected', async () => {
    expect(
      await run(`
        const res = t.createFetchResponse({
          status: 304, statusText: 'Not Modified', headers: [['ETag', '"x"']], body: new ReadableStream(), url: 'https://e.com/final', redirected: true,
        });
        const ok = t.createFetchResponse({ status: 200, headers: [], body: new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); c.close(); } }) });
        let err = null;
        try { res.headers.set('a', 'b'); } catch (e) { err = e.message; }
        const copy = new Response(ok.body, ok);
        copy.headers.set('x', 'y');
        return [res.status, res.statusText, res.headers.get('etag'), res.url, res.redirected, res.body, err, res.type, await copy.text(), copy.headers.get('x')];
      `),
    ).toEqual([304, 'Not Modified', '"x"', 'https://e.com/final', true, null, "Can't modify immutable headers.", 'default', 'hi', 'y']);
  });
});
