// Asynchronous host operations (host/runtime/host-ops.ts): `hostAsync(op, arg)` returns a promise the host settles
// with a later entry. Wired by the runtime (runtime.js), which attributes each op to the request running now.
let caller = null;

export function setAsyncCaller(fn) {
  caller = fn;
}

/** Asks the host to run `op` with a copy of `arg`; resolves with a copy of its result. */
export function hostAsync(op, arg) {
  if (caller === null) return Promise.reject(new TypeError(`${op}: the host is not connected`));
  return caller(op, arg);
}
