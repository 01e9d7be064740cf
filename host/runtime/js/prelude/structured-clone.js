// structuredClone, written by hand rather than with @ungap/structured-clone: that package round-trips through a
// record list, which loses ArrayBuffer sharing between views and Error stacks, throws plain TypeErrors instead of
// DataCloneError, and copies platform objects (Headers, streams) as if they were plain objects.
import { DOMException } from './dom-exception.js';
import { Headers } from './headers.js';
import { URL, URLSearchParams } from './url.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { isStreamObject } from './streams.js';
import { File, isBlob, blobBytes, makeBlob, makeFile } from './blob.js';
import { FormData } from './form-data.js';

const ERROR_TYPES = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
const NOT_CLONEABLE = [Promise, WeakMap, WeakSet, WeakRef, Headers, URL, URLSearchParams, Request, Response, FormData];
const { getOwnPropertyDescriptor, hasOwn, keys } = Object;

function dataCloneError(what) {
  return new DOMException(`${what} could not be cloned.`, 'DataCloneError');
}

function describe(v) {
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (typeof v === 'symbol') return Symbol.prototype.toString.call(v);
  try {
    return `#<${Object.prototype.toString.call(v).slice(8, -1)}>`;
  } catch {
    return 'Object';
  }
}

function setProperty(obj, key, value) {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function copyStack(from, to) {
  const stack = from.stack;
  if (typeof stack === 'string') Object.defineProperty(to, 'stack', { value: stack, writable: true, configurable: true });
}

function cloneBuffer(buf) {
  if (buf.resizable) {
    const copy = new ArrayBuffer(buf.byteLength, { maxByteLength: buf.maxByteLength });
    new Uint8Array(copy).set(new Uint8Array(buf));
    return copy;
  }
  return buf.slice(0);
}

function cloneValue(v, memo) {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'function' || typeof v === 'symbol') throw dataCloneError(describe(v));
    return v;
  }
  const known = memo.get(v);
  if (known !== undefined) return known;

  let out;
  if (Array.isArray(v)) {
    out = new Array(v.length);
    memo.set(v, out);
    for (const k of keys(v)) setProperty(out, k, cloneValue(v[k], memo));
    return out;
  }
  if (v instanceof Date) out = new Date(Date.prototype.getTime.call(v));
  else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
  else if (v instanceof ArrayBuffer) {
    if (v.detached) throw dataCloneError('A detached ArrayBuffer');
    out = cloneBuffer(v);
  } else if (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer) out = v;
  else if (ArrayBuffer.isView(v)) {
    const buffer = cloneValue(v.buffer, memo);
    if (v instanceof DataView) out = new DataView(buffer, v.byteOffset, v.byteLength);
    else {
      // A TypedArray: one of its own kind over the cloned buffer.
      const Ctor = /** @type {new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView} */ (v.constructor);
      out = new Ctor(buffer, v.byteOffset, /** @type {Uint8Array} */ (v).length);
    }
  } else if (v instanceof Map) {
    out = new Map();
    memo.set(v, out);
    for (const [k, val] of Map.prototype.entries.call(v)) out.set(cloneValue(k, memo), cloneValue(val, memo));
    return out;
  } else if (v instanceof Set) {
    out = new Set();
    memo.set(v, out);
    for (const val of Set.prototype.values.call(v)) out.add(cloneValue(val, memo));
    return out;
  } else if (isBlob(v)) {
    // Blobs are immutable: the clone shares the bytes, as in browsers and Workers.
    out = v instanceof File ? makeFile(blobBytes(v), v.name, v.type, v.lastModified) : makeBlob(blobBytes(v), v.type);
  } else if (v instanceof DOMException) {
    out = new DOMException(v.message, v.name);
    copyStack(v, out);
  } else if (v instanceof Error) {
    const name = v.name;
    const Ctor = typeof name === 'string' && hasOwn(ERROR_TYPES, name) ? ERROR_TYPES[name] : Error;
    const msg = getOwnPropertyDescriptor(v, 'message');
    out = msg ? new Ctor(String(v.message)) : new Ctor();
    memo.set(v, out);
    copyStack(v, out);
    if (hasOwn(v, 'cause')) Object.defineProperty(out, 'cause', { value: cloneValue(v.cause, memo), writable: true, configurable: true });
    return out;
  } else if (v instanceof Boolean) out = Object(Boolean.prototype.valueOf.call(v));
  else if (v instanceof Number) out = Object(Number.prototype.valueOf.call(v));
  else if (v instanceof String) out = Object(String.prototype.valueOf.call(v));
  else if (v instanceof BigInt) out = Object(BigInt.prototype.valueOf.call(v));
  else {
    for (let i = 0; i < NOT_CLONEABLE.length; i++) if (v instanceof NOT_CLONEABLE[i]) throw dataCloneError(describe(v));
    if (isStreamObject(v)) throw dataCloneError(describe(v));
    out = {};
    memo.set(v, out);
    for (const k of keys(v)) setProperty(out, k, cloneValue(v[k], memo));
    return out;
  }
  memo.set(v, out);
  return out;
}

/**
 * @param {unknown} value
 * @param {{ transfer?: Iterable<unknown> } | null} [options]  StructuredSerializeOptions
 */
export function structuredClone(value, options = undefined) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
  const transfer = options != null && options.transfer !== undefined ? [...options.transfer] : [];
  for (let i = 0; i < transfer.length; i++) {
    const t = transfer[i];
    if (!(t instanceof ArrayBuffer)) throw dataCloneError('Value in the transfer list');
    if (t.detached) throw dataCloneError('A detached ArrayBuffer');
    if (transfer.indexOf(t) !== i) throw dataCloneError('An ArrayBuffer listed twice in the transfer list');
  }
  const out = cloneValue(value, new Map());
  // Transferred buffers were copied into the clone; detaching the originals gives the same observable result.
  for (const t of /** @type {ArrayBuffer[]} */ (transfer)) t.transfer(); // each checked above
  return out;
}
