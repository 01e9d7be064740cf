// The service-worker syntax of Workers: a script without exports registers listeners with
// `addEventListener('fetch', (event) => event.respondWith(...))` and `addEventListener('scheduled', ...)`, and
// reads its bindings as global variables (the host's bootstrap defines them). The listeners are turned into an
// ordinary { fetch, scheduled } handler object, so the runtime dispatches both syntaxes the same way.
//
// One difference from Workers: the script is evaluated as an ES module, so it runs in strict mode, its top-level
// `this` is undefined (use globalThis or self), and its top-level declarations are not properties of globalThis.
import { DOMException } from './dom-exception.js';
import { createScheduledEvent, ScheduledController, ScheduledEvent } from './scheduled.js';

const INTERNAL = Symbol('edge.fetchEvent');
/** Marks the error a fetch event ends with when no listener called respondWith(): the request goes on to the origin. */
export const NO_RESPONSE = Symbol('edge.noResponse');
const TYPES = ['fetch', 'scheduled'];
const listeners = { fetch: [], scheduled: [] };
/** Set once the runtime collected the listeners: Workers allows addEventListener only in the global scope. */
let sealed = false;
let responseOf;

function listenerFunction(method, listener) {
  if (typeof listener === 'function') return listener;
  if (listener !== null && typeof listener === 'object' && typeof listener.handleEvent === 'function') return listener;
  throw new TypeError(`${method}(): the listener must be a function or an object with a handleEvent() method.`);
}

function eventType(method, type) {
  const t = String(type);
  if (!TYPES.includes(t)) {
    throw new TypeError(`${method}("${t}"): a worker's global scope receives only ${TYPES.map((x) => `"${x}"`).join(' and ')} events.`);
  }
  return t;
}

export function addEventListener(type, listener) {
  if (arguments.length < 2) throw new TypeError('addEventListener(type, listener): 2 arguments required.');
  const t = eventType('addEventListener', type);
  if (listener === null || listener === undefined) return;
  const fn = listenerFunction('addEventListener', listener);
  if (sealed) throw new TypeError(`addEventListener("${t}"): listeners can only be added while the worker's global scope is evaluated, not while it handles events.`);
  if (!listeners[t].includes(fn)) listeners[t].push(fn);
}

export function removeEventListener(type, listener) {
  if (arguments.length < 2) throw new TypeError('removeEventListener(type, listener): 2 arguments required.');
  const list = listeners[eventType('removeEventListener', type)];
  const at = list.indexOf(listener);
  if (at >= 0) list.splice(at, 1);
}

export class FetchEvent {
  #request;
  #ctx;
  #responded = false;
  #dispatched = false;
  #response;

  static {
    responseOf = (event) => {
      event.#dispatched = true;
      return event.#responded ? { value: event.#response } : null;
    };
  }

  constructor(token, request, ctx) {
    if (token !== INTERNAL) throw new TypeError('Illegal constructor: FetchEvent is created by the runtime.');
    this.#request = request;
    this.#ctx = ctx;
  }

  get type() {
    return 'fetch';
  }

  get request() {
    return this.#request;
  }

  /** The response to send: a Response or a promise of one. Called at most once, synchronously in the listener. */
  respondWith(response) {
    if (this.#dispatched) {
      throw new DOMException('respondWith() must be called synchronously in the "fetch" listener (pass it a promise for later work).', 'InvalidStateError');
    }
    if (this.#responded) throw new DOMException('respondWith() was already called for this event.', 'InvalidStateError');
    this.#responded = true;
    this.#response = response;
  }

  waitUntil(promise) {
    this.#ctx.waitUntil(promise);
  }

  passThroughOnException() {
    this.#ctx.passThroughOnException();
  }
}
Object.defineProperty(FetchEvent.prototype, Symbol.toStringTag, { value: 'FetchEvent', configurable: true });

function call(listener, event) {
  if (typeof listener === 'function') listener.call(globalThis, event);
  else listener.handleEvent(event);
}

/** The registered listeners as a handler object (null when there are none); no listener can be added afterwards. */
export function serviceWorkerHandlers() {
  sealed = true;
  if (listeners.fetch.length === 0 && listeners.scheduled.length === 0) return null;
  const handlers = {};
  if (listeners.fetch.length > 0) {
    handlers.fetch = (request, _env, ctx) => {
      const event = new FetchEvent(INTERNAL, request, ctx);
      for (const l of [...listeners.fetch]) call(l, event);
      const r = responseOf(event);
      if (r !== null) return r.value;
      // As Workers: with no respondWith(), the request goes on to the origin as if the worker were not there.
      ctx.passThroughOnException();
      const e = new Error('No "fetch" listener called event.respondWith().');
      e[NO_RESPONSE] = true;
      throw e;
    };
  }
  if (listeners.scheduled.length > 0) {
    handlers.scheduled = (controller, _env, ctx) => {
      const event = createScheduledEvent(controller, (p) => ctx.waitUntil(p));
      for (const l of [...listeners.scheduled]) call(l, event);
    };
  }
  return handlers;
}

const GLOBALS = { addEventListener, removeEventListener, FetchEvent, ScheduledEvent, ScheduledController };

export function installServiceWorkerGlobals(g) {
  for (const name of Object.keys(GLOBALS)) {
    // The prelude is minified: keep the names guests see.
    Object.defineProperty(GLOBALS[name], 'name', { value: name, configurable: true });
    Object.defineProperty(g, name, { value: GLOBALS[name], writable: true, configurable: true, enumerable: false });
  }
  // Service-worker scripts say `self.addEventListener(...)`; in Workers `self` is the global object.
  Object.defineProperty(g, 'self', { value: g, writable: true, configurable: true, enumerable: false });
}
