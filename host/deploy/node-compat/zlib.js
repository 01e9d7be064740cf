// node:zlib under nodejs_compat. The asynchronous forms (callbacks, util.promisify of them, and the streams of
// createGzip() and friends) are Node's own zlib run by the host (the 'zlib.run' host op, host/web/zlib/zlib-ops.ts),
// brotli included. The synchronous forms cannot wait for the host: deflate/inflate, deflateRaw/inflateRaw,
// gzip/gunzip and unzip run in the isolate on fflate (their output decompresses with any zlib, though the bytes may
// differ from Node's), and the brotli ones throw. A stream here collects its input and compresses it when it ends.
// Constants and the error codes are unenv's.
import { Buffer } from 'node:buffer';
import { Transform } from 'node:stream';
import { zlib as hostZlib } from 'edge:node-compat';
import { deflateSync as rawDeflate, inflateSync as rawInflate, gzipSync as fGzip, gunzipSync as fGunzip, zlibSync as fZlib, unzlibSync as fUnzlib } from 'fflate';
import unenvZlib from 'unenv/node/zlib';
import { codes, constants } from 'unenv/node/zlib';

export { codes, constants };
export * from 'unenv/node/internal/zlib/constants';

function toBytes(data, what = 'buffer') {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  const err = new TypeError(`The "${what}" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer.`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  throw err;
}

const asBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/** The host's failure `{ name, message: "<code>: <message>" }` as the Error Node's zlib throws. */
function zlibError(err) {
  const m = /^(Z_[A-Z_]+|ERR_[A-Z_]+): ([\s\S]*)$/.exec(err?.message ?? '');
  if (!m) return err;
  const e = new Error(m[2]);
  e.code = m[1];
  const errno = codes[m[1]];
  if (typeof errno === 'number') e.errno = errno;
  return e;
}

/** Runs `op` on the host: a promise of the output Buffer. */
function run(op, data, options) {
  const opts = {};
  if (options !== null && typeof options === 'object') {
    for (const key of ['level', 'windowBits', 'memLevel', 'strategy', 'chunkSize', 'flush', 'finishFlush']) {
      if (typeof options[key] === 'number') opts[key] = options[key];
    }
    if (options.params !== null && typeof options.params === 'object') opts.params = { ...options.params };
    if (options.dictionary !== undefined) opts.dictionary = toBytes(options.dictionary, 'dictionary');
  }
  return hostZlib({ op, data: toBytes(data), options: opts }).then(
    (out) => asBuffer(out),
    (err) => {
      throw zlibError(err);
    },
  );
}

function callbackForm(op) {
  return function zlibCall(buffer, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    if (typeof callback !== 'function') {
      const err = new TypeError('The "callback" argument must be of type function');
      err.code = 'ERR_INVALID_ARG_TYPE';
      throw err;
    }
    run(op, buffer, options).then((out) => callback(null, out), (err) => callback(err));
  };
}

export const deflate = callbackForm('deflate');
export const inflate = callbackForm('inflate');
export const deflateRaw = callbackForm('deflateRaw');
export const inflateRaw = callbackForm('inflateRaw');
export const gzip = callbackForm('gzip');
export const gunzip = callbackForm('gunzip');
export const unzip = callbackForm('unzip');
export const brotliCompress = callbackForm('brotliCompress');
export const brotliDecompress = callbackForm('brotliDecompress');

function level(options) {
  const l = options?.level;
  return typeof l === 'number' && l >= 0 && l <= 9 ? l : 6;
}

/** fflate's failures as zlib's: invalid data is Z_DATA_ERROR, a cut-off stream Z_BUF_ERROR. */
function syncForm(name, fn) {
  return function zlibSync(buffer, options) {
    const input = toBytes(buffer);
    try {
      return asBuffer(fn(input, options));
    } catch (err) {
      const e = new Error(err?.message === 'unexpected EOF' ? 'unexpected end of file' : String(err?.message ?? err));
      e.code = err?.message === 'unexpected EOF' ? 'Z_BUF_ERROR' : 'Z_DATA_ERROR';
      e.errno = codes[e.code];
      throw e;
    }
  };
}

const isGzip = (b) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

export const deflateSync = syncForm('deflateSync', (b, o) => fZlib(b, { level: level(o) }));
export const inflateSync = syncForm('inflateSync', (b) => fUnzlib(b));
export const deflateRawSync = syncForm('deflateRawSync', (b, o) => rawDeflate(b, { level: level(o) }));
export const inflateRawSync = syncForm('inflateRawSync', (b) => rawInflate(b));
export const gzipSync = syncForm('gzipSync', (b, o) => fGzip(b, { level: level(o) }));
export const gunzipSync = syncForm('gunzipSync', (b) => fGunzip(b));
export const unzipSync = syncForm('unzipSync', (b) => (isGzip(b) ? fGunzip(b) : fUnzlib(b)));

function brotliSyncRefused(name) {
  return function brotliSync() {
    const err = new Error(`zlib.${name} is not supported by this runtime: brotli runs on the host, asynchronously; use zlib.${name.replace(/Sync$/, '')} (callback, or util.promisify) or its stream form`);
    err.code = 'ERR_METHOD_NOT_IMPLEMENTED';
    throw err;
  };
}
export const brotliCompressSync = brotliSyncRefused('brotliCompressSync');
export const brotliDecompressSync = brotliSyncRefused('brotliDecompressSync');

/** A zlib stream: collects what is written and hands it to the host when the input ends. */
class ZlibStream extends Transform {
  #op;
  #options;
  #chunks = [];

  constructor(op, options) {
    super(options);
    this.#op = op;
    this.#options = options;
  }

  _transform(chunk, encoding, callback) {
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : toBytes(chunk, 'chunk'));
    callback();
  }

  _flush(callback) {
    const input = Buffer.concat(this.#chunks);
    this.#chunks = [];
    run(this.#op, input, this.#options).then((out) => callback(null, out), (err) => callback(err));
  }
}

export class Deflate extends ZlibStream {
  constructor(options) {
    super('deflate', options);
  }
}
export class Inflate extends ZlibStream {
  constructor(options) {
    super('inflate', options);
  }
}
export class DeflateRaw extends ZlibStream {
  constructor(options) {
    super('deflateRaw', options);
  }
}
export class InflateRaw extends ZlibStream {
  constructor(options) {
    super('inflateRaw', options);
  }
}
export class Gzip extends ZlibStream {
  constructor(options) {
    super('gzip', options);
  }
}
export class Gunzip extends ZlibStream {
  constructor(options) {
    super('gunzip', options);
  }
}
export class Unzip extends ZlibStream {
  constructor(options) {
    super('unzip', options);
  }
}
export class BrotliCompress extends ZlibStream {
  constructor(options) {
    super('brotliCompress', options);
  }
}
export class BrotliDecompress extends ZlibStream {
  constructor(options) {
    super('brotliDecompress', options);
  }
}

export const createDeflate = (o) => new Deflate(o);
export const createInflate = (o) => new Inflate(o);
export const createDeflateRaw = (o) => new DeflateRaw(o);
export const createInflateRaw = (o) => new InflateRaw(o);
export const createGzip = (o) => new Gzip(o);
export const createGunzip = (o) => new Gunzip(o);
export const createUnzip = (o) => new Unzip(o);
export const createBrotliCompress = (o) => new BrotliCompress(o);
export const createBrotliDecompress = (o) => new BrotliDecompress(o);

export const crc32 = unenvZlib.crc32;

export default {
  ...unenvZlib,
  codes,
  constants,
  deflate,
  inflate,
  deflateRaw,
  inflateRaw,
  gzip,
  gunzip,
  unzip,
  brotliCompress,
  brotliDecompress,
  deflateSync,
  inflateSync,
  deflateRawSync,
  inflateRawSync,
  gzipSync,
  gunzipSync,
  unzipSync,
  brotliCompressSync,
  brotliDecompressSync,
  Deflate,
  Inflate,
  DeflateRaw,
  InflateRaw,
  Gzip,
  Gunzip,
  Unzip,
  BrotliCompress,
  BrotliDecompress,
  createDeflate,
  createInflate,
  createDeflateRaw,
  createInflateRaw,
  createGzip,
  createGunzip,
  createUnzip,
  createBrotliCompress,
  createBrotliDecompress,
};
