// host/web holds the host sides of the Web APIs the isolate prelude offers (crypto.subtle, the Cache API),
// registered as host ops by the server.
//
// Host side of the prelude's crypto.subtle (prelude/subtle.js): the 'crypto.*' host ops, done by Node's WebCrypto.
// Stateless: a guest key arrives with each op as its wire form (type, algorithm, usages and its material as
// raw/pkcs8/spki bytes) and is re-imported for that op with the same usages, so Node enforces the usage and
// algorithm rules; new keys go back in the same wire form. Nothing is kept here between ops.
import { CRYPTO_LIMITS } from '../../core/limits.ts';
import { createHash, createHmac, timingSafeEqual, webcrypto } from 'node:crypto';
import { HostOpError, type HostOps } from '../../core/host-ops.ts';

type NodeKey = webcrypto.CryptoKey;
type NodeAlgorithm = Record<string, unknown> & { name: string };
type KeyFormat = 'raw' | 'pkcs8' | 'spki' | 'jwk';
type KeyUsage = webcrypto.KeyUsage;

/** A guest key as it travels: `f`/`m` are its material's format and bytes. */
export interface WireKey {
  type: 'secret' | 'private' | 'public';
  algorithm: Record<string, unknown>;
  usages: KeyUsage[];
  f: 'raw' | 'pkcs8' | 'spki';
  m: Uint8Array;
}

const subtle = webcrypto.subtle;
const USAGES = new Set(['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey']);
const FORMATS = new Set(['raw', 'pkcs8', 'spki', 'jwk']);
/** Node refuses extractable copies of these (their keys are only ever imported raw, so the bytes are at hand). */
const KDF = new Set(['PBKDF2', 'HKDF']);
/** Data per op: generous for signatures and tokens, bounded so a guest cannot make the host hash gigabytes. */
const MAX_DATA_BYTES = CRYPTO_LIMITS.dataBytes;

function bad(message: string): never {
  throw new HostOpError('TypeError', message);
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(`${what} must be bytes`);
  if (v.byteLength > MAX_DATA_BYTES) throw new HostOpError('OperationError', `${what} is ${v.byteLength} bytes; crypto.subtle takes at most ${MAX_DATA_BYTES} bytes per call.`);
  return v;
}

function usages(v: unknown): KeyUsage[] {
  if (!Array.isArray(v) || !v.every((u) => typeof u === 'string' && USAGES.has(u))) bad('key usages must be a list of WebCrypto usages');
  return v as KeyUsage[];
}

function format(v: unknown): KeyFormat {
  if (typeof v !== 'string' || !FORMATS.has(v)) bad('the key format must be raw, pkcs8, spki or jwk');
  return v as KeyFormat;
}

/**
 * Host work a guest could otherwise make unbounded (it runs on Node's thread pool, shared by every worker, and is not
 * counted as isolate CPU): PBKDF2 iterations as Workers caps them, and the RSA modulus a key generation may ask for.
 */
const MAX_PBKDF2_ITERATIONS = CRYPTO_LIMITS.pbkdf2Iterations;
const MAX_RSA_GENERATE_BITS = CRYPTO_LIMITS.rsaGenerateBits;

/** The guest's algorithm parameter, rebuilt from the members WebCrypto defines (nested keys re-imported). */
async function algorithm(v: unknown): Promise<NodeAlgorithm> {
  const a = record(v, 'the algorithm');
  if (typeof a.name !== 'string') bad('the algorithm has no name');
  const out: NodeAlgorithm = { name: a.name };
  for (const [k, x] of Object.entries(a)) {
    if (k === 'name') continue;
    if (k === 'public') out.public = await nodeKey(x);
    else if (k === 'hash') out.hash = { name: String(record(x, 'the hash').name) };
    else if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || x instanceof Uint8Array) out[k] = x;
    else bad(`the algorithm's ${k} member has an unsupported type`);
  }
  if (out.name.toUpperCase() === 'PBKDF2' && typeof out.iterations === 'number' && out.iterations > MAX_PBKDF2_ITERATIONS) {
    throw new HostOpError('NotSupportedError', `Pbkdf2 failed: iteration counts above ${MAX_PBKDF2_ITERATIONS} are not supported (requested ${out.iterations}).`);
  }
  return out;
}

