// The prelude's only link to the host: isolated-vm References handed over once by __edgeInit, kept in this
// closure and never exposed to guest code. Every host function validates its arguments: guests are untrusted.
//
// Host functions (all receive and return copies, never host objects; HostFunctions in host/core/isolate-protocol.ts):
//   log(level: string, text: string)                     applyIgnored   console output, to `edge tail` (applySync in a synchronous entry)
//   randomBytes(n: number) -> Uint8Array                 applySync      CSPRNG bytes, n <= 65536
//   urlParse(input: string, base?: string) -> UrlRecord | null   applySync   WHATWG URL parse (host's Ada)
//   call(reqId: number, op: string, arg: any)            applyIgnored   async host ops and late results; answers come back as entries
//   invoke(op: string, arg: any) -> Reply | { p: ticket } applySync     synchronous host ops (capabilities, component bodies)
//   invoke('cap.flat', i, r, m, h, ...primitives) -> primitive | Reply | { p: ticket }   a capability method call of primitives
//   invoke('body.read.bytes', reqId, max) -> ArrayBuffer | null | Reply | { p: ticket }   a component's request body read
//   invoke('resp.write.bytes', reqId, ArrayBuffer) -> Reply | { p: ticket }   a component's response body write
//   invoke('body.whole.take', reqId, id) -> ArrayBuffer | Reply   a body the host read whole ('body.whole'), moved in
//   wait(ticket: number) -> Reply                        applySyncPromise  the answer of an invoke the host had to wait for
// Reply = { v: value } | { e: WIT error payload } | { x: host failure message }
// UrlRecord = { href, origin, protocol, username, password, host, hostname, port, pathname, search, hash }
/** @import { FlatArg, HostFunctions, InvokeOp, InvokeOps, InvokeTicket, UrlRecord } from '../../../../core/isolate-protocol.ts' */

/** @typedef {{ [K in keyof HostFunctions]: HostReference<HostFunctions[K]> }} HostReferences */

/**
 * The host's References; null until __edgeInit (setBridge), which runs before any other prelude code needs them.
 * @type {{ [K in keyof HostFunctions]: HostReference<HostFunctions[K]> | null }}
 */
export const bridge = {
  log: null,
  randomBytes: null,
  urlParse: null,
  call: null,
  invoke: null,
  wait: null,
};

/** The bridge, once connected: everything that calls the host runs after __edgeInit. */
export function connectedBridge() {
  return /** @type {HostReferences} */ (bridge);
}

/** @param {Partial<HostReferences>} refs */
export function setBridge(refs) {
  for (const k of /** @type {Array<keyof HostFunctions>} */ (Object.keys(bridge))) {
    if (!refs[k]) throw new TypeError(`__edgeInit: missing host function ${k}`);
    /** @type {Record<keyof HostFunctions, unknown>} */ (bridge)[k] = refs[k];
  }
}

/**
 * @param {string} level
 * @param {string} text
 */
export function hostLog(level, text) {
  // In a synchronous entry the host's thread is running this isolate: a log sent without waiting would reach it only
  // after the entry and what the host does with its outcome (a request's end would be told before its last logs).
  if (syncEntry) connectedBridge().log.applySync(undefined, [level, text]);
  else connectedBridge().log.applyIgnored(undefined, [level, text]);
}

/** Inside one of the host's synchronous entries (from its `sync` command to its `take`). */
let syncEntry = false;

/** @param {boolean} on */
export function setSyncEntry(on) {
  syncEntry = on;
}

/**
 * @param {number} n
 * @returns {Uint8Array}
 */
export function hostRandomBytes(n) {
  return connectedBridge().randomBytes.applySync(undefined, [n], { result: { copy: true } });
}

/**
 * @param {string} input
 * @param {string} [base]
 * @returns {UrlRecord | null}
 */
export function hostUrlParse(input, base) {
  return connectedBridge().urlParse.applySync(undefined, base === undefined ? [input] : [input, base], { result: { copy: true } });
}

/**
 * A synchronous call into the host, for guests that cannot wait asynchronously (WebAssembly components' imports).
 * The host answers at once when it can; when its work is asynchronous it answers with a ticket, and this thread
 * blocks on it (applySyncPromise; entries run off the host's main thread, so the host keeps serving meanwhile).
 * @template {InvokeOp} K
 * @param {K} op
 * @param {InvokeOps[K]['arg']} arg
 * @returns {InvokeOps[K]['reply']}
 */
export function hostInvoke(op, arg) {
  const r = connectedBridge().invoke.applySync(undefined, [op, arg], { arguments: { copy: true }, result: { copy: true } });
  return /** @type {InvokeOps[K]['reply']} */ (replyOf(r));
}

