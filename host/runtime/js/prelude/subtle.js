// crypto.subtle: Workers-compatible SubtleCrypto whose cryptography runs in the host (Node's WebCrypto, through the
// 'crypto.*' host ops of host/runtime/webcrypto-ops.ts). The host keeps no state: a CryptoKey's material stays here,
// in a module-private WeakMap the guest cannot reach, and travels with each operation that uses it. This side checks
// what the spec checks on the caller's objects (types, usages, extractability) so errors name the guest's mistake;
// the host re-imports the key with its usages, so Node enforces the algorithm rules too.
import { hostAsync } from './internal/async.js';
import { DOMException } from './dom-exception.js';
import { streams } from './streams.js';

/**
 * CryptoKey -> { type, extractable, algorithm, usages, a, u, f, m }: `algorithm`/`usages` are the objects the guest
 * sees (and may modify), `a`/`u` the internal copies sent to the host, `f`/`m` the material's format and bytes.
 */
const slots = new WeakMap();
const CONSTRUCT = Symbol('construct');

const NODE_ED25519 = 'NODE-ED25519';
const USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
// WebIDL dictionary members of the algorithm parameter types, read like a dictionary conversion would.
const BUFFER_MEMBERS = ['iv', 'additionalData', 'counter', 'salt', 'info', 'label', 'publicExponent', 'context'];
const SCALAR_MEMBERS = ['length', 'tagLength', 'iterations', 'namedCurve', 'modulusLength', 'saltLength'];
const JWK_STRINGS = ['kty', 'use', 'alg', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function fail(method, message, name) {
  const text = `Failed to execute '${method}' on 'SubtleCrypto': ${message}`;
  return name === 'TypeError' ? new TypeError(text) : new DOMException(text, name);
}

/** A copy of a BufferSource's bytes, or null when `v` is not one. */
function copyBytes(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer) return new Uint8Array(v.slice(0));
  return null;
}

function bufferSource(method, v, what) {
  const b = copyBytes(v);
  if (b === null) throw fail(method, `${what} is not of type 'ArrayBuffer' or 'ArrayBufferView'.`, 'TypeError');
  return b;
}

function toArrayBuffer(u8) {
  return u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8.buffer : u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
}

function hashName(method, v) {
  if (typeof v === 'string') return { name: v };
  if (v !== null && typeof v === 'object' && typeof v.name === 'string') return { name: v.name };
  throw fail(method, "the algorithm's 'hash' member must be a string or an object with a 'name'.", 'TypeError');
}

/** The algorithm parameter as a plain, copyable object (strings, numbers, bytes, {name} hashes, wire keys). */
function normalizeAlgorithm(method, alg) {
  if (typeof alg === 'string') return { name: alg.toUpperCase() === NODE_ED25519 ? 'Ed25519' : alg };
  if (alg === null || typeof alg !== 'object') throw fail(method, 'the algorithm must be a string or an object with a name.', 'TypeError');
  const name = alg.name;
  if (typeof name !== 'string') throw fail(method, "the algorithm object has no string 'name' member.", 'TypeError');
  // Workers' pre-standard name for Ed25519 (still used by Discord interaction verifiers, for one).
  if (name.toUpperCase() === NODE_ED25519) return { name: 'Ed25519' };
  const out = { name };
  if (alg.hash !== undefined) out.hash = hashName(method, alg.hash);
  for (const k of BUFFER_MEMBERS) {
    const v = alg[k];
    if (v !== undefined) out[k] = bufferSource(method, v, `the algorithm's '${k}' member`);
  }
  for (const k of SCALAR_MEMBERS) {
    const v = alg[k];
    if (v === undefined) continue;
    if (k === 'namedCurve') out[k] = String(v);
    else {
      const n = Number(v);
      if (!Number.isFinite(n)) throw fail(method, `the algorithm's '${k}' member is not a finite number.`, 'TypeError');
      out[k] = n;
    }
  }
  if (alg.public !== undefined) out.public = wireKey(method, alg.public, "the algorithm's 'public' member");
  return out;
}

function keySlots(method, key, what) {
  const s = slots.get(key);
  if (s === undefined) throw fail(method, `${what} is not of type 'CryptoKey'.`, 'TypeError');
  return s;
}

function wireKey(method, key, what = 'the key') {
  const s = keySlots(method, key, what);
  return { type: s.type, algorithm: s.a, usages: s.u, f: s.f, m: s.m };
}

