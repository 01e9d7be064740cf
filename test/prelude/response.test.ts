import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('Response', () => {
  it('defaults: status 200, ok, type default, no body', async () => {
    expect(
      await pi.run(`
        const r = new Response();
        return [r.status, r.ok, r.statusText, r.type, r.url, r.redirected, r.body, r.bodyUsed, r.webSocket, [...r.headers], await r.text()];
      `),
    ).toEqual([200, true, '', 'default', '', false, null, false, null, [], '']);
  });

  it('sets Content-Type from the body type unless given', async () => {
    expect(
      await pi.run(`
        return [
          new Response('s').headers.get('content-type'),
          new Response(new URLSearchParams('a=1')).headers.get('content-type'),
          new Response(new Uint8Array([1])).headers.get('content-type'),
          new Response('s', { headers: { 'Content-Type': 'text/html' } }).headers.get('content-type'),
          new Response('s', { headers: { 'x-a': '1' } }).headers.get('content-type'),
        ];
      `),
    ).toEqual(['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded;charset=UTF-8', null, 'text/html', 'text/plain;charset=UTF-8']);
  });

  it('reads bodies from strings, bytes, buffers, URLSearchParams and streams', async () => {
    expect(
      await pi.run(`
        const bytes = new Uint8Array([104, 105]);
        const fromBytes = new Response(bytes);
        bytes[0] = 0; // the body is a copy
        const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('st')); c.enqueue(new TextEncoder().encode('ream')); c.close(); } });
        return [
          await new Response('héllo').text(),
          await fromBytes.text(),
          [...new Uint8Array(await new Response(new Uint16Array([0x4241]).buffer).arrayBuffer())],
          [...(await new Response(new DataView(new Uint8Array([1, 2, 3]).buffer, 1)).bytes())],
          await new Response(new URLSearchParams({ q: 'a b' })).text(),
          await new Response(stream).text(),
          await new Response('{"a":[1]}').json(),
          await new Response(42).text(),
        ];
      `),
    ).toEqual(['héllo', 'hi', [0x41, 0x42], [2, 3], 'q=a+b', 'stream', { a: [1] }, '42']);
  });

  it('rejects reading a body twice, and tells to use tee()', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const make of [() => new Response('x'), () => new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.close(); } }))]) {
          const r = make();
          await r.text();
          out.push(r.bodyUsed);
          try { await r.arrayBuffer(); out.push('read twice'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
          try { r.clone(); out.push('cloned'); } catch (e) { out.push(e.constructor.name); }
        }
        return out;
      `),
    ).toEqual([
      true,
      'TypeError: Body has already been used. It can only be used once. Use tee() first if you need to read it twice.',
      'TypeError',
      true,
      'TypeError: Body has already been used. It can only be used once. Use tee() first if you need to read it twice.',
      'TypeError',
    ]);
  });

  it('body is a lazily created byte stream; reading it marks the body used', async () => {
    expect(
      await pi.run(`
        const r = new Response('abc');
        const s = r.body;
        const same = s === r.body;
        const before = r.bodyUsed;
        const reader = s.getReader({ mode: 'byob' });
        const { value } = await reader.read(new Uint8Array(8));
        let err = null;
        try { await r.text(); } catch (e) { err = e.constructor.name; }
        return [same, before, s instanceof ReadableStream, [...value], r.bodyUsed, err];
      `),
    ).toEqual([true, false, true, [97, 98, 99], true, 'TypeError']);
  });

  it('clone() tees: both copies read the full body', async () => {
    expect(
      await pi.run(`
        const a = new Response('same', { status: 201, statusText: 'Made', headers: { x: '1' } });
        const b = a.clone();
        b.headers.set('x', '2');
        const s = new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } }));
        const t = s.clone();
        return [await a.text(), await b.text(), b.status, b.statusText, a.headers.get('x'), await s.text(), await t.text()];
      `),
    ).toEqual(['same', 'same', 201, 'Made', '1', 'streamed', 'streamed']);
  });

  it('validates status and statusText, and null-body statuses', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const [body, init] of [[null, { status: 199 }], [null, { status: 600 }], [null, { status: 0 }], ['x', { status: 204 }], ['x', { status: 304 }], [null, { statusText: 'bad\\r\\n' }]]) {
          try { new Response(body, init); out.push('ok'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
        }
        out.push(new Response(null, { status: 204 }).status, new Response('', { status: 599 }).ok);
        return out;
      `),
    ).toEqual([
      'RangeError: The status provided (199) is outside the range [200, 599].',
      'RangeError: The status provided (600) is outside the range [200, 599].',
      'RangeError: The status provided (0) is outside the range [200, 599].',
      'TypeError: Response with null body status (204) cannot have a body.',
      'TypeError: Response with null body status (304) cannot have a body.',
      expect.stringMatching(/^TypeError: Invalid statusText/),
      204,
      false,
    ]);
  });

  it('Response.json serializes with application/json and keeps init', async () => {
    expect(
      await pi.run(`
        const r = Response.json({ a: 1, b: [true, null] }, { status: 202, headers: { 'x-y': 'z' } });
        const custom = Response.json([1], { headers: { 'content-type': 'application/vnd.api+json' } });
        let err = null;
        try { Response.json(undefined); } catch (e) { err = e.constructor.name; }
        let cyc = null;
        try { const o = {}; o.o = o; Response.json(o); } catch (e) { cyc = e.constructor.name; }
        return [r.status, r.headers.get('content-type'), r.headers.get('x-y'), await r.json(), custom.headers.get('content-type'), err, cyc];
      `),
    ).toEqual([202, 'application/json', 'z', { a: 1, b: [true, null] }, 'application/vnd.api+json', 'TypeError', 'TypeError']);
  });

  it('Response.redirect sets an absolute Location and validates the status', async () => {
    expect(
      await pi.run(`
        const r = Response.redirect('https://example.com/a b');
        const p = Response.redirect(new URL('https://example.com/x'), 301);
        const out = [r.status, r.headers.get('location'), p.status, p.headers.get('Location'), r.body];
        for (const [u, s] of [['https://e.com', 200], ['https://e.com', 304], ['/relative', 302]]) {
          try { Response.redirect(u, s); out.push('ok'); } catch (e) { out.push(e.constructor.name); }
        }
        try { r.headers.set('location', '/x'); } catch (e) { out.push(e.message); }
        return out;
      `),
    ).toEqual([302, 'https://example.com/a%20b', 301, 'https://example.com/x', null, 'RangeError', 'RangeError', 'TypeError', "Can't modify immutable headers."]);
  });

  it('Response.error is a network error with status 0 and immutable headers', async () => {
    expect(
      await pi.run(`
        const r = Response.error();
        return [r.type, r.status, r.ok, r.body];
      `),
    ).toEqual(['error', 0, false, null]);
  });

  it('formData() of a text body rejects with a TypeError naming the Content-Type; blob() reads it', async () => {
    expect(
      await pi.run(`
        let error;
        try { await new Response('x').formData(); } catch (e) { error = e.constructor.name + ': ' + e.message; }
        const blob = await new Response('x').blob();
        return [error, blob.type, await blob.text()];
      `),
    ).toEqual([expect.stringMatching(/^TypeError: Body\.formData\(\): the Content-Type is "text\/plain;charset=UTF-8"/), 'text/plain;charset=utf-8', 'x']);
  });

  it('rejects a locked or disturbed stream as a body', async () => {
    expect(
      await pi.run(`
        const s = new ReadableStream();
        s.getReader();
        try { new Response(s); } catch (e) { return e.constructor.name; }
        return 'ok';
      `),
    ).toBe('TypeError');
  });

  it('text() of a stream with non-byte chunks rejects with TypeError', async () => {
    expect(
      await pi.run(`
        const r = new Response(new ReadableStream({ start(c) { c.enqueue('a string'); c.close(); } }));
        try { await r.text(); } catch (e) { return e.constructor.name; }
        return 'ok';
      `),
    ).toBe('TypeError');
  });
});
