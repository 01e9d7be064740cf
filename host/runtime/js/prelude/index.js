// The isolate prelude: evaluated once into the V8 startup snapshot (no host access at load time), then
// wired to the host per context by __edgeInit, which deletes itself before any guest code runs.
import { setBridge } from './internal/bridge.js';
import { installGlobals } from './globals.js';
import { adoptWasmModule, installWasmMemoryLimits } from './wasm-memory.js';
import { createRuntime } from './runtime.js';
import { buildEnv, setCaps } from './env.js';
import { createComponentWorker } from './component.js';
import { installServiceWorkerGlobals, serviceWorkerHandlers } from './service-worker.js';
import { DurableObject, entrypointHandlers, RpcTarget, WorkerEntrypoint } from './cloudflare-workers.js';
import { AsyncLocalStorage, AsyncResource } from './async-context.js';
import { hostAsync } from './internal/async.js';
import { inspect } from './console.js';
import { captureCodecWasm } from './encoding.js';

/** `cloudflare:workers`' classes, for the module the bootstrap links (and its dispatch of WorkerEntrypoint classes). */
const cloudflareWorkers = Object.freeze({ WorkerEntrypoint, DurableObject, RpcTarget, entrypointHandlers });
/**
 * What nodejs_compat's polyfills (bundled into the worker, host/deploy/node-compat) need from the runtime, for the
 * `edge:node-compat` module the bootstrap links: the request-aware AsyncLocalStorage, node:zlib run by the host, and
 * console.log's formatting for util.inspect.
 */
const nodeCompat = Object.freeze({ AsyncLocalStorage, AsyncResource, inspect, zlib: (/** @type {unknown} */ arg) => hostAsync('zlib.run', arg) });

installGlobals(globalThis);
installServiceWorkerGlobals(globalThis);

Object.defineProperty(globalThis, '__edgeInit', {
  configurable: true,
  enumerable: false,
  writable: false,
  /**
   * `log, randomBytes, urlParse, call, invoke, wait`: ivm References to host functions (see internal/bridge.js).
   * `options`: the isolate's memory budget (`memoryBytes`, shared by the JS heap and WebAssembly memories) and the
   * platform's caps the prelude checks (`caps`: host/core/limits.ts, PRELUDE_CAPS), the host's UTF-8 codec module
   * (`utf8Codec`: host/runtime/utf8-codec.ts); EdgeInitOptions in
   * host/core/isolate-protocol.ts. Returns the runtime's entry function, which the host keeps a Reference to.
   */
  value: function __edgeInit(log, randomBytes, urlParse, call, invoke, wait, options) {
    Reflect.deleteProperty(globalThis, '__edgeInit');
    setBridge({ log, randomBytes, urlParse, call, invoke, wait });
    // Before the namespace is wrapped: TextEncoder's WebAssembly encoder uses the originals.
    captureCodecWasm(globalThis.WebAssembly, options.utf8Codec);
    installWasmMemoryLimits(globalThis.WebAssembly, options.memoryBytes);
    setCaps(options.caps ?? {});
    // For the host's bootstrap module, which takes it away before the worker's code runs.
    Object.defineProperty(globalThis, '__edgeHost', { value: Object.freeze({ buildEnv, createComponentWorker, serviceWorkerHandlers, cloudflareWorkers, nodeCompat, adoptWasmModule }), configurable: true, enumerable: false, writable: false });
    return createRuntime(options);
  },
});