function checkUsage(method, key, usage, algName) {
  const s = keySlots(method, key, 'the key');
  if (algName !== undefined && s.a.name.toUpperCase() !== algName.toUpperCase()) {
    throw fail(method, `the key is for ${s.a.name}, not for ${algName}.`, 'InvalidAccessError');
  }
  if (!s.u.includes(usage)) throw fail(method, `the key's usages (${s.u.join(', ') || 'none'}) do not include '${usage}'.`, 'InvalidAccessError');
}

function normalizeUsages(method, usages) {
  if (usages === null || typeof usages !== 'object' || typeof usages[Symbol.iterator] !== 'function') {
    throw fail(method, 'the key usages must be a sequence of strings.', 'TypeError');
  }
  const out = [];
  for (const u of usages) {
    const s = String(u);
    if (!USAGES.includes(s)) throw fail(method, `'${s}' is not a valid key usage (one of ${USAGES.join(', ')}).`, 'TypeError');
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

function format(method, f) {
  const s = String(f);
  if (s !== 'raw' && s !== 'pkcs8' && s !== 'spki' && s !== 'jwk') throw fail(method, `'${s}' is not a key format (raw, pkcs8, spki or jwk).`, 'TypeError');
  return s;
}

function copyJwk(method, jwk) {
  if (jwk === null || typeof jwk !== 'object' || copyBytes(jwk) !== null) throw fail(method, 'a jwk key must be a JsonWebKey object.', 'TypeError');
  const out = {};
  for (const k of JWK_STRINGS) if (jwk[k] !== undefined) out[k] = String(jwk[k]);
  if (jwk.ext !== undefined) out.ext = Boolean(jwk.ext);
  if (jwk.key_ops !== undefined) {
    if (typeof jwk.key_ops?.[Symbol.iterator] !== 'function') throw fail(method, "the JsonWebKey's 'key_ops' member must be a sequence of strings.", 'TypeError');
    out.key_ops = Array.from(jwk.key_ops, String);
  }
  if (jwk.oth !== undefined) throw fail(method, 'JsonWebKeys with more than two primes are not supported.', 'NotSupportedError');
  return out;
}

function keyData(method, f, data) {
  return f === 'jwk' ? copyJwk(method, data) : bufferSource(method, data, 'the key data');
}

function copyAlgorithm(a) {
  const out = {};
  for (const k of Object.keys(a)) {
    const v = a[k];
    // @ts-expect-error Uint8Array(view) copies element by element, not byte for byte: right for the Uint8Array members a key's algorithm holds (publicExponent), wrong for other views (a DataView gives no bytes).
    out[k] = ArrayBuffer.isView(v) ? new Uint8Array(v) : v !== null && typeof v === 'object' ? copyAlgorithm(v) : v;
  }
  return out;
}

function isNodeEd25519(alg) {
  const name = typeof alg === 'string' ? alg : alg?.name;
  return typeof name === 'string' && name.toUpperCase() === NODE_ED25519;
}

/** Makes the guest's CryptoKey from the host's wire form; `legacyName` shows an Ed25519 key as NODE-ED25519. */
function makeKey(w, extractable, legacyName = false) {
  const key = new CryptoKey(CONSTRUCT);
  // Public keys are always extractable (WebCrypto's generateKey and importKey say so).
  slots.set(key, {
    type: w.type,
    extractable: w.type === 'public' ? true : Boolean(extractable),
    algorithm: legacyName ? { name: NODE_ED25519, namedCurve: NODE_ED25519 } : copyAlgorithm(w.algorithm),
    usages: w.usages.slice(),
    a: w.algorithm,
    u: w.usages.slice(),
    f: w.f,
    m: w.m,
  });
  return key;
}

function makeKeyOrPair(r, extractable, legacyName) {
  if (r.privateKey !== undefined) return { publicKey: makeKey(r.publicKey, true, legacyName), privateKey: makeKey(r.privateKey, extractable, legacyName) };
  return makeKey(r, extractable, legacyName);
}

function bytesResult(p) {
  return p.then(toArrayBuffer);
}

function ownSlots(key) {
  const s = slots.get(key);
  if (s === undefined) throw new TypeError('Illegal invocation');
  return s;
}

class CryptoKey {
  constructor(token) {
    if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
  }
  get type() {
    return ownSlots(this).type;
  }
  get extractable() {
    return ownSlots(this).extractable;
  }
  get algorithm() {
    return ownSlots(this).algorithm;
  }
  get usages() {
    return ownSlots(this).usages;
  }
}
Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: 'CryptoKey', configurable: true });

