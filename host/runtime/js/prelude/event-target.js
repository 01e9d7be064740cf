// EventTarget and Event from event-target-shim (a WHATWG-conformant implementation: capture, once, passive,
// signal options, handleEvent objects), plus CustomEvent. Loaded on first use through events.js.
import { EventTarget, Event, setErrorHandler, setWarningHandler, getEventAttributeValue, setEventAttributeValue } from 'event-target-shim';
import { console } from './console.js';

// A listener that throws is reported, and the other listeners still run (as in browsers and Workers).
setErrorHandler((error) => console.error(error));
// The shim warns about things browsers accept silently (a duplicate listener, preventDefault on a
// non-cancelable event): Workers code relies on that silence.
setWarningHandler(() => {});

for (const [cls, tag] of [[EventTarget, 'EventTarget'], [Event, 'Event']]) {
  if (!Object.hasOwn(cls.prototype, Symbol.toStringTag)) Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: tag, configurable: true });
}

export class CustomEvent extends Event {
  #detail;

  constructor(type, eventInitDict = undefined) {
    super(type, eventInitDict);
    this.#detail = eventInitDict?.detail ?? null;
  }

  get detail() {
    return this.#detail;
  }
}
Object.defineProperty(CustomEvent.prototype, Symbol.toStringTag, { value: 'CustomEvent', configurable: true });

export { EventTarget, Event, getEventAttributeValue, setEventAttributeValue };
