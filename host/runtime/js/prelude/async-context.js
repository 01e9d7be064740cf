// AsyncLocalStorage and AsyncResource for nodejs_compat's node:async_hooks (the worker's bundle reaches them through
// the `edge:node-compat` module the bootstrap links). An isolate has no promise hooks and no AsyncContext, so a store
// cannot ride on every promise as in Node. What the runtime does know is which request each entry runs for (a fetch,
// a timer, a host op's answer, a body chunk: every continuation of a request starts in an entry for it), so a context
// is kept per request: `run(store, fn)` sets it for the synchronous part of `fn` and, when `fn` returns a promise,
// for the request's continuations until that promise settles. Timers take the context they were set in.
//
// That gives each of several concurrent requests its own store across awaits, timers and fetches, which is what
// frameworks (Hono, React Router, Remix, Next on Workers) rely on. It is not Node's full model: two run() calls whose
// promises are pending at the same time within ONE request share the request's context (the later one wins until it
// settles), and a promise shared by two requests continues in the context of the request whose entry settled it.

/** A context: the store of each AsyncLocalStorage, copied on write. @typedef {Map<object, unknown>} Frame */
/** Where a request keeps its context (the runtime's per-request state, or one object for the global scope). @typedef {{ asyncFrame?: Frame }} FrameSlot */

/** @type {Frame} */
const EMPTY = new Map();
/** The context of a run()/bound function executing synchronously now; null outside one. @type {Frame | null} */
let syncFrame = null;
/** @type {FrameSlot} */
const globalSlot = {};
/** @type {() => FrameSlot} */
let slotOf = () => globalSlot;

/**
 * The runtime tells where the current entry's request keeps its context (runtime.js, createRuntime).
 * @param {() => FrameSlot | undefined} fn
 */
export function setFrameSlot(fn) {
  slotOf = () => fn() ?? globalSlot;
}

/** The context code running now sees. @returns {Frame} */
export function captureFrame() {
  return syncFrame ?? slotOf().asyncFrame ?? EMPTY;
}

/** @param {unknown} v */
const isNativePromise = (v) => v instanceof Promise;

/**
 * Calls `fn` in context `frame`: synchronously, and for the request's continuations while the promise it returns is
 * pending.
 * @param {Frame} frame
 * @param {Function} fn
 * @param {unknown} thisArg
 * @param {unknown[]} args
 */
export function runInFrame(frame, fn, thisArg, args) {
  const prevSync = syncFrame;
  const slot = slotOf();
  const prevAsync = slot.asyncFrame;
  syncFrame = frame;
  /** @type {unknown} */
  let result;
  let threw = true;
  try {
    result = Reflect.apply(fn, thisArg, args);
    threw = false;
    return result;
  } finally {
    syncFrame = prevSync;
    if (!threw && result !== null && typeof result === 'object' && typeof (/** @type {{ then?: unknown }} */ (result).then) === 'function') {
      slot.asyncFrame = frame;
      // Only a native promise is watched: calling then() on another thenable may start work (query builders do).
      if (isNativePromise(result)) {
        const restore = () => {
          if (slot.asyncFrame === frame) slot.asyncFrame = prevAsync;
        };
        Promise.prototype.then.call(result, restore, restore);
      }
    } else {
      slot.asyncFrame = prevAsync;
    }
  }
}

/** @param {Frame} frame @param {object} key @param {unknown} value @param {boolean} remove */
function withStore(frame, key, value, remove) {
  const next = new Map(frame);
  if (remove) next.delete(key);
  else next.set(key, value);
  return next;
}

export class AsyncLocalStorage {
  #enabled = true;

  /** @returns {unknown} */
  getStore() {
    if (!this.#enabled) return undefined;
    return captureFrame().get(this);
  }

  /**
   * @param {unknown} store
   * @param {Function} callback
   * @param {...unknown} args
   */
  run(store, callback, ...args) {
    this.#enabled = true;
    return runInFrame(withStore(captureFrame(), this, store, false), callback, undefined, args);
  }

  /**
   * @param {Function} callback
   * @param {...unknown} args
   */
  exit(callback, ...args) {
    return runInFrame(withStore(captureFrame(), this, undefined, true), callback, undefined, args);
  }

  /** Sets the store for the rest of the current synchronous execution and the request's continuations. @param {unknown} store */
  enterWith(store) {
    this.#enabled = true;
    const frame = withStore(captureFrame(), this, store, false);
    if (syncFrame !== null) syncFrame = frame;
    slotOf().asyncFrame = frame;
  }

  disable() {
    this.#enabled = false;
  }

  /**
   * `fn` bound to the context it is bound in.
   * @param {Function} fn
   */
  static bind(fn) {
    if (typeof fn !== 'function') throw new TypeError('The "fn" argument must be of type function');
    const frame = captureFrame();
    /** @this {unknown} @param {unknown[]} args */
    return function bound(...args) {
      return runInFrame(frame, fn, this, args);
    };
  }

  /** A function that runs its argument in the context captured now. */
  static snapshot() {
    const frame = captureFrame();
    return (/** @type {Function} */ fn, /** @type {unknown[]} */ ...args) => runInFrame(frame, fn, undefined, args);
  }
}
Object.defineProperty(AsyncLocalStorage.prototype, Symbol.toStringTag, { value: 'AsyncLocalStorage', configurable: true });

let nextAsyncId = 1;

/** Node's AsyncResource: a context captured at construction that callbacks can be run in later. */
export class AsyncResource {
  #frame;
  #type;
  #id = nextAsyncId++;
  #trigger;

  /** @param {string} type @param {number | { triggerAsyncId?: number }} [opts] */
  constructor(type, opts) {
    if (typeof type !== 'string' || type === '') throw new TypeError('The "type" argument must be a non-empty string');
    this.#type = type;
    this.#frame = captureFrame();
    this.#trigger = typeof opts === 'number' ? opts : (opts?.triggerAsyncId ?? 0);
  }

  get type() {
    return this.#type;
  }

  /** @param {Function} fn @param {unknown} [thisArg] @param {...unknown} args */
  runInAsyncScope(fn, thisArg, ...args) {
    return runInFrame(this.#frame, fn, thisArg, args);
  }

  /** @param {Function} fn @param {unknown} [thisArg] */
  bind(fn, thisArg) {
    if (typeof fn !== 'function') throw new TypeError('The "fn" argument must be of type function');
    const resource = this;
    /** @this {unknown} @param {unknown[]} args */
    const bound = function (...args) {
      return runInFrame(resource.#frame, fn, thisArg === undefined ? this : thisArg, args);
    };
    Object.defineProperty(bound, 'asyncResource', { value: this, configurable: true, enumerable: true, writable: true });
    return bound;
  }

  /** @param {Function} fn @param {string} [type] @param {unknown} [thisArg] */
  static bind(fn, type, thisArg) {
    return new AsyncResource(type ?? (fn.name || 'bound-anonymous-fn')).bind(fn, thisArg);
  }

  emitDestroy() {
    return this;
  }

  asyncId() {
    return this.#id;
  }

  triggerAsyncId() {
    return this.#trigger;
  }
}
