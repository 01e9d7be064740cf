// `env.MY_KV`: Workers KV for JS workers (kv_namespaces in the manifest). Every call is an asynchronous host op
// (host/bindings/kv/kv-service.ts): the isolate keeps running other work while the host reads or writes.
import { hostAsync } from './internal/async.js';
import { readAllBytes } from './body.js';
import { TextEncoder, TextDecoder } from './encoding.js';

const MAX_VALUE_BYTES = 25 * 1024 * 1024;
const TYPES = ['text', 'json', 'arrayBuffer', 'stream'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function readType(options, bulk) {
  let type = 'text';
  let cacheTtl;
  if (typeof options === 'string') type = options;
  else if (options !== undefined && options !== null) {
    if (typeof options !== 'object') throw new TypeError('The second argument of get() must be a type ("text", "json", "arrayBuffer", "stream") or an options object.');
    if (options.type !== undefined) type = options.type;
    cacheTtl = options.cacheTtl;
  }
  if (!TYPES.includes(type)) throw new TypeError(`Unknown response type "${String(type)}". Possible types are "text", "arrayBuffer", "json", and "stream".`);
  if (bulk && type !== 'text' && type !== 'json') throw new TypeError(`get() of several keys supports only the "text" and "json" types, not "${type}".`);
  if (cacheTtl !== undefined && (typeof cacheTtl !== 'number' || !(cacheTtl >= 30))) {
    throw new TypeError(`Invalid cacheTtl value: ${String(cacheTtl)}. Must be a number of at least 30 (seconds).`);
  }
  return type;
}

function decodeValue(bytes, type) {
  switch (type) {
    case 'text':
      return decoder.decode(bytes);
    case 'json':
      return JSON.parse(decoder.decode(bytes));
    // Copies: the bytes may be cached and served again, so the worker must not get them to modify.
    case 'arrayBuffer':
      return bytes.slice().buffer;
    case 'stream':
      return new ReadableStream({
        type: 'bytes',
        start(c) {
          if (bytes.byteLength > 0) c.enqueue(bytes.slice());
          c.close();
        },
      });
  }
}

function parseMetadata(text) {
  return text === null || text === undefined ? null : JSON.parse(text);
}

async function valueBytes(value) {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (value instanceof ReadableStream) {
    return readAllBytes(value, {
      max: MAX_VALUE_BYTES,
      what: 'A ReadableStream put into KV',
      tooLarge: (max) => new Error(`KV PUT failed: values are at most ${max} bytes (25 MiB); this stream is longer`),
    });
  }
  throw new TypeError('KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.');
}

const BINDING = new WeakMap();

function bindingOf(self) {
  const b = BINDING.get(self);
  if (b === undefined) throw new TypeError('Illegal invocation: not a KV namespace');
  return b.binding;
}

// Values read recently, served without asking the host while the namespace's write counter (shared with the host,
// bumped after every write that takes effect anywhere on the host) is unchanged: a hot read costs no round trip and
// a write is seen by the next read. Bounded per isolate (the memory counts against the worker's limit).
const CACHE_BYTES = 1024 * 1024;
const CACHE_ENTRY_BYTES = 64 * 1024;
const cache = new Map();
let cachedBytes = 0;

function cacheKey(binding, key) {
  return `${binding}\0${key}`;
}

/** The cached reply for `key` (null: known absent), or undefined when the host must be asked. */
function cached(state, key) {
  if (state.counters === null) return undefined;
  const id = cacheKey(state.binding, key);
  const hit = cache.get(id);
  if (hit === undefined) return undefined;
  if (hit.generation !== Atomics.load(state.counters, state.slot) || (hit.expiresAt !== 0 && hit.expiresAt <= Date.now())) {
    cache.delete(id);
    cachedBytes -= hit.bytes;
    return undefined;
  }
  cache.delete(id);
  cache.set(id, hit);
  return hit.reply;
}

function remember(state, key, generation, reply) {
  const bytes = (reply === null ? 0 : reply.value.byteLength + (reply.metadata?.length ?? 0)) + key.length + 64;
  if (state.counters === null || bytes > CACHE_ENTRY_BYTES) return;
  const id = cacheKey(state.binding, key);
  const old = cache.get(id);
  if (old !== undefined) {
    cache.delete(id);
    cachedBytes -= old.bytes;
  }
  cache.set(id, { reply, generation, bytes, expiresAt: reply === null || reply.expiration === null ? 0 : reply.expiration * 1000 });
  cachedBytes += bytes;
  for (const [k, v] of cache) {
    if (cachedBytes <= CACHE_BYTES) break;
    cache.delete(k);
    cachedBytes -= v.bytes;
  }
}

/** One key's reply: from the cache when it still holds, else from the host (then cached). */
async function read(self, key) {
  const state = BINDING.get(self);
  if (state === undefined) throw new TypeError('Illegal invocation: not a KV namespace');
  const hit = cached(state, key);
  if (hit !== undefined) return hit;
  // The counter before asking: a write landing meanwhile makes this reply's generation old, so it is not reused.
  const generation = state.counters === null ? 0 : Atomics.load(state.counters, state.slot);
  const reply = await hostAsync('kv.get', { binding: state.binding, key });
  remember(state, key, generation, reply);
  return reply;
}

export class KVNamespace {
  constructor() {
    throw new TypeError('KV namespaces are bound in the manifest (kv_namespaces) and reached as env.<binding>.');
  }

  async get(key, options) {
    const binding = bindingOf(this);
    if (Array.isArray(key)) {
      const type = readType(options, true);
      const keys = key.map(String);
      const replies = await hostAsync('kv.getMany', { binding, keys });
      return new Map(keys.map((k, i) => [k, replies[i] ? decodeValue(replies[i].value, type) : null]));
    }
    const type = readType(options, false);
    const reply = await read(this, String(key));
    return reply ? decodeValue(reply.value, type) : null;
  }

  async getWithMetadata(key, options) {
    const binding = bindingOf(this);
    if (Array.isArray(key)) {
      const type = readType(options, true);
      const keys = key.map(String);
      const replies = await hostAsync('kv.getMany', { binding, keys });
      return new Map(keys.map((k, i) => [k, replies[i] ? { value: decodeValue(replies[i].value, type), metadata: parseMetadata(replies[i].metadata) } : null]));
    }
    const type = readType(options, false);
    const reply = await read(this, String(key));
    if (!reply) return { value: null, metadata: null, cacheStatus: null };
    return { value: decodeValue(reply.value, type), metadata: parseMetadata(reply.metadata), cacheStatus: null };
  }

  async put(key, value, options) {
    const binding = bindingOf(this);
    if (options !== undefined && options !== null && typeof options !== 'object') throw new TypeError('The options of put() must be an object ({ expiration, expirationTtl, metadata }).');
    const o = options ?? {};
    const bytes = await valueBytes(value);
    let metadata = null;
    if (o.metadata !== undefined && o.metadata !== null) {
      metadata = JSON.stringify(o.metadata);
      if (metadata === undefined) throw new TypeError('KV metadata must be serializable to JSON.');
    }
    const num = (v, what) => {
      if (v === undefined || v === null) return null;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new TypeError(`${what} must be a number of seconds, got ${String(v)}`);
      return n;
    };
    await hostAsync('kv.put', { binding, key: String(key), value: bytes, expiration: num(o.expiration, 'expiration'), expirationTtl: num(o.expirationTtl, 'expirationTtl'), metadata });
  }

  async delete(key) {
    const binding = bindingOf(this);
    await hostAsync('kv.delete', { binding, key: String(key) });
  }

  async list(options) {
    const binding = bindingOf(this);
    const o = options ?? {};
    if (typeof o !== 'object') throw new TypeError('The options of list() must be an object ({ prefix, limit, cursor }).');
    const r = await hostAsync('kv.list', {
      binding,
      prefix: o.prefix === undefined || o.prefix === null ? null : String(o.prefix),
      limit: o.limit === undefined || o.limit === null ? null : Number(o.limit),
      cursor: o.cursor === undefined || o.cursor === null ? null : String(o.cursor),
    });
    const keys = r.keys.map((k) => {
      const out = { name: k.name };
      if (k.expiration !== null) out.expiration = k.expiration;
      if (k.metadata !== null) out.metadata = parseMetadata(k.metadata);
      return out;
    });
    return r.listComplete ? { keys, list_complete: true, cacheStatus: null } : { keys, list_complete: false, cursor: r.cursor, cacheStatus: null };
  }
}

/** The `env` value of a kv_namespaces binding; `counters`: the host's write counters (slot `slot`), or null. */
export function kvNamespace(binding, counters = null, slot = 0) {
  const ns = Object.create(KVNamespace.prototype);
  BINDING.set(ns, { binding, counters, slot });
  return ns;
}

/** `env` entries for the manifest's kv_namespaces bindings (in manifest order, as the host's counters are). */
export function kvEnv(bindings) {
  const shared = globalThis.__edgeKvGen;
  delete globalThis.__edgeKvGen;
  const counters = shared instanceof SharedArrayBuffer ? new Int32Array(shared) : null;
  const env = {};
  bindings.forEach((b, i) => {
    env[b] = kvNamespace(b, counters, i);
  });
  return env;
}
