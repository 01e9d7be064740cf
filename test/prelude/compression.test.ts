// CompressionStream / DecompressionStream inside the isolate, checked against Node's zlib in both directions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

const FORMATS = [
  ['gzip', zlib.gzipSync, zlib.gunzipSync],
  ['deflate', zlib.deflateSync, zlib.inflateSync],
  ['deflate-raw', zlib.deflateRawSync, zlib.inflateRawSync],
] as const;

// Text with repetition plus pseudo-random bytes, so that both stored and compressed blocks occur.
function sample(): Buffer {
  const random = Buffer.alloc(50_000);
  let x = 12345;
  for (let i = 0; i < random.length; i++) random[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return Buffer.concat([Buffer.from('héllo edge '.repeat(5000)), random]);
}

/** Pipes `input` (base64) through a (De)CompressionStream in the isolate, written in chunks of `chunk` bytes. */
function through(kind: string, format: string, input: Buffer, chunk: number): Promise<string> {
  return pi.run<string>(`
    const input = Uint8Array.from(atob(${JSON.stringify(input.toString('base64'))}), (c) => c.charCodeAt(0));
    const ts = new ${kind}(${JSON.stringify(format)});
    const writer = ts.writable.getWriter();
    (async () => { for (let i = 0; i < input.length; i += ${chunk}) await writer.write(input.subarray(i, i + ${chunk})); await writer.close(); })().catch(() => {});
    const out = new Uint8Array(await new Response(ts.readable).arrayBuffer());
    let s = '';
    for (let i = 0; i < out.length; i += 8192) s += String.fromCharCode(...out.subarray(i, i + 8192));
    return btoa(s);
  `);
}

describe('CompressionStream and DecompressionStream', () => {
  const input = sample();
  for (const [format, compress, decompress] of FORMATS) {
    it(`${format}: our output decompresses with Node's zlib, and Node's output decompresses with ours`, async () => {
      const ours = Buffer.from(await through('CompressionStream', format, input, 7000), 'base64');
      expect(ours.length).toBeLessThan(input.length);
      expect(decompress(ours).equals(input)).toBe(true);
      const back = Buffer.from(await through('DecompressionStream', format, compress(input), 999), 'base64');
      expect(back.equals(input)).toBe(true);
    });
  }

  it('round-trips inside the isolate through pipeThrough, including an empty input', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const f of ['gzip', 'deflate', 'deflate-raw']) {
          const text = await new Response(new Blob(['abc'.repeat(100)]).stream().pipeThrough(new CompressionStream(f)).pipeThrough(new DecompressionStream(f))).text();
          const empty = await new Response(new Blob([]).stream().pipeThrough(new CompressionStream(f)).pipeThrough(new DecompressionStream(f))).text();
          out.push([text.length, empty]);
        }
        return [out, new CompressionStream('gzip') instanceof TransformStream, String(new DecompressionStream('gzip'))];
      `),
    ).toEqual([[[300, ''], [300, ''], [300, '']], true, '[object DecompressionStream]']);
  });

  it('errors the stream on invalid or truncated input, and refuses unknown formats and non-byte chunks', async () => {
    const gz = zlib.gzipSync(input).subarray(0, 1000).toString('base64');
    expect(
      await pi.run(`
        const read = async (format, bytes) => {
          try { await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format))).arrayBuffer(); return 'no error'; }
          catch (e) { return e.constructor.name + ': ' + e.message; }
        };
        const out = [
          await read('gzip', new TextEncoder().encode('definitely not gzip')),
          await read('deflate-raw', new Uint8Array([0xff, 0xff, 0xff])),
          await read('gzip', Uint8Array.from(atob(${JSON.stringify(gz)}), (c) => c.charCodeAt(0))),
          await read('deflate', new Uint8Array(0)),
        ];
        try { new CompressionStream('brotli'); } catch (e) { out.push(e.message); }
        try { new DecompressionStream(); } catch (e) { out.push(e.message); }
        const strings = new ReadableStream({ start(c) { c.enqueue('text'); c.close(); } });
        try { await new Response(strings.pipeThrough(new CompressionStream('gzip'))).arrayBuffer(); } catch (e) { out.push(e.message); }
        return out;
      `),
    ).toEqual([
      'TypeError: DecompressionStream: the gzip data is invalid (invalid gzip data).',
      'TypeError: DecompressionStream: the deflate-raw data is invalid (invalid block type).',
      'TypeError: DecompressionStream: the gzip data is invalid (unexpected EOF).',
      expect.stringMatching(/^TypeError: DecompressionStream: the deflate data is empty/),
      "Failed to construct 'CompressionStream': 'brotli' is not a supported format (expected 'gzip', 'deflate' or 'deflate-raw').",
      "Failed to construct 'DecompressionStream': 1 argument required, but only 0 present.",
      expect.stringMatching(/^CompressionStream: chunks written to it must be ArrayBuffer or ArrayBufferView .*got a string/),
    ]);
  });
});

describe('DecompressionStream integrity checks (fflate skips them; zlib does not)', () => {
  const text = Buffer.from('integrity '.repeat(500));
  const corrupt = (b: Buffer, fromEnd: number): Buffer => {
    const c = Buffer.from(b);
    c[c.length - fromEnd]! ^= 0x01;
    return c;
  };
  // Checksum failures: zlib refuses them too. Trailing bytes: the Compression Streams standard (and browsers) refuse
  // them, while Node's one-shot inflateSync ignores them.
  const cases: Array<[string, string, Buffer, boolean]> = [
    ['gzip with a wrong CRC-32', 'gzip', corrupt(zlib.gzipSync(text), 6), true],
    ['gzip with a wrong length', 'gzip', corrupt(zlib.gzipSync(text), 2), true],
    ['deflate with a wrong Adler-32', 'deflate', corrupt(zlib.deflateSync(text), 1), true],
    ['deflate with trailing bytes', 'deflate', Buffer.concat([zlib.deflateSync(text), Buffer.from('junk')]), false],
    ['deflate-raw with trailing bytes', 'deflate-raw', Buffer.concat([zlib.deflateRawSync(text), Buffer.from('junk')]), false],
  ];
  for (const [label, format, data, zlibRefuses] of cases) {
    it(`rejects ${label}`, async () => {
      const decompress = format === 'gzip' ? zlib.gunzipSync : zlib.inflateSync;
      if (zlibRefuses) expect(() => decompress(data)).toThrow();
      const got = await pi.run<string>(`
        try { await new Response(new Blob([Uint8Array.from(atob(${JSON.stringify(data.toString('base64'))}), (c) => c.charCodeAt(0))]).stream().pipeThrough(new DecompressionStream(${JSON.stringify(format)}))).arrayBuffer(); return 'no error'; }
        catch (e) { return e.constructor.name + ': ' + e.message; }
      `);
      expect(got).toMatch(new RegExp(`^TypeError: DecompressionStream: the ${format} data is invalid \\(`));
    });
  }

  it('accepts multi-member gzip (concatenated members), as gunzip does', async () => {
    const data = Buffer.concat([zlib.gzipSync('first;'), zlib.gzipSync('second')]);
    expect(zlib.gunzipSync(data).toString()).toBe('first;second');
    expect(
      await pi.run(`return new Response(new Blob([Uint8Array.from(atob(${JSON.stringify(data.toString('base64'))}), (c) => c.charCodeAt(0))]).stream().pipeThrough(new DecompressionStream('gzip'))).text();`),
    ).toBe('first;second');
  });
});

describe('TextEncoderStream and TextDecoderStream', () => {
  it('encode and decode text split across chunks (a multi-byte character split in two)', async () => {
    expect(
      await pi.run(`
        const bytes = new TextEncoder().encode('h€llo');
        const parts = [bytes.subarray(0, 2), bytes.subarray(2, 4), bytes.subarray(4)];
        const decoded = await new Response(new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } }).pipeThrough(new TextDecoderStream()).pipeThrough(new TextEncoderStream())).text();
        return decoded;
      `),
    ).toBe('h€llo');
  });
});
