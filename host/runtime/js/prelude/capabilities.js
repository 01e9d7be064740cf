// The guest side of capabilities: one channel to the host's WIT implementations (host/bindings), used by jco's import
// object for WebAssembly components (synchronous: `hostInvoke('cap', call)`, the guest's thread blocks while the host
// works) and by JS workers' facades (asynchronous: `hostAsync('cap', call)`, a promise the host settles with an entry,
// so the isolate keeps running other work). A call is `{ i: interface, r: resource or function, m: member, k: kind,
// h: handle, a: args }` (CapabilityCall in host/core/isolate-protocol.ts); the reply is `{ v } | { e } | { x }`.
// Resources are proxies holding a host handle number.
import { hostInvoke, hostInvokeFlat, hostInvokeIgnored } from './internal/bridge.js';
import { hostAsync } from './internal/async.js';

const HANDLE = Symbol('edge.handle');
const WRAP = Symbol('edge.wrap');
/** `${interface}#${Class}` -> proxy class, so that handles returned by any interface become the right class. */
const classes = new Map();

/** A WIT `result` error from the host: jco's glue passes `payload` to the guest; JS workers see it as an Error. */
export class CapabilityError extends Error {
  constructor(payload) {
    super(describePayload(payload));
    this.name = 'CapabilityError';
    this.payload = payload;
  }
}

function describePayload(p) {
  if (p !== null && typeof p === 'object' && 'tag' in p) return p.val === undefined ? String(p.tag) : `${String(p.tag)}: ${typeof p.val === 'string' ? p.val : safeJson(p.val)}`;
  return typeof p === 'string' ? p : safeJson(p);
}

