// `performance` as Workers has it: timeOrigin is 0 and now() is the wall clock in milliseconds (the same numbers as
// Date.now()). A time origin taken when the prelude ran would be the snapshot's build time, shared by every isolate.
export class Performance {
  /** @param {unknown} [key] */
  constructor(key = undefined) {
    if (key !== PERFORMANCE_KEY) throw new TypeError('Illegal constructor: use the global performance object.');
  }

  get timeOrigin() {
    return 0;
  }

  now() {
    return Date.now();
  }

  toJSON() {
    return { timeOrigin: 0 };
  }
}
Object.defineProperty(Performance.prototype, Symbol.toStringTag, { value: 'Performance', configurable: true });

const PERFORMANCE_KEY = Symbol('performance');
export const performance = new Performance(PERFORMANCE_KEY);
