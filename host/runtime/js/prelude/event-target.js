// EventTarget and Event from event-target-shim (a WHATWG-conformant implementation: capture, once, passive,
// signal options, handleEvent objects), plus CustomEvent. Loaded on first use through events.js. Like every lazily
// loaded prelude module it imports no eager prelude module (esbuild would then wrap those in lazy initializers too,
// and their compiled initializers would sit in every isolate's snapshot): what it needs from them is passed in.
import { EventTarget, Event, setErrorHandler, setWarningHandler, getEventAttributeValue, setEventAttributeValue } from 'event-target-shim';

/** Configures the shim and returns the event classes; `console` reports listeners that throw. */
export function createEventClasses(console) {
  // A listener that throws is reported, and the other listeners still run (as in browsers and Workers).
  setErrorHandler((error) => console.error(error));
  // The shim warns about things browsers accept silently (a duplicate listener, preventDefault on a
  // non-cancelable event): Workers code relies on that silence.
  setWarningHandler(() => {});

  for (const [cls, tag] of /** @type {Array<[Function, string]>} */ ([[EventTarget, 'EventTarget'], [Event, 'Event']])) {
    if (!Object.hasOwn(cls.prototype, Symbol.toStringTag)) Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: tag, configurable: true });
  }

  class CustomEvent extends Event {
    #detail;

    /**
     * @param {string} type
     * @param {import('event-target-shim').Event.EventInit & { detail?: unknown }} [eventInitDict]
     */
    constructor(type, eventInitDict = undefined) {
      super(type, eventInitDict);
      this.#detail = eventInitDict?.detail ?? null;
    }

    get detail() {
      return this.#detail;
    }
  }
  Object.defineProperty(CustomEvent.prototype, Symbol.toStringTag, { value: 'CustomEvent', configurable: true });

  return { EventTarget, Event, CustomEvent, getEventAttributeValue, setEventAttributeValue };
}
