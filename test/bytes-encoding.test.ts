// Bytes that do enter the isolate are cheap and exact: TextEncoder's WebAssembly path (large strings, any string
// representation, surrogates at its block boundaries, encodeInto, TextEncoderStream) gives the bytes Node's encoder
// gives; its binary is its WAT source assembled; and through a real host, on a fresh isolate, a response streamed
// from TextEncoder chunks (2 MB within the default cpu_ms 50, where the limit cut it off after ~1.2 MB before; 50 MB
// with room) and a 30 MB request body read whole or re-streamed come through byte for byte, in the batches the host
// and the runtime now move them in (up to 1 MiB per entry each way).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UTF8_ENCODE_WASM as encoderBinary } from '../host/runtime/js/prelude/internal/utf8-wasm.js';
import { createPreludeIsolate, type PreludeIsolate } from './helpers/prelude-isolate.ts';
import { utf8CodecBytes, utf8CodecModule } from '../host/runtime/utf8-codec.ts';
import { webAssembly } from '../host/core/webassembly-api.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const MB = 1_000_000;

/**
 * Strings built the ways guest code builds them (so that each V8 representation is hit: flat, cons, sliced), with
 * 2-, 3- and 4-byte characters, lone surrogates, and pairs at the encoder's 32,768-unit block boundaries. The same
 * source runs in Node and in the isolate.
 */
const CASES_SOURCE = `(() => {
  const B = 32768;
  const ascii = 'The quick brown fox jumps over the lazy dog. ';
  const cases = {
    empty: '',
    short: 'héllo 😀',
    flat: Array.from({ length: 70000 }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join(''),
    cons: ascii.repeat(2000),
    sliced: ascii.repeat(3000).slice(7, 7 + 100000),
    twoByte: 'é€ß中'.repeat(20000),
    astral: '😀𝄞'.repeat(20000),
    mixed: ('plain ascii, ' + 'é' + 'more text 漢字 ' + '😀').repeat(5000),
    asciiThenCjk: 'a'.repeat(B * 2) + '漢'.repeat(B * 2),
    pairAtBlockEnd: 'a'.repeat(B - 1) + '😀' + 'b'.repeat(B),
    pairAtBlockEnd2: 'a'.repeat(2 * B - 1) + '😀' + 'b'.repeat(10),
    loneHighAtBlockEnd: 'a'.repeat(B - 1) + '\\ud800' + 'b'.repeat(B),
    loneLowAtBlockStart: 'a'.repeat(B) + '\\udc00' + 'b'.repeat(100),
    loneHighAtEnd: 'x'.repeat(40000) + '\\ud83d',
    reversedPair: 'y'.repeat(1000) + '\\ude00\\ud83d' + 'z'.repeat(1000),
    surrogateSoup: Array.from({ length: 50000 }, (_, i) => String.fromCharCode([0xd800, 0xdc00, 0xdbff, 0xdfff, 0x41, 0xe9][(i * 5) % 6])).join(''),
    allBmpEdges: Array.from({ length: 40000 }, (_, i) => String.fromCharCode([0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0xfffd, 0][i % 7])).join(''),
  };
  return cases;
})()`;

const cases = (0, eval)(CASES_SOURCE) as Record<string, string>;
const UTF8_ENCODE_WASM = encoderBinary as Uint8Array;

