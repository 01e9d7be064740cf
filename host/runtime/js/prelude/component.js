// Runs a WebAssembly component (transpiled by jco at deploy) as a worker: its `handle(request) -> response` export
// becomes the worker's fetch handler. Imports are served synchronously by the host (the guest's thread blocks
// while the host waits for storage or a body chunk); http-types' bodies are read and written straight from and to
// the host's request and response streams, chunk by chunk. Fuel is refilled before every request; a trap (fuel
// exhausted or any other) discards the component instance, and the next request gets a new one.
// A component of the standard `wasi:http/proxy` world (componentize-js, wasmtime serve, Spin...) runs the same way
// through its `wasi:http/incoming-handler.handle(request, response-outparam)`, with WASI 0.2 (wasi.js, wasi-http.js).
import { hostInvoke, hostInvokeIgnored, hostLog, hostReadBytes, hostWriteBytes } from './internal/bridge.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { URL } from './url.js';
import { CapabilityError, capabilityImports, unwrapReply } from './capabilities.js';
import { forgetWasmMemory } from './wasm-memory.js';
import { componentObjects } from './component-objects.js';

/** @type {{ wasiImports: typeof import('./wasi.js').wasiImports, wasiHttp: typeof import('./wasi-http.js').wasiHttp } | null} */
let wasiLoaded = null;
/**
 * WASI 0.2 (wasi.js, with @bytecodealliance/preview2-shim) and wasi:http (wasi-http.js), evaluated on a component's
 * first use, like events.js: isolates of JS workers never pay for them. What they need of the eager prelude is
 * passed in (a lazily loaded module imports no eager one).
 */