function wireKey(v: unknown): WireKey {
  const k = record(v, 'the key');
  if (k.type !== 'secret' && k.type !== 'private' && k.type !== 'public') bad('the key has no valid type');
  if (k.f !== 'raw' && k.f !== 'pkcs8' && k.f !== 'spki') bad('the key material has no valid format');
  const alg = record(k.algorithm, "the key's algorithm");
  if (typeof alg.name !== 'string') bad("the key's algorithm has no name");
  return { type: k.type, algorithm: alg, usages: usages(k.usages), f: k.f, m: bytes(k.m, 'the key material') };
}

/** The parameters Node's importKey wants for a key of this algorithm. */
function importParams(alg: Record<string, unknown>): NodeAlgorithm {
  const out: NodeAlgorithm = { name: String(alg.name) };
  if (alg.hash !== undefined) out.hash = { name: String(record(alg.hash, 'the hash').name) };
  if (typeof alg.namedCurve === 'string') out.namedCurve = alg.namedCurve;
  if (out.name === 'HMAC' && typeof alg.length === 'number') out.length = alg.length;
  return out;
}

/** Re-imports a guest key for one operation. */
async function nodeKey(v: unknown): Promise<NodeKey> {
  const w = wireKey(v);
  const name = String(w.algorithm.name);
  return subtle.importKey(w.f, w.m, importParams(w.algorithm), !KDF.has(name), w.usages);
}

/** The wire form of a key Node made (always made extractable here; the guest's flag is kept in the isolate). */
async function toWire(key: NodeKey, rawKdfBytes?: Uint8Array): Promise<WireKey> {
  const f = key.type === 'secret' ? 'raw' : key.type === 'private' ? 'pkcs8' : 'spki';
  const m = rawKdfBytes ?? new Uint8Array(await subtle.exportKey(f, key));
  return { type: key.type, algorithm: { ...(key.algorithm as unknown as Record<string, unknown>) }, usages: [...key.usages], f, m };
}

/** deriveBits with the guest's parameters (Node's typings split it by algorithm; Node validates the members). */
async function deriveBits(alg: NodeAlgorithm, key: NodeKey, length: number | null): Promise<ArrayBuffer> {
  if (length === null) return subtle.deriveBits(alg as unknown as webcrypto.EcdhKeyDeriveParams, key, null);
  return subtle.deriveBits(alg as unknown as webcrypto.HkdfParams, key, length);
}

function toBytes(b: ArrayBuffer): Uint8Array {
  return new Uint8Array(b);
}

/**
 * Node's errors, as the DOMException/TypeError the guest's WebCrypto would throw, their terse messages ("Invalid key
 * length") prefixed with the method and algorithm they are about.
 */
function asGuestError(err: unknown, method: string, arg: unknown): HostOpError {
  if (err instanceof HostOpError) return err;
  const alg = (arg as { algorithm?: { name?: unknown } } | null)?.algorithm?.name;
  const name = err instanceof DOMException ? err.name : err instanceof TypeError || err instanceof RangeError ? 'TypeError' : 'OperationError';
  const message = err instanceof Error ? err.message : String(err);
  return new HostOpError(name, `Failed to execute '${method}' on 'SubtleCrypto'${typeof alg === 'string' ? ` (${alg})` : ''}: ${message}`);
}

/** A handler whose errors reach the guest as WebCrypto's; a result known at once is returned as is (not a promise). */
function guarded(method: string, fn: (a: Record<string, unknown>) => unknown): (arg: unknown) => unknown {
  return (arg) => {
    try {
      const r = fn(record(arg, 'the operation argument'));
      return r instanceof Promise ? r.catch((err: unknown) => Promise.reject(asGuestError(err, method, arg))) : r;
    } catch (err) {
      throw asGuestError(err, method, arg);
    }
  };
}

/** Node's hash names for the digests WebCrypto (and Workers' MD5) offer. */
const HASHES: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512', MD5: 'md5' };

/** The hash of a plain `{ name }` (or string) algorithm, when it is one Node hashes synchronously. */
function plainHash(v: unknown): string | undefined {
  if (typeof v === 'string') return HASHES[v.toUpperCase()];
  if (v === null || typeof v !== 'object') return undefined;
  const a = v as Record<string, unknown>;
  if (typeof a.name !== 'string' || Object.keys(a).length !== 1) return undefined;
  return HASHES[a.name.toUpperCase()];
}

