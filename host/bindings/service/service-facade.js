// The JS facade of service bindings: `env.AUTH` is a Fetcher whose fetch() has the global fetch()'s semantics but goes
// to the bound worker in-process, whatever the URL's host (the runtime's transport, reached through `host.serviceFetch`).
// Prelude code: bundled into the isolate snapshot; it imports nothing and gets what it needs from `host`.
export default function serviceFacade(host) {
  const INTERNAL = Symbol('internal');

  class Fetcher {
    #binding;

    constructor(key, binding) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor: service bindings are made by the runtime from `services` in the manifest.');
      this.#binding = binding;
    }

    fetch(input, init = undefined) {
      if (typeof this !== 'object' || this === null || !(#binding in this)) return Promise.reject(new TypeError('Illegal invocation: fetch() must be called on a service binding (env.SERVICE.fetch(...)), or bound to it.'));
      if (arguments.length === 0) return Promise.reject(new TypeError(`env.${this.#binding}.fetch(): 1 argument required, but only 0 present.`));
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
