// `env.ROOMS`: a Durable Object namespace for JS workers (durable_objects in the manifest): a
// DurableObjectNamespace whose ids come from the edge:platform/durable interface (durable.ts, the same functions
// components import), and whose stubs reach the object in-process: `stub.fetch()` through the runtime's transport,
// `stub.method(...args)` (JS RPC) as a fetch the object's runtime turns into a method call.
// Prelude code: bundled into the isolate snapshot; it imports nothing and gets what it needs from `host`.
export default function durableFacade(host) {
  const DURABLE = 'edge:platform/durable';
  const INTERNAL = Symbol('internal');
  const RPC_URL = 'http://durable-object.rpc/';

  function guestError(err) {
    if (!(err instanceof host.CapabilityError)) return err;
    const p = err.payload;
    const val = p !== null && typeof p === 'object' && typeof p.val === 'string' ? p.val : err.message;
    if (p?.tag === 'invalid-id') {
      return new TypeError(/^[0-9a-f]{64}$/.test(val) ? `Invalid Durable Object ID: ${val} is an id of another Durable Object class (or was not made on this host)` : `Invalid Durable Object ID: ${JSON.stringify(val)} is not 64 hexadecimal digits`);
    }
    return new Error(val);
  }

  function handleOf(state) {
    if (state.handle === 0) state.handle = host.callSync(DURABLE, 'Namespace', 'open', 'static', 0, [state.binding]).__h;
    return state.handle;
  }

  function callSync(state, member, args) {
    try {
      return host.callSync(DURABLE, 'Namespace', member, 'method', handleOf(state), args);
    } catch (err) {
      throw guestError(err);
    }
  }

  /** Ids a namespace made (or checked) itself: get() need not ask the host whether they are of its class. */
  const madeBy = new WeakMap();
  /** Names already hashed to ids (the same name always gives the same id), per namespace: at most this many each. */
  const NAME_CACHE = 1024;

  class DurableObjectId {
    #id;
    #name;
    constructor(key, id, name, ns = undefined) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor: ids come from a namespace (idFromName, newUniqueId, idFromString).');
      this.#id = id;
      this.#name = name;
      if (ns !== undefined) madeBy.set(this, ns);
    }
    toString() {
      return this.#id;
    }
    equals(other) {
      return other instanceof DurableObjectId && other.toString() === this.#id;
    }
    get name() {
      return this.#name;
    }
  }
  Object.defineProperty(DurableObjectId, 'name', { value: 'DurableObjectId' });

  /** The body of an RPC call: the method and its arguments, as JSON with the structured types tagged. */
  function encodeRpc(method, args) {
    return JSON.stringify({ method, args: args.map(host.rpcEncode) });
  }

  function makeStub(ns, id) {
    const target = {
      id,
      name: id.name,
      fetch(input, init = undefined) {
        if (arguments.length === 0) return Promise.reject(new TypeError('fetch(): 1 argument required, but only 0 present.'));
        return host.serviceFetch(ns.binding, input, init, id.toString(), ns.local ? ns.className : undefined);
      },
    };
    // Any other property is a method of the object's class, called over RPC.
    return new Proxy(target, {
      get(t, prop) {
        if (prop in t || typeof prop === 'symbol') return t[prop];
        if (prop === 'then') return undefined;
        return async (...args) => {
          const res = await host.serviceFetch(ns.binding, RPC_URL, { method: 'POST', headers: { 'x-edge-rpc': '1', 'content-type': 'application/json' }, body: encodeRpc(prop, args) }, id.toString(), ns.local ? ns.className : undefined);
          const text = await res.text();
          let out;
          try {
            out = JSON.parse(text);
          } catch {
            throw new Error(`RPC ${String(prop)}(): the object answered ${res.status} ${text.slice(0, 200)}`);
          }
          if (out.error) {
            const e = new (out.error.name === 'TypeError' ? TypeError : out.error.name === 'RangeError' ? RangeError : Error)(out.error.message);
            if (out.error.name && e.name !== out.error.name) e.name = out.error.name;
            throw e;
          }
          return host.rpcDecode(out.value);
        };
      },
    });
  }

  class DurableObjectNamespace {
    #state;
    constructor(key, state) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor: namespaces are made by the runtime from durable_objects in the manifest.');
      this.#state = state;
    }
    idFromName(name) {
      if (typeof name !== 'string') throw new TypeError('idFromName(): the name must be a string');
      const state = this.#state;
      const names = (state.names ??= new Map());
      let hex = names.get(name);
      if (hex === undefined) {
        hex = callSync(state, 'idFromName', [name]);
        if (names.size >= NAME_CACHE) names.delete(names.keys().next().value);
        names.set(name, hex);
      }
      return new DurableObjectId(INTERNAL, hex, name, state);
    }
    newUniqueId(options = undefined) {
      if (options !== undefined && (options === null || typeof options !== 'object')) throw new TypeError('newUniqueId(): options must be an object');
      return new DurableObjectId(INTERNAL, callSync(this.#state, 'newUniqueId', []), undefined, this.#state);
    }
    idFromString(id) {
      if (typeof id !== 'string') throw new TypeError('idFromString(): the id must be a string');
      return new DurableObjectId(INTERNAL, callSync(this.#state, 'idFromString', [id.toLowerCase()]), undefined, this.#state);
    }
    get(id, options = undefined) {
      if (!(id instanceof DurableObjectId)) throw new TypeError('get(): the id must be a DurableObjectId from this namespace (idFromName, newUniqueId, idFromString)');
      // An id made by another namespace is checked against this one's class.
      if (madeBy.get(id) !== this.#state) callSync(this.#state, 'idFromString', [id.toString()]);
      return makeStub(this.#state, id);
    }
    getByName(name, options = undefined) {
      return this.get(this.idFromName(name), options);
    }
    jurisdiction() {
      return this;
    }
  }
  Object.defineProperty(DurableObjectNamespace, 'name', { value: 'DurableObjectNamespace' });
  Object.defineProperty(DurableObjectNamespace.prototype, Symbol.toStringTag, { value: 'DurableObjectNamespace' });

  return {
    create(binding, config) {
      return new DurableObjectNamespace(INTERNAL, { binding: String(binding), className: config?.className, local: config?.local === true, handle: 0 });
    },
  };
}
