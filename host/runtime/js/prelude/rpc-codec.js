// JS RPC to Durable Objects (`await stub.increment(5)`): arguments and results cross as JSON with the structured
// types tagged, so that what arrives is what structuredClone would give: undefined, NaN/Infinity/-0, bigint, Date,
// RegExp, Map, Set, ArrayBuffer and typed arrays, Errors, and plain objects and arrays (shared and cyclic references
// are refused rather than flattened).
import { atob, btoa } from './base64.js';
import { unitsToString } from './encoding.js';

const TAG = '$edge';
const TYPED = { Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array };
const ERRORS = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

function bytesToBase64(bytes) {
  return btoa(unitsToString(bytes, 0, bytes.length));
}

function base64ToBytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** `value` as JSON-safe data; throws a DataCloneError-like TypeError for what cannot cross. */
export function rpcEncode(value, seen = new Set()) {
  switch (typeof value) {
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'number':
      if (Number.isNaN(value)) return { [TAG]: 'number', v: 'NaN' };
      if (!Number.isFinite(value)) return { [TAG]: 'number', v: value > 0 ? 'Infinity' : '-Infinity' };
      if (Object.is(value, -0)) return { [TAG]: 'number', v: '-0' };
      return value;
    case 'bigint':
      return { [TAG]: 'bigint', v: value.toString() };
    case 'string':
    case 'boolean':
      return value;
    case 'function':
    case 'symbol':
      throw new TypeError(`RPC: a ${typeof value} cannot be sent to or from a Durable Object`);
  }
  if (value === null) return null;
  if (seen.has(value)) throw new TypeError('RPC: a value referenced twice (or cyclic) cannot be sent to or from a Durable Object');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => rpcEncode(v, seen));
    if (value instanceof Date) return { [TAG]: 'date', v: value.getTime() };
    if (value instanceof RegExp) return { [TAG]: 'regexp', v: value.source, f: value.flags };
    if (value instanceof Map) return { [TAG]: 'map', v: [...value].map(([k, v]) => [rpcEncode(k, seen), rpcEncode(v, seen)]) };
    if (value instanceof Set) return { [TAG]: 'set', v: [...value].map((v) => rpcEncode(v, seen)) };
    if (value instanceof ArrayBuffer) return { [TAG]: 'buffer', v: bytesToBase64(new Uint8Array(value)) };
    if (ArrayBuffer.isView(value)) {
      const type = value.constructor.name;
      if (!(type in TYPED) && type !== 'DataView') throw new TypeError(`RPC: a ${type} cannot be sent to or from a Durable Object`);
      return { [TAG]: 'view', t: type, v: bytesToBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
    }
    if (value instanceof Error) return { [TAG]: 'error', n: value.name, m: value.message, s: value.stack };
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`RPC: an instance of ${value.constructor?.name ?? 'a class'} cannot be sent to or from a Durable Object (plain objects only)`);
    const out = {};
    for (const k of Object.keys(value)) out[k] = rpcEncode(value[k], seen);
    if (TAG in out) return { [TAG]: 'object', v: out };
    return out;
  } finally {
    seen.delete(value);
  }
}

export function rpcDecode(data) {
  if (data === null || typeof data !== 'object') return data;
  if (Array.isArray(data)) return data.map(rpcDecode);
  const tag = data[TAG];
  if (tag === undefined) {
    const out = {};
    for (const k of Object.keys(data)) out[k] = rpcDecode(data[k]);
    return out;
  }
  switch (tag) {
    case 'undefined':
      return undefined;
    case 'number':
      return data.v === 'NaN' ? NaN : data.v === 'Infinity' ? Infinity : data.v === '-Infinity' ? -Infinity : -0;
    case 'bigint':
      return BigInt(data.v);
    case 'date':
      return new Date(data.v);
    case 'regexp':
      return new RegExp(data.v, data.f);
    case 'map':
      return new Map(data.v.map(([k, v]) => [rpcDecode(k), rpcDecode(v)]));
    case 'set':
      return new Set(data.v.map(rpcDecode));
    case 'buffer':
      return base64ToBytes(data.v).buffer;
    case 'view': {
      const bytes = base64ToBytes(data.v);
      if (data.t === 'DataView') return new DataView(bytes.buffer);
      const C = TYPED[data.t];
      return new C(bytes.buffer, 0, bytes.byteLength / C.BYTES_PER_ELEMENT);
    }
    case 'error': {
      const C = ERRORS[data.n] ?? Error;
      const e = new C(data.m);
      if (e.name !== data.n) e.name = data.n;
      if (typeof data.s === 'string') e.stack = data.s;
      return e;
    }
    case 'object': {
      const out = {};
      for (const k of Object.keys(data.v)) out[k] = rpcDecode(data.v[k]);
      return out;
    }
    default:
      return data;
  }
}
