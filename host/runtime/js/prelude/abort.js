// AbortController and AbortSignal (DOM standard), with AbortSignal.abort(), .timeout() and .any(). Built on the
// EventTarget of event-target.js; loaded on first use through events.js, which passes in the eager prelude values
// this needs (see event-target.js for why). A timeout signal's timer goes through the runtime's setTimeout, so it
// belongs to the request that made it and is dropped when that request ends.
import { createEventClasses } from './event-target.js';

const INTERNAL = Symbol('internal');
const MAX_DELAY = Number.MAX_SAFE_INTEGER;

/**
 * The event and abort classes: { EventTarget, Event, CustomEvent, AbortController, AbortSignal, isAbortSignal,
 * neverAbortedSignal }.
 */
export function createAbortClasses({ DOMException, console }) {
  const { EventTarget, Event, CustomEvent, getEventAttributeValue, setEventAttributeValue } = createEventClasses(console);
  let signalAbort;
  let addDependent;

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    /** Signals made by AbortSignal.any() that abort with this one. */
    #dependents = null;

    static {
      signalAbort = (signal, reason) => {
        if (signal.#aborted) return;
        signal.#aborted = true;
        signal.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
        const dependents = signal.#dependents;
        signal.#dependents = null;
        signal.dispatchEvent(new Event('abort'));
        if (dependents !== null) for (const d of dependents) signalAbort(d, signal.#reason);
      };
      addDependent = (source, dependent) => {
        // Held strongly: a dependent with abort listeners must stay alive while its sources can abort it.
        (source.#dependents ??= []).push(dependent);
      };
    }

    /** @param {unknown} [key] */
    constructor(key = undefined) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor: use new AbortController().signal, AbortSignal.abort(), AbortSignal.timeout() or AbortSignal.any().');
      super();
    }

    /** A signal that is already aborted with `reason` (an AbortError DOMException when undefined). */
    static abort(reason = undefined) {
      const s = new AbortSignal(INTERNAL);
      signalAbort(s, reason);
      return s;
    }

    /** A signal that aborts with a TimeoutError DOMException after `ms` milliseconds. */
    static timeout(ms) {
      const n = Number(ms);
      if (arguments.length === 0 || !Number.isFinite(n) || n < 0 || n > MAX_DELAY) {
        throw new TypeError(`AbortSignal.timeout(): the delay must be a finite number of milliseconds between 0 and ${MAX_DELAY}, got ${arguments.length === 0 ? 'nothing' : String(ms)}.`);
      }
      const s = new AbortSignal(INTERNAL);
      globalThis.setTimeout(() => signalAbort(s, new DOMException('The operation was aborted due to timeout', 'TimeoutError')), Math.trunc(n));
      return s;
    }

    /** A signal that aborts as soon as any of `signals` does, with its reason. */
    static any(signals) {
      if (signals === null || typeof signals !== 'object' || typeof signals[Symbol.iterator] !== 'function') {
        throw new TypeError('AbortSignal.any(): the argument must be an iterable of AbortSignal objects.');
      }
      const list = [...signals];
      for (let i = 0; i < list.length; i++) {
        if (!isAbortSignal(list[i])) throw new TypeError(`AbortSignal.any(): item ${i} is not an AbortSignal.`);
      }
      const s = new AbortSignal(INTERNAL);
      for (const source of list) {
        if (source.aborted) {
          signalAbort(s, source.reason);
          return s;
        }
      }
      for (const source of list) addDependent(source, s);
      return s;
    }

    get aborted() {
      return this.#aborted;
    }

    get reason() {
      return this.#reason;
    }

    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }

    get onabort() {
      return getEventAttributeValue(this, 'abort');
    }

    set onabort(handler) {
      setEventAttributeValue(this, 'abort', handler);
    }
  }
  Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, { value: 'AbortSignal', configurable: true });

  class AbortController {
    #signal = new AbortSignal(INTERNAL);

    get signal() {
      return this.#signal;
    }

    /** Aborts the signal with `reason` (an AbortError DOMException when undefined); later calls do nothing. */
    abort(reason = undefined) {
      signalAbort(this.#signal, reason);
    }
  }
  Object.defineProperty(AbortController.prototype, Symbol.toStringTag, { value: 'AbortController', configurable: true });

  /**
   * @param {unknown} value
   * @returns {value is AbortSignal}
   */
  function isAbortSignal(value) {
    return value instanceof AbortSignal;
  }

  /** A signal that never aborts (the default `request.signal`). */
  function neverAbortedSignal() {
    return new AbortSignal(INTERNAL);
  }

  return { EventTarget, Event, CustomEvent, AbortController, AbortSignal, isAbortSignal, neverAbortedSignal };
}