/**
 * HMAC with a raw secret key, done synchronously (createHmac) so that the guest's promise settles in the same entry:
 * the same bytes WebCrypto computes. Undefined when the key or algorithm is anything else (WebCrypto does those).
 */
function fastHmac(a: Record<string, unknown>, use: 'sign' | 'verify'): Buffer | undefined {
  const alg = a.algorithm as Record<string, unknown> | null;
  const key = a.key as Record<string, unknown> | null;
  if (!alg || typeof alg !== 'object' || String(alg.name).toUpperCase() !== 'HMAC' || Object.keys(alg).length !== 1) return undefined;
  if (!key || typeof key !== 'object' || key.type !== 'secret' || key.f !== 'raw' || !(key.m instanceof Uint8Array)) return undefined;
  const kalg = key.algorithm as Record<string, unknown> | null;
  if (!kalg || String(kalg.name).toUpperCase() !== 'HMAC' || !Array.isArray(key.usages) || !key.usages.includes(use)) return undefined;
  const hash = plainHash(kalg.hash);
  if (!hash || hash === 'md5' || (kalg.length !== undefined && kalg.length !== key.m.byteLength * 8)) return undefined;
  if (!(a.data instanceof Uint8Array) || a.data.byteLength > MAX_DATA_BYTES) return undefined;
  return createHmac(hash, key.m).update(a.data).digest();
}

function digest(a: Record<string, unknown>): Uint8Array | Promise<Uint8Array> {
  const hash = plainHash(a.algorithm);
  if (hash && a.data instanceof Uint8Array && a.data.byteLength <= MAX_DATA_BYTES) return new Uint8Array(createHash(hash).update(a.data).digest());
  return digestAsync(a);
}

async function digestAsync(a: Record<string, unknown>): Promise<Uint8Array> {
  const alg = await algorithm(a.algorithm);
  const data = bytes(a.data, 'the data');
  // Workers supports MD5 for digest (not for HMAC); WebCrypto does not.
  if (alg.name.toUpperCase() === 'MD5') return new Uint8Array(createHash('md5').update(data).digest());
  return toBytes(await subtle.digest(alg, data));
}

async function importKey(a: Record<string, unknown>): Promise<WireKey> {
  const f = format(a.format);
  const alg = await algorithm(a.algorithm);
  const use = usages(a.usages);
  const extractable = a.extractable === true;
  const kdf = KDF.has(alg.name.toUpperCase());
  if (kdf && extractable) throw new HostOpError('SyntaxError', `${alg.name} keys cannot be extractable: import them with extractable set to false.`);
  if (f === 'jwk') {
    const jwk = { ...record(a.keyData, 'the JsonWebKey') } as webcrypto.JsonWebKey;
    if (jwk.ext === false && extractable) throw new HostOpError('DataError', 'The JWK "ext" member is false but the key is requested as extractable.');
    delete jwk.ext;
    return toWire(await subtle.importKey('jwk', jwk, alg, !kdf, use));
  }
  const data = bytes(a.keyData, 'the key data');
  const key = await subtle.importKey(f, data, alg, !kdf, use);
  return toWire(key, kdf ? data : undefined);
}

async function exportKey(a: Record<string, unknown>): Promise<Uint8Array | webcrypto.JsonWebKey> {
  const f = format(a.format);
  const key = await nodeKey(a.key);
  if (f === 'jwk') return subtle.exportKey('jwk', key);
  return toBytes(await subtle.exportKey(f, key));
}

async function generateKey(a: Record<string, unknown>): Promise<WireKey | { publicKey: WireKey; privateKey: WireKey }> {
  const alg = await algorithm(a.algorithm);
  if (typeof alg.modulusLength === 'number' && alg.modulusLength > MAX_RSA_GENERATE_BITS) {
    throw new HostOpError('NotSupportedError', `Generating RSA keys of more than ${MAX_RSA_GENERATE_BITS} bits is not supported (requested ${alg.modulusLength}); import a larger key instead.`);
  }
  const r = await subtle.generateKey(alg as webcrypto.AlgorithmIdentifier, true, usages(a.usages));
  if ('privateKey' in r) return { publicKey: await toWire(r.publicKey), privateKey: await toWire(r.privateKey) };
  return toWire(r);
}

