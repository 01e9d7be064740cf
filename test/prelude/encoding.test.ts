import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

/** Deterministic pseudo-random bytes biased towards UTF-8 lead/continuation bytes, to hit every decoder branch. */
function fuzzBytes(seed: number, length: number): number[] {
  let x = seed;
  const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90];
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(x % 3 === 0 ? interesting[(x >>> 8) % interesting.length]! : (x >>> 16) & 0xff);
  }
  return out;
}

describe('TextEncoder', () => {
  it('encodes UTF-8, turning lone surrogates into U+FFFD', async () => {
    const inputs = ['', 'ascii', 'é€😀', '\uD800', 'a\uDC00b', '\uD83D\uDE00\uD83D', 'x'.repeat(3000) + '€'];
    const got = await pi.run<number[][]>(`return ${JSON.stringify(inputs)}.map((s) => [...new TextEncoder().encode(s)])`);
    expect(got).toEqual(inputs.map((s) => [...new TextEncoder().encode(s)]));
  });

  it('encodeInto stops before a code point that does not fit', async () => {
    const cases: Array<[string, number]> = [['abc', 2], ['a€', 3], ['a€', 4], ['😀x', 3], ['😀x', 5], ['\uD800z', 3]];
    const got = await pi.run(`
      return ${JSON.stringify(cases)}.map(([s, n]) => { const d = new Uint8Array(n); const r = new TextEncoder().encodeInto(s, d); return [r.read, r.written, [...d]]; });
    `);
    expect(got).toEqual(
      cases.map(([s, n]) => {
        const d = new Uint8Array(n);
        const r = new TextEncoder().encodeInto(s, d);
        return [r.read, r.written, [...d]];
      }),
    );
  });

  it('reports utf-8 as its encoding', async () => {
    expect(await pi.run(`return [new TextEncoder().encoding, new TextDecoder().encoding]`)).toEqual(['utf-8', 'utf-8']);
  });
});