/** A fingerprint of bytes (length and two FNV-1a hashes, forwards and backwards), the same in Node and the isolate. */
const FINGERPRINT_SOURCE = `(b) => {
  let h = 0x811c9dc5, g = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) { h = Math.imul(h ^ b[i], 16777619) >>> 0; g = Math.imul(g ^ b[b.length - 1 - i], 16777619) >>> 0; }
  return b.length + ':' + h.toString(16) + ':' + g.toString(16);
}`;
const fingerprint = (0, eval)(FINGERPRINT_SOURCE) as (b: Uint8Array) => string;

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('TextEncoder on large strings (the WebAssembly encoder)', () => {
  let pi: PreludeIsolate;
  beforeAll(async () => {
    pi = await createPreludeIsolate({ memoryMb: 128 });
  });
  afterAll(() => pi?.dispose());

  /** Runs `body` in the isolate with `cases` and `fp(bytes)` (their fingerprint) in scope. */
  function inIsolate<T>(body: string): Promise<T> {
    return pi.run<T>(`
      const cases = ${CASES_SOURCE};
      const fp = ${FINGERPRINT_SOURCE};
      ${body}
    `);
  }

  it('encodes every case as Node does (lone surrogates as U+FFFD, pairs kept across block boundaries)', async () => {
    const got = await inIsolate<Record<string, { fp: string; length: number; bufferLength: number }>>(`
      const out = {};
      for (const [k, s] of Object.entries(cases)) { const b = new TextEncoder().encode(s); out[k] = { fp: fp(b), length: b.length, bufferLength: b.buffer.byteLength }; }
      return out;
    `);
    for (const [k, s] of Object.entries(cases)) {
      const want = new TextEncoder().encode(s);
      expect(got[k]!.length, k).toBe(want.length);
      // An exactly sized buffer, as a fresh encode gives.
      expect(got[k]!.bufferLength, k).toBe(want.length);
      expect(got[k]!.fp, k).toBe(fingerprint(want));
    }
  });

  it('encodeInto with room for the worst case writes it all; with less it stops before a code point that does not fit', async () => {
    const got = await inIsolate<Array<[string, number, number, number, string]>>(`
      const out = [];
      for (const [k, s] of Object.entries(cases)) {
        for (const room of [s.length * 3 + 5, Math.floor(s.length * 1.5) + 1, 1001]) {
          const d = new Uint8Array(room).fill(0xaa);
          const r = new TextEncoder().encodeInto(s, d);
          out.push([k, room, r.read, r.written, fp(d)]);
        }
      }
      return out;
    `);
    for (const [k, room, read, written, bytes] of got) {
      const d = new Uint8Array(room).fill(0xaa);
      const r = new TextEncoder().encodeInto(cases[k]!, d);
      expect([read, written], `${k} into ${room}`).toEqual([r.read, r.written]);
      expect(bytes, `${k} into ${room}`).toBe(fingerprint(d));
    }
  });

  it('TextEncoderStream and Body: chunks that split a pair still give the pair; large bodies encode the same', async () => {
    const got = await inIsolate<{ stream: string; text: string; blob: string }>(`
      const s = cases.mixed + cases.pairAtBlockEnd;
      const parts = [];
      for (let i = 0; i < s.length; i += 40001) parts.push(s.slice(i, i + 40001));
      const ts = new TextEncoderStream();
      const w = ts.writable.getWriter();
      for (const p of parts) w.write(p);
      w.close();
      const chunks = [];
      const r = ts.readable.getReader();
      for (;;) { const x = await r.read(); if (x.done) break; chunks.push(x.value); }
      let n = 0; for (const c of chunks) n += c.length;
      const all = new Uint8Array(n); let o = 0; for (const c of chunks) { all.set(c, o); o += c.length; }
      const text = new Uint8Array(await new Response(s).arrayBuffer());
      const blob = new Uint8Array(await new Blob([s]).arrayBuffer());
      return { stream: fp(all), text: fp(text), blob: fp(blob) };
    `);
    const want = fingerprint(new TextEncoder().encode(cases.mixed! + cases.pairAtBlockEnd!));
    expect(got).toEqual({ stream: want, text: want, blob: want });
  });

  it('keeps working after guest code replaces WebAssembly and String.prototype methods', async () => {
    const got = await inIsolate<string>(`
      globalThis.WebAssembly = undefined;
      String.prototype.substring = () => 'oops';
      String.prototype.charCodeAt = () => 0;
      return fp(new TextEncoder().encode(cases.cons));
    `);
    expect(got).toBe(fingerprint(new TextEncoder().encode(cases.cons!)));
  });
});

