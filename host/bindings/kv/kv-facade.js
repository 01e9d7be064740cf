// `env.MY_KV`: Workers KV for JS workers (kv_namespaces in the manifest), a KVNamespace over the edge:platform/kv
// interface (kv.ts), the same implementation components import. Calls are asynchronous (the isolate keeps running
// other work while the host reads or writes); hot values are served by the isolate itself (below).
// Prelude code: bundled into the isolate snapshot; it imports nothing and gets what it needs from `host`
// (host/runtime/js/prelude/env.js).
export default function kvFacade(host) {
  const KV = 'edge:platform/kv';
  const INTERNAL = Symbol('internal');
  const TYPES = ['text', 'json', 'arrayBuffer', 'stream'];
  // Taken while the env module runs, before the worker's code can replace the globals.
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const ReadableStreamCtor = ReadableStream;

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
        // Left on the host by a stream read (readHeld): its bytes enter only if the worker reads them.
        if (host.isHeldBody(bytes)) return host.heldStream(bytes);
        return new ReadableStreamCtor({
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

  /** The stream's host reference when it is a host stream nobody read (the request's body, an R2 body): stored by the host. */
  function hostValue(value) {
    return value instanceof ReadableStreamCtor ? host.claimHostStream(value) : null;
  }

  async function valueBytes(value) {
    if (typeof value === 'string') return encoder.encode(value);
    if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    if (value instanceof ReadableStreamCtor) {
      return host.readAllBytes(value, {
        max: host.caps.kvValueBytes,
        what: 'A ReadableStream put into KV',
        tooLarge: (max) => new Error(`KV PUT failed: values are at most ${max} bytes (25 MiB); this stream is longer`),
      });
    }
    throw new TypeError('KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.');
  }

  /**
   * A WIT error of the kv interface as Workers reports KV failures: an Error naming the operation (a TypeError for
   * a bad key or list request), in the store's words (storage/kv: the sizes come in the payload, the limits in the
   * binding's config).
   */
  function guestError(op, err, state) {
    if (!(err instanceof host.CapabilityError)) return err;
    const p = err.payload;
    const val = p !== null && typeof p === 'object' ? p.val : undefined;
    switch (p?.tag) {
      case 'not-granted':
        return new TypeError(`no KV namespace is bound as ${JSON.stringify(val)} (kv_namespaces in the manifest)`);
      case 'key-too-long':
        return new Error(`KV ${op} failed: keys are at most ${state.keyBytes} bytes of UTF-8; this one is ${String(val)} bytes`);
      case 'value-too-large':
        return new Error(`KV ${op} failed: KV values are at most ${host.caps.kvValueBytes} bytes (25 MiB); this one is ${String(val)} bytes`);
      case 'metadata-too-large':
        return new Error(`KV ${op} failed: metadata is at most ${state.metadataBytes} bytes of JSON; this is ${String(val)} bytes`);
      case 'invalid-key':
      case 'invalid-list':
        return new TypeError(`KV ${op} failed: ${String(val)}`);
      default:
        return new Error(`KV ${op} failed: ${typeof val === 'string' ? val : err.message}`);
    }
  }

  /** The binding's namespace handle, opened on first use (the host answers at once; it lives as long as the instance). */
  function handleOf(state) {
    if (state.handle === 0) state.handle = host.callSync(KV, 'Namespace', 'open', 'static', 0, [state.binding]).__h;
    return state.handle;
  }

  /** `Namespace.<member>(...args)` on the binding's namespace; rejects with the guest's error for `op`. */
  function invoke(state, op, member, args) {
    let h;
    try {
      h = handleOf(state);
    } catch (err) {
      return Promise.reject(guestError(op, err, state));
    }
    return host.call(KV, 'Namespace', member, 'method', h, args).catch((err) => {
      throw guestError(op, err, state);
    });
  }

  /** The same call, with the bytes of `extra` (callHeld: host bodies as arguments, a result field held) left on the host. */
  function invokeHeld(state, op, member, args, extra) {
    let h;
    try {
      h = handleOf(state);
    } catch (err) {
      return Promise.reject(guestError(op, err, state));
    }
    return host.callHeld(KV, 'Namespace', member, 'method', h, args, extra).catch((err) => {
      throw guestError(op, err, state);
    });
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

  /** The kv interface's `option<entry>` as a reply: `{ value, metadata, expiration }` (seconds) or null. */
  function replyOf(entry) {
    if (entry === undefined || entry === null) return null;
    return { value: entry.value, metadata: entry.metadata ?? null, expiration: entry.expiration === undefined || entry.expiration === null ? null : Number(entry.expiration) };
  }

  /** One key's reply: from the cache when it still holds, else from the host (then cached). */
  async function read(state, key) {
    const hit = cached(state, key);
    if (hit !== undefined) return hit;
    // The counter before asking: a write landing meanwhile makes this reply's generation old, so it is not reused.
    const generation = state.counters === null ? 0 : Atomics.load(state.counters, state.slot);
    const reply = replyOf(await invoke(state, 'GET', 'get', [key]));
    remember(state, key, generation, reply);
    return reply;
  }

  /**
   * Bytes of a value read as a stream that stay on the host past this length: returned or stored unread, it never
   * enters the isolate. Shorter ones come in (and are cached) as for the other types.
   */
  const HELD_ABOVE = CACHE_ENTRY_BYTES;

  /** One key's reply for a "stream" read: a long value stays on the host (its `value` is a HeldBody, not cached). */
  async function readHeld(state, key) {
    const hit = cached(state, key);
    if (hit !== undefined) return hit;
    const generation = state.counters === null ? 0 : Atomics.load(state.counters, state.slot);
    const reply = replyOf(await invokeHeld(state, 'GET', 'get', [key], { hold: { field: 'value', inline: HELD_ABOVE } }));
    if (reply === null || !host.isHeldBody(reply.value)) remember(state, key, generation, reply);
    return reply;
  }

  /** Several keys' replies: the interface gets one key at a time, so the gets run in parallel (each through the cache). */
  function readMany(state, keys) {
    if (keys.length === 0 || keys.length > 100) throw new TypeError('get() of several keys takes an array of 1 to 100 keys');
    return Promise.all(keys.map((k) => read(state, k)));
  }

  function optionalSeconds(v, what) {
    if (v === undefined || v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TypeError(`${what} must be a number of seconds, got ${String(v)}`);
    return n;
  }

  /** A namespace's state, or a TypeError for anything that is not a KVNamespace. */
  let stateOf;

  class KVNamespace {
    #state;

    static {
      stateOf = (self) => {
        if (typeof self !== 'object' || self === null || !(#state in self)) throw new TypeError('Illegal invocation: not a KV namespace');
        return self.#state;
      };
    }

    constructor(key, state) {
      if (key !== INTERNAL) throw new TypeError('KV namespaces are bound in the manifest (kv_namespaces) and reached as env.<binding>.');
      this.#state = state;
    }

    async get(key, options) {
      const state = stateOf(this);
      if (Array.isArray(key)) {
        const type = readType(options, true);
        const keys = key.map(String);
        const replies = await readMany(state, keys);
        return new Map(keys.map((k, i) => [k, replies[i] ? decodeValue(replies[i].value, type) : null]));
      }
      const type = readType(options, false);
      const reply = type === 'stream' ? await readHeld(state, String(key)) : await read(state, String(key));
      return reply ? decodeValue(reply.value, type) : null;
    }

    async getWithMetadata(key, options) {
      const state = stateOf(this);
      if (Array.isArray(key)) {
        const type = readType(options, true);
        const keys = key.map(String);
        const replies = await readMany(state, keys);
        return new Map(keys.map((k, i) => [k, replies[i] ? { value: decodeValue(replies[i].value, type), metadata: parseMetadata(replies[i].metadata) } : null]));
      }
      const type = readType(options, false);
      const reply = type === 'stream' ? await readHeld(state, String(key)) : await read(state, String(key));
      if (!reply) return { value: null, metadata: null, cacheStatus: null };
      return { value: decodeValue(reply.value, type), metadata: parseMetadata(reply.metadata), cacheStatus: null };
    }

    async put(key, value, options) {
      const state = stateOf(this);
      if (options !== undefined && options !== null && typeof options !== 'object') throw new TypeError('The options of put() must be an object ({ expiration, expirationTtl, metadata }).');
      const o = options ?? {};
      // A host stream (the request's body, an R2 body, another KV stream) is read by the host, not through the isolate.
      const fromHost = hostValue(value);
      const bytes = fromHost === null ? await valueBytes(value) : null;
      let metadata;
      if (o.metadata !== undefined && o.metadata !== null) {
        metadata = JSON.stringify(o.metadata);
        if (metadata === undefined) throw new TypeError('KV metadata must be serializable to JSON.');
      }
      // Seconds as numbers: the implementation reads them with Number(), and the store words what it refuses
      // (a fraction, a time in the past) itself.
      const expiration = optionalSeconds(o.expiration, 'expiration');
      const expirationTtl = optionalSeconds(o.expirationTtl, 'expirationTtl');
      const putOptions = {};
      if (expiration !== undefined) putOptions.expiration = expiration;
      if (expirationTtl !== undefined) putOptions.expirationTtl = expirationTtl;
      if (metadata !== undefined) putOptions.metadata = metadata;
      if (fromHost === null) {
        await invoke(state, 'PUT', 'put', [String(key), bytes, putOptions]);
        return;
      }
      const max = host.caps.kvValueBytes;
      const tooLarge = `KV PUT failed: values are at most ${max} bytes (25 MiB); this stream is longer`;
      await invokeHeld(state, 'PUT', 'put', [String(key), null, putOptions], { bodies: [{ arg: 1, ref: fromHost, max, tooLarge }] });
    }

    async delete(key) {
      const state = stateOf(this);
      await invoke(state, 'DELETE', 'delete', [String(key)]);
    }

    async list(options) {
      const state = stateOf(this);
      const o = options ?? {};
      if (typeof o !== 'object') throw new TypeError('The options of list() must be an object ({ prefix, limit, cursor }).');
      const listOptions = {};
      if (o.prefix !== undefined && o.prefix !== null) listOptions.prefix = String(o.prefix);
      if (o.limit !== undefined && o.limit !== null) {
        const limit = Number(o.limit);
        if (!Number.isFinite(limit)) throw new TypeError('limit must be a number');
        // Passed as given: the store refuses what is not an integer from 1 to 1000, in its words.
        listOptions.limit = limit;
      }
      if (o.cursor !== undefined && o.cursor !== null && o.cursor !== '') listOptions.cursor = String(o.cursor);
      const r = await invoke(state, 'LIST', 'list', [listOptions]);
      const keys = r.keys.map((k) => {
        const out = { name: k.name };
        if (k.expiration !== undefined && k.expiration !== null) out.expiration = Number(k.expiration);
        if (k.metadata !== undefined && k.metadata !== null) out.metadata = parseMetadata(k.metadata);
        return out;
      });
      return r.listComplete ? { keys, list_complete: true, cacheStatus: null } : { keys, list_complete: false, cursor: r.cursor, cacheStatus: null };
    }
  }
  // Workers' class name, whatever the minifier calls it.
  Object.defineProperty(KVNamespace, 'name', { value: 'KVNamespace' });

  return {
    /** `env[binding]`; `config.slot`: the binding's write counter in `shared` (none without it: nothing is cached). */
    create(binding, config, shared) {
      const state = {
        binding: String(binding),
        counters: shared instanceof SharedArrayBuffer ? new Int32Array(shared) : null,
        slot: config?.slot ?? 0,
        keyBytes: config?.keyBytes,
        metadataBytes: config?.metadataBytes,
        handle: 0,
      };
      return new KVNamespace(INTERNAL, state);
    },
  };
}
