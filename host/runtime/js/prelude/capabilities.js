// The guest side of capabilities: jco's import object for WebAssembly components and the `env.BINDING` facade for
// JS workers, both built from interface descriptors (host/bindings/describe.ts) and both calling the one host
// implementation through hostInvoke('cap', ...). Resources are proxies holding a host handle number.
import { hostInvoke, hostInvokeIgnored } from './internal/bridge.js';

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

function decode(v) {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
  if (typeof v.__h === 'number' && typeof v.__r === 'string') {
    const cls = classes.get(`${v.__i}#${v.__r}`);
    if (!cls) throw new TypeError(`unknown resource ${v.__i}#${v.__r}`);
    return new cls(WRAP, v.__h);
  }
  if (Array.isArray(v)) return v.map(decode);
  const out = {};
  for (const k of Object.keys(v)) out[k] = decode(v[k]);
  return out;
}

/** A host reply (`{v}` value, `{e}` WIT error, `{x}` host failure) as the guest sees it: the value, or a throw. */
export function unwrapReply(reply, what) {
  if (reply !== null && typeof reply === 'object') {
    if ('v' in reply) return decode(reply.v);
    if ('e' in reply) throw new CapabilityError(decode(reply.e));
    // Host failures of capability calls already name the call; other ops add what they were.
    if ('x' in reply) throw new Error(what ? `${what}: ${String(reply.x)}` : String(reply.x));
  }
  throw new Error(`${what ?? 'capability call'}: malformed reply from the host`);
}

function call(i, r, m, k, h, args) {
  return unwrapReply(hostInvoke('cap', { i, r, m, k, h, a: encode(args) }));
}

/**
 * A call without a result (log.write): the guest cannot observe its outcome, so it does not wait for the host;
 * a host failure goes to the worker's log. Calls reach the host in the order they were made.
 */
function send(i, r, m, k, h, args) {
  hostInvokeIgnored('cap!', { i, r, m, k, h, a: encode(args) });
}

function resourceClass(iface, res) {
  const key = `${iface}#${res.js}`;
  const existing = classes.get(key);
  if (existing) return existing;
  const cls = class {
    constructor(...args) {
      if (args[0] === WRAP) {
        this[HANDLE] = args[1];
        return;
      }
      // A WIT constructor called by the guest: the host makes the object and gives back its handle.
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
      cls[m.js] = (...args) => call(iface, res.js, m.js, 'static', 0, args);
    } else if (m.kind === 'method') {
      const invoke = m.noResult ? send : call;
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
  const imports = {};
  for (const d of interfaces) {
    const obj = {};
    for (const f of d.functions) obj[f.js] = f.noResult ? (...args) => send(d.id, f.js, '', 'fn', 0, args) : (...args) => call(d.id, f.js, '', 'fn', 0, args);
    for (const r of d.resources) obj[r.js] = resourceClass(d.id, r);
    imports[d.id] = obj;
  }
  return imports;
}

/**
 * `env` entries for JS workers: `env.GEO.region(ip)` for an interface whose resource opens by binding name (the
 * resource's methods), otherwise the interface's functions. Every method returns a promise, as Workers bindings do.
 */
export function capabilityEnv(interfaces, bindings) {
  const env = {};
  for (const b of bindings) {
    const d = interfaces.find((x) => x.id === b.interface);
    if (!d) continue;
    const facade = {};
    if (d.opens) {
      const cls = resourceClass(d.id, d.resources.find((r) => r.js === d.opens));
      const res = d.resources.find((r) => r.js === d.opens);
      let opened = null;
      for (const m of res.members) {
        if (m.kind !== 'method') continue;
        facade[m.js] = async (...args) => {
          opened ??= cls.open(b.binding);
          return opened[m.js](...args);
        };
      }
    } else {
      for (const f of d.functions) facade[f.js] = async (...args) => call(d.id, f.js, '', 'fn', 0, args);
    }
    env[b.binding] = Object.freeze(facade);
  }
  return env;
}
