// Durable Object classes written as WebAssembly components (world edge:platform/durable-object): for each class the
// manifest declares, a class the object runtime (objects.js) constructs like a JS class, whose fetch() calls the
// component's `durable-handler.handle(id, request)`; and the component's `durable-storage` imports, which are the
// storage of the object being handled.
//
// objects.js keeps one live instance per id, routes events to it and holds their responses at the output gate. What
// makes a component object single-threaded and atomic is that `handle` runs synchronously, from its first storage
// read to its commit: its reads go through the object's synchronous key-value storage (objects-sql.js `kv`: the
// object's cache, else the host, the isolate blocking), its writes stay in this request's overlay (its reads see
// them), and when `handle` returns they go into the object's write batch all at once, so they reach the host as one
// atomic batch and the response waits until it is durable (objects.js), as a JS object's do. The next event may run
// meanwhile and sees them (the cache). A trap discards the overlay: nothing the request wrote is committed. Events of
// one object are handled in the order they arrived (each waits for the one before, its body read first). Values are
// stored as JS objects' are (structured clones), a Uint8Array for what a component put; what a JS class of the same
// name stored reads as bytes where that makes sense (bytes as they are, strings as UTF-8, other values as JSON text).
import { CapabilityError } from './capabilities.js';
import { Response } from './response.js';
import { utf8Encode } from './encoding.js';
import { compareKeys } from './objects-sql.js';
/** @import { HeaderList } from '../../../core/isolate-protocol.ts' */

/** The store's limits on a value as stored and on a key (storage/durable DURABLE_LIMITS). */
const MAX_STORED_VALUE = 128 * 1024;
const MAX_KEY_BYTES = 2048;
const MISSING = Symbol('missing');

/** What v8.serialize adds to a Uint8Array of n bytes: version (2), tags and the length as a varint. */
function storedSize(n) {
  let varint = 1;
  for (let x = n; x >= 128; x = Math.floor(x / 128)) varint++;
  return n + 4 + varint;
}

/**
 * A stored value as bytes.
 * @param {string} key
 * @param {unknown} v
 * @returns {Uint8Array}
 */
function toBytes(key, v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return utf8Encode(v);
  let json;
  try {
    json = JSON.stringify(v);
  } catch {
    json = undefined;
  }
  if (json === undefined || (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) !== Object.prototype && !Array.isArray(v))) {
    throw new CapabilityError({ tag: 'internal', val: `the value of "${key}" was stored by a JS class as ${Object.prototype.toString.call(v)}, which has no byte form` });
  }
  return utf8Encode(json);
}

/**
 * The object's synchronous key-value storage (objects-sql.js), over its cache and write batches.
 * @typedef {{ get(key: string): unknown, put(key: string, value: unknown): void, delete(key: string): boolean, list(options: object): Iterable<[string, unknown]> }} SyncKv
 * @typedef {{ kv: SyncKv, writes: Map<string, Uint8Array | typeof MISSING>, cleared: boolean }} ObjectEvent
 * @typedef {{ id: { toString(): string }, storage: { kv: SyncKv, deleteAll(): Promise<void> }, abort(reason?: unknown): void }} ObjectState  objects.js's DurableObjectState
 * @typedef {{ method: string, url: string, headers: HeaderList, body: Uint8Array }} WitObjectRequest
 * @typedef {{ status: number, headers: HeaderList, body: { tag: string, val?: Uint8Array } }} WitObjectResponse
 */

/**
 * @param {object} rt
 * @param {string[]} rt.classNames  the classes the worker's manifest declares (all served by its one durable-handler)
 * @param {(id: string, request: WitObjectRequest) => WitObjectResponse} rt.handle  calls the component's export (fuel, traps: component.js)
 */
