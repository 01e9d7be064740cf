// CompressionStream and DecompressionStream (Compression Streams standard) for 'gzip', 'deflate' (zlib wrapper) and
// 'deflate-raw', on fflate's streaming classes. Loaded on first use through globals.js: an isolate that never
// compresses does not evaluate fflate (which builds its tables as it loads: ~9 ms of CPU). It imports no eager prelude
// module (see event-target.js for why): TransformStream is passed in. Output decompresses with Node's zlib to the same bytes (and the other way round),
// but is not byte-identical to zlib's: compressors are free to choose their blocks.
import { Gzip, Gunzip, Zlib, Unzlib, Deflate, Inflate } from 'fflate';

const FORMATS = ['gzip', 'deflate', 'deflate-raw'];
const COMPRESSORS = { gzip: Gzip, deflate: Zlib, 'deflate-raw': Deflate };
const DECOMPRESSORS = { gzip: Gunzip, deflate: Unzlib, 'deflate-raw': Inflate };

function checkFormat(what, args) {
  if (args.length === 0) throw new TypeError(`Failed to construct '${what}': 1 argument required, but only 0 present.`);
  const format = String(args[0]);
  if (!FORMATS.includes(format)) throw new TypeError(`Failed to construct '${what}': '${format}' is not a supported format (expected 'gzip', 'deflate' or 'deflate-raw').`);
  return format;
}

function chunkBytes(what, chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(`${what}: chunks written to it must be ArrayBuffer or ArrayBufferView (such as Uint8Array), got ${chunk === null ? 'null' : typeof chunk === 'string' ? 'a string (encode it first, or pipe through TextEncoderStream)' : typeof chunk}.`);
}

let crcTable = null;

function crc32(crc, bytes) {
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function adler32(adler, bytes) {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  for (let i = 0; i < bytes.length; ) {
    // 5552 bytes is the most that can be summed before b overflows 2^32 (zlib's NMAX).
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The last `n` bytes seen across chunks (for the checksum trailer, which fflate skips without checking). */
function tailKeeper(n) {
  let tail = new Uint8Array(0);
  return {
    add(bytes) {
      if (bytes.length >= n) tail = bytes.slice(bytes.length - n);
      else {
        const t = new Uint8Array(Math.min(n, tail.length + bytes.length));
        const keep = t.length - bytes.length;
        t.set(tail.subarray(tail.length - keep), 0);
        t.set(bytes, keep);
        tail = t;
      }
    },
    get: () => tail,
  };
}

const readLE32 = (b, i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const readBE32 = (b, i) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

/** A transformer that pushes every chunk through an fflate stream and enqueues what comes out. */
function transformer(what, Engine, format, decompress) {
  let engine;
  let seen = 0;
  // fflate does not check the integrity trailers (gzip's CRC-32 and length, zlib's Adler-32): done here, as zlib does.
  let check = 0;
  let size = 0;
  const tail = tailKeeper(8);
  const fail = (err) => new TypeError(`${what}: the ${format} data is invalid (${err?.message ?? String(err)}).`);
  return {
    start(controller) {
      engine = new Engine();
      check = format === 'deflate' ? 1 : 0;
      engine.ondata = (data) => {
        if (decompress && format !== 'deflate-raw') {
          check = format === 'gzip' ? crc32(check, data) : adler32(check, data);
          size = (size + data.byteLength) >>> 0;
        }
        if (data.byteLength > 0) controller.enqueue(data);
      };
      // Each member of a multi-member gzip stream has its own trailer: the last member's is the one checked.
      if (decompress && format === 'gzip') {
        engine.onmember = () => {
          check = 0;
          size = 0;
        };
      }
    },
    transform(chunk, controller) {
      const bytes = chunkBytes(what, chunk);
      if (bytes.byteLength === 0) return;
      seen += bytes.byteLength;
      if (!decompress) return engine.push(bytes, false);
      tail.add(bytes);
      try {
        engine.push(bytes, false);
      } catch (err) {
        throw fail(err);
      }
    },
    flush() {
      if (!decompress) return engine.push(new Uint8Array(0), true);
      if (seen === 0) throw new TypeError(`${what}: the ${format} data is empty (a compressed stream has at least a header and a final block).`);
      try {
        engine.push(new Uint8Array(0), true);
      } catch (err) {
        throw fail(err);
      }
      const t = tail.get();
      if (format === 'gzip' && (t.length < 8 || readLE32(t, 0) !== check || readLE32(t, 4) !== size)) {
        throw fail(new Error('CRC-32 or length check failed: the data is corrupt or has trailing bytes'));
      }
      if (format === 'deflate' && (t.length < 4 || readBE32(t, t.length - 4) !== check)) {
        throw fail(new Error('Adler-32 check failed: the data is corrupt or has trailing bytes'));
      }
      // Raw deflate has no trailer; input left over after the final block (beyond its last partial byte) is junk.
      if (format === 'deflate-raw' && engine.p !== undefined && engine.p.length > 1) {
        throw fail(new Error(`${engine.p.length - 1} bytes after the end of the compressed data`));
      }
    },
  };
}

/** The two classes, as subclasses of `TransformStream` (the prelude's, from web-streams-polyfill). */
export function createCompressionStreams(TransformStream) {
  class CompressionStream extends TransformStream {
    constructor(format) {
      const f = checkFormat('CompressionStream', arguments);
      super(transformer('CompressionStream', COMPRESSORS[f], f, false));
    }
  }
  Object.defineProperty(CompressionStream.prototype, Symbol.toStringTag, { value: 'CompressionStream', configurable: true });

  class DecompressionStream extends TransformStream {
    constructor(format) {
      const f = checkFormat('DecompressionStream', arguments);
      super(transformer('DecompressionStream', DECOMPRESSORS[f], f, true));
    }
  }
  Object.defineProperty(DecompressionStream.prototype, Symbol.toStringTag, { value: 'DecompressionStream', configurable: true });

  return { CompressionStream, DecompressionStream };
}