// Every method is async: argument errors reject the returned promise, as WebIDL specifies for promise-returning
// operations.
class SubtleCrypto {
  constructor(token) {
    if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
  }

  async digest(algorithm, data) {
    const a = normalizeAlgorithm('digest', algorithm);
    return bytesResult(hostAsync('crypto.digest', { algorithm: { name: a.name }, data: bufferSource('digest', data, 'the data') }));
  }

  async encrypt(algorithm, key, data) {
    const a = normalizeAlgorithm('encrypt', algorithm);
    checkUsage('encrypt', key, 'encrypt', a.name);
    return bytesResult(hostAsync('crypto.encrypt', { algorithm: a, key: wireKey('encrypt', key), data: bufferSource('encrypt', data, 'the data') }));
  }

  async decrypt(algorithm, key, data) {
    const a = normalizeAlgorithm('decrypt', algorithm);
    checkUsage('decrypt', key, 'decrypt', a.name);
    return bytesResult(hostAsync('crypto.decrypt', { algorithm: a, key: wireKey('decrypt', key), data: bufferSource('decrypt', data, 'the data') }));
  }

  async sign(algorithm, key, data) {
    const a = normalizeAlgorithm('sign', algorithm);
    checkUsage('sign', key, 'sign', a.name);
    return bytesResult(hostAsync('crypto.sign', { algorithm: a, key: wireKey('sign', key), data: bufferSource('sign', data, 'the data') }));
  }

  async verify(algorithm, key, signature, data) {
    const a = normalizeAlgorithm('verify', algorithm);
    checkUsage('verify', key, 'verify', a.name);
    return hostAsync('crypto.verify', {
      algorithm: a,
      key: wireKey('verify', key),
      signature: bufferSource('verify', signature, 'the signature'),
      data: bufferSource('verify', data, 'the data'),
    });
  }

  async generateKey(algorithm, extractable, keyUsages) {
    const a = normalizeAlgorithm('generateKey', algorithm);
    const usages = normalizeUsages('generateKey', keyUsages);
    return makeKeyOrPair(await hostAsync('crypto.generateKey', { algorithm: a, usages }), extractable, isNodeEd25519(algorithm));
  }

  async importKey(fmt, data, algorithm, extractable, keyUsages) {
    const f = format('importKey', fmt);
    const kd = keyData('importKey', f, data);
    const a = normalizeAlgorithm('importKey', algorithm);
    const usages = normalizeUsages('importKey', keyUsages);
    return makeKey(await hostAsync('crypto.importKey', { format: f, keyData: kd, algorithm: a, extractable: Boolean(extractable), usages }), extractable, isNodeEd25519(algorithm));
  }

  async exportKey(fmt, key) {
    const f = format('exportKey', fmt);
    const s = keySlots('exportKey', key, 'the key');
    if (!s.extractable) throw new DOMException(`Attempt to export non-extractable ${s.a.name} key.`, 'InvalidAccessError');
    const r = await hostAsync('crypto.exportKey', { format: f, key: wireKey('exportKey', key) });
    if (f !== 'jwk') return toArrayBuffer(r);
    // The jwk's key_ops and ext describe the guest's key, not the host's extractable copy.
    return { .../** @type {Record<string, unknown>} */ (r), key_ops: s.u.slice(), ext: s.extractable }; // a JWK
  }

  async deriveBits(algorithm, baseKey, length) {
    const a = normalizeAlgorithm('deriveBits', algorithm);
    checkUsage('deriveBits', baseKey, 'deriveBits', a.name);
    const len = length === undefined || length === null ? null : Number(length);
    if (len !== null && !(Number.isInteger(len) && len >= 0)) throw fail('deriveBits', 'the length must be a non-negative integer number of bits.', 'TypeError');
    return bytesResult(hostAsync('crypto.deriveBits', { algorithm: a, key: wireKey('deriveBits', baseKey), length: len }));
  }