/**
 * Seeded random input, generated the same in Node and in the isolate: strings of units drawn from every UTF-16 class
 * (ASCII runs, 2- and 3-byte characters, U+FEFF, U+FFFD, pairs, lone high and low surrogates) at lengths on both
 * sides of the WebAssembly threshold and across its 32,768-unit blocks; bytes that are valid UTF-8 (with and without
 * a BOM) or biased towards lead and continuation bytes; split points for streaming decodes.
 */
const RANDOM_SOURCE = `((seed) => {
  let x = seed >>> 0 || 1;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const below = (n) => next() % n;
  const unit = (asciiWeight) => {
    const k = below(16);
    if (k < asciiWeight) return [below(8) === 0 ? below(128) : 32 + below(95)];
    switch (k % 8) {
      case 0: return [0x80 + below(0x780)];
      case 1: return [0x800 + below(0xd000)];
      case 2: return [0xe000 + below(0x2000)];
      case 3: return [[0xfeff, 0xfffd, 0xffff, 0xfffe, 0x7ff, 0x800, 0x7f, 0x80][below(8)]];
      case 4: case 5: return [0xd800 + below(0x400), 0xdc00 + below(0x400)];
      case 6: return [0xd800 + below(0x400)];
      default: return [0xdc00 + below(0x400)];
    }
  };
  const string = (length, asciiWeight) => {
    const units = [];
    while (units.length < length) units.push(...unit(asciiWeight));
    units.length = length;
    let s = '';
    for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
    return s;
  };
  const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 511, 512, 513, 1000, 32767, 32768, 32769, 65537];
  for (let i = 0; i < 40; i++) lengths.push(below(2000));
  for (let i = 0; i < 8; i++) lengths.push(30000 + below(50000));
  const strings = lengths.map((n, i) => string(n, [0, 8, 12, 15, 16][i % 5]));
  // A sliced and a cons string, as templates and concatenation give.
  strings.push(('#' + strings[strings.length - 1]).slice(1), strings[strings.length - 2] + strings[20]);
  const bytes = [];
  const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xbb, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90];
  for (let i = 0; i < 60; i++) {
    const n = i < 50 ? below(300) : 20000 + below(40000);
    const b = new Uint8Array(n);
    for (let j = 0; j < n; j++) b[j] = below(3) === 0 ? interesting[below(interesting.length)] : below(256);
    if (i % 4 === 0 && n >= 3) b.set([0xef, 0xbb, 0xbf]);
    bytes.push(b);
  }
  const splits = (n) => { const cuts = [0]; while (cuts[cuts.length - 1] < n) cuts.push(Math.min(n, cuts[cuts.length - 1] + 1 + below(below(4) === 0 ? 8 : 5000))); return cuts; };
  return { strings, bytes, splits, below };
})`;

/**
 * What TextEncoder and TextDecoder make of the random input, as fingerprints (so that large results cross cheaply):
 * the same function runs with Node's classes and with the isolate's.
 */
const EXERCISE_SOURCE = `((input, fp) => {
  const sfp = (s) => { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0; return s.length + ':' + h.toString(16); };
  const { strings, bytes, splits, below } = input;
  const out = [];
  const enc = new TextEncoder();
  for (const s of strings) {
    const b = enc.encode(s);
    out.push(['encode', s.length, fp(b), b.buffer.byteLength]);
    // Room for the worst case, one byte less, about what ASCII needs, and a random few.
    for (const room of [s.length * 3, Math.max(0, s.length * 3 - 1), s.length + 1, below(64), below(s.length * 2 + 1)]) {
      const d = new Uint8Array(room + 8).fill(0xaa);
      const r = enc.encodeInto(s, d.subarray(4, 4 + room));
      out.push(['encodeInto', s.length, room, r.read, r.written, fp(d)]);
    }
    // Valid UTF-8 back to the USVString, in one go and streamed.
    out.push(['roundtrip', sfp(new TextDecoder().decode(b))]);
  }
  const decoded = (label, options, chunks, streaming) => {
    try {
      const d = new TextDecoder(label, options);
      if (!streaming) return sfp(d.decode(chunks[0]));
      let s = '';
      for (const c of chunks) s += d.decode(c, { stream: true });
      return sfp(s + d.decode());
    } catch (e) {
      return e.constructor.name;
    }
  };
  for (const b of [...bytes, ...strings.slice(0, 30).map((s, i) => { const e = enc.encode(s); if (i % 3 !== 0) return e; const w = new Uint8Array(e.length + 3); w.set([0xef, 0xbb, 0xbf]); w.set(e, 3); return w; })]) {
    const cuts = splits(b.length);
    const chunks = [];
    for (let i = 1; i < cuts.length; i++) chunks.push(b.subarray(cuts[i - 1], cuts[i]));
    for (const options of [{}, { ignoreBOM: true }, { fatal: true }, { fatal: true, ignoreBOM: true }]) {
      out.push(['decode', b.length, JSON.stringify(options), decoded('utf-8', options, [b], false), decoded('utf-8', options, chunks, true)]);
    }
  }
  return out;
})`;