async function deriveKey(a: Record<string, unknown>): Promise<WireKey> {
  const alg = await algorithm(a.algorithm);
  const base = await nodeKey(a.key);
  const target = await algorithm(a.derivedKeyType);
  const use = usages(a.usages);
  if (KDF.has(target.name.toUpperCase())) {
    // Derived PBKDF2/HKDF keys cannot be made extractable by Node: derive the bits and import them instead.
    const length = typeof target.length === 'number' ? target.length : bad(`deriving a ${target.name} key needs a length`);
    const bits = new Uint8Array(await deriveBits(alg, base, length));
    return toWire(await subtle.importKey('raw', bits, target, false, use), bits);
  }
  return toWire(await subtle.deriveKey(alg as unknown as webcrypto.HkdfParams, base, target, true, use));
}

async function unwrapKey(a: Record<string, unknown>): Promise<WireKey> {
  const f = format(a.format);
  const wrapped = bytes(a.wrappedKey, 'the wrapped key');
  const unwrapping = await nodeKey(a.unwrappingKey);
  const alg = await algorithm(a.algorithm);
  const keyAlg = await algorithm(a.keyAlgorithm);
  if (KDF.has(keyAlg.name.toUpperCase())) throw new HostOpError('NotSupportedError', `Unwrapping ${keyAlg.name} keys is not supported.`);
  return toWire(await subtle.unwrapKey(f, wrapped, unwrapping, alg, keyAlg, true, usages(a.usages)));
}

async function crypt(a: Record<string, unknown>, direction: 'encrypt' | 'decrypt'): Promise<Uint8Array> {
  const alg = await algorithm(a.algorithm);
  const key = await nodeKey(a.key);
  const data = bytes(a.data, 'the data');
  return toBytes(direction === 'encrypt' ? await subtle.encrypt(alg, key, data) : await subtle.decrypt(alg, key, data));
}

function sign(a: Record<string, unknown>): Uint8Array | Promise<Uint8Array> {
  const mac = fastHmac(a, 'sign');
  if (mac) return new Uint8Array(mac);
  return signAsync(a);
}

async function signAsync(a: Record<string, unknown>): Promise<Uint8Array> {
  return toBytes(await subtle.sign(await algorithm(a.algorithm), await nodeKey(a.key), bytes(a.data, 'the data')));
}

function verify(a: Record<string, unknown>): boolean | Promise<boolean> {
  const mac = fastHmac(a, 'verify');
  if (mac && a.signature instanceof Uint8Array) return mac.byteLength === a.signature.byteLength && timingSafeEqual(mac, a.signature);
  return verifyAsync(a);
}

async function verifyAsync(a: Record<string, unknown>): Promise<boolean> {
  return subtle.verify(await algorithm(a.algorithm), await nodeKey(a.key), bytes(a.signature, 'the signature'), bytes(a.data, 'the data'));
}

async function deriveBitsOp(a: Record<string, unknown>): Promise<Uint8Array> {
  const length = a.length === null ? null : typeof a.length === 'number' ? a.length : bad('the length must be a number or null');
  return toBytes(await deriveBits(await algorithm(a.algorithm), await nodeKey(a.key), length));
}

async function wrapKey(a: Record<string, unknown>): Promise<Uint8Array> {
  const f = format(a.format);
  const key = await nodeKey(a.key);
  const wrapping = await nodeKey(a.wrappingKey);
  return toBytes(await subtle.wrapKey(f, key, wrapping, await algorithm(a.algorithm)));
}

/** Registers the 'crypto.*' ops that prelude/subtle.js calls; one an embedder registered first (HostOptions.ops) is kept. */
export function registerWebCryptoOps(ops: HostOps): void {
  const handlers: Record<string, (a: Record<string, unknown>) => unknown> = {
    digest,
    encrypt: (a) => crypt(a, 'encrypt'),
    decrypt: (a) => crypt(a, 'decrypt'),
    sign,
    verify,
    importKey,
    exportKey,
    generateKey,
    deriveBits: deriveBitsOp,
    deriveKey,
    wrapKey,
    unwrapKey,
  };
  for (const [method, fn] of Object.entries(handlers)) {
    if (ops.get(`crypto.${method}`) === undefined) ops.register(`crypto.${method}`, guarded(method, fn));
  }
}
