import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

const GLOBALS = [
  'Headers', 'Request', 'Response', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'atob', 'btoa', 'console', 'crypto',
  'structuredClone', 'queueMicrotask', 'DOMException', 'ReadableStream', 'WritableStream', 'TransformStream', 'ReadableStreamDefaultReader',
  'ReadableStreamBYOBReader', 'ReadableByteStreamController', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy',
];

describe('installed globals', () => {
  const LAZY = GLOBALS.filter((n) => /^(Readable|Writable|Transform)Stream|QueuingStrategy$|^ReadableByteStreamController$/.test(n) && !/^Text/.test(n));
  it('are writable, configurable and not enumerable', async () => {
    const got = await pi.run<Record<string, unknown>>(`
      return Object.fromEntries(${JSON.stringify(GLOBALS)}.map((n) => {
        const d = Object.getOwnPropertyDescriptor(globalThis, n);
        return [n, d ? [typeof d.value, d.writable, d.configurable, d.enumerable] : 'missing'];
      }));
    `);
    for (const name of GLOBALS) {
      const type = name === 'console' || name === 'crypto' ? 'object' : 'function';
      // The stream classes are lazy: an accessor until first touched (they are half the prelude's heap).
      if (LAZY.includes(name)) expect(got[name], name).toEqual(['undefined', null, true, false]);
      else expect(got[name], name).toEqual([type, true, true, false]);
    }
    const touched = await pi.run<Record<string, unknown>>(`
      return Object.fromEntries(${JSON.stringify(LAZY)}.map((n) => {
        const v = globalThis[n];
        const d = Object.getOwnPropertyDescriptor(globalThis, n);
        return [n, [typeof v, d.value === v, d.writable, d.configurable, d.enumerable]];
      }));
    `);
    for (const name of LAZY) expect(touched[name], name).toEqual(['function', true, true, true, false]);
    expect(await pi.run(`return Object.keys(globalThis).filter((k) => ${JSON.stringify(GLOBALS)}.includes(k))`)).toEqual([]);
  });

  it('do not expose the host bridge', async () => {
    expect(await pi.run(`return Object.getOwnPropertyNames(globalThis).filter((n) => /bridge|hostLog|setBridge/i.test(n))`)).toEqual([]);
  });
});

describe('DOMException', () => {
  it('has name, message, legacy code and is an Error', async () => {
    expect(
      await pi.run(`
        const e = new DOMException('gone', 'NotFoundError');
        const d = new DOMException();
        return [e.name, e.message, e.code, e instanceof Error, e instanceof DOMException, String(e), e.stack.split('\\n')[0],
          d.name, d.message, d.code, new DOMException('x', 'Custom').code, DOMException.ABORT_ERR, e.DATA_CLONE_ERR,
          Object.prototype.toString.call(e), Object.keys(e)];
      `),
    ).toEqual(['NotFoundError', 'gone', 8, true, true, 'NotFoundError: gone', 'NotFoundError: gone', 'Error', '', 0, 0, 20, 25, '[object DOMException]', []]);
  });
});

describe('streams', () => {
  it('pipe through a TransformStream and a BYOB reader on a byte stream', async () => {
    expect(
      await pi.run(`
        const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });
        const src = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } }, new CountQueuingStrategy({ highWaterMark: 2 }));
        const out = [];
        for await (const x of src.pipeThrough(upper)) out.push(x);
        const bytes = new ReadableStream({ type: 'bytes', start(c) { c.enqueue(new Uint8Array([1, 2, 3])); c.close(); } });
        const reader = bytes.getReader({ mode: 'byob' });
        const { value } = await reader.read(new Uint8Array(2));
        const written = [];
        const ws = new WritableStream({ write(c) { written.push(c); } }, new ByteLengthQueuingStrategy({ highWaterMark: 16 }));
        const w = ws.getWriter(); await w.write(new Uint8Array(1)); await w.close();
        return [out, [...value], reader instanceof ReadableStreamBYOBReader, written.length];
      `),
    ).toEqual([['A', 'B'], [1, 2], true, 1]);
  });
});
