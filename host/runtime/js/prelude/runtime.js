// The entry trampoline between host and guest. Every execution in the isolate starts here, from a host
// `apply` that carries the CPU timeout of the request it belongs to: a fetch dispatch, a request-body
// chunk, a timer firing, a pull on a streamed response body. Async host work (timers, body reads) is
// requested fire-and-forget through `call`, and its answer arrives as a later entry.
import { connectedBridge, setSyncEntry } from './internal/bridge.js';
import { unitsToString } from './encoding.js';
import { createIncomingRequest, Request } from './request.js';
import { chunkBytes, takeBody } from './body.js';
import { isDisturbed } from './streams.js';
import { setServiceTransport } from './fetcher.js';
import { createFetchResponse, getResponseHead, isResponse } from './response.js';
import { wasmMemoryExceeded } from './wasm-memory.js';
import { FUEL_USED, STREAMED } from './component.js';
import { hostAsync, setAsyncCaller } from './internal/async.js';
import { DOMException } from './dom-exception.js';
import { createScheduledController } from './scheduled.js';
import { NO_RESPONSE } from './service-worker.js';
import { createObjects } from './objects.js';
import { setSocketCall, socketRequestEnded, webSockets } from './sockets.js';
import { captureFrame, runInFrame, setFrameSlot } from './async-context.js';
import { claimHostStream, markHostStream } from './host-streams.js';
/**
 * @import {
 *   ChunkCommand, Deferred, EdgeInitOptions, EndCommand, EntryCommand, EntryEnvelope, EntryFailure, EntryFunction,
 *   FetchChunkCommand, FetchCommand, FetchedCommand, FetchReply, FetchRequest, GuestCallOp, GuestCalls,
 *   GuestErrorDescription, PullCommand, PullResult, ResponseResult, ScheduledCommand, ScheduledEntryResult,
 *   SettledCommand, TimerCommand, HostOpFailure, HostOpOutcome, SocketCommand, SocketEntryResult, SyncOutcome,
 *   SyncCommand, TakeCommand, AwaitCommand, HeaderList, FlatResponse,
 * } from '../../../core/isolate-protocol.ts'
 */
/** @import { ReadableByteStreamController, ReadableStreamDefaultReader } from 'web-streams-polyfill' */
/** @import { AbortSignal } from './events.js' */
/** @import { RequestInit } from './request.js' */

/**
 * A pull of a byte stream waiting for the host: the stream's controller and the pull's promise.
 * @typedef {{ controller: ReadableByteStreamController, resolve: (value?: undefined) => void, reject: (reason: unknown) => void }} PendingPull
 */
/**
 * What the runtime keeps of a request while any of it is alive in the isolate.
 * @typedef {object} RequestState
 * @property {number} reqId
 * @property {Set<number>} timers  its timers' ids
 * @property {Promise<unknown>[]} waitUntil  ctx.waitUntil() work, each already caught
 * @property {PendingPull | null} pull  a pull of its incoming body waiting for a 'chunk' entry
 * @property {boolean} passThrough  ctx.passThroughOnException() was called
 * @property {Map<object, unknown>} [asyncFrame]  its AsyncLocalStorage context (async-context.js)
 */
/** @typedef {{ cb: (...args: unknown[]) => unknown, args: unknown[], reqId: number, interval: boolean, frame: Map<object, unknown> }} TimerRecord */
/** `next`: a read begun by the previous pull (readStream), its result this pull's; `batch`: pulled before (readStream batches). @typedef {{ reader: ReadableStreamDefaultReader<unknown>, reqId: number, next?: Promise<{ done: boolean, value?: unknown }> | null, batch?: boolean }} StreamRecord */
/**
 * A guest fetch, while its response head or a read of its body is awaited.
 * @typedef {object} FetchRecord
 * @property {number} id
 * @property {number} reqId
 * @property {AbortSignal | null} signal
 * @property {(() => void) | null} onAbort
 * @property {{ resolve: (reply: FetchReply) => void, reject: (reason: unknown) => void } | null} head
 * @property {PendingPull | null} read
 * @property {ReadableByteStreamController | null} controller  of its response body stream
 * @property {boolean} finished
 */
/** @typedef {{ resolve: (value: unknown) => void, reject: (reason: unknown) => void, reqId: number }} PendingOp */
/** An error the runtime tags with the limit it breached, for the host (EntryFailure `error.limit`). @typedef {Error & { edgeLimit?: string }} LimitError */

const MAX_TIMER_MS = 2 ** 31 - 1;
/** The first argument of a synchronous fetch entry made of primitives (isolate-protocol.ts, SYNC_FETCH). */
const SYNC_FETCH = 1;
/** A synchronous entry's `take` as a primitive (isolate-protocol.ts, SYNC_TAKE). */
const SYNC_TAKE = 2;
/** The first element of a FlatResponse (isolate-protocol.ts, SYNC_FLAT). */
const SYNC_FLAT = 3;
/** A plain response whose body is at most this long comes back as FlatResponseText (isolate-protocol.ts). */
const FLAT_TEXT_MAX = 16384;
/** Bytes a pull of a response body takes out of the isolate in one entry at most (readStream). */
const PULL_BATCH_BYTES = 1024 * 1024;

/**
 * A response body stream's chunk as bytes, or the TypeError for one that is not.
 * @param {unknown} value
 */
function streamChunk(value) {
  const chunk = chunkBytes(value);
  if (chunk === null) {
    throw new TypeError(`A response body stream must produce Uint8Array (or ArrayBuffer/ArrayBufferView) chunks, but it produced ${typeof value === 'string' ? 'a string (encode it with TextEncoder or pipe through TextEncoderStream)' : Object.prototype.toString.call(value)}.`);
  }
  return chunk;
}
const YIELD_TURNS = 16;
const DEFERRED = Symbol('deferred');
const noop = () => {};

