// The JS facade of the assets binding: `env.ASSETS` is a Fetcher whose fetch() the host answers from the worker's
// deployed static assets (never the network, never the worker itself), through the runtime's fetch() path.
// Prelude code: bundled into the isolate snapshot; it imports nothing and gets what it needs from `host`.
export default function assetsFacade(host) {
  const INTERNAL = Symbol('internal');

  class Fetcher {
    #binding;

    constructor(key, binding) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor: an assets binding is made by the runtime from `assets.binding` in the manifest.');
      this.#binding = binding;
    }

    fetch(input, init = undefined) {
      if (typeof this !== 'object' || this === null || !(#binding in this)) return Promise.reject(new TypeError('Illegal invocation: fetch() must be called on an assets binding (env.ASSETS.fetch(...)), or bound to it.'));
      if (arguments.length === 0) return Promise.reject(new TypeError(`env.${this.#binding}.fetch(): 1 argument required, but only 0 present.`));
      // A path alone is what code often passes ("/index.html"); Workers wants a URL, so resolve it on any origin.
      if (typeof input === 'string' && input.startsWith('/')) input = `http://assets.invalid${input}`;
      return host.serviceFetch(this.#binding, input, init);
    }
  }
  // Workers' class name, whatever the minifier calls it.
  Object.defineProperty(Fetcher, 'name', { value: 'Fetcher' });
  Object.defineProperty(Fetcher.prototype, Symbol.toStringTag, { value: 'Fetcher', configurable: true });

  return {
    create: (binding) => new Fetcher(INTERNAL, String(binding)),
  };
}
