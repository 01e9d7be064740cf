// The host's UTF-8 codec under a moving GC. V8's stringref encode reads the codec's instance without a handle and
// then flattens the string it was given; when that string is a concatenation (a cons string), flattening allocates,
// and a GC that moves the instance there leaves V8 using a stale pointer: the host process dies with SIGSEGV. It did
// in CI, under load. The prelude hands the codec only slices, which JS flattens first (encoding.js, codecEncode).
//
// --stress-compaction makes every GC a compacting one, so that the window is hit on nearly every call that would
// flatten; without the slices this file's worker process is killed by SIGSEGV within the first rounds. The flag is
// process-wide (isolated-vm isolates share it); vitest runs each test file in its own process, and it is turned off
// again after. The decodes (which read linear memory by a pointer that does not move) are held to the same.
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from './helpers/prelude-isolate.ts';
import { utf8CodecModule } from '../host/runtime/utf8-codec.ts';

/** Cons strings of every kind of unit, built the same in Node and in the isolate; i picks the shape. */
const CONS_SOURCE = `(i) => {
  const parts = ['ascii text ' + i, 'é' + i, '漢字', '😀', '\\ud800', 'z'];
  let s = '';
  for (let k = 0; k < 900 + (i % 7) * 300; k++) s += parts[(k * (i + 3)) % parts.length];
  return i % 2 === 0 ? s : s + '😀';
}`;
const FINGERPRINT_SOURCE = `(b) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 16777619) >>> 0;
  return b.length + ':' + h.toString(16);
}`;
const consString = (0, eval)(CONS_SOURCE) as (i: number) => string;
const fingerprint = (0, eval)(FINGERPRINT_SOURCE) as (b: Uint8Array) => string;

describe.skipIf(utf8CodecModule === null)('the UTF-8 codec while every GC moves objects', () => {
  let pi: PreludeIsolate;
  beforeAll(async () => {
    setFlagsFromString('--stress-compaction');
    pi = await createPreludeIsolate({ memoryMb: 128 });
  });
  afterAll(() => {
    pi?.dispose();
    setFlagsFromString('--no-stress-compaction');
  });

  it('encodes cons strings (encode, encodeInto, TextEncoderStream) exactly, and the process lives', async () => {
    const ROUNDS = 120;
    const got = await pi.run<string[]>(`
      const consString = ${CONS_SOURCE};
      const fp = ${FINGERPRINT_SOURCE};
      const enc = new TextEncoder();
      const out = [];
      let churn = [];
      for (let i = 0; i < ${ROUNDS}; i++) {
        const s = consString(i);
        let bytes;
        if (i % 3 === 0) bytes = enc.encode(s);
        else if (i % 3 === 1) {
          const dest = new Uint8Array(s.length * 3);
          const { written } = enc.encodeInto(s, dest);
          bytes = dest.subarray(0, written);
        } else {
          const chunks = [];
          const ts = new TextEncoderStream();
          const reading = (async () => { for await (const c of ts.readable) chunks.push(c); })();
          const w = ts.writable.getWriter();
          await w.write(s);
          await w.close();
          await reading;
          bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let p = 0;
          for (const c of chunks) { bytes.set(c, p); p += c.length; }
        }
        out.push(fp(bytes));
        churn.push(new Array(2000).fill(i));
        if (churn.length > 40) churn = [];
      }
      return out;
    `);
    const want = Array.from({ length: ROUNDS }, (_, i) => fingerprint(new TextEncoder().encode(consString(i))));
    expect(got).toEqual(want);
  }, 120_000);

  it('decodes (replacing, fatal, streamed) exactly while every GC moves objects', async () => {
    const ROUNDS = 60;
    const got = await pi.run<string[]>(`
      const consString = ${CONS_SOURCE};
      const out = [];
      let churn = [];
      for (let i = 0; i < ${ROUNDS}; i++) {
        const bytes = new TextEncoder().encode(consString(i));
        if (i % 4 === 3) bytes[bytes.length >> 1] = 0xff; // invalid: U+FFFD, or a TypeError when fatal
        let text;
        if (i % 3 === 0) text = new TextDecoder().decode(bytes);
        else if (i % 3 === 1) {
          try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { text = e.name; }
        } else {
          const d = new TextDecoder();
          const cut = (bytes.length * 0.37) | 0;
          text = d.decode(bytes.subarray(0, cut), { stream: true }) + d.decode(bytes.subarray(cut));
        }
        out.push(text.length + ':' + text.slice(0, 40) + ':' + text.slice(-40));
        churn.push(new Array(2000).fill(i));
        if (churn.length > 40) churn = [];
      }
      return out;
    `);
    const want = Array.from({ length: ROUNDS }, (_, i) => {
      const bytes = new TextEncoder().encode(consString(i));
      if (i % 4 === 3) bytes[bytes.length >> 1] = 0xff;
      let text: string;
      if (i % 3 === 1) {
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch (e) {
          text = (e as Error).name;
        }
      } else text = new TextDecoder().decode(bytes);
      return text.length + ':' + text.slice(0, 40) + ':' + text.slice(-40);
    });
    expect(got).toEqual(want);
  }, 120_000);
});