describe.each([
  ['the host\'s codec (V8\'s native string operations)', true],
  ['the prelude\'s own encoder and decoder (a V8 without stringref)', false],
])('TextEncoder and TextDecoder against Node\'s, on seeded random input, with %s', (_, codec) => {
  let pi: PreludeIsolate;
  beforeAll(async () => {
    pi = await createPreludeIsolate({ memoryMb: 128, codec });
  });
  afterAll(() => pi?.dispose());

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: encode, encodeInto at every kind of room, decode (BOM, fatal, streamed at random splits) give what Node's give`, async () => {
      const got = await pi.run<unknown[][]>(`return ${EXERCISE_SOURCE}(${RANDOM_SOURCE}(${seed}), ${FINGERPRINT_SOURCE});`);
      const want = ((0, eval)(EXERCISE_SOURCE) as (input: unknown, fp: unknown) => unknown[][])(((0, eval)(RANDOM_SOURCE) as (seed: number) => unknown)(seed), fingerprint);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got[i], `result ${i}`).toEqual(want[i]);
    }, 60_000);
  }
});

describe('the host\'s UTF-8 codec module (host/runtime/utf8-codec.ts)', () => {
  it('is compiled, while neither the host nor a guest can compile a stringref module itself', async () => {
    expect(utf8CodecModule).not.toBeNull();
    // The flag was on for the codec's compile only.
    expect(webAssembly.validate(utf8CodecBytes())).toBe(false);
    const pi = await createPreludeIsolate();
    try {
      const got = await pi.run<string>(`
        try { new WebAssembly.Module(new Uint8Array(${JSON.stringify([...utf8CodecBytes()])})); return 'compiled'; } catch (e) { return e.name + ': ' + e.message; }
      `);
      expect(got).toMatch(/^CompileError: .*stringref/);
    } finally {
      pi.dispose();
    }
  });

  it('does the large encodes and decodes at a fraction of the isolate CPU the prelude\'s own code takes', async () => {
    // encodeInto with room for the worst case (so no allocation is timed) and decode, of 64 KiB of ASCII, 300 times
    // each: with the codec ~1 and ~5 µs a call, without ~50 and ~190 µs (measured on this machine).
    const work = `
      const s = 'The quick brown fox jumps over the lazy dog. '.repeat(1500).slice(0, 65536);
      const room = new Uint8Array(3 * 65536), bytes = new TextEncoder().encode(s), d = new TextDecoder();
      for (let i = 0; i < 300; i++) { if (new TextEncoder().encodeInto(s, room).written !== 65536) throw new Error('encodeInto'); }
      for (let i = 0; i < 300; i++) { if (d.decode(bytes).length !== 65536) throw new Error('decode'); }
      return 0;`;
    const cpuOf = async (codec: boolean): Promise<number> => {
      const pi = await createPreludeIsolate({ memoryMb: 128, codec });
      try {
        await pi.run(work); // warm: the codec instantiated, the prelude's functions compiled
        const before = pi.isolate.cpuTime;
        await pi.run(work);
        return Number(pi.isolate.cpuTime - before) / 1e6;
      } finally {
        pi.dispose();
      }
    };
    const withCodec = await cpuOf(true);
    const without = await cpuOf(false);
    expect(withCodec, `${withCodec.toFixed(1)} ms with the codec, ${without.toFixed(1)} ms without`).toBeLessThan(without / 4);
  }, 60_000);
});

