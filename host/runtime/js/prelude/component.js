// Runs a WebAssembly component (transpiled by jco at deploy) as a worker: its `handle(request) -> response` export
// becomes the worker's fetch handler. Imports are served synchronously by the host (the guest's thread blocks
// while the host waits for storage or a body chunk); http-types' bodies are read and written straight from and to
// the host's request and response streams, chunk by chunk. Fuel is refilled before every request; a trap (fuel
// exhausted or any other) discards the component instance, and the next request gets a new one.
import { hostInvoke, hostInvokeIgnored } from './internal/bridge.js';
import { CapabilityError, capabilityImports, unwrapReply } from './capabilities.js';

/** Marks what the adapter returns when the body already went out through begin-response (not a Response). */
export const STREAMED = Symbol('edge.streamed');
/** Fuel a request used, on the Response (or streamed marker) the adapter returns. */
export const FUEL_USED = Symbol('edge.fuelUsed');

const HTTP = 'edge:platform/http-types';
const REQ = Symbol('edge.reqId');

export function createComponentWorker(instantiate, config) {
  // Compiled by the host from the deploy-time bytes (memories capped, fuel counted); instantiating them through the
  // prelude's WebAssembly.Instance registers their exported memories against the isolate's budget.
  const modules = Object.create(null);
  for (const name of Object.keys(config.wasm)) {
    const m = config.wasm[name];
    modules[name] = m instanceof WebAssembly.Module ? m : new WebAssembly.Module(m);
  }
  const fuelBudget = typeof config.fuel === 'number' ? BigInt(config.fuel) : null;
  const fuelExport = config.fuelExport || '__edge_fuel';

  let reqId = 0;
  let begun = false;

  class IncomingBody {
    constructor(token, id) {
      if (token !== REQ) throw new TypeError('incoming-body cannot be constructed by the guest');
      this[REQ] = id;
      this.done = false;
    }
    read(max) {
      if (this.done) return undefined;
      const chunk = unwrapReply(hostInvoke('body.read', { reqId: this[REQ], max: max >>> 0 }), 'incoming-body.read');
      if (chunk === null || chunk === undefined) {
        this.done = true;
        return undefined;
      }
      return chunk;
    }
  }
  class OutgoingBody {
    constructor(token, id) {
      if (token !== REQ) throw new TypeError('outgoing-body cannot be constructed by the guest');
      this[REQ] = id;
    }
    write(chunk) {
      unwrapReply(hostInvoke('resp.write', { reqId: this[REQ], chunk }), 'outgoing-body.write');
    }
  }
  function beginResponse(status, headers) {
    if (begun) throw new CapabilityError({ tag: 'io', val: 'begin-response was already called for this request' });
    unwrapReply(hostInvoke('resp.begin', { reqId, status, headers }), 'begin-response');
    begun = true;
    return new OutgoingBody(REQ, reqId);
  }

  const imports = capabilityImports(config.interfaces);
  imports[HTTP] = { IncomingBody, OutgoingBody, beginResponse };

  let component = null;
  let fuelGlobals = [];
  function instance() {
    if (component) return component;
    const globals = [];
    component = instantiate(
      (name) => {
        const m = modules[name];
        if (!m) throw new Error(`the component's glue asked for core module ${name}, which the deploy did not provide`);
        return m;
      },
      imports,
      (module, importObject) => {
        const inst = new WebAssembly.Instance(module, importObject);
        const g = inst.exports[fuelExport];
        if (g instanceof WebAssembly.Global) {
          if (fuelBudget !== null) g.value = fuelBudget;
          globals.push(g);
        }
        return inst;
      },
    );
    fuelGlobals = globals;
    return component;
  }
  // Instantiated now, so that a component that cannot start fails its deploy.
  instance();

  function handler() {
    const c = component ?? instance();
    const h = c['edge:platform/incoming-handler@0.1.0'] ?? c.incomingHandler;
    if (!h || typeof h.handle !== 'function') throw new TypeError('the component does not export edge:platform/incoming-handler.handle');
    return h;
  }

  return {
    fetch(request, _env, ctx) {
      const handle = handler();
      reqId = ctx.__edgeReqId;
      begun = false;
      const headers = [];
      for (const pair of request.headers) headers.push(pair);
      const witRequest = {
        method: request.method,
        url: request.url,
        headers,
        body: request.body === null ? undefined : new IncomingBody(REQ, reqId),
      };
      if (fuelBudget !== null) for (const g of fuelGlobals) g.value = fuelBudget;
      let out;
      try {
        out = handle.handle(witRequest);
      } catch (err) {
        // jco marks the instance as trapped and refuses further calls: the next request gets a fresh one. The host
        // releases what the trapped instance held (open object bodies, unfinished writers, ...): it cannot drop them.
        component = null;
        hostInvokeIgnored('cap.reset', null);
        if (fuelBudget !== null && fuelGlobals.some((g) => g.value < 0n)) {
          const e = new RangeError(`WebAssembly fuel exhausted (${fuelBudget} units)`);
          e.edgeLimit = 'E_FUEL_LIMIT';
          throw e;
        }
        throw err;
      }
      let used = null;
      if (fuelBudget !== null) {
        used = 0n;
        for (const g of fuelGlobals) used += fuelBudget - g.value;
      }
      if (begun) {
        if (out.body.tag !== 'streamed') throw new TypeError('begin-response was called, so the response body must be `streamed`');
        return used === null ? { [STREAMED]: true } : { [STREAMED]: true, [FUEL_USED]: Number(used) };
      }
      if (out.body.tag === 'streamed') throw new TypeError('the response body is `streamed` but begin-response was never called');
      const res = new Response(out.body.tag === 'bytes' ? out.body.val : null, { status: out.status, headers: out.headers });
      if (used !== null) res[FUEL_USED] = Number(used);
      return res;
    },
  };
}