describe('TextDecoder', () => {
  it('replaces invalid sequences per maximal subpart, like the WHATWG decoder', async () => {
    const cases = [
      [0xff], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98],
      [0xe2, 0x82], [0xe2, 0x41], [0xf0, 0x9f, 0x41, 0x42], [0xc2], [0x80, 0x80],
    ];
    for (let seed = 1; seed <= 40; seed++) cases.push(fuzzBytes(seed, 64));
    const got = await pi.run<string[]>(`return ${JSON.stringify(cases)}.map((b) => new TextDecoder().decode(new Uint8Array(b)))`);
    expect(got).toEqual(cases.map((b) => new TextDecoder().decode(new Uint8Array(b))));
  });

  it('streams across chunk boundaries, including an emoji split into single bytes', async () => {
    const text = 'a😀b€c\u00e9';
    const got = await pi.run(`
      const bytes = new TextEncoder().encode(${JSON.stringify(text)});
      const d = new TextDecoder();
      let out = '';
      for (const b of bytes) out += d.decode(new Uint8Array([b]), { stream: true });
      out += d.decode();
      const tail = new TextDecoder();
      const cut = tail.decode(new Uint8Array([0xf0, 0x9f]), { stream: true }) + '|' + tail.decode();
      return [out, cut];
    `);
    expect(got).toEqual([text, '|\uFFFD']);
  });

  it('fuzzed streaming decode matches Node for every split point', async () => {
    const bytes = fuzzBytes(7, 200);
    const expected: string[] = [];
    for (let cut = 0; cut <= bytes.length; cut += 7) {
      const d = new TextDecoder();
      expected.push(d.decode(new Uint8Array(bytes.slice(0, cut)), { stream: true }) + d.decode(new Uint8Array(bytes.slice(cut))));
    }
    const got = await pi.run(`
      const bytes = ${JSON.stringify(bytes)};
      const out = [];
      for (let cut = 0; cut <= bytes.length; cut += 7) {
        const d = new TextDecoder();
        out.push(d.decode(new Uint8Array(bytes.slice(0, cut)), { stream: true }) + d.decode(new Uint8Array(bytes.slice(cut))));
      }
      return out;
    `);
    expect(got).toEqual(expected);
  });

  it('strips one BOM unless ignoreBOM, also when the BOM is split across chunks', async () => {
    expect(
      await pi.run(`
        const bom = [0xef, 0xbb, 0xbf];
        const d = new TextDecoder();
        const split = d.decode(new Uint8Array([0xef]), { stream: true }) + d.decode(new Uint8Array([0xbb, 0xbf, 0x41]));
        return [
          new TextDecoder().decode(new Uint8Array([...bom, ...bom, 0x41])),
          new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([...bom, 0x41])).length,
          split,
        ];
      `),
    ).toEqual(['\uFEFFA', 2, 'A']);
  });

  it('fatal mode throws TypeError; labels other than UTF-8 and UTF-16LE are RangeErrors', async () => {
    expect(
      await pi.run(`
        const out = [];
        const f = new TextDecoder('utf8', { fatal: true });
        try { f.decode(new Uint8Array([0x61, 0xff])); } catch (e) { out.push(e.constructor.name); }
        out.push(f.decode(new Uint8Array([0x61])));
        try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xe2, 0x82])); } catch (e) { out.push(e.constructor.name); }
        out.push(f.fatal, f.ignoreBOM, new TextDecoder(' Unicode-1-1-UTF-8 ').encoding);
        for (const l of ['latin1', 'utf-16be', 'bogus']) { try { new TextDecoder(l); out.push('ok'); } catch (e) { out.push(e.constructor.name); } }
        return out;
      `),
    ).toEqual(['TypeError', 'a', 'TypeError', true, false, 'utf-8', 'RangeError', 'RangeError', 'RangeError']);
  });

  it('decodes UTF-16LE (what jco glue uses for WebAssembly guests): labels, split chunks, lone surrogates', async () => {
    const text = 'héllo ✓ 日本 🎉 end';
    const units = Buffer.from(text, 'utf16le');
    expect(
      await pi.run(`
        const bytes = new Uint8Array(${JSON.stringify([...units])});
        const out = [];
        for (const l of ['utf-16', 'UTF-16LE', 'ucs-2']) out.push(new TextDecoder(l).encoding);
        out.push(new TextDecoder('utf-16').decode(bytes));
        // odd offset, then streamed in 3-byte pieces (splitting units and the surrogate pair)
        const odd = new Uint8Array(bytes.length + 1); odd.set(bytes, 1);
        out.push(new TextDecoder('utf-16le').decode(odd.subarray(1)));
        const d = new TextDecoder('utf-16le');
        let s = '';
        for (let i = 0; i < bytes.length; i += 3) s += d.decode(bytes.subarray(i, i + 3), { stream: true });
        s += d.decode();
        out.push(s);
        out.push(new TextDecoder('utf-16le').decode(new Uint8Array([0x3d, 0xd8, 0x41, 0x00])));
        try { new TextDecoder('utf-16le', { fatal: true }).decode(new Uint8Array([0x3d, 0xd8])); } catch (e) { out.push(e.constructor.name); }
        out.push(new TextDecoder('utf-16le').decode(new Uint8Array([0x41, 0x00, 0x42])));
        return out;
      `),
    ).toEqual(['utf-16le', 'utf-16le', 'utf-16le', text, text, text, '\ufffdA', 'TypeError', 'A\ufffd']);
  });

  it('decodes ArrayBuffer, DataView and views at an offset', async () => {
    expect(
      await pi.run(`
        const b = new TextEncoder().encode('xhéllo').buffer;
        const d = new TextDecoder();
        return [d.decode(b), d.decode(new DataView(b, 1)), d.decode(new Uint8Array(b, 1, 2)), d.decode()];
      `),
    ).toEqual(['xhéllo', 'héllo', 'h\uFFFD', '']);
  });

  it('round-trips large text through TextEncoderStream and TextDecoderStream', async () => {
    expect(
      await pi.run(`
        const text = '😀é'.repeat(5000) + 'end';
        const bytes = new TextEncoder().encode(text);
        const src = new ReadableStream({ start(c) { for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3)); c.close(); } });
        let out = '';
        const reader = src.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) { const { done, value } = await reader.read(); if (done) break; out += value; }
        const enc = new TextEncoderStream();
        const w = enc.writable.getWriter();
        w.write('\\uD83D'); w.write('\\uDE00'); w.close();
        const r2 = enc.readable.getReader();
        const parts = [];
        for (;;) { const { done, value } = await r2.read(); if (done) break; parts.push(...value); }
        return [out === text, parts];
      `),
    ).toEqual([true, [0xf0, 0x9f, 0x98, 0x80]]);
  });
});