/**
 * Answers a pending pull of a byte stream (`{ controller, resolve, reject }`) with what the host sent: a chunk, the
 * end or an error. `onEnd` runs before the stream is closed or errored.
 * @param {PendingPull} p
 * @param {ChunkCommand | FetchChunkCommand} cmd
 * @param {(() => void) | null} onEnd
 */
function settlePull(p, cmd, onEnd) {
  try {
    if (cmd.error) {
      onEnd?.();
      p.controller.error(new TypeError(cmd.error));
    } else if (cmd.done) {
      onEnd?.();
      p.controller.close();
      // A byob request left pending must be answered after close.
      p.controller.byobRequest?.respond(0);
    } else {
      // Neither an error nor the end: a chunk.
      p.controller.enqueue(/** @type {Uint8Array} */ (cmd.chunk));
    }
    p.resolve();
  } catch (err) {
    p.reject(err);
  }
}

function yieldTurns() {
  let p = Promise.resolve();
  for (let i = 0; i < YIELD_TURNS; i++) p = p.then(noop);
  return p;
}

/**
 * @param {EdgeInitOptions} options  __edgeInit's (nothing in them concerns the runtime yet)
 * @returns {EntryFunction}
 */
export function createRuntime(options) {
  /** @type {GuestWorker | null} */
  let worker = null;
  /** @type {Record<string, unknown>} */
  let env = {};
  /** reqId of the entry running now: timers and waitUntil work are attributed to it. */
  let current = 0;
  /** reqId -> per-request state @type {Map<number, RequestState>} */
  const requests = new Map();
  /** timer id -> { cb, args, reqId, interval } @type {Map<number, TimerRecord>} */
  const timers = new Map();
  /** response stream id -> reader @type {Map<number, StreamRecord>} */
  const streams = new Map();
  let nextTimerId = 1;
  let nextStreamId = 1;
  // AsyncLocalStorage keeps its context per request: the one whose entry runs now.
  setFrameSlot(() => requests.get(current));
  // A WebSocket's sends and closes are not tied to the request that accepted it (it outlives it).
  setSocketCall((op, arg) => hostCall(0, op, /** @type {any} */ (arg)), () => current);

  /**
   * An entry must end with its task so that the host can attribute CPU to it. A result that settles within
   * a few microtask turns returns directly; a later one is sent with `call(reqId, op, value)` instead.
   * @template T
   * @param {number} reqId
   * @param {Promise<T>} promise
   * @param {'response' | 'pulled'} op
   * @param {{ id: number }} [extra]  sent along with a late value
   * @returns {Promise<T | Deferred>}
   */
  function settleOrDefer(reqId, promise, op, extra) {
    let settled = false;
    /** @type {T | undefined} */
    let value;
    const tracked = promise.then((v) => {
      settled = true;
      value = v;
      return v;
    });
    return Promise.race([tracked, yieldTurns().then(() => (settled ? value : DEFERRED))]).then((v) => {
      if (v !== DEFERRED) return /** @type {T} */ (v);
      // `T` is the op's argument (EntryResult for 'response', PullResult for 'pulled', completed by `extra`).
      tracked.then((late) => hostCall(reqId, op, /** @type {GuestCalls['response' | 'pulled']} */ (extra ? Object.assign(extra, late) : late)));
      return /** @type {Deferred} */ ({ deferred: true });
    });
  }

  /**
   * Calls made while an entry is running (and in the microtask turns that follow it) travel back with the
   * entry's result instead of each crossing to the host on its own: one hand-off instead of several.
   */
  /** @type {unknown[] | null} */
  let outbox = null;

  /**
   * @template {GuestCallOp} K
   * @param {number} reqId
   * @param {K} op
   * @param {GuestCalls[K]} arg
   */
  function hostCall(reqId, op, arg) {
    if (outbox !== null) outbox.push(reqId, op, arg);
    else connectedBridge().call.applyIgnored(undefined, [reqId, op, arg], { arguments: { copy: true } });
  }

  /** @param {unknown[]} box  flattened (reqId, op, arg) triples, as hostCall pushed them */
  function flush(box) {
    const call = connectedBridge().call;
    for (let i = 0; i < box.length; i += 3) {
      call.applyIgnored(undefined, [/** @type {number} */ (box[i]), /** @type {GuestCallOp} */ (box[i + 1]), /** @type {GuestCalls[GuestCallOp]} */ (box[i + 2])], { arguments: { copy: true } });
    }
  }

  /**
   * @param {unknown} err
   * @returns {GuestErrorDescription}
   */
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

  /** @param {unknown} v */
  function safeString(v) {
    try {
      return String(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }

  /**
   * @param {number} reqId
   * @param {unknown} err
   */
  function reportException(reqId, err) {
    hostCall(reqId, 'exception', describeError(err));
  }

  function checkMemory() {
    if (wasmMemoryExceeded()) {
      const e = /** @type {LimitError} */ (new RangeError('WebAssembly memory exceeds the worker memory limit'));
      e.edgeLimit = 'E_MEMORY_LIMIT';
      throw e;
    }
  }

  // Timers: scheduled by the host, fired as entries attributed to the request that created them.
  /**
   * @param {unknown} cb
   * @param {unknown} ms
   * @param {unknown[]} args
   * @param {boolean} interval
   */
  function setTimer(cb, ms, args, interval) {
    if (typeof cb !== 'function') throw new TypeError('The "callback" argument must be a function (string callbacks are not supported).');
    const id = nextTimerId++;
    let delay = Number(ms);
    if (!(delay >= 0)) delay = 0;
    if (delay > MAX_TIMER_MS) delay = MAX_TIMER_MS;
    timers.set(id, { cb: /** @type {TimerRecord['cb']} */ (cb), args, reqId: current, interval, frame: captureFrame() });
    const st = requests.get(current);
    if (st) st.timers.add(id);
    hostCall(current, 'timer.set', [id, delay, interval]);
    return id;
  }
  /** @param {unknown} id */
  function clearTimer(id) {
    const t = timers.get(/** @type {number} */ (id));
    if (!t) return;
    // Only a number can be a key of `timers`.
    const n = /** @type {number} */ (id);
    timers.delete(n);
    requests.get(t.reqId)?.timers.delete(n);
    hostCall(t.reqId, 'timer.clear', n);
  }
  /** The globals this file installs, by name (fetch joins them below). @type {Record<string, Function>} */
  const timerGlobals = {
    setTimeout: (/** @type {unknown} */ cb, /** @type {unknown} */ ms, /** @type {unknown[]} */ ...args) => setTimer(cb, ms, args, false),
    setInterval: (/** @type {unknown} */ cb, /** @type {unknown} */ ms, /** @type {unknown[]} */ ...args) => setTimer(cb, ms, args, true),
    clearTimeout: (/** @type {unknown} */ id) => clearTimer(id),
    clearInterval: (/** @type {unknown} */ id) => clearTimer(id),
  };
  // Outbound fetch: performed by the host (another worker in-process, a service binding, or the network under the
  // host's egress policy), counted against the request's subrequest limit. A streamed request body goes out as the
  // host pulls it ('pull' entries, as a response body does; the client's own body passed straight through is sent by
  // the host without entering the isolate); the response body comes in as the guest reads it ('fetch.read' calls
  // answered by 'fchunk' entries). An AbortSignal, cancelling the body or the request ending release the upstream.
  /** fetch id -> its record, while its response head or a read of its body is awaited. @type {Map<number, FetchRecord>} */
  const fetches = new Map();
  /** The incoming requests' body streams (stream -> request state), to pass one straight through to a fetch. @type {WeakMap<ReadableStream, RequestState>} */
  const incomingBodies = new WeakMap();
  /** The fetches' response body streams (stream -> fetch record), to forward one untouched to the client. @type {WeakMap<ReadableStream, FetchRecord>} */
  const fetchedStreams = new WeakMap();
  let nextFetchId = 1;

  /**
   * @param {string | null} service  a service binding's name, or null for the global fetch()
   * @param {unknown} input
   * @param {unknown} init
   * @param {string} [object]  a Durable Object's id (a stub's fetch)
   * @param {string} [localClass]  its class, when this worker exports it (the object lives here)
   */
  async function outboundFetch(service, input, init, object = undefined, localClass = undefined) {
    const reqId = current;
    // Request checks what it is given.
    const request = new Request(input, /** @type {RequestInit | null | undefined} */ (init));
    if (typeof object === 'string' && typeof localClass === 'string') {
      // A Durable Object of this worker's own class lives in this isolate (the runtime keeps one instance of a worker
      // that hosts objects): the event goes to it here, through its gates, with no round trip through the host.
      const res = await objects.dispatch({ className: localClass, id: object }, request, reqId);
      if (!isResponse(res)) throw new TypeError(`The Durable Object's fetch() must return a Response, but it returned ${res === null ? 'null' : typeof res}.`);
      return res;
    }
    const signal = fetchSignal(input, init);
    if (signal !== null && signal.aborted) throw signal.reason;
    /** @type {FetchRequest} */
    const msg = { id: nextFetchId++, method: request.method, url: request.url, headers: [], redirect: /** @type {FetchRequest['redirect']} */ (request.redirect) };
    for (const pair of request.headers) msg.headers.push(pair);
    if (service !== null) msg.service = service;
    if (typeof object === 'string') msg.object = object;
    const body = takeBody(request);
    if (body instanceof Uint8Array) msg.body = body;
    else if (body !== null) {
      const state = incomingBodies.get(body);
      if (state !== undefined && state.reqId === reqId && requests.get(reqId) === state && state.pull === null && !body.locked && !isDisturbed(body)) {
        // Locked for good: the host sends the client's body on by itself.
        body.getReader();
        msg.incoming = true;
      } else {
        const sid = nextStreamId++;
        streams.set(sid, { reader: body.getReader(), reqId });
        msg.stream = sid;
      }
    }
    /** @type {FetchRecord} */
    const rec = { id: msg.id, reqId, signal, onAbort: null, head: null, read: null, controller: null, finished: false };
    if (signal !== null) {
      const onAbort = () => abortFetch(rec, signal.reason);
      rec.onAbort = onAbort;
      signal.addEventListener('abort', onAbort);
    }
    /** @type {FetchReply} */
    const reply = await new Promise((resolve, reject) => {
      rec.head = { resolve, reject };
      fetches.set(rec.id, rec);
      hostCall(reqId, 'fetch', msg);
    });
    if (reply.error) {
      finishFetch(rec);
      throw new TypeError(reply.error);
    }
    const head = /** @type {Exclude<FetchReply, { error: string }>} */ (reply);
    if (!head.body) finishFetch(rec);
    return createFetchResponse({
      status: head.status,
      statusText: head.statusText,
      headers: head.headers,
      // A small body that arrived with the head comes whole (bytes); a longer one is read from the host as it is pulled.
      body: head.body ? fetchedBody(rec) : head.bytes ?? null,
      url: head.url,
      redirected: head.redirected,
      // A 101 from a worker of this host: the WebSocket end this isolate now holds (accept() it, or return it).
      webSocket: head.ws !== undefined ? webSockets().received(head.ws) : null,
    });
  }

  /**
   * The signal of a fetch: RequestInit's, else the Request's when one was given (read only then: it loads events).
   * new Request() above checked that RequestInit's is an AbortSignal.
   * @param {unknown} input
   * @param {unknown} init
   * @returns {AbortSignal | null}
   */
  function fetchSignal(input, init) {
    if (init !== null && typeof init === 'object' && /** @type {RequestInit} */ (init).signal !== undefined) return /** @type {AbortSignal | null} */ (/** @type {RequestInit} */ (init).signal) ?? null;
    if (input instanceof Request) {
      const s = input.signal;
      return s !== null && typeof s === 'object' && typeof s.addEventListener === 'function' ? s : null;
    }
    return null;
  }

  /**
   * A fetch's response body returned untouched as the worker's response body (a proxy): the host sends it on to the
   * client by itself, with no entry per chunk. Returns the fetch's id, or null when the body must go through the guest.
   * @param {ReadableStream} stream
   * @param {number} reqId
   * @returns {number | null}
   */
  function forwardableFetch(stream, reqId) {
    const rec = fetchedStreams.get(stream);
    if (rec === undefined || rec.finished || rec.read !== null || rec.reqId !== reqId || stream.locked || isDisturbed(stream)) return null;
    // Locked for good: nothing in the isolate reads it any more.
    stream.getReader();
    finishFetch(rec);
    return rec.id;
  }

  /** @param {FetchRecord} rec */
  function fetchedBody(rec) {
    const stream = new ReadableStream({
      type: 'bytes',
      start(controller) {
        rec.controller = controller;
      },
      pull(controller) {
        if (rec.finished) return undefined;
        return new Promise((resolve, reject) => {
          rec.read = { controller, resolve, reject };
          fetches.set(rec.id, rec);
          hostCall(rec.reqId, 'fetch.read', rec.id);
        });
      },
      cancel() {
        if (rec.finished) return;
        finishFetch(rec);
        hostCall(rec.reqId, 'fetch.cancel', rec.id);
      },
    });
    fetchedStreams.set(stream, rec);
    // Handed on unread during its request (put into R2 or KV, stored in the cache, read whole), the host reads it
    // straight from the upstream. (Returned as the response, it is forwarded: forwardableFetch.)
    markHostStream(stream, () => {
      if (rec.finished || rec.read !== null || rec.reqId !== current) return null;
      finishFetch(rec);
      return { k: 'fetched', reqId: rec.reqId, id: rec.id };
    });
    return stream;
  }

  /** @param {FetchRecord} rec */
  function finishFetch(rec) {
    rec.finished = true;
    fetches.delete(rec.id);
    // A fetch with an abort listener has a signal.
    if (rec.onAbort !== null) /** @type {AbortSignal} */ (rec.signal).removeEventListener('abort', rec.onAbort);
    rec.onAbort = null;
    rec.controller = null;
  }

  /**
   * Rejects what waits on the fetch with `reason` (its signal aborted, or its request ended).
   * @param {FetchRecord} rec
   * @param {unknown} reason
   */
  function abortFetch(rec, reason, tellHost = true) {
    if (rec.finished) return;
    const { head, read, controller } = rec;
    finishFetch(rec);
    rec.head = rec.read = null;
    if (tellHost) hostCall(rec.reqId, 'fetch.cancel', rec.id);
    if (head !== null) head.reject(reason);
    if (controller !== null) {
      try {
        controller.error(reason);
      } catch {
        // already closed or errored
      }
    }
    if (read !== null) read.resolve();
  }

  /**
   * @param {FetchedCommand} cmd
   * @returns {undefined}
   */
  function deliverFetch(cmd) {
    const rec = fetches.get(cmd.id);
    if (!rec || rec.head === null) return;
    fetches.delete(cmd.id);
    const head = rec.head;
    rec.head = null;
    head.resolve(cmd);
  }

  /**
   * @param {FetchChunkCommand} cmd
   * @returns {undefined}
   */
  function deliverFetchChunk(cmd) {
    const rec = fetches.get(cmd.id);
    if (!rec || rec.read === null) return;
    fetches.delete(cmd.id);
    const p = rec.read;
    rec.read = null;
    settlePull(p, cmd, () => finishFetch(rec));
  }

  /**
   * The request ended: its fetches still waiting for the host fail (the host released their upstreams).
   * @param {number} reqId
   */
  function endFetches(reqId) {
    for (const rec of [...fetches.values()]) {
      if (rec.reqId === reqId) abortFetch(rec, new TypeError('The request has ended.'), false);
    }
  }

  timerGlobals.fetch = function fetch(/** @type {unknown} */ input, /** @type {unknown} */ init = undefined) {
    if (arguments.length === 0) return Promise.reject(new TypeError("Failed to execute 'fetch': 1 argument required, but only 0 present."));
    return outboundFetch(null, input, init, undefined);
  };
  setServiceTransport(outboundFetch);
  // Asynchronous host operations (internal/async.js): answered by a 'settled' entry.
  /** @type {Map<number, PendingOp>} */
  const pendingOps = new Map();
  let nextOpId = 1;
  setAsyncCaller((op, arg) => {
    const reqId = current;
    // Code still running for a request the isolate already let go of (a continuation nobody awaited): the host
    // would not answer, so the promise would stay pending and its entry here forever.
    if (reqId !== 0 && !requests.has(reqId)) return Promise.reject(new TypeError(`${op}: the request has ended.`));
    const id = nextOpId++;
    // The op leaves with the entry's result and is answered by a 'settled' entry, even when the host knows the
    // answer at once: the isolate thread never blocks on the host, so other requests run meanwhile. (A synchronous
    // call for ops answered from memory was measured slower: 3.0k against 4.7k warm cached reads/s at c=10.)
    return new Promise((resolve, reject) => {
      pendingOps.set(id, { resolve, reject, reqId });
      hostCall(reqId, 'op', { reqId, id, op, arg });
    });
  });
  /** @param {HostOpFailure} e */
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
   * @param {number} reqId
   */
  function releaseRequest(reqId) {
    requests.delete(reqId);
    socketRequestEnded(reqId);
    for (const [id, p] of pendingOps) if (p.reqId === reqId) pendingOps.delete(id);
  }

  /**
   * @param {{ id: number } & HostOpOutcome} cmd  a SettledCommand, or an item of a SettledAllCommand
   * @returns {undefined}
   */
  function settleOp(cmd) {
    const p = pendingOps.get(cmd.id);
    if (!p) return;
    pendingOps.delete(cmd.id);
    if (cmd.e !== undefined) p.reject(opError(cmd.e));
    else p.resolve(cmd.v);
  }

  for (const [name, fn] of Object.entries(timerGlobals)) {
    Object.defineProperty(fn, 'name', { value: name });
    Object.defineProperty(globalThis, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }

  /** @param {RequestState} state */
  function requestBodyStream(state) {
    const stream = new ReadableStream({
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
    incomingBodies.set(stream, state);
    // Returned as the response body or put into storage unread: the host sends the client's bytes on by itself.
    markHostStream(stream, () => (requests.get(state.reqId) === state && state.pull === null ? { k: 'incoming', reqId: state.reqId } : null));
    return stream;
  }

  /**
   * @param {RequestState} state
   * @param {unknown} res  what the fetch handler returned (or its promise resolved to)
   * @returns {ResponseResult | EntryFailure}
   */
  function toHostResponse(state, res) {
    if (res !== null && typeof res === 'object' && /** @type {{ [STREAMED]?: unknown }} */ (res)[STREAMED] === true) {
      // A component wrote its body through begin-response while it ran: the host has it already.
      const marker = /** @type {import('./component.js').StreamedMarker} */ (res);
      checkMemory();
      requests.delete(state.reqId);
      /** @type {ResponseResult} */
      const out = { ok: true, streamed: true, status: 0, statusText: '', headers: [], body: null, released: true };
      if (typeof marker[FUEL_USED] === 'number') out.fuel = marker[FUEL_USED];
      return out;
    }
    if (!isResponse(res)) {
      throw new TypeError(`The fetch handler must return a Response (or a Promise of one), but it returned ${res === null ? 'null' : typeof res === 'object' ? Object.prototype.toString.call(res) : typeof res}.`);
    }
    checkMemory();
    const head = getResponseHead(res);
    const socket = res.webSocket;
    if (socket !== null && socket !== undefined) {
      // A 101: the WebSocket's end goes to whoever takes the response (the client, or the worker that fetched it).
      return afterResponse(state, { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body: null, ws: webSockets().handOver(socket) });
    }
    const body = takeBody(res);
    /** @type {ResponseResult} */
    let out;
    if (body === null || body instanceof Uint8Array) {
      out = { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body };
      const metered = /** @type {Response & { [FUEL_USED]?: number }} */ (res);
      if (typeof metered[FUEL_USED] === 'number') out.fuel = metered[FUEL_USED];
    } else {
      const forward = forwardableFetch(body, state.reqId);
      const hostBody = forward === null ? claimHostStream(body) : null;
      if (forward !== null) {
        out = { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body: null, forward };
      } else if (hostBody !== null) {
        out = { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body: null, hostBody };
      } else {
        const id = nextStreamId++;
        streams.set(id, { reader: body.getReader(), reqId: state.reqId });
        out = { ok: true, status: head.status, statusText: head.statusText, headers: head.headers, body: null, stream: id };
      }
    }
    return afterResponse(state, out);
  }

  /**
   * Tells the host (in `out`) whether waitUntil work goes on after the response, and reports when it settled.
   * @template {ResponseResult | ScheduledEntryResult | SocketEntryResult | EntryFailure} O
   * @param {RequestState} state
   * @param {O} out
   * @returns {O}
   */
  function afterResponse(state, out) {
    if (state.waitUntil.length > 0) {
      out.waitUntil = true;
      settleAll(state.waitUntil).then(() => {
        // Nothing else of the request left in the isolate: drop it here, so the host sends no 'end' entry.
        const released = /** @type {{ stream?: number }} */ (out).stream === undefined && state.timers.size === 0 && state.pull === null;
        if (released) releaseRequest(state.reqId);
        hostCall(state.reqId, 'waitUntil.done', released);
      });
    } else if (/** @type {{ stream?: number }} */ (out).stream === undefined && state.timers.size === 0 && state.pull === null) {
      // Nothing of this request is left in the isolate: the host need not send an 'end' entry.
      releaseRequest(state.reqId);
      out.released = true;
    }
    return out;
  }

  /**
   * Settles when every promise in `list` has, including those waitUntil() added while the others ran.
   * @param {Promise<unknown>[]} list
   */
  async function settleAll(list) {
    for (let n = 0; n < list.length; ) {
      const batch = list.slice(n);
      n = list.length;
      await Promise.allSettled(batch);
    }
  }

  /**
   * @param {unknown} err
   * @param {RequestState} [state]  absent for a scheduled run (no pass-through)
   * @returns {EntryFailure}
   */
  function failure(err, state) {
    /** @type {EntryFailure['error']} */
    const d = describeError(err);
    if (err && typeof err === 'object' && typeof (/** @type {LimitError} */ (err).edgeLimit) === 'string') d.limit = /** @type {LimitError} */ (err).edgeLimit;
    // A refused WebAssembly allocation that the guest did not handle ends the request as a memory breach.
    else if (err instanceof RangeError && d.message.startsWith('WebAssembly memory limit exceeded')) d.limit = 'E_MEMORY_LIMIT';
    /** @type {EntryFailure} */
    const out = { ok: false, error: d };
    // ctx.passThroughOnException() was called: the host sends the request on to the origin instead.
    if (state?.passThrough === true && d.limit === undefined) {
      out.passThrough = true;
      // A service-worker script whose listeners did not respond: no exception to report.
      if (err !== null && typeof err === 'object' && /** @type {{ [NO_RESPONSE]?: unknown }} */ (err)[NO_RESPONSE] === true) out.quiet = true;
      // The request goes on (to the origin): its waitUntil work does too.
      return afterResponse(state, out);
    }
    return out;
  }

  /** @returns {GuestWorker} */
  function loadWorker() {
    if (!worker) {
      // Left by the host's bootstrap module, which checked it has fetch() or scheduled().
      worker = /** @type {GuestWorker} */ (globalThis.__edgeWorker);
      env = /** @type {Record<string, unknown>} */ (globalThis.__edgeEnv);
      exportsOf = /** @type {Record<string, unknown>} */ (globalThis.__edgeExports ?? {});
      delete globalThis.__edgeWorker;
      delete globalThis.__edgeEnv;
      delete globalThis.__edgeExports;
    }
    return worker;
  }

  /** The worker module's exports (its Durable Object classes). @type {Record<string, unknown>} */
  let exportsOf = {};
  // Durable Objects whose class this worker exports (objects.js): their events arrive as fetch entries naming them.
  const objects = createObjects({
    env: () => env,
    exports: () => exportsOf,
    // Storage ops belong to the object, not to the request that made them: their answers arrive even after it ended.
    hostOp: (op, arg) => {
      const id = nextOpId++;
      return new Promise((resolve, reject) => {
        pendingOps.set(id, { resolve, reject, reqId: 0 });
        hostCall(0, 'op', { reqId: 0, id, op, arg });
      });
    },
    requestOp: (op, arg) => hostAsync(op, arg),
    later: (reqId, fn) => {
      const saved = current;
      current = reqId;
      try {
        setTimer(fn, 0, [], false);
      } finally {
        current = saved;
      }
    },
  });

  /** @param {number} reqId */
  function newRequestState(reqId) {
    /** @type {RequestState} */
    const state = { reqId, timers: new Set(), waitUntil: [], pull: null, passThrough: false };
    requests.set(reqId, state);
    return state;
  }

  /**
   * The `ctx` (ExecutionContext) handed to fetch and scheduled handlers.
   * @param {RequestState} state
   * @returns {GuestExecutionContext}
   */
  function executionContext(state) {
    const ctx = {
      waitUntil(/** @type {unknown} */ p) {
        state.waitUntil.push(Promise.resolve(p).catch((err) => reportException(state.reqId, err)));
      },
      passThroughOnException() {
        state.passThrough = true;
      },
      // Workers' ctx.props: what a caller's service binding passes along; nothing is passed on this host yet.
      props: {},
    };
    // For the component adapter (component.js), whose imports talk to the host about this request.
    Object.defineProperty(ctx, '__edgeReqId', { value: state.reqId, enumerable: false });
    return /** @type {GuestExecutionContext} */ (ctx);
  }

  /**
   * The answer to an event the worker has no handler for (e.g. a fetch to a worker that only has scheduled()).
   * @param {'fetch' | 'scheduled'} kind
   * @returns {EntryFailure}
   */
  function noHandler(kind) {
    const usage = kind === 'fetch' ? 'fetch(request, env, ctx)' : 'scheduled(controller, env, ctx)';
    return { ok: false, noHandler: kind, error: { name: 'TypeError', message: `The worker has no ${kind} handler: its default export has no ${usage} method (nor did it addEventListener("${kind}", ...)).`, stack: '' } };
  }

  /** @param {FetchCommand} cmd */
  function dispatchFetch(cmd) {
    const worker = loadWorker();
    if (typeof worker.fetch !== 'function') return noHandler('fetch');
    const state = newRequestState(cmd.reqId);
    const ctx = executionContext(state);
    let result;
    try {
      const request = createIncomingRequest({
        method: cmd.method,
        url: cmd.url,
        headers: cmd.headers,
        body: cmd.hasBody ? requestBodyStream(state) : null,
        cf: cmd.cf,
        cfJson: cmd.cfJson,
      });
      result = cmd.object ? objects.dispatch(cmd.object, request, state.reqId) : worker.fetch(request, env, ctx);
      if (result === null || typeof result !== 'object' || typeof (/** @type {{ then?: unknown }} */ (result).then) !== 'function') {
        return toHostResponse(state, result);
      }
    } catch (err) {
      return failure(err, state);
    }
    const response = Promise.resolve(result).then(
      (res) => {
        try {
          return toHostResponse(state, res);
        } catch (err) {
          return failure(err, state);
        }
      },
      (err) => failure(err, state),
    );
    return settleOrDefer(state.reqId, response, 'response');
  }

  /**
   * A cron trigger (or a manual one): runs `scheduled(controller, env, ctx)`; waitUntil work extends the run.
   * @param {ScheduledCommand} cmd
   */
  function dispatchScheduled(cmd) {
    const worker = loadWorker();
    if (typeof worker.scheduled !== 'function') return noHandler('scheduled');
    const state = newRequestState(cmd.reqId);
    const ctx = executionContext(state);
    let noRetry = false;
    const controller = createScheduledController(String(cmd.cron), Number(cmd.scheduledTime), () => {
      noRetry = true;
    });
    /**
     * @param {ScheduledEntryResult} out
     * @returns {ScheduledEntryResult}
     */
    const done = (out) => {
      out.noRetry = noRetry;
      if (!out.ok) return out;
      checkMemory();
      return afterResponse(state, out);
    };
    let result;
    try {
      result = worker.scheduled(controller, env, ctx);
      if (result === null || typeof result !== 'object' || typeof (/** @type {{ then?: unknown }} */ (result).then) !== 'function') return done({ ok: true, noRetry });
    } catch (err) {
      return done(failure(err));
    }
    const outcome = Promise.resolve(result).then(
      () => {
        try {
          return done({ ok: true, noRetry });
        } catch (err) {
          return failure(err);
        }
      },
      (err) => done(failure(err)),
    );
    return settleOrDefer(state.reqId, outcome, 'response');
  }

  /**
   * A WebSocket event: a message or close for an end this isolate holds (its listeners run; the promises they return
   * extend the event, like waitUntil), or for a Durable Object's hibernatable end (its webSocketMessage/Close handler).
   * @param {SocketCommand} cmd
   */
  function dispatchSocket(cmd) {
    loadWorker();
    const state = newRequestState(cmd.reqId);
    /** @param {SocketEntryResult} out */
    const done = (out) => {
      if (!out.ok) return out;
      checkMemory();
      return afterResponse(state, out);
    };
    let result;
    try {
      if (cmd.object) result = objects.socketEvent(cmd.object, cmd.end, cmd.ev, state.reqId, cmd.attachment);
      else {
        for (const p of webSockets().deliver(cmd.end, cmd.ev)) state.waitUntil.push(p.catch((err) => reportException(state.reqId, err)));
        return done({ ok: true });
      }
    } catch (err) {
      return failure(err);
    }
    const outcome = Promise.resolve(result).then(
      () => {
        try {
          return done({ ok: true });
        } catch (err) {
          return failure(err);
        }
      },
      (err) => failure(err),
    );
    return settleOrDefer(state.reqId, outcome, 'response');
  }

  /**
   * @param {ChunkCommand} cmd
   * @returns {undefined}
   */
  function deliverChunk(cmd) {
    const state = requests.get(cmd.reqId);
    const p = state?.pull;
    if (!p) return;
    state.pull = null;
    settlePull(p, cmd, null);
  }

  /**
   * @param {TimerCommand} cmd
   * @returns {undefined}
   */
  function fireTimer(cmd) {
    const t = timers.get(cmd.id);
    if (!t) return;
    if (!t.interval) {
      timers.delete(cmd.id);
      requests.get(t.reqId)?.timers.delete(cmd.id);
    }
    try {
      runInFrame(t.frame, t.cb, undefined, t.args);
    } catch (err) {
      reportException(t.reqId, err);
    }
  }

  /**
   * @param {PullCommand} cmd
   * @returns {Promise<PullResult>}
   */
  async function readStream(cmd) {
    const s = streams.get(cmd.id);
    if (!s) return { done: true };
    try {
      const first = s.next ?? s.reader.read();
      s.next = null;
      const { value, done } = await first;
      if (done) {
        streams.delete(cmd.id);
        return { done: true };
      }
      const chunk = streamChunk(value);
      // After the first pull (which goes out alone: the head and the first bytes leave at once), chunks the stream has
      // ready within a few microtask turns go out with this one, up to PULL_BATCH_BYTES: an entry costs ~80 us of
      // isolate CPU, and one per 64 KiB chunk made that most of a streamed body's cost. A read still pending then is
      // the next pull's. 1 MiB rather than 256 KiB: a 50 MB stream of 64 KiB TextEncoder chunks cost the host 124-145 ms
      // of process CPU (66-73 ms charged) in 190 entries, 102-108 ms (56-59 charged) in 48. A limit breaking in the
      // guest's pull() loses the batch it was making (at most this much; the client sees the reset either way).
      /** @type {Uint8Array[] | undefined} */
      let rest;
      const batch = s.batch === true;
      s.batch = true;
      for (let total = chunk.byteLength; batch && total < PULL_BATCH_BYTES; ) {
        const next = s.reader.read();
        // Not ready, or failed: the chunks taken so far go out, and the next pull reports what this read comes to.
        const r = await Promise.race([next.then((v) => v, () => null), yieldTurns().then(() => null)]);
        if (r === null || r.done) {
          s.next = next;
          break;
        }
        const more = chunkBytes(r.value);
        if (more === null) {
          s.next = next;
          break;
        }
        (rest ??= []).push(more);
        total += more.byteLength;
      }
      checkMemory();
      return rest ? { done: false, chunk, rest } : { done: false, chunk };
    } catch (err) {
      streams.delete(cmd.id);
      return { done: true, error: describeError(err) };
    }
  }

  /**
   * @param {EndCommand} cmd
   * @returns {undefined}
   */
  function endRequest(cmd) {
    const state = requests.get(cmd.reqId);
    if (!state) return;
    requests.delete(cmd.reqId);
    socketRequestEnded(cmd.reqId);
    for (const id of state.timers) timers.delete(id);
    for (const [id, s] of streams) {
      if (s.reqId === cmd.reqId) {
        streams.delete(id);
        s.reader.cancel().catch(() => {});
      }
    }
    if (state.pull) state.pull.reject(new TypeError('The request has ended.'));
    endFetches(cmd.reqId);
    for (const [id, p] of pendingOps) {
      if (p.reqId === cmd.reqId) {
        pendingOps.delete(id);
        p.reject(new TypeError('The request has ended.'));
      }
    }
  }

  /** The fields of a ResponseResult that a FlatResponse carries: one with any other goes as it is. */
  /** @type {Partial<Record<keyof ResponseResult, true>>} */
  const FLAT_KEYS = { ok: true, status: true, statusText: true, headers: true, body: true, released: true };

  /** Entries that resolve guest promises: their continuations run in the microtasks right after them. */
  /** @type {Partial<Record<EntryCommand['t'], true>>} */
  const RESUMING = { timer: true, chunk: true, fetched: true, fchunk: true, settled: true, settledAll: true };

  /**
   * The one function the host enters the isolate through.
   * @param {EntryCommand} cmd
   * @returns {EntryEnvelope | Promise<EntryEnvelope>}
   */
  function entry(cmd) {
    // The host's synchronous entries (worker-instance.ts, enterSync): run now, result taken by a second call.
    if (/** @type {unknown} */ (cmd) === SYNC_FETCH) {
      setSyncEntry(true);
      return /** @type {never} */ (enterNow(syncFetchCommand(arguments)));
    }
    const c = /** @type {EntryCommand | SyncCommand | TakeCommand | AwaitCommand} */ (cmd);
    if (c.t === 'sync') {
      setSyncEntry(true);
      return /** @type {never} */ (enterNow(c.cmd));
    }
    setSyncEntry(false);
    if (/** @type {unknown} */ (cmd) === SYNC_TAKE || c.t === 'take') return /** @type {never} */ (takeNow());
    if (c.t === 'await') {
      const p = syncPending;
      syncPending = null;
      return /** @type {never} */ (p ?? Promise.reject(new Error('no entry is pending')));
    }
    return enterCmd(cmd);
  }

  /**
   * A request's synchronous entry as primitive arguments (isolate-protocol.ts, SyncFetchArgs): its FetchCommand.
   * @param {IArguments} a
   * @returns {FetchCommand}
   */
  function syncFetchCommand(a) {
    const lines = /** @type {string} */ (a[3]).split('\n');
    /** @type {HeaderList} */
    const headers = [];
    for (let i = 3; i < lines.length; i += 2) headers.push([/** @type {string} */ (lines[i]), /** @type {string} */ (lines[i + 1])]);
    /** @type {FetchCommand} */
    const cmd = { t: 'fetch', reqId: a[1], method: /** @type {string} */ (lines[0]), url: /** @type {string} */ (lines[1]), hasBody: a[2], headers };
    if (lines[2] !== '') cmd.cfJson = lines[2];
    return cmd;
  }

  /**
   * The outcome of the last synchronous entry, once it settled (microtasks run before the host's call returns), and
   * its promise while it has not.
   * @type {SyncOutcome | null}
   */
  let syncOut = null;
  /** @type {Promise<EntryEnvelope> | null} */
  let syncPending = null;

  /**
   * @param {EntryCommand} cmd
   * @returns {0}
   */
  function enterNow(cmd) {
    syncOut = null;
    syncPending = null;
    const r = enterCmd(cmd);
    if (r !== null && typeof r === 'object' && typeof (/** @type {{ then?: unknown }} */ (r).then) === 'function') {
      const p = /** @type {Promise<EntryEnvelope>} */ (r);
      syncPending = p;
      p.then(
        (env) => {
          if (syncPending === p) syncOut = { done: env };
        },
        (err) => {
          if (syncPending === p) syncOut = { failed: err instanceof Error ? String(err.message) : String(err) };
        },
      );
    } else syncOut = { done: /** @type {EntryEnvelope} */ (r) };
    return 0;
  }

  /** @returns {SyncOutcome | FlatResponse | string} */
  function takeNow() {
    const o = syncOut;
    syncOut = null;
    if (o === null) return { pending: true };
    syncPending = null;
    if (o.done !== undefined && o.done.o.length === 0) return flatResponse(o.done.r) ?? o;
    return o;
  }

  /**
   * A plain response (isolate-protocol.ts, FlatResponse) as an array of primitives and its body, which crosses to the
   * host for less than the object and its header pairs would; null for any other result.
   * @param {unknown} r
   * @returns {FlatResponse | string | null}
   */
  function flatResponse(r) {
    if (r === null || typeof r !== 'object') return null;
    const res = /** @type {ResponseResult} */ (r);
    if (res.ok !== true || typeof res.status !== 'number' || !Array.isArray(res.headers) || !(res.body === null || res.body instanceof Uint8Array)) return null;
    for (const k in res) if (!FLAT_KEYS[/** @type {keyof ResponseResult} */ (k)]) return null;
    const body = res.body;
    if (body === null || body.length <= FLAT_TEXT_MAX) {
      // Small: one string, body included as latin1 (a string crosses for a fraction of a Uint8Array's copy).
      let head = `${res.status}\n${res.released === true ? 1 : 0}\n${body === null ? 0 : 1}\n${res.statusText}`;
      let plain = !res.statusText.includes('\n');
      for (const [name, value] of res.headers) {
        if (value.includes('\n')) plain = false;
        head += `\n${name}\n${value}`;
      }
      if (plain) return `${head}\n\n${body === null || body.length === 0 ? '' : unitsToString(body, 0, body.length)}`;
    }
    /** @type {FlatResponse} */
    const out = [SYNC_FLAT, res.status, res.statusText, res.released === true, body];
    for (const [name, value] of res.headers) out.push(name, value);
    return out;
  }

  /**
   * @param {EntryCommand} cmd
   * @returns {EntryEnvelope | Promise<EntryEnvelope>}
   */
  function enterCmd(cmd) {
    current = /** @type {{ reqId?: number }} */ (cmd).reqId ?? 0;
    /** @type {unknown[]} */
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
    /**
     * @param {EntryEnvelope['r']} r
     * @returns {EntryEnvelope}
     */
    const done = (r) => {
      if (outbox === box) outbox = null;
      return { r, o: box };
    };
    if (result !== null && typeof result === 'object' && typeof (/** @type {{ then?: unknown }} */ (result).then) === 'function') {
      return /** @type {Promise<EntryEnvelope['r']>} */ (result).then(done);
    }
    // Not a promise: run() returned the entry's result itself.
    const value = /** @type {EntryEnvelope['r']} */ (result);
    if (RESUMING[cmd.t] === true) return yieldTurns().then(() => done(value));
    return done(value);
  }
  // Each entry kind's result is what EntryReturns says: run() returns it, typed per command.
  return /** @type {EntryFunction} */ (entry);

  /**
   * @param {EntryCommand} cmd
   * @returns {EntryEnvelope['r'] | Promise<EntryEnvelope['r']>}
   */
  function run(cmd) {
    switch (cmd.t) {
      case 'fetch':
        return dispatchFetch(cmd);
      case 'scheduled':
        return dispatchScheduled(cmd);
      case 'ws':
        return dispatchSocket(cmd);
      case 'chunk':
        return deliverChunk(cmd);
      case 'timer':
        return fireTimer(cmd);
      case 'fetched':
        return deliverFetch(cmd);
      case 'fchunk':
        return deliverFetchChunk(cmd);
      case 'settled':
        return settleOp(cmd);
      case 'settledAll':
        for (const item of cmd.items) settleOp(item);
        return undefined;
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
        throw new TypeError(`unknown entry ${/** @type {{ t: unknown }} */ (cmd).t}`);
    }
  }
}
