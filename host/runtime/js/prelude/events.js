// Loader for the event classes (EventTarget, Event, CustomEvent, AbortController, AbortSignal): they are evaluated
// on first use, like streams.js, so an isolate that never touches them pays only for their source text in the
// snapshot. esbuild turns the require() of an ES module into a closure that runs on its first call.
import { DOMException } from './dom-exception.js';
import { console } from './console.js';

/** @typedef {ReturnType<typeof import('./abort.js').createAbortClasses>} EventClasses */
/** @typedef {InstanceType<EventClasses['AbortSignal']>} AbortSignal */

/** @type {EventClasses | null} */
let loaded = null;
let loading = false;

/**
 * The event and abort classes, loading them on first use.
 * @returns {EventClasses}
 */
export function events() {
  if (loaded === null) {
    // event-target-shim feature-tests globalThis.Event while it loads: that re-entry must see no global Event
    // (else the shim makes its Event inherit from itself), so it gets an empty module and nothing is settled.
    // (Only the lazy globals' getters can re-enter, and they expect no class then.)
    if (loading) return /** @type {EventClasses} */ ({});
    loading = true;
    try {
      // eslint-disable-next-line no-undef
      loaded = require('./abort.js').createAbortClasses({ DOMException, console });
    } finally {
      loading = false;
    }
  }
  return /** @type {EventClasses} */ (loaded);
}

/**
 * `v instanceof AbortSignal`, without loading the implementation (no signal can exist before it is).
 * @param {unknown} v
 * @returns {v is AbortSignal}
 */
export function isAbortSignal(v) {
  return loaded !== null && loaded.isAbortSignal(v);
}

export const EVENT_GLOBALS = ['EventTarget', 'Event', 'CustomEvent', 'AbortController', 'AbortSignal'];