  async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
    const a = normalizeAlgorithm('deriveKey', algorithm);
    const t = normalizeAlgorithm('deriveKey', derivedKeyType);
    const usages = normalizeUsages('deriveKey', keyUsages);
    checkUsage('deriveKey', baseKey, 'deriveKey', a.name);
    return makeKey(await hostAsync('crypto.deriveKey', { algorithm: a, key: wireKey('deriveKey', baseKey), derivedKeyType: t, usages }), extractable);
  }

  async wrapKey(fmt, key, wrappingKey, wrapAlgorithm) {
    const f = format('wrapKey', fmt);
    const a = normalizeAlgorithm('wrapKey', wrapAlgorithm);
    checkUsage('wrapKey', wrappingKey, 'wrapKey', a.name);
    const s = keySlots('wrapKey', key, 'the key to wrap');
    if (!s.extractable) throw fail('wrapKey', 'the key to wrap is not extractable.', 'InvalidAccessError');
    return bytesResult(hostAsync('crypto.wrapKey', { format: f, key: wireKey('wrapKey', key), wrappingKey: wireKey('wrapKey', wrappingKey), algorithm: a }));
  }

  async unwrapKey(fmt, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
    const f = format('unwrapKey', fmt);
    const wrapped = bufferSource('unwrapKey', wrappedKey, 'the wrapped key');
    const a = normalizeAlgorithm('unwrapKey', unwrapAlgorithm);
    const ka = normalizeAlgorithm('unwrapKey', unwrappedKeyAlgorithm);
    const usages = normalizeUsages('unwrapKey', keyUsages);
    checkUsage('unwrapKey', unwrappingKey, 'unwrapKey', a.name);
    return makeKey(
      await hostAsync('crypto.unwrapKey', { format: f, wrappedKey: wrapped, unwrappingKey: wireKey('unwrapKey', unwrappingKey), algorithm: a, keyAlgorithm: ka, extractable: Boolean(extractable), usages }),
      extractable,
    );
  }

  /** Workers' extension: compares two buffers in time that depends only on their length. */
  timingSafeEqual(a, b) {
    const x = copyBytes(a);
    const y = copyBytes(b);
    // Workers' own messages.
    if (x === null || y === null) throw new TypeError(`Failed to execute 'timingSafeEqual' on 'SubtleCrypto': parameter ${x === null ? 1 : 2} is not of type 'BufferSource'.`);
    if (x.byteLength !== y.byteLength) throw new TypeError('Input buffers must have the same byte length.');
    let diff = 0;
    for (let i = 0; i < x.byteLength; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  }
}
Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: 'SubtleCrypto', configurable: true });

const MAX_DIGEST_STREAM_BYTES = 64 * 1024 * 1024;
let DigestStream = null;

/**
 * Workers' crypto.DigestStream: a WritableStream whose `digest` promise resolves to the hash of what was written.
 * Made on first use (it extends the lazily loaded WritableStream). The bytes are collected here and hashed by the
 * host when the stream closes, so a stream is bounded (64 MiB) rather than hashed incrementally.
 */
export function getDigestStream() {
  if (DigestStream !== null) return DigestStream;
  const { WritableStream } = streams();
  DigestStream = class DigestStream extends WritableStream {
    #bytesWritten = 0;
    constructor(algorithm) {
      const a = normalizeAlgorithm('DigestStream', algorithm);
      const chunks = [];
      let resolve;
      let reject;
      const digest = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting for it: an unobserved failure must not surface as an unhandled rejection.
      digest.catch(() => {});
      let self = null;
      super({
        write(chunk) {
          const b = copyBytes(chunk);
          let error = null;
          if (b === null) error = new TypeError('DigestStream: chunks must be ArrayBuffer or ArrayBufferView.');
          else if (self.#bytesWritten + b.byteLength > MAX_DIGEST_STREAM_BYTES) {
            error = new RangeError(`DigestStream: more than ${MAX_DIGEST_STREAM_BYTES} bytes written; this runtime hashes at most that much per stream.`);
          }
          if (error !== null) {
            chunks.length = 0;
            reject(error);
            throw error;
          }
          const bytes = /** @type {Uint8Array} */ (b); // not null: that threw above
          self.#bytesWritten += bytes.byteLength;
          chunks.push(bytes);
        },
        close() {
          const data = new Uint8Array(self.#bytesWritten);
          let o = 0;
          for (const c of chunks) {
            data.set(c, o);
            o += c.byteLength;
          }
          chunks.length = 0;
          return hostAsync('crypto.digest', { algorithm: { name: a.name }, data }).then((r) => resolve(toArrayBuffer(r)), (e) => {
            reject(e);
            throw e;
          });
        },
        abort(reason) {
          chunks.length = 0;
          reject(reason);
        },
      });
      self = this;
      Object.defineProperty(this, 'digest', { value: digest, enumerable: true });
    }
    get bytesWritten() {
      return this.#bytesWritten;
    }
  };
  return DigestStream;
}

let subtle = null;
/** The one SubtleCrypto instance (crypto.subtle), made on first use. */
export function getSubtle() {
  return (subtle ??= new SubtleCrypto(CONSTRUCT));
}

export { CryptoKey, SubtleCrypto };
