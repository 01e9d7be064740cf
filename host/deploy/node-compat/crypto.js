// node:crypto under nodejs_compat: the common subset, on what the isolate has. Hashes and HMACs (createHash,
// createHmac, hash, pbkdf2) are @noble/hashes running in the isolate (synchronous, as Node's are: the host's Web Crypto
// is asynchronous only); random values come from the runtime's crypto.getRandomValues (the host's CSPRNG); webcrypto
// and subtle are the runtime's Web Crypto. Everything else is unenv's: constants, and functions that throw "not
// implemented" when called (ciphers, keys, signatures, Diffie-Hellman: use crypto.subtle).
import { Buffer } from 'node:buffer';
import { md5, ripemd160, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512, sha512_224, sha512_256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2 as noblePbkdf2 } from '@noble/hashes/pbkdf2.js';

import unenvCrypto from 'unenv/node/crypto';

export * from 'unenv/node/crypto';

const HASHES = {
  md5,
  sha1,
  ripemd160,
  rmd160: ripemd160,
  sha224,
  sha256,
  sha384,
  sha512,
  'sha512-224': sha512_224,
  'sha512-256': sha512_256,
};

function hashFn(algorithm) {
  const name = String(algorithm).toLowerCase().replace(/^rsa-/, '');
  const fn = Object.hasOwn(HASHES, name) ? HASHES[name] : Object.hasOwn(HASHES, name.replace(/^sha-/, 'sha')) ? HASHES[name.replace(/^sha-/, 'sha')] : undefined;
  if (fn === undefined) {
    const err = new Error(`Digest method not supported: "${algorithm}" (this runtime's node:crypto hashes ${Object.keys(HASHES).join(', ')})`);
    err.code = 'ERR_CRYPTO_INVALID_DIGEST';
    throw err;
  }
  return fn;
}

function bytes(data, encoding, what) {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  const err = new TypeError(`The "${what}" argument must be of type string or an instance of Buffer, TypedArray, or DataView.`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  throw err;
}

function output(digest, encoding) {
  const buf = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
  return encoding === undefined || encoding === 'buffer' ? buf : buf.toString(encoding);
}

function finished() {
  const err = new Error('Digest already called');
  err.code = 'ERR_CRYPTO_HASH_FINALIZED';
  return err;
}

/** What Hash and Hmac share: data in, one digest out. */
class Digest {
  #state;
  #done = false;

  constructor(state) {
    this.#state = state;
  }

  update(data, inputEncoding) {
    if (this.#done) throw finished();
    this.#state.update(bytes(data, inputEncoding, 'data'));
    return this;
  }

  digest(encoding) {
    if (this.#done) throw finished();
    this.#done = true;
    return output(this.#state.digest(), encoding);
  }

  /** A copy of the state so far (for Hash.copy()). */
  cloneState() {
    if (this.#done) throw finished();
    return this.#state.clone();
  }
}

export class Hash extends Digest {
  constructor(algorithm, _options, state) {
    super(state ?? hashFn(algorithm).create());
  }

  copy() {
    return new Hash(undefined, undefined, this.cloneState());
  }
}

export class Hmac extends Digest {
  constructor(algorithm, key) {
    const k = key !== null && typeof key === 'object' && key.type === 'secret' && typeof key.export === 'function' ? key.export() : key;
    super(hmac.create(hashFn(algorithm), bytes(k, undefined, 'key')));
  }
}

export function createHash(algorithm, options) {
  return new Hash(algorithm, options);
}

export function createHmac(algorithm, key) {
  return new Hmac(algorithm, key);
}

/** Node 21's one-shot `crypto.hash(algorithm, data, outputEncoding = 'hex')`. */
export function hash(algorithm, data, outputEncoding = 'hex') {
  return output(hashFn(algorithm)(bytes(data, undefined, 'data')), outputEncoding);
}

export function getHashes() {
  return Object.keys(HASHES);
}

const MAX_RANDOM = 65536;

export function randomFillSync(buffer, offset = 0, size) {
  const view = bytes(buffer, undefined, 'buffer');
  const end = size === undefined ? view.byteLength : offset + size;
  if (!(offset >= 0 && end <= view.byteLength && offset <= end)) throw new RangeError('The value of "offset" or "size" is out of range');
  for (let at = offset; at < end; at += MAX_RANDOM) globalThis.crypto.getRandomValues(view.subarray(at, Math.min(end, at + MAX_RANDOM)));
  return buffer;
}

export function randomBytes(size, callback) {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ${size}`);
  const buf = randomFillSync(Buffer.alloc(size));
  if (typeof callback === 'function') {
    queueMicrotask(() => callback(null, buf));
    return undefined;
  }
  return buf;
}

export function randomFill(buffer, offset, size, callback) {
  const cb = [offset, size, callback].find((f) => typeof f === 'function');
  const o = typeof offset === 'number' ? offset : 0;
  const s = typeof size === 'number' ? size : undefined;
  randomFillSync(buffer, o, s);
  queueMicrotask(() => cb(null, buffer));
}

export function randomInt(min, max, callback) {
  if (typeof max !== 'number') {
    callback = max;
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min || max - min > 2 ** 48) {
    throw new RangeError(`The value of "max" is out of range. It must be greater than the value of "min" (${min}) and the range at most 2^48. Received ${max}`);
  }
  const range = max - min;
  // Rejection sampling over 48 random bits, as Node does, so that every value is equally likely.
  const limit = 2 ** 48 - (2 ** 48 % range);
  let n;
  do {
    const b = randomFillSync(new Uint8Array(6));
    n = b[0] * 2 ** 40 + b[1] * 2 ** 32 + b[2] * 2 ** 24 + b[3] * 2 ** 16 + b[4] * 2 ** 8 + b[5];
  } while (n >= limit);
  const value = min + (n % range);
  if (typeof callback === 'function') {
    queueMicrotask(() => callback(null, value));
    return undefined;
  }
  return value;
}

export function randomUUID() {
  return globalThis.crypto.randomUUID();
}

export function getRandomValues(array) {
  return globalThis.crypto.getRandomValues(array);
}

export function timingSafeEqual(a, b) {
  const x = bytes(a, undefined, 'buf1');
  const y = bytes(b, undefined, 'buf2');
  if (x.byteLength !== y.byteLength) {
    const err = new RangeError('Input buffers must have the same byte length');
    err.code = 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH';
    throw err;
  }
  let diff = 0;
  for (let i = 0; i < x.byteLength; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

export function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  const out = noblePbkdf2(hashFn(digest), bytes(password, undefined, 'password'), bytes(salt, undefined, 'salt'), { c: iterations, dkLen: keylen });
  return output(out, undefined);
}

export function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  let result;
  try {
    result = pbkdf2Sync(password, salt, iterations, keylen, digest);
  } catch (err) {
    queueMicrotask(() => callback(err));
    return;
  }
  queueMicrotask(() => callback(null, result));
}

export const webcrypto = globalThis.crypto;
export const subtle = globalThis.crypto.subtle;

export default {
  ...unenvCrypto,
  Hash,
  Hmac,
  createHash,
  createHmac,
  hash,
  getHashes,
  randomBytes,
  randomFill,
  randomFillSync,
  randomInt,
  randomUUID,
  getRandomValues,
  timingSafeEqual,
  pbkdf2,
  pbkdf2Sync,
  webcrypto,
  subtle,
};