export function componentObjects(rt) {
  /** The event whose handle runs now: null between events (the incoming-handler has no object storage). @type {ObjectEvent | null} */
  let current = null;

  /** @param {string} what */
  function active(what) {
    if (current === null) throw new CapabilityError({ tag: 'internal', val: `durable-storage.${what}: only a Durable Object's handler (durable-handler.handle) has storage; the incoming-handler reaches objects through their stubs` });
    return current;
  }

  /**
   * @param {ObjectEvent} ev
   * @param {string} key
   * @returns {Uint8Array | typeof MISSING}
   */
  function lookup(ev, key) {
    const w = ev.writes.get(key);
    if (w !== undefined) return w;
    if (ev.cleared) return MISSING;
    const v = ev.kv.get(key);
    return v === undefined ? MISSING : toBytes(key, v);
  }

  /** jco's import object for edge:platform/durable-storage (errors are thrown as CapabilityErrors carrying the WIT error). */
  const storage = {
    /** @param {string} key */
    get(key) {
      const v = lookup(active('get'), key);
      return v === MISSING ? undefined : v.slice();
    },
    /**
     * @param {string} key
     * @param {Uint8Array} value
     */
    put(key, value) {
      const ev = active('put');
      if (storedSize(value.byteLength) > MAX_STORED_VALUE) throw new CapabilityError({ tag: 'value-too-large', val: BigInt(value.byteLength) });
      const keyBytes = utf8Encode(key).byteLength;
      if (keyBytes > MAX_KEY_BYTES) throw new CapabilityError({ tag: 'internal', val: `keys are at most ${MAX_KEY_BYTES} bytes of UTF-8; this one is ${keyBytes}` });
      ev.writes.set(key, value.slice());
    },
    /** @param {string} key */
    delete(key) {
      const ev = active('delete');
      const existed = lookup(ev, key) !== MISSING;
      ev.writes.set(key, MISSING);
      return existed;
    },
    /** @param {{ prefix?: string, start?: string, end?: string, limit?: number, reverse: boolean }} o */
    list(o) {
      const ev = active('list');
      const inRange = (/** @type {string} */ k) =>
        (o.start === undefined || compareKeys(k, o.start) >= 0) && (o.end === undefined || compareKeys(k, o.end) < 0) && (o.prefix === undefined || k.startsWith(o.prefix));
      const mine = [...ev.writes].filter(([k]) => inRange(k));
      /** @type {Map<string, Uint8Array>} */
      const merged = new Map();
      if (!ev.cleared && o.limit !== 0) {
        // This request's deletes may hide some of the host's first `limit` keys: ask for that many more.
        /** @type {Record<string, unknown>} */
        const opts = { reverse: o.reverse === true };
        if (o.start !== undefined) opts.start = o.start;
        if (o.end !== undefined) opts.end = o.end;
        if (o.prefix !== undefined) opts.prefix = o.prefix;
        if (o.limit !== undefined) opts.limit = o.limit + mine.length;
        for (const [k, v] of ev.kv.list(opts)) merged.set(k, toBytes(k, v));
      }
      for (const [k, v] of mine) {
        if (v === MISSING) merged.delete(k);
        else merged.set(k, v);
      }
      const keys = [...merged.keys()].sort(compareKeys);
      if (o.reverse === true) keys.reverse();
      const take = o.limit === undefined ? keys : keys.slice(0, o.limit);
      return take.map((k) => [k, /** @type {Uint8Array} */ (merged.get(k)).slice()]);
    },
    deleteAll() {
      const ev = active('delete-all');
      ev.writes.clear();
      ev.cleared = true;
    },
  };

  /** @param {string} className */
  function classFor(className) {
    class ComponentObject {
      /** @type {ObjectState} */
      #state;
      /** Settles when the event before has been handled: events run in arrival order. */
      #tail = Promise.resolve();

      /** @param {ObjectState} state */
      constructor(state) {
        this.#state = state;
      }

      /** @param {import('./request.js').Request} request */
      fetch(request) {
        const run = this.#tail.then(async () => {
          const body = request.body === null ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
          return this.#handle(request, body);
        });
        this.#tail = run.then(
          () => undefined,
          () => undefined,
        );
        return run;
      }

      /**
       * One event, synchronously from the handler's first instruction to the commit of its writes.
       * @param {import('./request.js').Request} request
       * @param {Uint8Array} body
       */
      #handle(request, body) {
        /** @type {HeaderList} */
        const headers = [];
        for (const pair of request.headers) headers.push(pair);
        const storage = this.#state.storage;
        /** @type {ObjectEvent} */
        const ev = { kv: storage.kv, writes: new Map(), cleared: false };
        current = ev;
        let out;
        try {
          out = rt.handle(this.#state.id.toString(), { method: request.method, url: request.url, headers, body });
        } finally {
          current = null;
        }
        if (out.body.tag === 'streamed') throw new TypeError("a Durable Object's handler must return its response whole (a `streamed` body needs begin-response, which objects do not have)");
        // Into the object's write batch together, with nothing in between: one atomic batch to the host, and the
        // response held until it is durable (objects.js, the output gate).
        // (deleteAll fails only if the host cannot drop a SQLite-backed object's SQL data: the object is reset then.)
        if (ev.cleared) storage.deleteAll().catch((err) => this.#state.abort(err));
        for (const [k, v] of ev.writes) {
          if (v === MISSING) ev.kv.delete(k);
          else ev.kv.put(k, v);
        }
        return new Response(out.body.tag === 'bytes' ? out.body.val : null, { status: out.status, headers: out.headers });
      }
    }
    Object.defineProperty(ComponentObject, 'name', { value: className });
    return ComponentObject;
  }

  /** @type {Record<string, unknown>} */
  const classes = Object.create(null);
  for (const name of rt.classNames) classes[name] = classFor(name);
  return { storage, classes };
}