describe('the encoder binary', () => {
  it('is internal/utf8-encode.wat assembled by binaryen', async () => {
    const binaryen = (await import('binaryen')).default;
    const wat = readFileSync(new URL('../host/runtime/js/prelude/internal/utf8-encode.wat', import.meta.url), 'utf8');
    const mod = binaryen.parseText(wat);
    try {
      mod.setFeatures(binaryen.Features.MVP | binaryen.Features.GC | binaryen.Features.ReferenceTypes | binaryen.Features.BulkMemory);
      expect(mod.validate()).toBeTruthy();
      expect(Buffer.from(mod.emitBinary()).equals(Buffer.from(UTF8_ENCODE_WASM))).toBe(true);
    } finally {
      mod.dispose();
    }
  });
});

const WORKER = `
const CHUNK = 65536;
export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/stream': {
        const size = Number(url.searchParams.get('size'));
        // 64 KiB strings built per request (a sliced string, as templates give), each chunk encoded on its own.
        const text = 'edge bytes, a streamed response built from TextEncoder chunks. '.repeat(Math.ceil(CHUNK / 32)).slice(0, CHUNK);
        const enc = new TextEncoder();
        let sent = 0;
        return new Response(new ReadableStream({
          pull(controller) {
            if (sent >= size) { controller.close(); return; }
            const bytes = enc.encode(size - sent >= CHUNK ? text : text.slice(0, size - sent));
            sent += bytes.byteLength;
            controller.enqueue(bytes);
          },
        }));
      }
      case '/whole': {
        const buf = new Uint8Array(await request.arrayBuffer());
        // Bytes at 1 MB strides and the last one: the host checks them against what it sent.
        const probe = [];
        for (let i = 0; i < buf.length; i += 1000000) probe.push(buf[i]);
        if (buf.length) probe.push(buf[buf.length - 1]);
        return Response.json({ length: buf.byteLength, bufferLength: buf.buffer.byteLength, probe });
      }
      case '/restream': {
        // Read chunk by chunk and written back as it came: order and bytes are the host's to check.
        const reader = request.body.getReader();
        return new Response(new ReadableStream({
          async pull(controller) {
            const r = await reader.read();
            if (r.done) controller.close();
            else controller.enqueue(r.value);
          },
        }));
      }
    }
    return new Response('not found', { status: 404 });
  },
};
`;

interface Received {
  status: number;
  bytes: number;
  sha: string;
  text: string;
  error: string | null;
}

/** Bytes `at` of the upload: a pattern that shifts, so that a chunk out of place or lost changes the hash. */
function uploadByte(at: number): number {
  return (at * 31 + (at >>> 16)) & 0xff;
}

function uploadChunks(size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < size; ) {
    // Uneven chunk sizes, as sockets give.
    const n = Math.min(size - at, 16384 + ((at >>> 10) % 7) * 9000);
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = uploadByte(at + i);
    out.push(b);
    at += n;
  }
  return out;
}

function send(t: TestHost, name: string, path: string, upload?: Buffer[]): Promise<Received> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: `${name}.localhost:${t.port}` };
    if (upload) headers['content-length'] = upload.reduce((n, b) => n + b.length, 0);
    const req = httpRequest(`${t.host.dataUrl}${path}`, { method: upload ? 'POST' : 'GET', headers }, (res) => {
      const h = createHash('sha256');
      let bytes = 0;
      let text = '';
      let settled = false;
      const done = (error: string | null): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, bytes, sha: h.digest('hex'), text, error });
      };
      res.on('data', (c: Buffer) => {
        h.update(c);
        if (text.length < 4096) text += c.toString('latin1');
        bytes += c.length;
      });
      res.on('end', () => done(null));
      res.on('error', (e) => done(e.message));
      res.on('aborted', () => done('aborted'));
      res.on('close', () => done(res.complete ? null : 'closed before the end'));
    });
    req.on('error', reject);
    if (!upload) {
      req.end();
      return;
    }
    let i = 0;
    const write = (): void => {
      while (i < upload.length) if (!req.write(upload[i++]!)) return void req.once('drain', write);
      req.end();
    };
    write();
  });
}