function safeJson(v) {
  try {
    return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

function encode(v) {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
  const h = v[HANDLE];
  if (typeof h === 'number') {
    if (h === 0) throw new TypeError('This resource was already dropped.');
    return { __h: h };
  }
  if (Array.isArray(v)) return v.map(encode);
  const out = {};
  for (const k of Object.keys(v)) out[k] = encode(v[k]);
  return out;
}

/** A host value as the guest sees it: handle markers become proxies of their resource class (`mode`: sync or async). */
function decode(v, mode = 'sync') {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
  if (typeof v.__h === 'number' && typeof v.__r === 'string') {
    const cls = classes.get(`${mode}:${v.__i}#${v.__r}`);
    if (!cls) throw new TypeError(`unknown resource ${v.__i}#${v.__r}`);
    return new cls(WRAP, v.__h);
  }
  if (Array.isArray(v)) return v.map((x) => decode(x, mode));
  const out = {};
  for (const k of Object.keys(v)) out[k] = decode(v[k], mode);
  return out;
}

/** A host reply (`{v}` value, `{e}` WIT error, `{x}` host failure) as the guest sees it: the value, or a throw. */
export function unwrapReply(reply, what, mode = 'sync') {
  if (reply !== null && typeof reply === 'object') {
    if ('v' in reply) return decode(reply.v, mode);
    if ('e' in reply) throw new CapabilityError(decode(reply.e, mode));
    // Host failures of capability calls already name the call; other ops add what they were.
    if ('x' in reply) throw new Error(what ? `${what}: ${String(reply.x)}` : String(reply.x));
  }
  throw new Error(`${what ?? 'capability call'}: malformed reply from the host`);
}

function call(i, r, m, k, h, args) {
  return unwrapReply(hostInvoke('cap', { i, r, m, k, h, a: encode(args) }));
}

/** The same call, answered asynchronously (JS workers): resolves with the value, rejects with a CapabilityError. */
function callAsync(i, r, m, k, h, args) {
  let a;
  try {
    a = encode(args);
  } catch (err) {
    return Promise.reject(err);
  }
  return hostAsync('cap', { i, r, m, k, h, a }).then((reply) => unwrapReply(reply, undefined, 'async'));
}

/**
 * A call without a result (log.write): the guest cannot observe its outcome, so it does not wait for the host;
 * a host failure goes to the worker's log. Calls reach the host in the order they were made.
 */
function send(i, r, m, k, h, args) {
  hostInvokeIgnored('cap!', { i, r, m, k, h, a: encode(args) });
}

function resourceClass(iface, res, mode = 'sync') {
  const key = `${mode}:${iface}#${res.js}`;
  const invokeMethod = mode === 'async' ? callAsync : call;
  const existing = classes.get(key);
  if (existing) return existing;
  const cls = class {
    constructor(...args) {
      if (args[0] === WRAP) {
        this[HANDLE] = args[1];
        return;
      }
      // A WIT constructor called by the guest: the host makes the object and gives back its handle (at once).
      this[HANDLE] = call(iface, res.js, 'constructor', 'constructor', 0, args)[HANDLE];
    }
    [Symbol.dispose]() {
      const h = this[HANDLE];
      if (!h) return;
      this[HANDLE] = 0;
      call(iface, res.js, '', 'drop', h, []);
    }
  };
  Object.defineProperty(cls, 'name', { value: res.js });
  for (const m of res.members) {
    if (m.kind === 'static') {
      cls[m.js] = (...args) => invokeMethod(iface, res.js, m.js, 'static', 0, args);
    } else if (m.kind === 'method') {
      const invoke = m.noResult ? send : invokeMethod;
      Object.defineProperty(cls.prototype, m.js, {
        value: function (...args) {
          const h = this[HANDLE];
          if (!h) throw new TypeError(`${res.js}.${m.js}: this resource was already dropped.`);
          return invoke(iface, res.js, m.js, 'method', h, args);
        },
        writable: true,
        configurable: true,
      });
    }
  }
  classes.set(key, cls);
  return cls;
}

/** jco's imports for the granted interfaces: `{ 'acme:geo/lookup': { Table, ... } }`. */
export function capabilityImports(interfaces) {
  /** @type {Record<string, Record<string, unknown>>} */
  const imports = {};
  for (const d of interfaces) {
    /** @type {Record<string, unknown>} */
    const obj = {};
    for (const f of d.functions) obj[f.js] = f.noResult ? (...args) => send(d.id, f.js, '', 'fn', 0, args) : (...args) => call(d.id, f.js, '', 'fn', 0, args);
    for (const r of d.resources) obj[r.js] = resourceClass(d.id, r);
    imports[d.id] = obj;
  }
  return imports;
}

/**
 * The generic facade for a JS worker's binding of an interface without a facade of its own (user capabilities):
 * `env.GEO.region(ip)` when a resource of the interface opens by binding name (its methods), otherwise the
 * interface's functions. Every method returns a promise, as Workers bindings do, and calls the host asynchronously.
 */
export function witFacade(d, binding) {
  const facade = {};
  if (d.opens) {
    const res = d.resources.find((r) => r.js === d.opens);
    resourceClass(d.id, res, 'sync');
    const cls = resourceClass(d.id, res, 'async');
    let opened = null;
    for (const m of res.members) {
      if (m.kind !== 'method') continue;
      facade[m.js] = async (...args) => {
        // Opening answers at once (no I/O); the handle lives as long as the isolate.
        opened ??= new cls(WRAP, call(d.id, res.js, 'open', 'static', 0, [binding])[HANDLE]);
        return opened[m.js](...args);
      };
    }
  } else {
    for (const f of d.functions) facade[f.js] = (...args) => callAsync(d.id, f.js, '', 'fn', 0, args);
  }
  for (const r of d.resources) resourceClass(d.id, r, 'async');
  return Object.freeze(facade);
}

/**
 * What a capability's own JS facade (host/bindings/<name>/*-facade.js) gets to reach its host implementation: calls
 * of its WIT interface by name, with resources as plain `{ __h }` handle markers it manages itself.
 */
export const facadeChannel = Object.freeze({
  /** An asynchronous call: resolves with the value, rejects with a CapabilityError carrying the WIT error. */
  call(i, r, m, k, h, args) {
    let a;
    try {
      a = encode(args);
    } catch (err) {
      return Promise.reject(err);
    }
    return hostAsync('cap', { i, r, m, k, h, a }).then((reply) => rawReply(reply));
  },
  /**
   * A call whose bytes stay on the host ('cap.held', HeldCapCall in host/core/isolate-protocol.ts): `extra.bodies`
   * names host bodies (claimed host streams) the host reads whole as arguments, `extra.hold` a result field whose
   * bytes it keeps (a HeldBody marker comes back instead, when they are longer than `hold.inline`).
   */
  callHeld(i, r, m, k, h, args, extra) {
    let a;
    try {
      a = encode(args);
    } catch (err) {
      return Promise.reject(err);
    }
    return hostAsync('cap.held', { call: { i, r, m, k, h, a }, ...extra }).then((reply) => rawReply(reply));
  },
  /** A synchronous call, for what the host answers at once without I/O (opening a binding). */
  callSync(i, r, m, k, h, args) {
    return rawReply(hostInvoke('cap', { i, r, m, k, h, a: encode(args) }));
  },
  /** As callSync, for a method call whose arguments are all primitives (strings, numbers, bigints, booleans, null). */
  callSyncFlat(i, r, m, h, args) {
    return rawReply(hostInvokeFlat(i, r, m, h, args));
  },
  /** Drops a resource handle (sent without waiting). */
  drop(i, r, h) {
    if (h) hostInvokeIgnored('cap!', { i, r, m: '', k: 'drop', h, a: [] });
  },
});

function rawReply(reply) {
  if (reply !== null && typeof reply === 'object') {
    if ('v' in reply) return reply.v;
    if ('e' in reply) throw new CapabilityError(reply.e);
    if ('x' in reply) throw new Error(String(reply.x));
  }
  throw new Error('capability call: malformed reply from the host');
}
