// Service bindings: `services = [{ binding = "AUTH", service = "auth-worker" }]` gives the worker `env.AUTH`, a
// Fetcher whose fetch() has the global fetch()'s semantics (streamed bodies, redirect modes, AbortSignal, counted as a
// subrequest) but goes to the bound worker in-process, whatever the URL's host. The runtime supplies the transport.
const INTERNAL = Symbol('internal');
let transport = null;

/** Set by the runtime: `(binding, input, init) => Promise<Response>`. */
export function setServiceTransport(fn) {
  transport = fn;
}

export class Fetcher {
  #binding;

  constructor(key, binding) {
    if (key !== INTERNAL) throw new TypeError('Illegal constructor: service bindings are made by the runtime from `services` in the manifest.');
    this.#binding = binding;
  }

  fetch(input, init = undefined) {
    if (typeof this !== 'object' || this === null || !(#binding in this)) return Promise.reject(new TypeError("Illegal invocation: fetch() must be called on a service binding (env.SERVICE.fetch(...)), or bound to it."));
    if (arguments.length === 0) return Promise.reject(new TypeError(`env.${this.#binding}.fetch(): 1 argument required, but only 0 present.`));
    if (transport === null) return Promise.reject(new TypeError(`env.${this.#binding}.fetch(): the runtime is not connected.`));
    return transport(this.#binding, input, init);
  }
}
Object.defineProperty(Fetcher.prototype, Symbol.toStringTag, { value: 'Fetcher', configurable: true });

/** The `env` entries of a worker's service bindings, by binding name. */
export function serviceEnv(bindings) {
  const env = {};
  for (const name of bindings) env[name] = new Fetcher(INTERNAL, String(name));
  return env;
}