function wasiModules() {
  if (wasiLoaded === null) {
    // eslint-disable-next-line no-undef
    const wasi = /** @type {typeof import('./wasi.js')} */ (require('./wasi.js'));
    wasi.setWasiHost({ invoke: hostInvoke, log: hostLog, TextDecoder, TextEncoder, URL });
    // eslint-disable-next-line no-undef
    wasiLoaded = { wasiImports: wasi.wasiImports, wasiHttp: /** @type {typeof import('./wasi-http.js')} */ (require('./wasi-http.js')).wasiHttp };
  }
  return wasiLoaded;
}
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

  /** A body read's `max` that takes the host's next piece whole, and what a read of 0 bytes reads. */
  const WHOLE_PIECE = 0xffffffff;
  const DEFAULT_READ = 65536;
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
      /**
       * What is left of the last piece the host gave: pieces come whole (one crossing, one copy each) and reads
       * smaller than a piece are cut from it here.
       * @type {Uint8Array | null}
       */
      this.rest = null;
    }
    /** @param {number} max */
    read(max) {
      if (this.done) return undefined;
      let piece = this.rest;
      if (piece === null) {
        piece = /** @type {Uint8Array | null} */ (unwrapReply(hostReadBytes(this[REQ], WHOLE_PIECE), 'incoming-body.read') ?? null);
        if (piece === null) {
          this.done = true;
          return undefined;
        }
      }
      const n = max >>> 0 || DEFAULT_READ;
      if (piece.byteLength <= n) {
        this.rest = null;
        return piece;
      }
      this.rest = piece.subarray(n);
      return piece.subarray(0, n);
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
      unwrapReply(hostWriteBytes(this[REQ], chunk), 'outgoing-body.write');
    }
  }
  /**
   * @param {number} status
   * @param {HeaderList} headers
   */
  function beginResponse(status, headers) {
    if (inObject) throw new CapabilityError({ tag: 'io', val: "begin-response is not available in a Durable Object's handler: return the response whole" });
    if (begun) throw new CapabilityError({ tag: 'io', val: 'begin-response was already called for this request' });
    unwrapReply(hostInvoke('resp.begin', { reqId, status, headers }), 'begin-response');
    begun = true;
    return new OutgoingBody(REQ, reqId);
  }

  const imports = capabilityImports(config.interfaces);
  imports[HTTP] = { IncomingBody, OutgoingBody, beginResponse };
  const wasiWorld = config.world === 'wasi:http/proxy';
  // A Durable Object class written as the component (world durable-object): component-objects.js.
  let inObject = false;
  const objects = (config.objectClasses ?? []).length > 0 ? componentObjects({ classNames: config.objectClasses ?? [], handle: (id, req) => handleObject(id, req) }) : null;
  if (objects) imports['edge:platform/durable-storage'] = objects.storage;
  // WASI 0.2 (wasi.js) and wasi:http (wasi-http.js): a component imports what it uses, the deploy checked the rest.
  // Set up when the glue first looks up a wasi: interface (or at once for the wasi:http/proxy world): a component
  // that imports none (hello-as) does not evaluate them, ~0.6 ms of a cold start.
  /** @type {ReturnType<typeof import('./wasi.js').wasiImports> | null} */
  let wasi = null;
  /** @type {ReturnType<typeof import('./wasi-http.js').wasiHttp> | null} */
  let http = null;
  function loadWasi() {
    if (wasi !== null && http !== null) return { wasi, http };
    const { wasiImports, wasiHttp } = wasiModules();
    const w = wasiImports({ environment: config.environment ?? {} });
    const h = wasiHttp(() => reqId);
    // Every key of these starts with `wasi:` (what glueImports below looks for).
    Object.assign(imports, w.imports, h.imports);
    wasi = w;
    http = h;
    return { wasi: w, http: h };
  }
  if (wasiWorld) loadWasi();
  const glueImports = new Proxy(imports, {
    get(target, key, receiver) {
      if (wasi === null && typeof key === 'string' && key.startsWith('wasi:')) loadWasi();
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (wasi === null && typeof key === 'string' && key.startsWith('wasi:')) loadWasi();
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (wasi === null && typeof key === 'string' && key.startsWith('wasi:')) loadWasi();
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    // A glue that lists what it is given sees the WASI interfaces too, as before they were loaded lazily.
    ownKeys(target) {
      loadWasi();
      return Reflect.ownKeys(target);
    },
  });

  /** @type {Record<string, unknown> | null} */
  let component = null;
  /** @type {WebAssembly.Global[]} */
  let fuelGlobals = [];
  /** The current instance's memories (forgotten by the memory budget when a wasi:http/proxy instance is dropped). @type {WebAssembly.Memory[]} */
  let memories = [];
  function instance() {
    if (component) return component;
    /** @type {WebAssembly.Global[]} */
    const globals = [];
    /** @type {WebAssembly.Memory[]} */
    const mems = [];
    memories = mems;
    component = instantiate(
      (name) => {
        const m = modules[name];
        if (!m) throw new Error(`the component's glue asked for core module ${name}, which the deploy did not provide`);
        return m;
      },
      glueImports,
      (module, importObject) => {
        const inst = new WebAssembly.Instance(module, importObject);
        for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) mems.push(v);
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

  /** The component's wasi:http/incoming-handler (any 0.2 release). @returns {{ handle(req: object, out: object): void }} */
  function wasiHandler() {
    const c = component ?? instance();
    const key = Object.keys(c).find((k) => k.startsWith('wasi:http/incoming-handler@0.2.'));
    const h = /** @type {{ handle?: unknown } | undefined} */ (key ? c[key] : undefined);
    if (!h || typeof h.handle !== 'function') throw new TypeError('the component does not export wasi:http/incoming-handler.handle');
    return /** @type {{ handle(req: object, out: object): void }} */ (h);
  }

  /**
   * A trap (or a failure in an import) ends the component instance: the next request gets a new one.
   * @param {unknown} err
   * @returns {never}
   */
  function trapped(err) {
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

  function fuelUsed() {
    if (fuelBudget === null) return null;
    let used = 0n;
    for (const g of fuelGlobals) used += fuelBudget - g.value;
    return Number(used);
  }

  /**
   * A request through a wasi:http/proxy component: the head goes out when it sets its response-outparam, the body
   * as it writes it; an error-code set instead of a response becomes a 500 naming it.
   * @param {Request} request
   * @returns {Response | StreamedMarker}
   */
  function fetchWasi(request) {
    const h = wasiHandler();
    const { wasi, http } = loadWasi();
    /** @type {HeaderList} */
    const headers = [];
    for (const pair of request.headers) headers.push(pair);
    if (fuelBudget !== null) for (const g of fuelGlobals) g.value = fuelBudget;
    let outcome;
    try {
      outcome = http.serve((req, out) => h.handle(req, out), { reqId, method: request.method, url: request.url, headers, hasBody: request.body !== null });
    } catch (err) {
      trapped(err);
    } finally {
      // One instance per request, as `wasmtime serve` and Spin run this world: toolchains rely on it (StarlingMonkey
      // keeps its fetch event in the instance). The next request instantiates the component again from the
      // compiled modules; what the instance held in the host is released.
      if (component !== null) {
        component = null;
        hostInvokeIgnored('cap.reset', null);
      }
      for (const m of memories.splice(0)) forgetWasmMemory(m);
      wasi.endOutput();
    }
    const used = fuelUsed();
    if (outcome.sent) return used === null ? { [STREAMED]: true } : { [STREAMED]: true, [FUEL_USED]: used };
    const code = /** @type {{ tag?: unknown, val?: unknown } | undefined} */ (outcome.error);
    const what = code && typeof code === 'object' ? `${String(code.tag)}${code.val !== undefined ? ` (${JSON.stringify(code.val)})` : ''}` : String(code);
    const res = /** @type {Response & { [FUEL_USED]?: number }} */ (
      new Response(`The component answered with the wasi:http error-code ${what}.\n`, { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-edge-error': 'E_WORKER_EXCEPTION' } })
    );
    if (used !== null) res[FUEL_USED] = used;
    return res;
  }

  /**
   * An event of one of its Durable Objects: the component's durable-handler.handle, with fresh fuel; a trap ends the
   * instance as for a request.
   * @param {string} id
   * @param {{ method: string, url: string, headers: HeaderList, body: Uint8Array }} req
   */
  function handleObject(id, req) {
    const c = component ?? instance();
    const h = /** @type {{ handle?: unknown } | undefined} */ (c['edge:platform/durable-handler@0.1.0'] ?? c.durableHandler);
    if (!h || typeof h.handle !== 'function') throw new TypeError('the component does not export edge:platform/durable-handler.handle, so it cannot be a Durable Object class');
    if (fuelBudget !== null) for (const g of fuelGlobals) g.value = fuelBudget;
    inObject = true;
    try {
      return /** @type {(id: string, req: object) => { status: number, headers: HeaderList, body: { tag: string, val?: Uint8Array } }} */ (h.handle)(id, req);
    } catch (err) {
      trapped(err);
    } finally {
      inObject = false;
    }
  }

  return {
    /** Its Durable Object classes by name, for the object runtime (objects.js); none unless the manifest declares some. */
    classes: objects ? objects.classes : {},
    /**
     * @param {Request} request
     * @param {unknown} _env
     * @param {GuestExecutionContext} ctx
     * @returns {Response | StreamedMarker}
     */
    fetch(request, _env, ctx) {
      reqId = ctx.__edgeReqId;
      if (wasiWorld) return fetchWasi(request);
      const handle = handler();
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
        trapped(err);
      }
      const used = fuelUsed();
      if (begun) {
        if (out.body.tag !== 'streamed') throw new TypeError('begin-response was called, so the response body must be `streamed`');
        return used === null ? { [STREAMED]: true } : { [STREAMED]: true, [FUEL_USED]: used };
      }
      if (out.body.tag === 'streamed') throw new TypeError('the response body is `streamed` but begin-response was never called');
      const res = /** @type {Response & { [FUEL_USED]?: number }} */ (new Response(out.body.tag === 'bytes' ? out.body.val : null, { status: out.status, headers: out.headers }));
      if (used !== null) res[FUEL_USED] = used;
      return res;
    },
  };
}
