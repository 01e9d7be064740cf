// Loader for the event classes (EventTarget, Event, CustomEvent, AbortController, AbortSignal): they are evaluated
// on first use, like streams.js, so an isolate that never touches them pays only for their source text in the
// snapshot. esbuild turns the require() of an ES module into a closure that runs on its first call.
import { DOMException } from './dom-exception.js';
import { console } from './console.js';

let loaded = null;
let loading = false;

/** The event and abort classes, loading them on first use. */
export function events() {
  if (loaded === null) {
    // event-target-shim feature-tests globalThis.Event while it loads: that re-entry must see no global Event
    // (else the shim makes its Event inherit from itself), so it gets an empty module and nothing is settled.
    if (loading) return {};
    loading = true;
    try {
      // eslint-disable-next-line no-undef
      loaded = require('./abort.js').createAbortClasses({ DOMException, console });
    } finally {
      loading = false;
    }
  }
  return loaded;
}

/** `v instanceof AbortSignal`, without loading the implementation (no signal can exist before it is). */
export function isAbortSignal(v) {
  return loaded !== null && loaded.isAbortSignal(v);
}

export const EVENT_GLOBALS = ['EventTarget', 'Event', 'CustomEvent', 'AbortController', 'AbortSignal'];
