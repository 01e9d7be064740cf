import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('Request', () => {
  it('parses the URL and has Workers-like defaults', async () => {
    expect(
      await pi.run(`
        const r = new Request('https://EXAMPLE.com/a/../b?x#y');
        return [r.url, r.method, r.redirect, r.signal instanceof AbortSignal && !r.signal.aborted, r.cf, r.duplex, r.body, r.bodyUsed, [...r.headers], new Request(new URL('https://e.com/u')).url];
      `),
    ).toEqual(['https://example.com/b?x#y', 'GET', 'follow', true, null, 'half', null, false, [], 'https://e.com/u']);
  });

  it('rejects relative and invalid URLs with TypeError', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const u of ['/relative', 'not a url', '']) { try { new Request(u); out.push('ok'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); } }
        return out;
      `),
    ).toEqual(['TypeError: Invalid URL: /relative', 'TypeError: Invalid URL: not a url', 'TypeError: Invalid URL: ']);
  });

  it('normalizes standard methods, keeps others, rejects forbidden and invalid ones', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const m of ['get', 'post', 'Delete', 'options', 'head', 'put', 'patch', 'PROPFIND', 'connect', 'TRACE', 'track', 'bad method', '']) {
          try { out.push(new Request('https://e.com', { method: m }).method); } catch (e) { out.push(e.constructor.name); }
        }
        return out;
      `),
    ).toEqual(['GET', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PUT', 'patch', 'PROPFIND', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError']);
  });

  it('GET and HEAD cannot have a body', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const method of ['GET', 'HEAD', 'get']) { try { new Request('https://e.com', { method, body: 'x' }); out.push('ok'); } catch (e) { out.push(e.constructor.name); } }
        out.push(new Request('https://e.com', { method: 'GET', body: null }).body);
        return out;
      `),
    ).toEqual(['TypeError', 'TypeError', 'TypeError', null]);
  });

  it('carries body, headers with Content-Type, cf and redirect', async () => {
    expect(
      await pi.run(`
        const r = new Request('https://e.com/api', { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'X-Key': 'k' }, cf: { cacheTtl: 5 }, redirect: 'manual' });
        return [r.method, r.headers.get('x-key'), r.headers.get('content-type'), r.cf, r.redirect, await r.json()];
      `),
    ).toEqual(['POST', 'k', 'text/plain;charset=UTF-8', { cacheTtl: 5 }, 'manual', { a: 1 }]);
  });

  it('rejects an invalid redirect mode', async () => {
    expect(await pi.run(`try { new Request('https://e.com', { redirect: 'nope' }); } catch (e) { return e.constructor.name; } return 'ok';`)).toBe('TypeError');
  });

  it('new Request(request, init) copies fields, overrides with init and takes over the body', async () => {
    expect(
      await pi.run(`
        const a = new Request('https://e.com/a', { method: 'PUT', body: 'data', headers: { x: '1' }, cf: { k: 1 } });
        const b = new Request(a, { headers: { y: '2' } });
        const c = new Request(b.clone(), { method: 'POST', body: 'other' });
        return [b.url, b.method, b.headers.get('x'), b.headers.get('y'), b.cf, a.bodyUsed, await b.text(), c.method, await c.text()];
      `),
    ).toEqual(['https://e.com/a', 'PUT', null, '2', { k: 1 }, true, 'data', 'POST', 'other']);
  });

  it('clone() gives an independent copy whose body can be read separately', async () => {
    expect(
      await pi.run(`
        const a = new Request('https://e.com', { method: 'POST', body: new ReadableStream({ start(c) { c.enqueue(new Uint8Array([65, 66])); c.close(); } }) });
        const b = a.clone();
        b.headers.set('x', '1');
        const texts = [await a.text(), await b.text()];
        let err = null;
        try { a.clone(); } catch (e) { err = e.constructor.name; }
        return [texts, a.headers.get('x'), b.method, err];
      `),
    ).toEqual([['AB', 'AB'], null, 'POST', 'TypeError']);
  });

  it('cannot be constructed from a Request whose body was already read', async () => {
    expect(
      await pi.run(`
        const a = new Request('https://e.com', { method: 'POST', body: 'x' });
        await a.text();
        try { new Request(a); } catch (e) { return e.constructor.name; }
        return 'ok';
      `),
    ).toBe('TypeError');
  });
});
