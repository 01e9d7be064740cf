// CompressionStream and DecompressionStream (Compression Streams standard) for 'gzip', 'deflate' (zlib wrapper) and
// 'deflate-raw', on fflate's streaming classes. Loaded on first use through compression-lazy.js: a request that never
// compresses pays nothing for fflate. Output decompresses with Node's zlib to the same bytes (and the other way round),
// but is not byte-identical to zlib's: compressors are free to choose their blocks.
import { Gzip, Gunzip, Zlib, Unzlib, Deflate, Inflate } from 'fflate';
import { streams } from './streams.js';

const { TransformStream } = streams();
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

/** A transformer that pushes every chunk through an fflate stream and enqueues what comes out. */
function transformer(what, Engine, format, decompress) {
  let engine;
  let seen = 0;
  const fail = (err) => new TypeError(`${what}: the ${format} data is invalid (${err?.message ?? String(err)}).`);
  return {
    start(controller) {
      engine = new Engine();
      engine.ondata = (data) => {
        if (data.byteLength > 0) controller.enqueue(data);
      };
    },
    transform(chunk, controller) {
      const bytes = chunkBytes(what, chunk);
      if (bytes.byteLength === 0) return;
      seen += bytes.byteLength;
      if (!decompress) return engine.push(bytes, false);
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
    },
  };
}

export class CompressionStream extends TransformStream {
  constructor(format) {
    const f = checkFormat('CompressionStream', arguments);
    super(transformer('CompressionStream', COMPRESSORS[f], f, false));
  }
}
Object.defineProperty(CompressionStream.prototype, Symbol.toStringTag, { value: 'CompressionStream', configurable: true });

export class DecompressionStream extends TransformStream {
  constructor(format) {
    const f = checkFormat('DecompressionStream', arguments);
    super(transformer('DecompressionStream', DECOMPRESSORS[f], f, true));
  }
}
Object.defineProperty(DecompressionStream.prototype, Symbol.toStringTag, { value: 'DecompressionStream', configurable: true });
