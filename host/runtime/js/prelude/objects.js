// Durable Objects in the isolate of the worker that exports their class: one live instance per id, events delivered
// one at a time, and the gates Cloudflare documents.
//
// - Input gate: while an object waits for its storage (a read the host must answer), or runs blockConcurrencyWhile(),
//   no other event is delivered to it; events that arrive meanwhile queue and are delivered one per host round trip
//   (each after the microtasks of the ones before have run), in order.
// - Output gate: a response (or an RPC result) leaves only once every write the object made before it is durable. If
//   a write fails, the object is reset (its instance dropped, its cache cleared) and the held responses fail.
// - Storage: reads are answered from the object's cache when it knows the key (what it wrote, read or listed
//   before), else by the host; writes go into the cache at once and are sent, coalesced (every write made without an
//   intervening await is one atomic batch), to the host, which makes them durable (storage/durable). Values are
//   structured clones.
// Prelude code: no imports of the worker's; the runtime (runtime.js) gives it what it needs.
import { rpcDecode, rpcEncode } from './rpc-codec.js';
import { structuredClone } from './structured-clone.js';
import { Response } from './response.js';
import { sqlStorageFor } from './objects-sql.js';
import { isWebSocket, socketOp, webSockets } from './sockets.js';

/** A stub's RPC call arrives as a fetch to this URL (durable-facade.js). */
export const RPC_URL = 'http://durable-object.rpc/';
/** An alarm arrives as a fetch to this URL from the host's scheduler (durable-alarms.ts); answered 204 when it ran. */
export const ALARM_URL = 'http://durable-object.alarm/';
const MISSING = Symbol('missing');
const MAX_KEYS = 128;
/** Objects idle this long leave the isolate when another object is created (their storage stays). */
const IDLE_MS = 30_000;

function checkKey(key, what = 'key') {
  if (typeof key !== 'string') throw new TypeError(`Durable Object storage ${what}s must be strings, not ${key === null ? 'null' : typeof key}`);
  return key;
}

function checkKeys(keys) {
  if (keys.length > MAX_KEYS) throw new RangeError(`Durable Object storage: at most ${MAX_KEYS} keys per call; got ${keys.length}`);
  return keys.map((k) => checkKey(k));
}

/**
 * @param {object} rt
 * @param {() => Record<string, unknown>} rt.env
 * @param {() => Record<string, unknown>} rt.exports  the worker module's namespace (its exported classes)
 * @param {(op: string, arg: unknown) => Promise<unknown>} rt.hostOp  a host op not tied to any request (writes: their
 *   acknowledgement must arrive even after the request that made them ended)
 * @param {(op: string, arg: unknown) => Promise<unknown>} rt.requestOp  a host op of the request running now (reads:
 *   the code after them runs as part of it)
 * @param {(reqId: number, fn: () => void) => void} rt.later  runs fn in a later entry, attributed to reqId
 */
