import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('Blob', () => {
  it('joins strings, buffers, views and Blobs; type is lowercased, non-ASCII types dropped', async () => {
    expect(
      await pi.run(`
        const inner = new Blob(['in']);
        const b = new Blob(['hé', new Uint8Array([33]), new Uint16Array([0x4241]).buffer, new DataView(new Uint8Array([1, 67, 2]).buffer, 1, 1), inner], { type: 'Text/Plain' });
        return [b.size, b.type, await b.text(), new Blob([], { type: 'a/ü' }).type, new Blob().size, String(b), b instanceof Blob];
      `),
    ).toEqual([9, 'text/plain', 'hé!ABCin', '', 0, '[object Blob]', true]);
  });

  it('copies its parts: later changes to a buffer do not show', async () => {
    expect(await pi.run(`const u = new Uint8Array([104, 105]); const b = new Blob([u]); u[0] = 0; return b.text();`)).toBe('hi');
  });

  it('slices with negative and out-of-range indexes, and a content type', async () => {
    expect(
      await pi.run(`
        const b = new Blob(['0123456789'], { type: 'a/b' });
        return [await b.slice(2, 5).text(), await b.slice(-3).text(), await b.slice(-100, 2).text(), await b.slice(8, 2).text(), b.slice(1).type, b.slice(1, 2, 'X/Y').type, await b.slice(1, 9).slice(1, 3).text()];
      `),
    ).toEqual(['234', '789', '01', '', '', 'x/y', '23']);
  });

  it('reads as arrayBuffer, bytes and stream', async () => {
    expect(
      await pi.run(`
        const b = new Blob([new Uint8Array(70000).fill(7), 'end']);
        const ab = await b.arrayBuffer();
        const bytes = await b.bytes();
        bytes[0] = 1; // a copy
        let n = 0, chunks = 0;
        for await (const c of b.stream()) { n += c.byteLength; chunks++; }
        return [ab.byteLength, ab instanceof ArrayBuffer, bytes instanceof Uint8Array, (await b.bytes())[0], n, chunks, await new Response(b.stream()).text().then((t) => t.slice(-3))];
      `),
    ).toEqual([70003, true, true, 7, 70003, 2, 'end']);
  });

  it('names bad arguments', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const f of [() => new Blob('abc'), () => new Blob([], { endings: 'crlf' }), () => new File(['x'])]) {
          try { f(); out.push('no error'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
        }
        return out;
      `),
    ).toEqual([
      expect.stringMatching(/^TypeError: .*cannot be converted to a sequence/),
      expect.stringMatching(/^TypeError: .*'crlf' is not a valid value for endings/),
      "TypeError: Failed to construct 'File': 2 arguments required, but only 1 present.",
    ]);
  });

  it('converts native line endings on request', async () => {
    expect(await pi.run(`return new Blob(['a\\r\\nb\\rc'], { endings: 'native' }).text();`)).toBe('a\nb\nc');
  });
});

describe('File', () => {
  it('has a name, lastModified and is a Blob', async () => {
    expect(
      await pi.run(`
        const f = new File(['abc'], 'a.txt', { type: 'text/plain', lastModified: 42 });
        const now = new File([], 'n').lastModified;
        return [f.name, f.size, f.type, f.lastModified, f instanceof Blob, String(f), await f.text(), Math.abs(now - Date.now()) < 1000, f.slice(1) instanceof File];
      `),
    ).toEqual(['a.txt', 3, 'text/plain', 42, true, '[object File]', 'abc', true, false]);
  });
});

describe('Blob bodies', () => {
  it('a Blob body keeps its bytes and type as Content-Type; body.blob() reads one back', async () => {
    expect(
      await pi.run(`
        const r = new Response(new Blob(['{"a":1}'], { type: 'application/json' }));
        const typeless = new Response(new Blob(['x']));
        const blob = await new Response('hey', { headers: { 'content-type': 'Text/Plain; charset=UTF-8' } }).blob();
        const req = new Request('https://x/', { method: 'POST', body: new File(['f'], 'f.bin', { type: 'application/x-f' }) });
        return [r.headers.get('content-type'), await r.json(), typeless.headers.get('content-type'), blob.type, await blob.text(), blob.size, req.headers.get('content-type'), await req.text(), (await new Response(null).blob()).size];
      `),
    ).toEqual(['application/json', { a: 1 }, null, 'text/plain; charset=utf-8', 'hey', 3, 'application/x-f', 'f', 0]);
  });
});
