// The transport of service bindings: a facade's `fetch()` to a bound worker (host/bindings/service/service-facade.js)
// goes through the runtime's own fetch() path (streamed bodies, redirect modes, AbortSignal, counted as a subrequest),
// addressed to the binding; the host maps the binding to its worker. The runtime supplies the transport.
let transport = null;

/** Set by the runtime: `(binding, input, init, object?, localClass?) => Promise<Response>`. */
export function setServiceTransport(fn) {
  transport = fn;
}

/**
 * fetch() through service binding `binding`; with `object`, to that Durable Object of the namespace `binding`, whose
 * class is this worker's own `localClass` when given (the object lives in this isolate).
 */
export function serviceFetch(binding, input, init, object = undefined, localClass = undefined) {
  if (transport === null) return Promise.reject(new TypeError(`env.${binding}.fetch(): the runtime is not connected.`));
  return transport(binding, input, init, object, localClass);
}
