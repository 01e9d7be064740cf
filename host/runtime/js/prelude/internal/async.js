// Asynchronous host operations (host/core/host-ops.ts): `hostAsync(op, arg)` returns a promise the host settles
// with a later entry. Wired by the runtime (runtime.js), which attributes each op to the request running now.
/** @typedef {(op: string, arg: unknown) => Promise<unknown>} AsyncCaller */

/** @type {AsyncCaller | null} */
let caller = null;

/** @param {AsyncCaller} fn */
export function setAsyncCaller(fn) {
  caller = fn;
}

/**
 * Asks the host to run `op` with a copy of `arg`; resolves with a copy of its result (HostOpRequest and
 * SettledCommand in host/core/isolate-protocol.ts).
 * @param {string} op  a name registered in the host's HostOps
 * @param {unknown} arg
 * @returns {Promise<unknown>}
 */
export function hostAsync(op, arg) {
  if (caller === null) return Promise.reject(new TypeError(`${op}: the host is not connected`));
  return caller(op, arg);
}