export function createObjects(rt) {
  /** `<class>/<id>` -> live object */
  const live = new Map();
  /** An object's synchronous storage (objects-sql.js): sql, kv, transactionSync; its kv writes go through write(). */
  const syncStorage = sqlStorageFor({ missing: MISSING, write: (obj, key, value) => write(obj, key, value), remove: (obj, key) => remove(obj, key), checkKey });
  const syncOf = (obj) => (obj.sync ??= syncStorage(obj));

  class DurableObjectStorage {
    #obj;
    constructor(obj) {
      this.#obj = obj;
    }

    /** @param {{ allowConcurrency?: boolean }} [options]  allowConcurrency: other events may be delivered while the host answers */
    get(keyOrKeys, options = undefined) {
      const obj = this.#obj;
      const concurrent = options?.allowConcurrency === true;
      try {
        if (Array.isArray(keyOrKeys)) return read(obj, checkKeys(keyOrKeys), concurrent).then((m) => m);
        const key = checkKey(keyOrKeys);
        return read(obj, [key], concurrent).then((m) => m.get(key));
      } catch (err) {
        return Promise.reject(err);
      }
    }

    put(keyOrEntries, value = undefined, options = undefined) {
      const obj = this.#obj;
      try {
        if (typeof keyOrEntries === 'object' && keyOrEntries !== null) {
          const entries = Object.entries(keyOrEntries);
          if (entries.length > MAX_KEYS) throw new RangeError(`Durable Object storage: at most ${MAX_KEYS} keys per call; got ${entries.length}`);
          const opts = value;
          for (const [k, v] of entries) write(obj, k, v, opts);
        } else {
          const key = checkKey(keyOrEntries);
          if (value === undefined) throw new TypeError('put(): a value is required (use delete() to remove a key)');
          write(obj, key, value, options);
        }
      } catch (err) {
        return Promise.reject(err);
      }
      return Promise.resolve();
    }

    delete(keyOrKeys, options = undefined) {
      const obj = this.#obj;
      const many = Array.isArray(keyOrKeys);
      let keys;
      try {
        keys = many ? checkKeys(keyOrKeys) : [checkKey(keyOrKeys)];
      } catch (err) {
        return Promise.reject(err);
      }
      // Whether each key existed: from what the object knows, else asked first (the input gate holds meanwhile).
      return read(obj, keys).then((found) => {
        for (const k of keys) remove(obj, k, options);
        return many ? found.size : found.has(keys[0]);
      });
    }

    /** @param {Record<string, any>} [options] */
    list(options = {}) {
      const obj = this.#obj;
      if (options === null || typeof options !== 'object') return Promise.reject(new TypeError('list(): options must be an object'));
      for (const k of ['start', 'startAfter', 'end', 'prefix']) if (options[k] !== undefined && typeof options[k] !== 'string') return Promise.reject(new TypeError(`list(): ${k} must be a string`));
      if (options.start !== undefined && options.startAfter !== undefined) return Promise.reject(new TypeError('list(): start and startAfter cannot both be given'));
      if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) return Promise.reject(new TypeError('list(): limit must be a positive integer'));
      // What is buffered goes first, so that the host's answer includes it.
      flush(obj);
      const opts = { start: options.start, startAfter: options.startAfter, end: options.end, prefix: options.prefix, reverse: options.reverse === true, limit: options.limit };
      return gated(obj, rt.requestOp('do.list', { className: obj.className, id: obj.id, options: opts })).then((pairs) => {
        const out = new Map();
        for (const [k, v] of pairs) {
          if (!obj.batch.has(k)) obj.cache.set(k, v);
          out.set(k, structuredClone(v));
        }
        return out;
      });
    }

    deleteAll(options = undefined) {
      const obj = this.#obj;
      try {
        syncOf(obj).deleteAll();
      } catch (err) {
        return Promise.reject(err);
      }
      obj.cache.clear();
      obj.batch.clear();
      obj.deleteAll = true;
      obj.complete = true;
      schedule(obj, options);
      return Promise.resolve();
    }

    /** Runs `closure(txn)`: its writes apply together when it returns, or not at all when it throws (or calls rollback()). */
    async transaction(closure) {
      const obj = this.#obj;
      const overlay = new Map();
      let rolledBack = false;
      const txn = {
        get: async (keyOrKeys) => {
          const keys = Array.isArray(keyOrKeys) ? checkKeys(keyOrKeys) : [checkKey(keyOrKeys)];
          const missing = keys.filter((k) => !overlay.has(k));
          const base = missing.length > 0 ? await read(obj, missing) : new Map();
          const out = new Map();
          for (const k of keys) {
            const v = overlay.has(k) ? overlay.get(k) : base.get(k);
            if (v !== MISSING && v !== undefined) out.set(k, structuredClone(v));
          }
          return Array.isArray(keyOrKeys) ? out : out.get(keys[0]);
        },
        put: async (keyOrEntries, value) => {
          if (typeof keyOrEntries === 'object' && keyOrEntries !== null) for (const [k, v] of Object.entries(keyOrEntries)) overlay.set(k, structuredClone(v));
          else overlay.set(checkKey(keyOrEntries), structuredClone(value));
        },
        delete: async (keyOrKeys) => {
          const keys = Array.isArray(keyOrKeys) ? checkKeys(keyOrKeys) : [checkKey(keyOrKeys)];
          const found = await txn.get(keys);
          for (const k of keys) overlay.set(k, MISSING);
          return Array.isArray(keyOrKeys) ? found.size : found.has(keys[0]);
        },
        list: async (options) => {
          const base = await this.list(options);
          for (const [k, v] of overlay) {
            if (v === MISSING) base.delete(k);
          }
          return base;
        },
        rollback: () => {
          rolledBack = true;
        },
      };
      const result = await closure(txn);
      if (rolledBack) return result;
      for (const [k, v] of overlay) {
        if (v === MISSING) remove(obj, k);
        else write(obj, k, v);
      }
      return result;
    }

    /** Resolves once every write made so far is durable. */
    sync() {
      flush(this.#obj);
      return this.#obj.written;
    }

    /** The time (ms since the epoch) of the object's alarm, or null. */
    getAlarm(options = undefined) {
      const obj = this.#obj;
      if (obj.alarm !== undefined) return Promise.resolve(obj.alarm);
      return gated(obj, rt.requestOp('do.getAlarm', { className: obj.className, id: obj.id })).then((t) => {
        if (obj.alarm === undefined) obj.alarm = /** @type {number | null} */ (t);
        return obj.alarm;
      });
    }

    /** Sets the object's alarm (one per object): its alarm() handler runs at `time` (a Date or ms since the epoch). */
    setAlarm(time, options = undefined) {
      const obj = this.#obj;
      const ms = time instanceof Date ? time.getTime() : time;
      if (typeof ms !== 'number' || !Number.isFinite(ms)) return Promise.reject(new TypeError('setAlarm(): the time must be a Date or a number of milliseconds since the epoch'));
      obj.alarm = Math.max(0, Math.trunc(ms));
      obj.alarmChanged = true;
      schedule(obj, options);
      return Promise.resolve();
    }

    deleteAlarm(options = undefined) {
      const obj = this.#obj;
      obj.alarm = null;
      obj.alarmChanged = true;
      schedule(obj, options);
      return Promise.resolve();
    }

    /** SQLite-backed objects' SQL database (objects-sql.js). */
    get sql() {
      return syncOf(this.#obj).sql;
    }

    /** SQLite-backed objects' synchronous key-value API. */
    get kv() {
      return syncOf(this.#obj).kv;
    }

    transactionSync(closure) {
      return syncOf(this.#obj).transactionSync(closure);
    }
  }
  Object.defineProperty(DurableObjectStorage, 'name', { value: 'DurableObjectStorage' });

  /** The input gate holds while `p` (a storage read the host answers) is pending. */
  function gated(obj, p) {
    obj.reads++;
    const open = () => {
      obj.reads--;
      if (obj.reads === 0) wake(obj);
    };
    return p.then(
      (v) => {
        open();
        return v;
      },
      (err) => {
        open();
        throw err;
      },
    );
  }

  /** The values of `keys` (a Map of those that exist), from the cache or the host. */
  function read(obj, keys, concurrent = false) {
    const out = new Map();
    const unknown = [];
    for (const k of keys) {
      if (obj.cache.has(k)) {
        const v = obj.cache.get(k);
        if (v !== MISSING) out.set(k, structuredClone(v));
      } else if (obj.complete) {
        // The object deleted everything and knows all it wrote since.
      } else unknown.push(k);
    }
    if (unknown.length === 0) return Promise.resolve(out);
    const asked = rt.requestOp('do.get', { className: obj.className, id: obj.id, keys: unknown });
    return (concurrent ? asked : gated(obj, asked)).then((pairs) => {
      const got = new Map(pairs);
      for (const k of unknown) {
        // A write made while the read was out wins over what the host had.
        if (!obj.cache.has(k)) obj.cache.set(k, got.has(k) ? got.get(k) : MISSING);
        const v = obj.cache.get(k);
        if (v !== MISSING) out.set(k, structuredClone(v));
      }
      // In the caller's order.
      return new Map(keys.filter((k) => out.has(k)).map((k) => [k, out.get(k)]));
    });
  }

  function write(obj, key, value, options) {
    checkKey(key);
    const v = structuredClone(value);
    obj.cache.set(key, v);
    obj.batch.set(key, v);
    schedule(obj, options);
  }

  function remove(obj, key, options) {
    obj.cache.set(key, MISSING);
    obj.batch.set(key, MISSING);
    schedule(obj, options);
  }

  /**
   * The batch goes to the host after the code that made it (every write until the next await is one batch). A batch
   * holds responses back (the output gate) unless every write in it was made with allowUnconfirmed.
   */
  function schedule(obj, options) {
    if (!(options && options.allowUnconfirmed === true)) obj.batchConfirmed = true;
    if (obj.flushQueued) return;
    obj.flushQueued = true;
    Promise.resolve().then(() => flush(obj));
  }

  function flush(obj) {
    obj.flushQueued = false;
    if (obj.batch.size === 0 && !obj.deleteAll && !obj.alarmChanged) return;
    const ops = [];
    for (const [k, v] of obj.batch) ops.push(v === MISSING ? [k] : [k, v]);
    /** @type {Record<string, unknown>} */
    const arg = { className: obj.className, id: obj.id, ops };
    if (obj.deleteAll) arg.deleteAll = true;
    if (obj.alarmChanged) arg.alarm = obj.alarm;
    obj.alarmChanged = false;
    obj.batch = new Map();
    obj.deleteAll = false;
    const confirmed = obj.batchConfirmed;
    obj.batchConfirmed = false;
    const p = rt.hostOp('do.write', arg);
    // Every write, for sync(); the confirmed ones, for the output gate.
    obj.written = Promise.all([obj.written, p]).then(() => undefined);
    obj.written.catch(() => {});
    if (confirmed) {
      obj.durable = Promise.all([obj.durable, p]).then(() => undefined);
      obj.durable.catch(() => {});
    }
    p.catch((err) => breakObject(obj, err));
  }

  /** A write failed: the object is reset; its next event gets a new instance over what storage holds. */
  function breakObject(obj, err) {
    if (obj.broken) return;
    obj.broken = err instanceof Error ? err : new Error(String(err));
    if (live.get(obj.key) === obj) live.delete(obj.key);
    for (const e of obj.queue.splice(0)) e.reject(new Error(`Durable Object reset: a storage write failed (${obj.broken.message})`));
  }

  /** The input gate opened: queued events go on, one per entry. */
  function wake(obj) {
    if (obj.queue.length === 0 || obj.pumping || closed(obj)) return;
    obj.pumping = true;
    rt.later(obj.queue[0].reqId, () => {
      obj.pumping = false;
      if (closed(obj) || obj.queue.length === 0) return;
      start(obj, obj.queue.shift());
      wake(obj);
    });
  }

  function closed(obj) {
    return obj.reads > 0 || obj.blocked > 0;
  }

  function makeState(obj) {
    const address = { className: obj.className, id: obj.id };
    // What the object's WebSockets send leaves once its writes made before are durable (the output gate).
    const gate = () => obj.durable;
    /** @type {unknown} */
    let autoResponse = null;
    /** @type {number | null} */
    let eventTimeout = null;
    const id = Object.freeze({
      toString: () => obj.id,
      equals: (other) => other != null && String(other) === obj.id,
      name: undefined,
    });
    const state = {
      id,
      storage: new DurableObjectStorage(obj),
      waitUntil(p) {
        Promise.resolve(p).catch(() => {});
      },
      /** No event is delivered until `fn` settles; if it throws, the object is reset. */
      blockConcurrencyWhile(fn) {
        obj.blocked++;
        let p;
        try {
          p = Promise.resolve(fn());
        } catch (err) {
          p = Promise.reject(err);
        }
        return p.then(
          (v) => {
            obj.blocked--;
            wake(obj);
            return v;
          },
          (err) => {
            obj.blocked--;
            breakObject(obj, err);
            throw err;
          },
        );
      },
      /**
       * Takes a WebSocket (the server end of a pair) as a hibernatable one: its events go to the object's
       * webSocketMessage/webSocketClose handlers, and the object may leave memory while it stays open.
       */
      acceptWebSocket(ws, tags = []) {
        if (!isWebSocket(ws)) throw new TypeError('acceptWebSocket(): the first argument must be a WebSocket (the server end of a WebSocketPair).');
        if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new TypeError('acceptWebSocket(): tags must be an array of strings.');
        webSockets().hibernate(ws, address, tags, gate);
        obj.hibernations++;
      },
      /** The object's hibernatable WebSockets (with `tag`, when given), oldest first. */
      getWebSockets(tag = undefined) {
        if (tag !== undefined && typeof tag !== 'string') throw new TypeError('getWebSockets(): the tag must be a string.');
        const list = /** @type {Array<{ end: number }>} */ (socketOp('ws.list', tag === undefined ? { object: address } : { object: address, tag }, 'getWebSockets()'));
        return list.map((s) => webSockets().hibernated(s.end, gate));
      },
      /** The tags a hibernatable WebSocket was accepted with. */
      getTags(ws) {
        if (!isWebSocket(ws)) throw new TypeError('getTags(): the argument must be a WebSocket.');
        const end = webSockets().endOf(ws);
        const list = /** @type {Array<{ end: number, tags: string[] }>} */ (socketOp('ws.list', { object: address }, 'getTags()'));
        const found = list.find((s) => s.end === end);
        if (found === undefined) throw new TypeError('getTags(): this WebSocket was not accepted with ctx.acceptWebSocket() by this object.');
        return found.tags;
      },
      /**
       * A text message answered by the host without waking the object (a ping, say); null removes it.
       * @param {{ request: string, response: string } | null} [pair]
       */
      setWebSocketAutoResponse(pair = undefined) {
        if (pair === undefined || pair === null) {
          autoResponse = null;
          socketOp('ws.auto', { object: address, pair: null }, 'setWebSocketAutoResponse()');
          return;
        }
        const request = pair.request;
        const response = pair.response;
        if (typeof request !== 'string' || typeof response !== 'string') throw new TypeError('setWebSocketAutoResponse(): pass a WebSocketRequestResponsePair of two strings.');
        socketOp('ws.auto', { object: address, pair: { request, response } }, 'setWebSocketAutoResponse()');
        autoResponse = pair;
      },
      getWebSocketAutoResponse() {
        return autoResponse;
      },
      /** When the host last auto-responded on `ws` (a Date), or null. */
      getWebSocketAutoResponseTimestamp(ws) {
        if (!isWebSocket(ws)) throw new TypeError('getWebSocketAutoResponseTimestamp(): the argument must be a WebSocket.');
        const t = socketOp('ws.auto', { object: address, end: webSockets().endOf(ws) }, 'getWebSocketAutoResponseTimestamp()');
        return typeof t === 'number' ? new Date(t) : null;
      },
      setHibernatableWebSocketEventTimeout(ms = undefined) {
        if (ms !== undefined && !(Number.isInteger(ms) && ms >= 0)) throw new TypeError('setHibernatableWebSocketEventTimeout(): the timeout must be a number of milliseconds.');
        eventTimeout = ms ?? null;
      },
      getHibernatableWebSocketEventTimeout() {
        return eventTimeout;
      },
      abort(reason) {
        breakObject(obj, reason ?? new Error('aborted'));
      },
    };
    Object.defineProperty(state, Symbol.toStringTag, { value: 'DurableObjectState' });
    return state;
  }

  function objectFor(address) {
    const key = `${address.className}/${address.id}`;
    let obj = live.get(key);
    if (obj) return obj;
    sweep();
    const Class = /** @type {new (state: object, env: object) => Record<string, any>} */ (rt.exports()[address.className]);
    if (typeof Class !== 'function') throw new TypeError(`The Durable Object class "${address.className}" is not exported by this worker's main module.`);
    obj = {
      key,
      className: address.className,
      id: address.id,
      instance: null,
      queue: [],
      reads: 0,
      blocked: 0,
      running: 0,
      pumping: false,
      cache: new Map(),
      batch: new Map(),
      deleteAll: false,
      complete: false,
      flushQueued: false,
      batchConfirmed: false,
      /** The alarm as the object last set or read it (undefined: not known here). */
      alarm: /** @type {number | null | undefined} */ (undefined),
      alarmChanged: false,
      durable: Promise.resolve(),
      written: Promise.resolve(),
      broken: null,
      lastUsed: Date.now(),
      /** WebSockets it accepted for hibernation (ctx.acceptWebSocket). */
      hibernations: 0,
      /** It answered with a WebSocket it did not hibernate (accept()): it stays in memory while that may be open. */
      pinned: false,
    };
    live.set(key, obj);
    const state = makeState(obj);
    try {
      obj.instance = new Class(state, rt.env());
    } catch (err) {
      live.delete(key);
      throw err;
    }
    return obj;
  }

  function sweep() {
    const now = Date.now();
    for (const [key, o] of live) {
      if (!o.pinned && o.running === 0 && o.queue.length === 0 && o.reads === 0 && o.blocked === 0 && o.batch.size === 0 && now - o.lastUsed > IDLE_MS) live.delete(key);
    }
  }

  /** Runs one event: the handler, then the output gate. */
  function start(obj, ev) {
    obj.running++;
    obj.lastUsed = Date.now();
    let result;
    try {
      result = Promise.resolve(ev.run(obj.instance));
    } catch (err) {
      result = Promise.reject(err);
    }
    result
      .then(
        (value) => {
          // The output gate: what the event did is durable before its answer leaves.
          flush(obj);
          return obj.durable.then(() => {
            if (obj.broken) throw obj.broken;
            return value;
          });
        },
        (err) => {
          flush(obj);
          return obj.durable.then(() => {
            throw err;
          });
        },
      )
      .then(ev.resolve, ev.reject)
      .finally(() => {
        obj.running--;
        obj.lastUsed = Date.now();
      });
  }

  /** An event for `obj`: run now if its input gate is open and nothing waits before it, else queued. */
  function enqueue(obj, ev) {
    if (obj.queue.length === 0 && !closed(obj)) start(obj, ev);
    else {
      obj.queue.push(ev);
      wake(obj);
    }
  }

  async function rpc(instance, request) {
    let call;
    try {
      call = JSON.parse(await request.text());
    } catch {
      throw new TypeError('RPC: a malformed call');
    }
    const method = call.method;
    try {
      const fn = typeof method === 'string' && method !== 'constructor' && method !== 'fetch' ? instance[method] : undefined;
      if (typeof fn !== 'function') throw new TypeError(`The RPC receiver does not implement the method "${String(method)}".`);
      const value = await fn.apply(instance, call.args.map(rpcDecode));
      return { value: rpcEncode(value) };
    } catch (/** @type {any} */ err) {
      return { error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) } };
    }
  }

  return {
    /**
     * An event for the object at `address` (a stub's fetch or RPC call): delivered when the object's input gate is
     * open, answered once its output gate is.
     * @param {{ className: string, id: string }} address
     * @param {import('./request.js').Request} request
     * @param {number} reqId
     * @returns {Promise<Response>}
     */
    dispatch(address, request, reqId) {
      let obj;
      try {
        obj = objectFor(address);
      } catch (err) {
        return Promise.reject(err);
      }
      const isRpc = request.url === RPC_URL && request.headers.get('x-edge-rpc') === '1';
      const alarm = request.url === ALARM_URL ? request.headers.get('x-edge-alarm') : null;
      return new Promise((resolve, reject) => {
        const ev = {
          reqId,
          resolve,
          reject,
          run: async (instance) => {
            if (isRpc) return Response.json(await rpc(instance, request));
            if (alarm !== null) {
              if (typeof instance.alarm !== 'function') throw new TypeError(`The Durable Object class "${obj.className}" has no alarm() method, but an alarm was set.`);
              // The alarm is spent when its handler starts (it may set the next one).
              if (obj.alarm !== undefined) obj.alarm = null;
              await instance.alarm(JSON.parse(alarm));
              return new Response(null, { status: 204 });
            }
            if (typeof instance.fetch !== 'function') throw new TypeError(`The Durable Object class "${obj.className}" has no fetch() method.`);
            const before = obj.hibernations;
            const res = await instance.fetch(request);
            // A WebSocket answered without hibernating one: the object must stay while its accept()ed end is open.
            if (res !== null && typeof res === 'object' && res.status === 101 && obj.hibernations === before) obj.pinned = true;
            return res;
          },
        };
        enqueue(obj, ev);
      });
    },

    /**
     * An event of a hibernatable WebSocket of the object at `address` (started again if it left memory): its
     * webSocketMessage or webSocketClose handler runs, through the gates like any other event.
     * @param {{ className: string, id: string }} address
     * @param {number} end
     * @param {import('../../../core/isolate-protocol.ts').SocketEvent} event
     * @param {number} reqId
     * @param {unknown} attachment  the end's attachment as the host has it
     * @returns {Promise<unknown>}
     */
    socketEvent(address, end, event, reqId, attachment) {
      let obj;
      try {
        obj = objectFor(address);
      } catch (err) {
        return Promise.reject(err);
      }
      const o = obj;
      const ws = webSockets().hibernated(end, () => o.durable, attachment);
      return new Promise((resolve, reject) => {
        enqueue(o, {
          reqId,
          resolve,
          reject,
          run: async (instance) => {
            const ev = /** @type {any} */ (webSockets().eventOf(ws, event));
            if (event.t === 'message') {
              if (typeof instance.webSocketMessage !== 'function') throw new TypeError(`The Durable Object class "${o.className}" accepted a WebSocket with ctx.acceptWebSocket() but has no webSocketMessage() method.`);
              await instance.webSocketMessage(ws, ev.data);
            } else if (typeof instance.webSocketClose === 'function') {
              await instance.webSocketClose(ws, event.code, event.reason, event.wasClean);
            }
          },
        });
      });
    },
  };
}
