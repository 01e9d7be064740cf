// Runs a WebAssembly component (transpiled by jco at deploy) as a worker: its `handle(request) -> response` export
// becomes the worker's fetch handler. Imports are served synchronously by the host (the guest's thread blocks
// while the host waits for storage or a body chunk); http-types' bodies are read and written straight from and to
// the host's request and response streams, chunk by chunk. Fuel is refilled before every request; a trap (fuel
// exhausted or any other) discards the component instance, and the next request gets a new one.
import { hostInvoke, hostInvokeIgnored } from './internal/bridge.js';
import { CapabilityError, capabilityImports, unwrapReply } from './capabilities.js';
/** @import { ComponentWorkerConfig, HeaderList } from '../../../core/isolate-protocol.ts' */
/** @import { Request } from './request.js' */

/**
 * What jco's glue exports as `instantiate`: builds the component from its core modules and imports, instantiating
 * each core module through `instantiateCore`; returns the component's exports by interface.
 * @typedef {(
 *   getCoreModule: (name: string) => WebAssembly.Module,
 *   imports: Record<string, Record<string, unknown>>,
 *   instantiateCore: (module: WebAssembly.Module, importObject?: WebAssembly.Imports) => WebAssembly.Instance,
 * ) => Record<string, unknown>} JcoInstantiate
 */
/** @typedef {{ tag: 'empty' } | { tag: 'bytes', val: Uint8Array } | { tag: 'streamed' }} WitResponseBody */
/** edge:platform/http-types `request` (as jco lifts it), `response` (as it lowers it). @typedef {{ method: string, url: string, headers: HeaderList, body: object | undefined }} WitRequest */
/** @typedef {{ status: number, headers: HeaderList, body: WitResponseBody }} WitResponse */
/** @typedef {{ handle(request: WitRequest): WitResponse }} IncomingHandler */

/** Marks what the adapter returns when the body already went out through begin-response (not a Response). */
export const STREAMED = Symbol('edge.streamed');
/** Fuel a request used, on the Response (or streamed marker) the adapter returns. */
export const FUEL_USED = Symbol('edge.fuelUsed');

const HTTP = 'edge:platform/http-types';
const REQ = Symbol('edge.reqId');

/** The adapter's answer when the body already went out through begin-response. @typedef {{ [STREAMED]: true, [FUEL_USED]?: number }} StreamedMarker */

/**
 * @param {JcoInstantiate} instantiate
 * @param {ComponentWorkerConfig} config
 */
export function createComponentWorker(instantiate, config) {
  // Compiled by the host from the deploy-time bytes (memories capped, fuel counted); instantiating them through the
  // prelude's WebAssembly.Instance registers their exported memories against the isolate's budget.
  /** @type {Record<string, WebAssembly.Module>} */
  const modules = Object.create(null);
  for (const name of Object.keys(config.wasm)) {
    const m = config.wasm[name];
    modules[name] = m instanceof WebAssembly.Module ? m : new WebAssembly.Module(/** @type {WebAssembly.BufferSource} */ (m));
  }
  const fuelBudget = typeof config.fuel === 'number' ? BigInt(config.fuel) : null;
  const fuelExport = config.fuelExport || '__edge_fuel';

  let reqId = 0;
  let begun = false;

  class IncomingBody {
    /**
     * @param {symbol} token
     * @param {number} id
     */
    constructor(token, id) {
      if (token !== REQ) throw new TypeError('incoming-body cannot be constructed by the guest');
      /** @type {number} */
      this[REQ] = id;
      this.done = false;
    }
    /** @param {number} max */
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
    /**
     * @param {symbol} token
     * @param {number} id
     */
    constructor(token, id) {
      if (token !== REQ) throw new TypeError('outgoing-body cannot be constructed by the guest');
      /** @type {number} */
      this[REQ] = id;
    }
    /** @param {Uint8Array} chunk */
    write(chunk) {
      unwrapReply(hostInvoke('resp.write', { reqId: this[REQ], chunk }), 'outgoing-body.write');
    }
  }
  /**
   * @param {number} status
   * @param {HeaderList} headers
   */
  function beginResponse(status, headers) {
    if (begun) throw new CapabilityError({ tag: 'io', val: 'begin-response was already called for this request' });
    unwrapReply(hostInvoke('resp.begin', { reqId, status, headers }), 'begin-response');
    begun = true;
    return new OutgoingBody(REQ, reqId);
  }

  const imports = capabilityImports(config.interfaces);
  imports[HTTP] = { IncomingBody, OutgoingBody, beginResponse };

  /** @type {Record<string, unknown> | null} */
  let component = null;
  /** @type {WebAssembly.Global[]} */
  let fuelGlobals = [];
  function instance() {
    if (component) return component;
    /** @type {WebAssembly.Global[]} */
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

  /** @returns {IncomingHandler} */
  function handler() {
    const c = component ?? instance();
    const h = /** @type {Partial<IncomingHandler> | undefined} */ (c['edge:platform/incoming-handler@0.1.0'] ?? c.incomingHandler);
    if (!h || typeof h.handle !== 'function') throw new TypeError('the component does not export edge:platform/incoming-handler.handle');
    return /** @type {IncomingHandler} */ (h);
  }

  return {
    /**
     * @param {Request} request
     * @param {unknown} _env
     * @param {GuestExecutionContext} ctx
     * @returns {Response | StreamedMarker}
     */
    fetch(request, _env, ctx) {
      const handle = handler();
      reqId = ctx.__edgeReqId;
      begun = false;
      /** @type {HeaderList} */
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
          const e = /** @type {RangeError & { edgeLimit?: string }} */ (new RangeError(`WebAssembly fuel exhausted (${fuelBudget} units)`));
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
      const res = /** @type {Response & { [FUEL_USED]?: number }} */ (new Response(out.body.tag === 'bytes' ? out.body.val : null, { status: out.status, headers: out.headers }));
      if (used !== null) res[FUEL_USED] = Number(used);
      return res;
    },
  };
}
