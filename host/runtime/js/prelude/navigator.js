// `navigator` as Workers has it. userAgent is exactly "Cloudflare-Workers": libraries sniff that string to pick their
// Workers code paths (Hono's getRuntimeKey() returns 'workerd' for it), and this runtime runs those paths.
export class Navigator {
  /** @param {unknown} [key] */
  constructor(key = undefined) {
    if (key !== NAVIGATOR_KEY) throw new TypeError('Illegal constructor: use the global navigator object.');
  }

  get userAgent() {
    return 'Cloudflare-Workers';
  }

  /** One: a worker runs on one thread, whatever the machine has. */
  get hardwareConcurrency() {
    return 1;
  }
}
Object.defineProperty(Navigator.prototype, Symbol.toStringTag, { value: 'Navigator', configurable: true });

const NAVIGATOR_KEY = Symbol('navigator');
export const navigator = new Navigator(NAVIGATOR_KEY);