describe('bytes through a worker, on a fresh isolate', () => {
  let t: TestHost;
  let deployed = 0;
  const limitEvents: string[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => {
      if (e.kind === 'limit') limitEvents.push(e.message);
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  /** A new deployment: its first request runs on a fresh isolate. `limits`: a [limits] table, else the defaults. */
  async function freshWorker(limits = ''): Promise<string> {
    const name = `enc-bytes-${++deployed}`;
    const r = await t.deploy(name, { toml: manifestFor(name, 'index.js', limits), modules: { 'index.js': WORKER } });
    expect(r.status).toBe(201);
    return name;
  }

  /** The bytes /stream sends for `size`. */
  function streamSha(size: number): string {
    const text = 'edge bytes, a streamed response built from TextEncoder chunks. '.repeat(Math.ceil(65536 / 32)).slice(0, 65536);
    const h = createHash('sha256');
    for (let at = 0; at < size; at += 65536) h.update(text.slice(0, Math.min(65536, size - at)), 'latin1');
    return h.digest('hex');
  }

  it('streams a 2 MB response of TextEncoder chunks within the default cpu_ms 50 (cut off after ~1.2 MB before)', async () => {
    const size = 2 * 1024 * 1024;
    const r = await send(t, await freshWorker(), `/stream?size=${size}`);
    expect(r.error, limitEvents.join('\n')).toBeNull();
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expect(r.bytes).toBe(size);
    expect(r.sha).toBe(streamSha(size));
  }, 60_000);

  // 50 MB on a fresh isolate does not fit the default cpu_ms 50 (cut off after 25-35 MB): the encoding itself is now
  // ~1 µs a chunk (the host's codec), but the first ~64 MB of 64 KiB buffers TextEncoder returns come from fresh
  // pages (page faults, ~10 µs a page on this VM) until the isolate's first GC lets them be reused; a warm isolate is
  // charged ~21-25 ms. These check the batched paths byte for byte with room to run.
  it('streams a 50 MB response built from 64 KiB TextEncoder chunks, byte for byte', async () => {
    const size = 50 * MB;
    const r = await send(t, await freshWorker('[limits]\ncpu_ms = 10000'), `/stream?size=${size}`);
    expect(r.error, limitEvents.join('\n')).toBeNull();
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expect(r.bytes).toBe(size);
    expect(r.sha).toBe(streamSha(size));
  }, 120_000);

  it('reads a 30 MB request body whole with arrayBuffer(), and re-streams one chunk by chunk, byte for byte', async () => {
    const size = 30 * MB;
    const upload = uploadChunks(size);
    const whole = await send(t, await freshWorker('[limits]\ncpu_ms = 10000'), '/whole', upload);
    expect(whole.error, limitEvents.join('\n')).toBeNull();
    expect(whole.status, whole.text).toBe(200);
    const probe: number[] = [];
    for (let i = 0; i < size; i += MB) probe.push(uploadByte(i));
    probe.push(uploadByte(size - 1));
    expect(JSON.parse(whole.text)).toEqual({ length: size, bufferLength: size, probe });

    const again = await send(t, await freshWorker('[limits]\ncpu_ms = 10000'), '/restream', upload);
    expect(again.error, limitEvents.join('\n')).toBeNull();
    expect(again.status).toBe(200);
    expect(again.bytes).toBe(size);
    expect(again.sha).toBe(sha(Buffer.concat(upload)));
  }, 120_000);
});