/**
 * An invoke's answer as its reply: for a ticket, the reply of the op it stands for (waited for here).
 * @param {unknown} r
 * @returns {unknown}
 */
function replyOf(r) {
  if (r !== null && typeof r === 'object' && typeof (/** @type {{ p?: unknown }} */ (r).p) === 'number') {
    return connectedBridge().wait.applySyncPromise(undefined, [/** @type {InvokeTicket} */ (r).p], { arguments: { copy: true } });
  }
  return r;
}

/**
 * A capability method call whose arguments are all primitives (HostFunctions.invoke's 'cap.flat' form): no call
 * object to copy either way when the answer is a primitive too. Its reply, as hostInvoke('cap', ...) gives it.
 * @param {string} i
 * @param {string} r
 * @param {string} m
 * @param {number} h
 * @param {FlatArg[]} args
 * @returns {InvokeOps['cap']['reply']}
 */
export function hostInvokeFlat(i, r, m, h, args) {
  const invoke = /** @type {{ applySync(receiver: undefined, args: unknown[], options: object): unknown }} */ (/** @type {unknown} */ (connectedBridge().invoke));
  const out = invoke.applySync(undefined, ['cap.flat', i, r, m, h, ...args], { result: { copy: true } });
  if (out === null || typeof out !== 'object') return { v: out };
  return /** @type {InvokeOps['cap']['reply']} */ (replyOf(out));
}

const ArrayBufferCtor = ArrayBuffer;
const Uint8ArrayCtor = Uint8Array;

/**
 * A component's read of its request body (`invoke('body.read.bytes', reqId, max)`), as 'body.read' replies: the
 * bytes (moved in as an ArrayBuffer: no reply object cloned either way), null at the end, or a failure.
 * @param {number} reqId
 * @param {number} max
 * @returns {InvokeOps['body.read']['reply']}
 */
export function hostReadBytes(reqId, max) {
  const invoke = /** @type {{ applySync(receiver: undefined, args: unknown[]): unknown }} */ (/** @type {unknown} */ (connectedBridge().invoke));
  const r = replyOf(invoke.applySync(undefined, ['body.read.bytes', reqId, max]));
  if (r instanceof ArrayBufferCtor) return { v: new Uint8ArrayCtor(r) };
  if (r === null) return { v: null };
  return /** @type {InvokeOps['body.read']['reply']} */ (r);
}

/**
 * The buffer a 'body.whole' host op read for request `reqId` (WholeBody `id`), moved into this isolate: no copy, no
 * reply object cloned. Throws when the host has no such buffer.
 * @param {number} reqId
 * @param {number} id
 * @returns {Uint8Array}
 */
export function hostTakeWhole(reqId, id) {
  const invoke = /** @type {{ applySync(receiver: undefined, args: unknown[]): unknown }} */ (/** @type {unknown} */ (connectedBridge().invoke));
  const r = replyOf(invoke.applySync(undefined, ['body.whole.take', reqId, id]));
  if (r instanceof ArrayBufferCtor) return new Uint8ArrayCtor(r);
  const x = r !== null && typeof r === 'object' ? /** @type {{ x?: unknown }} */ (r).x : undefined;
  throw new TypeError(typeof x === 'string' ? x : 'the body read whole could not be taken');
}

/**
 * A component's write of its response body (`invoke('resp.write.bytes', reqId, buffer)`): the bytes cross as one
 * ArrayBuffer argument (one copy), not inside a call object. Its reply.
 * @param {number} reqId
 * @param {Uint8Array} chunk
 * @returns {InvokeOps['resp.write']['reply']}
 */
export function hostWriteBytes(reqId, chunk) {
  // The bytes of the view alone, from an ArrayBuffer (a SharedArrayBuffer would be shared, not copied).
  const whole = chunk.buffer instanceof ArrayBufferCtor && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  const buffer = whole ? chunk.buffer : new Uint8ArrayCtor(chunk).buffer;
  const invoke = /** @type {{ applySync(receiver: undefined, args: unknown[], options: object): unknown }} */ (/** @type {unknown} */ (connectedBridge().invoke));
  return /** @type {InvokeOps['resp.write']['reply']} */ (replyOf(invoke.applySync(undefined, ['resp.write.bytes', reqId, buffer], { arguments: { copy: true }, result: { copy: true } })));
}

/**
 * A host op whose outcome the guest does not need (a WIT function without result): sent without waiting.
 * @template {InvokeOp} K
 * @param {K} op
 * @param {InvokeOps[K]['arg']} arg
 */
export function hostInvokeIgnored(op, arg) {
  connectedBridge().invoke.applyIgnored(undefined, [op, arg], { arguments: { copy: true } });
}
