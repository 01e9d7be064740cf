import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('structuredClone', () => {
  it('deep-copies dates, regexps, maps, sets, buffers, typed arrays and boxed primitives', async () => {
    expect(
      await pi.run(`
        const src = {
          d: new Date(1234), r: /a+/gi, m: new Map([[{ k: 1 }, new Set([1, 2])]]), buf: new Uint8Array([1, 2, 3]).buffer,
          u16: new Uint16Array([1, 65535]), dv: new DataView(new ArrayBuffer(4), 1, 2), n: new Number(5), s: new String('s'), big: 10n,
          neg: -0, undef: undefined, arr: [1, , 3],
        };
        const c = structuredClone(src);
        return [
          c !== src, c.d instanceof Date && c.d.getTime(), c.r instanceof RegExp && c.r.source + '/' + c.r.flags,
          c.m instanceof Map && [...c.m][0][0].k, [...[...c.m.values()][0]], c.buf !== src.buf && [...new Uint8Array(c.buf)],
          c.u16 instanceof Uint16Array && [...c.u16], c.dv instanceof DataView && [c.dv.byteOffset, c.dv.byteLength],
          c.n instanceof Number && +c.n, c.s instanceof String && String(c.s), typeof c.big, Object.is(c.neg, -0), 'undef' in c, 1 in c.arr, c.arr.length,
        ];
      `),
    ).toEqual([true, 1234, 'a+/gi', 1, [1, 2], [1, 2, 3], [1, 65535], [1, 2], 5, 's', 'bigint', true, true, false, 3]);
  });

  it('preserves cycles, shared references and views sharing one buffer', async () => {
    expect(
      await pi.run(`
        const shared = { v: 1 };
        const o = { a: shared, b: shared, list: [] };
        o.self = o;
        o.list.push(o);
        const buf = new ArrayBuffer(8);
        o.x = new Uint8Array(buf, 0, 4);
        o.y = new Uint32Array(buf, 4, 1);
        const c = structuredClone(o);
        c.x[0] = 9;
        return [c.self === c, c.list[0] === c, c.a === c.b, c.a !== shared, c.x.buffer === c.y.buffer, new Uint8Array(buf)[0]];
      `),
    ).toEqual([true, true, true, true, true, 0]);
  });

  it('clones errors with their type, message, stack and cause', async () => {
    expect(
      await pi.run(`
        const e = new TypeError('bad', { cause: { why: 1 } });
        const c = structuredClone(e);
        const custom = structuredClone(Object.assign(new Error('x'), { name: 'MyError' }));
        const dom = structuredClone(new DOMException('m', 'AbortError'));
        return [c instanceof TypeError, c.message, c.stack === e.stack, c.cause.why, c.cause !== e.cause, custom.constructor.name, dom instanceof DOMException && dom.name + ':' + dom.message];
      `),
    ).toEqual([true, 'bad', true, 1, true, 'Error', 'AbortError:m']);
  });

  it('turns class instances into plain objects and copies only own enumerable data', async () => {
    expect(
      await pi.run(`
        class P { constructor() { this.x = 1; } get y() { return 2; } }
        const c = structuredClone(new P());
        const p = structuredClone(JSON.parse('{"__proto__": {"polluted": true}}'));
        return [Object.getPrototypeOf(c) === Object.prototype, c.x, c.y, Object.keys(p), ({}).polluted];
      `),
    ).toEqual([true, 1, null, ['__proto__'], null]);
  });

  it('throws DataCloneError for functions, symbols and platform objects', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const v of [() => 1, Symbol('s'), { f() {} }, new Headers(), new Response('x'), Promise.resolve(), new WeakMap(), new ReadableStream()]) {
          try { structuredClone(v); out.push('cloned'); } catch (e) { out.push(e instanceof DOMException ? e.name : e.constructor.name); }
        }
        return out;
      `),
    ).toEqual(Array(8).fill('DataCloneError'));
  });

  it('transfers ArrayBuffers: the original is detached', async () => {
    expect(
      await pi.run(`
        const buf = new Uint8Array([1, 2, 3]).buffer;
        const c = structuredClone({ buf }, { transfer: [buf] });
        let err = null;
        try { structuredClone(1, { transfer: [{}] }); } catch (e) { err = e.name; }
        return [buf.byteLength, buf.detached, [...new Uint8Array(c.buf)], err];
      `),
    ).toEqual([0, true, [1, 2, 3], 'DataCloneError']);
  });
});

describe('structuredClone of Blob, File and FormData', () => {
  it('clones a Blob and a File with their bytes and fields, and refuses FormData', async () => {
    const p = await createPreludeIsolate();
    try {
      const out = await p.run(`
        const b = structuredClone(new Blob(['ab', 'c'], { type: 'text/plain' }));
        const f = structuredClone({ f: new File(['xyz'], 'n.txt', { type: 'text/x', lastModified: 5 }) }).f;
        let fd = 'cloned';
        try { structuredClone(new FormData()); } catch (e) { fd = e.name; }
        return { isBlob: b instanceof Blob, text: await b.text(), type: b.type, isFile: f instanceof File, name: f.name, ftext: await f.text(), lm: f.lastModified, fd };
      `);
      expect(out).toEqual({ isBlob: true, text: 'abc', type: 'text/plain', isFile: true, name: 'n.txt', ftext: 'xyz', lm: 5, fd: 'DataCloneError' });
    } finally {
      p.dispose();
    }
  });
});
