// The prelude's only link to the host: isolated-vm References handed over once by __edgeInit, kept in this
// closure and never exposed to guest code. Every host function validates its arguments: guests are untrusted.
//
// Host functions (all receive and return copies, never host objects):
//   log(level: string, text: string)                     applyIgnored   console output, to `edge tail`
//   randomBytes(n: number) -> Uint8Array                 applySync      CSPRNG bytes, n <= 65536
//   urlParse(input: string, base?: string) -> UrlRecord | null   applySync   WHATWG URL parse (host's Ada)
//   call(reqId: number, op: string, arg: any)            applyIgnored   async host ops and late results; answers come back as entries
//   invoke(op: string, arg: any) -> Reply | { p: ticket } applySync     synchronous host ops (capabilities, component bodies)
//   wait(ticket: number) -> Reply                        applySyncPromise  the answer of an invoke the host had to wait for
// Reply = { v: value } | { e: WIT error payload } | { x: host failure message }
// UrlRecord = { href, origin, protocol, username, password, host, hostname, port, pathname, search, hash }

export const bridge = {
  log: null,
  randomBytes: null,
  urlParse: null,
  call: null,
  invoke: null,
  wait: null,
};

export function setBridge(refs) {
  for (const k of Object.keys(bridge)) {
    if (!refs[k]) throw new TypeError(`__edgeInit: missing host function ${k}`);
    bridge[k] = refs[k];
  }
}

export function hostLog(level, text) {
  bridge.log.applyIgnored(undefined, [level, text]);
}

export function hostRandomBytes(n) {
  return bridge.randomBytes.applySync(undefined, [n], { result: { copy: true } });
}

export function hostUrlParse(input, base) {
  return bridge.urlParse.applySync(undefined, base === undefined ? [input] : [input, base], { result: { copy: true } });
}

/**
 * A synchronous call into the host, for guests that cannot wait asynchronously (WebAssembly components' imports).
 * The host answers at once when it can; when its work is asynchronous it answers with a ticket, and this thread
 * blocks on it (applySyncPromise; entries run off the host's main thread, so the host keeps serving meanwhile).
 */
export function hostInvoke(op, arg) {
  const r = bridge.invoke.applySync(undefined, [op, arg], { arguments: { copy: true }, result: { copy: true } });
  if (r !== null && typeof r === 'object' && typeof r.p === 'number') {
    return bridge.wait.applySyncPromise(undefined, [r.p], { arguments: { copy: true } });
  }
  return r;
}

/** A host op whose outcome the guest does not need (a WIT function without result): sent without waiting. */
export function hostInvokeIgnored(op, arg) {
  bridge.invoke.applyIgnored(undefined, [op, arg], { arguments: { copy: true } });
}
