// The entry trampoline between host and guest. Every execution in the isolate starts here, from a host
// `apply` that carries the CPU timeout of the request it belongs to: a fetch dispatch, a request-body
// chunk, a timer firing, a pull on a streamed response body. Async host work (timers, body reads) is
// requested fire-and-forget through `call`, and its answer arrives as a later entry.
import { bridge } from './internal/bridge.js';
import { createIncomingRequest } from './request.js';
import { chunkBytes, readAllBytes, takeBody } from './body.js';
import { createFetchResponse, getResponseHead, isResponse } from './response.js';
import { wasmMemoryExceeded } from './wasm-memory.js';
import { FUEL_USED, STREAMED } from './component.js';
import { setAsyncCaller } from './internal/async.js';
import { DOMException } from './dom-exception.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
const YIELD_TURNS = 16;
const DEFERRED = Symbol('deferred');
const noop = () => {};

function yieldTurns() {
  let p = Promise.resolve();
  for (let i = 0; i < YIELD_TURNS; i++) p = p.then(noop);
  return p;
}

export function createRuntime(options) {
  let worker = null;
  let env = {};
  /** reqId of the entry running now: timers and waitUntil work are attributed to it. */
  let current = 0;
  /** reqId -> per-request state */
  const requests = new Map();
  /** timer id -> { cb, args, reqId, interval } */
  const timers = new Map();
  /** response stream id -> reader */
  const streams = new Map();
  let nextTimerId = 1;
  let nextStreamId = 1;

  /**
   * An entry must end with its task so that the host can attribute CPU to it. A result that settles within
   * a few microtask turns returns directly; a later one is sent with `call(reqId, op, value)` instead.
   */
  function settleOrDefer(reqId, promise, op, extra) {
    let settled = false;
    let value;
    const tracked = promise.then((v) => {
      settled = true;
      value = v;
      return v;
    });
    return Promise.race([tracked, yieldTurns().then(() => (settled ? value : DEFERRED))]).then((v) => {
      if (v !== DEFERRED) return v;
      tracked.then((late) => hostCall(reqId, op, extra ? Object.assign(extra, late) : late));
      return { deferred: true };
    });
  }

  /**
   * Calls made while an entry is running (and in the microtask turns that follow it) travel back with the
   * entry's result instead of each crossing to the host on its own: one hand-off instead of several.
   */
  let outbox = null;

  function hostCall(reqId, op, arg) {
    if (outbox !== null) outbox.push(reqId, op, arg);
    else bridge.call.applyIgnored(undefined, [reqId, op, arg], { arguments: { copy: true } });
  }

  function flush(box) {
    for (let i = 0; i < box.length; i += 3) bridge.call.applyIgnored(undefined, [box[i], box[i + 1], box[i + 2]], { arguments: { copy: true } });
  }

  function describeError(err) {
    try {
      if (err instanceof Error) {
        return { name: String(err.name), message: String(err.message), stack: String(err.stack ?? `${err.name}: ${err.message}`) };
      }
      return { name: 'Error', message: `Uncaught ${typeof err === 'string' ? err : safeString(err)}`, stack: '' };
    } catch {
      return { name: 'Error', message: 'Uncaught exception (could not be described)', stack: '' };
    }
  }

  function safeString(v) {
    try {
      return String(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }

  function reportException(reqId, err) {
    hostCall(reqId, 'exception', describeError(err));
  }

  function checkMemory() {
    if (wasmMemoryExceeded()) {
      const e = new RangeError('WebAssembly memory exceeds the worker memory limit');
      e.edgeLimit = 'E_MEMORY_LIMIT';
      throw e;
    }
  }

  // Timers: scheduled by the host, fired as entries attributed to the request that created them.
  function setTimer(cb, ms, args, interval) {
    if (typeof cb !== 'function') throw new TypeError('The "callback" argument must be a function (string callbacks are not supported).');
    const id = nextTimerId++;
    let delay = Number(ms);
    if (!(delay >= 0)) delay = 0;
    if (delay > MAX_TIMER_MS) delay = MAX_TIMER_MS;
    timers.set(id, { cb, args, reqId: current, interval });
    const st = requests.get(current);
    if (st) st.timers.add(id);
    hostCall(current, 'timer.set', [id, delay, interval]);
    return id;
  }
  function clearTimer(id) {
    const t = timers.get(id);
    if (!t) return;
    timers.delete(id);
    requests.get(t.reqId)?.timers.delete(id);
    hostCall(t.reqId, 'timer.clear', id);
  }
  const timerGlobals = {
    setTimeout: (cb, ms, ...args) => setTimer(cb, ms, args, false),
    setInterval: (cb, ms, ...args) => setTimer(cb, ms, args, true),
    clearTimeout: (id) => clearTimer(id),
    clearInterval: (id) => clearTimer(id),
  };
  // Outbound fetch: performed by the host (another worker in-process, or the network under the host's
  // egress policy), counted against the request's subrequest limit. Bodies are buffered both ways for now.
  const MAX_SUBREQUEST_BODY = 32 * 1024 * 1024;
  const fetches = new Map();
  let nextFetchId = 1;
  timerGlobals.fetch = async function fetch(input, init) {
    const reqId = current;
    const request = new Request(input, init);
    const taken = takeBody(request);
    const body = taken === null || taken instanceof Uint8Array ? taken : await readAllBytes(taken);
    if (body !== null && body.byteLength > MAX_SUBREQUEST_BODY) {
      throw new TypeError(`fetch(): request bodies over ${MAX_SUBREQUEST_BODY} bytes are not supported yet.`);
    }
    const headers = [];
    for (const pair of request.headers) headers.push(pair);
    const id = nextFetchId++;
    const reply = await new Promise((resolve, reject) => {
      fetches.set(id, { resolve, reject });
      hostCall(reqId, 'fetch', { id, method: request.method, url: request.url, headers, body, redirect: request.redirect });
    });
    if (reply.error) throw new TypeError(reply.error);
    const bytes = reply.body;
    const stream =
      bytes && bytes.byteLength > 0
        ? new ReadableStream({
            type: 'bytes',
            start(c) {
              c.enqueue(bytes);
              c.close();
            },
          })
        : null;
    return createFetchResponse({ status: reply.status, statusText: reply.statusText, headers: reply.headers, body: stream, url: request.url });
  };
  // Asynchronous host operations (internal/async.js): answered by a 'settled' entry.
  const pendingOps = new Map();
  let nextOpId = 1;
  setAsyncCaller((op, arg) => {
    const reqId = current;
    const id = nextOpId++;
    return new Promise((resolve, reject) => {
      pendingOps.set(id, { resolve, reject, reqId });
      hostCall(reqId, 'op', { id, op, arg });
    });
  });
  function opError(e) {
    const message = String(e?.message ?? 'host operation failed');
    switch (e?.name) {
      case 'TypeError':
        return new TypeError(message);
      case 'RangeError':
        return new RangeError(message);
      case 'Error':
      case undefined:
        return new Error(message);
      default:
        return new DOMException(message, String(e.name));
    }
  }
  /**
   * Forgets a request the host will send no 'end' entry for. Its host ops still pending (started, never awaited by
   * the response) will not be answered, as the host drops the answers of ended requests: their entries go too.
   */
  function releaseRequest(reqId) {
    requests.delete(reqId);
    for (const [id, p] of pendingOps) if (p.reqId === reqId) pendingOps.delete(id);
  }

  function settleOp(cmd) {
    const p = pendingOps.get(cmd.id);
    if (!p) return;
    pendingOps.delete(cmd.id);
    if (cmd.e !== undefined) p.reject(opError(cmd.e));
    else p.resolve(cmd.v);
  }

  function deliverFetch(cmd) {
    const f = fetches.get(cmd.id);
    if (!f) return;
    fetches.delete(cmd.id);
    f.resolve(cmd);
  }

  for (const [name, fn] of Object.entries(timerGlobals)) {
    Object.defineProperty(fn, 'name', { value: name });
    Object.defineProperty(globalThis, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }

  function requestBodyStream(state) {
    return new ReadableStream({
      type: 'bytes',
      pull(controller) {
        return new Promise((resolve, reject) => {
          state.pull = { controller, resolve, reject };
          hostCall(state.reqId, 'body.read', null);
        });
      },
      cancel() {
        hostCall(state.reqId, 'body.cancel', null);
      },
    });
  }

  function toHostResponse(state, res) {
    if (res !== null && typeof res === 'object' && res[STREAMED] === true) {
      // A component wrote its body through begin-response while it ran: the host has it already.
      checkMemory();
      requests.delete(state.reqId);
      const out = { ok: true, streamed: true, status: 0, statusText: '', headers: [], body: null, released: true };
      if (typeof res[FUEL_USED] === 'number') out.fuel = res[FUEL_USED];
      return out;
    }
    if (!isResponse(res)) {
      throw new TypeError(`The fetch handler must return a Response (or a Promise of one), but it returned ${res === null ? 'null' : typeof res === 'object' ? Object.prototype.toString.call(res) : typeof res}.`);
    }
    checkMemory();
    const head = getResponseHead(res);
    const body = takeBody(res);
    let out;
    if (body === null || body instanceof Uint8Array) {
      out = { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body };
      if (typeof res[FUEL_USED] === 'number') out.fuel = res[FUEL_USED];
    } else {
      const id = nextStreamId++;
      streams.set(id, { reader: body.getReader(), reqId: state.reqId });
      out = { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body: null, stream: id };
    }
    if (state.waitUntil.length > 0) {
      out.waitUntil = true;
      Promise.allSettled(state.waitUntil).then(() => {
        // Nothing else of the request left in the isolate: drop it here, so the host sends no 'end' entry.
        const released = out.stream === undefined && state.timers.size === 0 && state.pull === null;
        if (released) releaseRequest(state.reqId);
        hostCall(state.reqId, 'waitUntil.done', released);
      });
    } else if (out.stream === undefined && state.timers.size === 0 && state.pull === null) {
      // Nothing of this request is left in the isolate: the host need not send an 'end' entry.
      releaseRequest(state.reqId);
      out.released = true;
    }
    return out;
  }

  function failure(err) {
    const d = describeError(err);
    if (err && typeof err === 'object' && typeof err.edgeLimit === 'string') d.limit = err.edgeLimit;
    // A refused WebAssembly allocation that the guest did not handle ends the request as a memory breach.
    else if (err instanceof RangeError && d.message.startsWith('WebAssembly memory limit exceeded')) d.limit = 'E_MEMORY_LIMIT';
    return { ok: false, error: d };
  }

  function dispatchFetch(cmd) {
    if (!worker) {
      // Left by the host's bootstrap module, which checked it has fetch().
      worker = globalThis.__edgeWorker;
      env = globalThis.__edgeEnv;
      delete globalThis.__edgeWorker;
      delete globalThis.__edgeEnv;
    }
    const state = { reqId: cmd.reqId, timers: new Set(), waitUntil: [], pull: null };
    requests.set(cmd.reqId, state);
    const ctx = {
      waitUntil(p) {
        state.waitUntil.push(Promise.resolve(p).catch((err) => reportException(state.reqId, err)));
      },
      passThroughOnException() {},
    };
    // For the component adapter (component.js), whose imports talk to the host about this request.
    Object.defineProperty(ctx, '__edgeReqId', { value: cmd.reqId, enumerable: false });
    let result;
    try {
      const request = createIncomingRequest({
        method: cmd.method,
        url: cmd.url,
        headers: cmd.headers,
        body: cmd.hasBody ? requestBodyStream(state) : null,
        cf: cmd.cf,
      });
      result = worker.fetch(request, env, ctx);
      if (result === null || typeof result !== 'object' || typeof result.then !== 'function') {
        return toHostResponse(state, result);
      }
    } catch (err) {
      return failure(err);
    }
    const response = Promise.resolve(result).then(
      (res) => {
        try {
          return toHostResponse(state, res);
        } catch (err) {
          return failure(err);
        }
      },
      failure,
    );
    return settleOrDefer(state.reqId, response, 'response');
  }

  function deliverChunk(cmd) {
    const state = requests.get(cmd.reqId);
    const p = state?.pull;
    if (!p) return;
    state.pull = null;
    try {
      if (cmd.error) {
        p.controller.error(new TypeError(cmd.error));
      } else if (cmd.done) {
        p.controller.close();
        // A byob request left pending must be answered after close.
        p.controller.byobRequest?.respond(0);
      } else {
        p.controller.enqueue(cmd.chunk);
      }
      p.resolve();
    } catch (err) {
      p.reject(err);
    }
  }

  function fireTimer(cmd) {
    const t = timers.get(cmd.id);
    if (!t) return;
    if (!t.interval) {
      timers.delete(cmd.id);
      requests.get(t.reqId)?.timers.delete(cmd.id);
    }
    try {
      t.cb(...t.args);
    } catch (err) {
      reportException(t.reqId, err);
    }
  }

  async function readStream(cmd) {
    const s = streams.get(cmd.id);
    if (!s) return { done: true };
    try {
      const { value, done } = await s.reader.read();
      if (done) {
        streams.delete(cmd.id);
        return { done: true };
      }
      const chunk = chunkBytes(value);
      if (chunk === null) {
        throw new TypeError(`A response body stream must produce Uint8Array (or ArrayBuffer/ArrayBufferView) chunks, but it produced ${typeof value === 'string' ? 'a string (encode it with TextEncoder or pipe through TextEncoderStream)' : Object.prototype.toString.call(value)}.`);
      }
      checkMemory();
      return { done: false, chunk };
    } catch (err) {
      streams.delete(cmd.id);
      return { done: true, error: describeError(err) };
    }
  }

  function endRequest(cmd) {
    const state = requests.get(cmd.reqId);
    if (!state) return;
    requests.delete(cmd.reqId);
    for (const id of state.timers) timers.delete(id);
    for (const [id, s] of streams) {
      if (s.reqId === cmd.reqId) {
        streams.delete(id);
        s.reader.cancel().catch(() => {});
      }
    }
    if (state.pull) state.pull.reject(new TypeError('The request has ended.'));
    for (const [id, p] of pendingOps) {
      if (p.reqId === cmd.reqId) {
        pendingOps.delete(id);
        p.reject(new TypeError('The request has ended.'));
      }
    }
  }

  /** The one function the host enters the isolate through. */
  /** Entries that resolve guest promises: their continuations run in the microtasks right after them. */
  const RESUMING = { timer: true, chunk: true, fetched: true, settled: true };

  return function entry(cmd) {
    current = cmd.reqId ?? 0;
    const box = [];
    outbox = box;
    let result;
    try {
      result = run(cmd);
      // wasm `memory.grow` is bounded per memory only; the total is checked as every entry ends.
      if (wasmMemoryExceeded()) throw new Error('__EDGE_LIMIT__:E_MEMORY_LIMIT');
    } catch (err) {
      outbox = null;
      flush(box);
      throw err;
    }
    const done = (r) => {
      if (outbox === box) outbox = null;
      return { r, o: box };
    };
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') return result.then(done);
    if (RESUMING[cmd.t] === true) return yieldTurns().then(() => done(result));
    return done(result);
  };

  function run(cmd) {
    switch (cmd.t) {
      case 'fetch':
        return dispatchFetch(cmd);
      case 'chunk':
        return deliverChunk(cmd);
      case 'timer':
        return fireTimer(cmd);
      case 'fetched':
        return deliverFetch(cmd);
      case 'settled':
        return settleOp(cmd);
      case 'pull':
        return settleOrDefer(cmd.reqId, readStream(cmd), 'pulled', { id: cmd.id });
      case 'cancel': {
        const s = streams.get(cmd.id);
        streams.delete(cmd.id);
        s?.reader.cancel().catch(() => {});
        return undefined;
      }
      case 'end':
        return endRequest(cmd);
      case 'memory':
        return wasmMemoryExceeded();
      default:
        throw new TypeError(`unknown entry ${cmd.t}`);
    }
  }
}
