// One worker version loaded into one isolate: compiles its modules (with the deploy-time code cache), runs
// fetch requests through the prelude's entry function, streams bodies both ways, and turns every limit
// breach into a clear error. Each entry into the isolate carries the CPU budget left to its request.
import ivm from 'isolated-vm';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from '../core/manifest.ts';
import type { PooledIsolate } from './isolate-pool.ts';
import { cpuWatchdog, LimitExceededError, RequestLimitEnforcer, type CpuWatched } from './limits.ts';
import { webAssembly, type WasmModule } from './wasm/webassembly-api.ts';
import type { CapabilityCall, CapabilityInstance, CapabilityRegistry, CapabilityReply } from '../bindings/registry.ts';
import { HostOps, opFailure, type HostOpContext } from '../core/host-ops.ts';
import { mapStack, type ModuleSourceMap } from './source-map.ts';

export interface VersionModule {
  path: string;
  source: string;
  /** V8 code cache produced at deploy. */
  cache?: Buffer;
}

/** A WebAssembly component worker: jco's glue is one of `modules`, its core modules are here. */
export interface ComponentParts {
  /** Path of jco's glue among the version's modules (it exports `instantiate`). */
  glue: string;
  /** Core modules by the name the glue asks for, prepared at deploy (memory capped, fuel metered). */
  wasm: Array<{ name: string; bytes: Uint8Array }>;
  /** The interfaces it imports, as jco names them. */
  imports: string[];
  /** The global each metered core module exports its fuel counter as; null when not metered. */
  fuelExport: string | null;
}

export interface LoadedVersion {
  worker: string;
  versionId: string;
  manifest: DeployManifest;
  modules: VersionModule[];
  component?: ComponentParts;
  /** Source maps of bundled modules: stacks sent to tail name the user's source through them. */
  sourceMaps?: ModuleSourceMap[];
}

export interface IncomingRequestData {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Readable | null;
  cf?: Record<string, unknown>;
  /** How many subrequests deep this request is (0 for client traffic). */
  depth?: number;
}

export interface SubrequestInit {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  /**
   * Bytes (sent again on a 307/308 redirect), a stream read only as fast as the upstream accepts it (a guest's
   * ReadableStream, or the client's request body passed straight through), or none.
   */
  body: Uint8Array | Readable | null;
  redirect: 'follow' | 'manual' | 'error';
  /** A service binding: the worker called in-process, whatever the URL's host. */
  service?: { binding: string; worker: string };
  /** Aborted when the guest aborts the fetch or cancels its response body, or when its request ends (never when absent). */
  signal?: AbortSignal;
}

export interface SubrequestResult {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** The response's URL (the last one after redirects). */
  url: string;
  redirected: boolean;
  /** The body as it arrives, read on demand; ending its iteration early releases the upstream. */
  body: AsyncIterable<Uint8Array> | null;
  /** The whole body, when it was already here with the head (`body` is then null): sent with the head, in one entry. */
  bytes?: Uint8Array;
}

export interface WorkerResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** Whole body, or null when `stream` carries it (or there is none). */
  body: Uint8Array | null;
  stream: AsyncGenerator<Uint8Array> | null;
}

export type TailKind = 'console' | 'exception' | 'limit' | 'request';
export interface TailEvent {
  ts: number;
  worker: string;
  version: string;
  level: 'log' | 'info' | 'warn' | 'error' | 'debug';
  kind: TailKind;
  message: string;
  code?: string;
  stack?: string;
}

export interface InstanceHooks {
  tail(event: TailEvent): void;
  /** A request finished; `code` is the error code when it failed. */
  requestDone(info: { worker: string; cpuNs: number; code?: string; fuel?: number }): void;
  /** The isolate was discarded (limit breach or eviction). */
  disposed(instance: WorkerInstance): void;
  /** Performs a worker's outbound fetch. */
  subrequest(req: SubrequestInit, depth: number): Promise<SubrequestResult>;
  /** The host's capabilities: each instance gets the implementations its manifest grants. */
  registry: CapabilityRegistry;
  /** Asynchronous host operations the prelude may ask for (WebCrypto, the Cache API, ...). */
  ops: HostOps;
}

/** Guest code run at module evaluation (global scope) gets this much CPU at most, as Workers' startup limit. */
const STARTUP_CPU_MS = 1000;
/** Up to this much source, a cold start compiles on the host thread (see evaluate). */
const SYNC_COMPILE_MAX_CHARS = 256 * 1024;
const BOOTSTRAP_PATH = '__edge_bootstrap__.js';
const NO_FETCH_MARKER = '__EDGE_NO_FETCH_HANDLER__';
/** The module that computes `env` (and, for the service-worker syntax, its globals) before the worker's code runs. */
const ENV_SPECIFIER = './__edge_env__.js';
/** Workers lets waitUntil() work run this long after the response (here never past the request's wall_ms). */
export const WAIT_UNTIL_MS = 30_000;
/** Carried by the request a passThroughOnException() sends on, so that it cannot come back into the same worker. */
export const PASS_THROUGH_HEADER = 'x-edge-pass-through';

/** A scheduled (cron) event for a worker. */
export interface ScheduledEventInit {
  /** The cron expression that fired ('' when triggered by hand without one). */
  cron: string;
  /** When the run was due, in ms since the epoch. */
  scheduledTime: number;
}

/** How a scheduled run ended (as Workers' tail outcomes, with our error code when it failed). */
export interface ScheduledOutcome {
  worker: string;
  version: string;
  cron: string;
  scheduledTime: number;
  outcome: 'ok' | 'exception' | 'exceededLimit' | 'noHandler' | 'canceled';
  /** The handler called controller.noRetry(). */
  noRetry: boolean;
  code?: string;
  message?: string;
  cpuMs: number;
  wallMs: number;
}

type EntryResult =
  | {
      ok: true;
      status: number;
      statusText: string;
      headers: Array<[string, string]>;
      body: Uint8Array | null;
      stream?: number;
      /** The response body is that of this fetch, untouched: the host forwards it without the guest. */
      forward?: number;
      waitUntil?: boolean;
      released?: boolean;
      /** A scheduled handler called controller.noRetry(). */
      noRetry?: boolean;
      /** A component wrote its body through begin-response (the response went out already). */
      streamed?: boolean;
      /** WebAssembly fuel the request used, when metered. */
      fuel?: number;
    }
  | {
      ok: false;
      error: { name: string; message: string; stack: string; limit?: string };
      /** The worker has no handler for this kind of event. */
      noHandler?: 'fetch' | 'scheduled';
      /** ctx.passThroughOnException() was called: the request goes on to the origin. */
      passThrough?: boolean;
      /** ...because a service-worker script's listeners did not respond (nothing to report). */
      quiet?: boolean;
      /** With passThrough: waitUntil work goes on / the guest already dropped the request (as for a response). */
      waitUntil?: boolean;
      released?: boolean;
      noRetry?: boolean;
    };

interface PullResult {
  done: boolean;
  chunk?: Uint8Array;
  error?: { message: string; stack: string };
}

class RequestContext {
  readonly id: number;
  readonly limiter: RequestLimitEnforcer;
  readonly body: Readable | null;
  depth = 0;
  bodyIter: AsyncIterator<unknown> | null = null;
  /** The request body went on to the origin (passThroughOnException): finishing must not drain it. */
  bodyPassedOn = false;
  /** Bytes of a request-body chunk a component has not read yet. */
  bodyRest: Uint8Array | null = null;
  /** The response body a component writes through begin-response. */
  out: ComponentBodyOut | null = null;
  readonly timers = new Map<number, NodeJS.Timeout>();
  wallTimer: NodeJS.Timeout | null = null;
  failure: EdgeError | null = null;
  ended = false;
  /** The guest already dropped its state for this request: no 'end' entry is needed. */
  released = false;
  /** WebAssembly fuel the request used (metered components). */
  fuelUsed: number | undefined = undefined;
  /** Created on first use: most requests finish within their first entry and never wait. */
  private waiters: Map<string, { resolve(v: unknown): void; reject(e: unknown): void }> | null = null;
  /** Values delivered before anyone waited for them (a guest call can overtake the entry result it follows). */
  private delivered: Map<string, unknown> | null = null;
  private failListeners: Set<(e: EdgeError) => void> | null = null;
  private abort: AbortController | null = null;

  /** Aborted when the request ends or fails: host work done for it should stop. */
  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    if (this.ended || this.failure) this.abort.abort(this.failure ?? new Error('the request ended'));
    return this.abort.signal;
  }

  /** The request ended (or failed): abort host work still running for it. */
  close(): void {
    this.abort?.abort(this.failure ?? new Error('the request ended'));
  }

  constructor(id: number, limiter: RequestLimitEnforcer, body: Readable | null) {
    this.id = id;
    this.limiter = limiter;
    this.body = body;
  }

  /** Waits for a value the guest sends later with call(reqId, key, value); rejects when the request fails. */
  wait<T>(key: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.delivered?.has(key)) {
      const v = this.delivered.get(key);
      this.delivered.delete(key);
      return Promise.resolve(v as T);
    }
    return new Promise<T>((resolve, reject) => {
      (this.waiters ??= new Map()).set(key, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  deliver(key: string, value: unknown): void {
    const w = this.waiters?.get(key);
    if (!w) {
      (this.delivered ??= new Map()).set(key, value);
      return;
    }
    this.waiters!.delete(key);
    w.resolve(value);
  }

  fail(err: EdgeError): void {
    if (this.failure) return;
    this.failure = err;
    this.abort?.abort(err);
    this.out?.fail(err);
    if (this.waiters) for (const w of this.waiters.values()) w.reject(err);
    this.waiters = null;
    if (this.failListeners) for (const l of this.failListeners) l(err);
  }

  /**
   * `p`, unless the request fails first. Unlike racing `failed()`, nothing is left behind once `p` settles: a
   * stream's loop that raced `failed()` for every chunk would keep every chunk reachable until the request ended.
   */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const listeners = (this.failListeners ??= new Set());
      listeners.add(reject);
      p.then(
        (v) => {
          listeners.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          listeners.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** A promise that rejects when the request fails, for racing against guest work. */
  failed(): Promise<never> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<never>((_, reject) => {
      (this.failListeners ??= new Set()).add(reject);
    });
  }
}

const compiledByVersion = new WeakMap<ComponentParts, Record<string, WasmModule>>();

/** The component's core modules compiled by the host's V8 (memories already capped at deploy). */
function compiledCoreModules(component: ComponentParts): Record<string, WasmModule> {
  let compiled = compiledByVersion.get(component);
  if (!compiled) {
    compiled = Object.fromEntries(component.wasm.map((w) => [w.name, new webAssembly.Module(w.bytes)]));
    compiledByVersion.set(component, compiled);
  }
  return compiled;
}

/** Above this many bytes written and not yet sent, a component's write waits for the client. */
const OUT_HIGH_WATER = 256 * 1024;

/** A component's response body: written by the guest (blocking when the client is slower), read by the data plane. */
class ComponentBodyOut {
  private readonly queue: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private error: EdgeError | null = null;
  private cancelled = false;
  private wake: (() => void) | null = null;
  private writers: Array<() => void> = [];

  write(chunk: Uint8Array): CapabilityReply | Promise<CapabilityReply> {
    if (this.cancelled || this.error || this.ended) return { e: { tag: 'closed' } };
    if (chunk.byteLength === 0) return { v: null };
    this.queue.push(chunk);
    this.buffered += chunk.byteLength;
    this.wake?.();
    if (this.buffered <= OUT_HIGH_WATER) return { v: null };
    return new Promise<CapabilityReply>((resolve) => {
      this.writers.push(() => resolve(this.cancelled || this.error ? { e: { tag: 'closed' } } : { v: null }));
    });
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  fail(err: EdgeError): void {
    if (this.ended) return;
    this.error ??= err;
    this.release();
    this.wake?.();
  }

  private release(): void {
    const w = this.writers;
    this.writers = [];
    for (const f of w) f();
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          this.buffered -= next.byteLength;
          if (this.buffered <= OUT_HIGH_WATER) this.release();
          yield next;
          continue;
        }
        if (this.error) throw this.error;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      if (!this.ended) {
        // The client went away: the guest's next write gets `closed`.
        this.cancelled = true;
        this.release();
      }
    }
  }
}

/** A worker's fetch in flight: its abort switch, the request body it sends, the response body the guest reads. */
interface OutboundFetch {
  abort: AbortController;
  /** A guest stream being sent (destroying it cancels the stream in the isolate). */
  body: Readable | null;
  iter: AsyncIterator<Uint8Array> | null;
}

const outboundByRequest = new WeakMap<RequestContext, Map<number, OutboundFetch>>();

function outboundFetches(rc: RequestContext): Map<number, OutboundFetch> {
  let m = outboundByRequest.get(rc);
  if (!m) outboundByRequest.set(rc, (m = new Map()));
  return m;
}

function releaseOutbound(o: OutboundFetch): void {
  if (o.body && !o.body.destroyed) o.body.destroy();
  const iter = o.iter;
  o.iter = null;
  if (iter) void iter.return?.()?.catch(() => {});
}

const TIMEOUT_MESSAGE = /execution timed out/i;
const MEMORY_MESSAGE = /memory limit|array buffer allocation failed|out of memory/i;

export class WorkerInstance implements CpuWatched {
  readonly version: LoadedVersion;
  readonly pooled: PooledIsolate;
  private readonly hooks: InstanceHooks;
  private readonly requests = new Map<number, RequestContext>();
  private nextReqId = 1;
  /** isolate.cpuTime at the last entry completion: entries complete in the order they ran. */
  private cpuMark = 0n;
  /** Entries sent into the isolate and not yet completed, oldest (the one running) first. */
  private readonly running: Array<RequestContext | null> = [];
  private dead: EdgeError | null = null;
  lastUsed = performance.now();
  /** Ran code since its heap was last sampled (idle isolates are not sampled again). */
  heapDirty = true;
  /** Sampled heap size, for the runtime's memory budget. */
  heapBytes = 0;
  private readonly capabilities: CapabilityInstance;
  /** Memory this instance's JS facades share with the host (released when it is disposed). */
  private shared: { release(): void } | null = null;
  /**
   * Where this instance's start went, for the benchmark's cold-start breakdown: compile and link (with the code
   * cache), evaluation (the global scope; for a component, glue evaluation and instantiation), and the first
   * request's entry until its response head (the handler running cold). -1 until measured.
   */
  readonly timings = { codeLoadMs: -1, evaluateMs: -1, firstFetchMs: -1 };

  private constructor(version: LoadedVersion, pooled: PooledIsolate, hooks: InstanceHooks) {
    this.version = version;
    this.pooled = pooled;
    this.hooks = hooks;
    this.cpuMark = pooled.isolate.cpuTime;
    this.capabilities = hooks.registry.instantiate(version.manifest, {
      worker: version.worker,
      version: version.versionId,
      vars: version.manifest.vars,
      log: (level, message) => this.tail(level, 'console', message),
    });
    pooled.sink = {
      log: (level, text) => this.tail(normalizeLevel(level), 'console', text),
      call: (reqId, op, arg) => this.onCall(reqId, op, arg),
      invoke: (op, arg) => this.onInvoke(op, arg),
    };
  }

  get inFlight(): number {
    return this.requests.size;
  }

  get disposed(): boolean {
    return this.dead !== null || this.pooled.isolate.isDisposed;
  }

  /**
   * Compiles, links and evaluates the version's modules in `pooled`, then hands the default export to the
   * prelude. With `produceCache`, fills each module's `cache` with V8 code cache (done at deploy).
   */
  static async load(
    version: LoadedVersion,
    pooled: PooledIsolate,
    hooks: InstanceHooks,
    options: { produceCache?: boolean } = {},
  ): Promise<WorkerInstance> {
    const instance = new WorkerInstance(version, pooled, hooks);
    try {
      await instance.evaluate(options.produceCache === true);
      return instance;
    } catch (err) {
      instance.dispose(null);
      throw err;
    }
  }

  private async evaluate(produceCache: boolean): Promise<void> {
    const started = performance.now();
    const { isolate, context } = this.pooled;
    const { manifest, modules, worker } = this.version;
    const byPath = new Map(modules.map((m) => [m.path, m]));
    const compiled = new Map<string, ivm.Module>();
    const pathOf = new Map<ivm.Module, string>();
    // Small workers compile and link on this thread: each async isolated-vm step is a round trip to the
    // isolate's thread, and at idle those wake-ups cost more than compiling a few KB (with its code cache).
    const sync = modules.reduce((n, m) => n + m.source.length, 0) <= SYNC_COMPILE_MAX_CHARS;

    const compileOptions = (path: string): ivm.CompileModuleOptions & ivm.CachedDataOptions => {
      const mod = byPath.get(path)!;
      const filename = `worker://${worker}/${path}`;
      if (produceCache) return { filename, produceCachedData: true };
      return mod.cache ? { filename, cachedData: new ivm.ExternalCopy(new Uint8Array(mod.cache).buffer as ArrayBuffer) } : { filename };
    };
    const record = (path: string, m: ivm.Module): ivm.Module => {
      if (produceCache) {
        const cached = (m as ivm.Module & ivm.CachedDataResult).cachedData;
        if (cached) byPath.get(path)!.cache = Buffer.from(cached.copy());
      }
      compiled.set(path, m);
      pathOf.set(m, path);
      return m;
    };
    const compileSync = (path: string, source = byPath.get(path)?.source): ivm.Module => {
      const existing = compiled.get(path);
      if (existing) return existing;
      if (source === undefined) throw new EdgeError('E_MODULE_NOT_FOUND', `Module "${path}" was not uploaded.`);
      try {
        return record(path, isolate.compileModuleSync(source, compileOptions(path)));
      } catch (err) {
        throw new EdgeError('E_MODULE_INVALID', `${path}: ${errorText(err)}`, { details: { module: path } });
      }
    };
    const compileAsync = async (path: string): Promise<ivm.Module> => {
      const existing = compiled.get(path);
      if (existing) return existing;
      const mod = byPath.get(path);
      if (!mod) throw new EdgeError('E_MODULE_NOT_FOUND', `Module "${path}" was not uploaded.`);
      try {
        return record(path, await isolate.compileModule(mod.source, compileOptions(path)));
      } catch (err) {
        throw new EdgeError('E_MODULE_INVALID', `${path}: ${errorText(err)}`, { details: { module: path } });
      }
    };

    const target = (specifier: string, referrer: ivm.Module): string => {
      const from = pathOf.get(referrer) ?? manifest.main;
      if (!specifier.startsWith('./') && !specifier.startsWith('../') && !specifier.startsWith('/')) {
        throw new EdgeError(
          'E_MODULE_NOT_FOUND',
          `${from}: cannot import "${specifier}": only relative imports of uploaded modules are supported (bundle npm packages into your worker first).`,
          { details: { module: from, specifier } },
        );
      }
      const path = specifier.startsWith('/') ? posix.normalize(specifier.slice(1)) : posix.join(posix.dirname(from), specifier);
      if (!byPath.has(path)) {
        throw new EdgeError('E_MODULE_NOT_FOUND', `${from}: cannot import "${specifier}": no uploaded module at "${path}".`, {
          details: { module: from, specifier },
        });
      }
      return path;
    };

    // The bootstrap imports the entry, checks its default export and hands it (with env) to the prelude,
    // all within the one evaluation; the first fetch entry picks them up. A component's entry is jco's glue,
    // adapted into a fetch handler by the prelude (component.js).
    const plan = this.hooks.registry.plan(manifest);
    const component = this.version.component;
    // `env`: [vars] plus one value per binding, each made by the facade the registry names for it (the runtime names none).
    const varsSource = `JSON.parse(${JSON.stringify(JSON.stringify(manifest.vars))})`;
    const envSource = plan.env.length === 0 ? varsSource : `host.buildEnv(${varsSource}, ${JSON.stringify(plan.interfaces)}, ${JSON.stringify(plan.env)})`;
    if (!component && plan.env.length > 0) {
      // Memory shared with facades (KV's write counters: hot values are served in the isolate while they hold).
      const shared = this.hooks.registry.share(manifest);
      this.shared = shared;
      for (const [name, buffer] of Object.entries(shared.buffers)) {
        context.global.setSync(`__edgeShared_${name}`, new ivm.ExternalCopy(buffer).copyInto({ release: true }));
      }
    }
    let bootstrapSource: string;
    let envModule: ivm.Module | null = null;
    if (component) {
      // Compiled once per version in the host and handed to each isolate compiled (V8 shares the code between
      // isolates): a cold start neither compiles nor re-parses the core modules.
      context.global.setSync('__edgeWasm', new ivm.ExternalCopy(compiledCoreModules(component)).copyInto({ release: true }));
      const config = { interfaces: plan.interfaces, fuel: manifest.limits.fuel ?? null, fuelExport: component.fuelExport };
      bootstrapSource =
        `import { instantiate } from ${JSON.stringify(`./${component.glue}`)};\n` +
        `const host = globalThis.__edgeHost; delete globalThis.__edgeHost;\n` +
        `const wasm = globalThis.__edgeWasm; delete globalThis.__edgeWasm;\n` +
        `const w = host.createComponentWorker(instantiate, Object.assign(${JSON.stringify(config)}, { wasm }));\n` +
        `Object.defineProperty(globalThis, '__edgeWorker', { value: w, configurable: true });\n` +
        `Object.defineProperty(globalThis, '__edgeEnv', { value: ${envSource}, configurable: true });\n`;
    } else {
      // Whether the worker uses the module or the service-worker syntax is known only once it ran (a default export,
      // or listeners). Its bindings are globals in the service-worker syntax, from the first line on: the env module,
      // evaluated before the worker's, defines them, and the bootstrap takes them back from a module worker. A worker
      // with no vars or bindings needs no env module (one compile less on its cold start).
      const envEmpty = plan.env.length === 0 && Object.keys(manifest.vars).length === 0;
      if (!envEmpty) envModule = isolate.compileModuleSync(
        `const host = globalThis.__edgeHost;\n` +
          `const env = ${envSource};\n` +
          `Object.defineProperty(globalThis, '__edgeEnv', { value: env, configurable: true });\n` +
          `const saved = [];\n` +
          `for (const key of Object.keys(env)) {\n` +
          `  const before = Object.getOwnPropertyDescriptor(globalThis, key);\n` +
          `  if (before && !before.configurable) continue;\n` +
          `  saved.push([key, before]);\n` +
          `  Object.defineProperty(globalThis, key, { value: env[key], writable: true, configurable: true, enumerable: true });\n` +
          `}\n` +
          `Object.defineProperty(globalThis, '__edgeEnvSaved', { value: saved, configurable: true });\n`,
        { filename: `worker://${worker}/${ENV_SPECIFIER.slice(2)}` },
      );
      bootstrapSource =
        (envEmpty ? '' : `import ${JSON.stringify(ENV_SPECIFIER)};\n`) +
        `import * as entry from ${JSON.stringify(`./${manifest.main}`)};\n` +
        `const host = globalThis.__edgeHost; delete globalThis.__edgeHost;\n` +
        (envEmpty
          ? `const saved = []; Object.defineProperty(globalThis, '__edgeEnv', { value: {}, configurable: true });\n`
          : `const saved = globalThis.__edgeEnvSaved; delete globalThis.__edgeEnvSaved;\n`) +
        `let w = entry.default;\n` +
        `const listeners = host.serviceWorkerHandlers();\n` +
        `if (w === undefined) w = listeners;\n` +
        `else for (const [key, before] of saved) { if (before) Object.defineProperty(globalThis, key, before); else delete globalThis[key]; }\n` +
        `if (w === null || (typeof w !== 'object' && typeof w !== 'function') || (typeof w.fetch !== 'function' && typeof w.scheduled !== 'function')) throw new Error(${JSON.stringify(NO_FETCH_MARKER)});\n` +
        `Object.defineProperty(globalThis, '__edgeWorker', { value: w, configurable: true });\n`;
    }
    const bootstrap = isolate.compileModuleSync(bootstrapSource, { filename: `worker://${worker}/${BOOTSTRAP_PATH}` });
    pathOf.set(bootstrap, BOOTSTRAP_PATH);
    const isEnv = (spec: string, ref: ivm.Module): boolean => envModule !== null && spec === ENV_SPECIFIER && ref === bootstrap;
    try {
      if (sync) bootstrap.instantiateSync(context, (spec, ref) => (isEnv(spec, ref) ? envModule! : compileSync(target(spec, ref))));
      else await bootstrap.instantiate(context, (spec, ref) => (isEnv(spec, ref) ? envModule! : compileAsync(target(spec, ref))));
    } catch (err) {
      if (err instanceof EdgeError) throw err;
      throw new EdgeError('E_MODULE_INVALID', `linking ${manifest.main}: ${errorText(err)}`);
    }
    const startupMs = Math.max(STARTUP_CPU_MS, manifest.limits.cpuMs);
    const linked = performance.now();
    this.timings.codeLoadMs = linked - started;
    try {
      await bootstrap.evaluate({ timeout: startupMs, promise: true });
      this.timings.evaluateMs = performance.now() - linked;
    } catch (err) {
      const text = errorText(err);
      if (isolate.isDisposed) throw new EdgeError('E_MEMORY_LIMIT', `Evaluating ${manifest.main} exceeded the memory limit of ${manifest.limits.memoryMb} MB.`);
      if (TIMEOUT_MESSAGE.test(text)) {
        throw new EdgeError('E_CPU_LIMIT', `Evaluating the global scope of ${manifest.main} took longer than ${startupMs} ms of CPU.`);
      }
      if (text.includes(NO_FETCH_MARKER)) {
        throw new EdgeError(
          'E_NO_FETCH_HANDLER',
          `${manifest.main} must export a default object with a fetch(request, env, ctx) or a scheduled(controller, env, ctx) method, e.g. \`export default { fetch(request) { return new Response('ok') } }\` (or, in the service-worker syntax, call addEventListener('fetch', ...) or addEventListener('scheduled', ...)).`,
        );
      }
      if (component) throw new EdgeError('E_COMPONENT_INVALID', `The component ${manifest.main} failed to instantiate: ${text}`, { details: { stack: errorStack(err) } });
      throw new EdgeError('E_MODULE_INVALID', `${manifest.main} threw while being evaluated: ${text}`, { details: { stack: errorStack(err) } });
    }
    this.cpuMark = isolate.cpuTime;
  }

  /** Runs one request through the worker's fetch handler. Never rejects: failures become error responses. */
  async fetch(req: IncomingRequestData): Promise<WorkerResponse> {
    this.lastUsed = performance.now();
    this.heapDirty = true;
    const { worker, manifest } = this.version;
    if (this.dead) return errorResponse(new EdgeError('E_ISOLATE_RESET', 'The worker isolate was reset; retry the request.', { status: 503 }));
    const id = this.nextReqId++;
    const rc = new RequestContext(id, new RequestLimitEnforcer(worker, manifest.limits), req.body);
    rc.depth = req.depth ?? 0;
    this.requests.set(id, rc);
    try {
      // The first entry needs no wall-clock timer: it ends with its task, within the CPU limit. Only a request
      // that goes on waiting (for I/O, timers, a streamed body, waitUntil) gets one.
      const entry = this.enter(rc, { t: 'fetch', reqId: id, method: req.method, url: req.url, headers: req.headers, hasBody: req.body !== null, cf: req.cf }) as Promise<
        EntryResult | { deferred: true }
      >;
      let result: EntryResult | { deferred: true } | { early: { status: number; headers: Array<[string, string]> } };
      if (this.version.component) {
        // A component that calls begin-response sends its head while its handler still runs.
        const early = rc.wait<{ status: number; headers: Array<[string, string]> }>('early').then(
          (head) => ({ early: head }),
          () => new Promise<never>(() => {}),
        );
        result = await Promise.race([entry, early]);
        if ('early' in result) return this.streamFromComponent(rc, result.early, entry);
      } else {
        result = await entry;
      }
      if (this.timings.firstFetchMs < 0) this.timings.firstFetchMs = performance.now() - this.lastUsed;
      if (rc.failure) throw rc.failure;
      if ('deferred' in result) {
        this.armWallTimer(rc);
        result = await Promise.race([rc.wait<EntryResult>('response'), rc.failed()]);
      }
      if (!result.ok) {
        const e = result.error;
        if (result.noHandler) {
          throw new EdgeError('E_NO_FETCH_HANDLER', `Worker "${worker}" has no fetch handler (it only handles scheduled events), so it does not answer HTTP requests.`, { status: 501 });
        }
        if (e.limit === 'E_MEMORY_LIMIT') {
          const err = rc.limiter.memoryExceeded('WebAssembly memory');
          this.dispose(err, rc);
          throw err;
        }
        if (result.passThrough) {
          if (!result.quiet) this.tail('error', 'exception', `Uncaught ${e.message.startsWith('Uncaught') ? e.message.slice(9) : `${e.name}: ${e.message}`} (passing the request on to the origin)`, undefined, e.stack);
          return await this.passThrough(rc, req, result.waitUntil === true, result.released === true);
        }
        if (e.limit === 'E_FUEL_LIMIT') {
          // The component instance was dropped in the isolate; the next request gets a fresh one.
          const err = rc.limiter.fuelExceeded();
          this.tail('error', 'limit', err.message, err.code);
          throw err;
        }
        this.tail('error', 'exception', `Uncaught ${e.message.startsWith('Uncaught') ? e.message.slice(9) : `${e.name}: ${e.message}`}`, undefined, e.stack);
        throw new EdgeError('E_WORKER_EXCEPTION', `Worker "${worker}" threw an exception; see \`edge tail ${worker}\` for the stack.`, { status: 500 });
      }
      if (result.fuel !== undefined) rc.fuelUsed = result.fuel;
      const res: WorkerResponse = { status: result.status, statusText: result.statusText, headers: result.headers, body: result.body, stream: null };
      if (result.stream !== undefined) {
        this.armWallTimer(rc);
        res.stream = this.pullBody(rc, result.stream, result.waitUntil === true);
      } else if (result.forward !== undefined) {
        if (result.released === true) rc.released = true;
        this.armWallTimer(rc);
        res.stream = this.forwardFetched(rc, result.forward, result.waitUntil === true);
      } else {
        if (result.released === true) rc.released = true;
        this.finishAfter(rc, result.waitUntil === true);
      }
      return res;
    } catch (err) {
      const e = rc.failure ?? asEdgeError(err);
      this.finish(rc, e);
      return errorResponse(e);
    }
  }

  /**
   * ctx.passThroughOnException() was called and the handler failed: the request goes on to its own URL as if the
   * worker were not there (through the subrequest dispatcher, so the egress policy applies). A `<name>.localhost`
   * address has no origin behind the worker, and a body the worker already started reading cannot be sent again.
   */
  private async passThrough(rc: RequestContext, req: IncomingRequestData, waitUntil: boolean, released: boolean): Promise<WorkerResponse> {
    const { worker } = this.version;
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new EdgeError('E_NO_ORIGIN', `Worker "${worker}" failed after passThroughOnException(), and its request URL ${req.url} names no origin.`, { status: 502 });
    }
    const host = url.hostname.toLowerCase();
    if (host === 'localhost' || host.endsWith('.localhost')) {
      throw new EdgeError(
        'E_NO_ORIGIN',
        `Worker "${worker}" failed after passThroughOnException(), but ${url.host} has no origin behind the worker to pass the request on to (only requests arriving on a route have one); see \`edge tail ${worker}\` for the exception.`,
        { status: 502 },
      );
    }
    // Read by the worker, or handed on (to one of its fetches) for someone else to read.
    if (rc.bodyIter !== null || (req.body !== null && (req.body.readableDidRead || req.body.readableFlowing === true))) {
      throw new EdgeError(
        'E_PASS_THROUGH_BODY_USED',
        `Worker "${worker}" failed after passThroughOnException(), but its request body was already read (by the worker or one of its fetches), and a body can be sent only once, so the request cannot go on to the origin.`,
        { status: 500 },
      );
    }
    this.armWallTimer(rc);
    const headers = req.headers.filter(([k]) => k.toLowerCase() !== PASS_THROUGH_HEADER && k.toLowerCase() !== 'cf-connecting-ip');
    headers.push([PASS_THROUGH_HEADER, worker]);
    // Not the request's signal: the origin's body streams to the client after the worker's part has ended.
    const abort = new AbortController();
    rc.bodyPassedOn = req.body !== null;
    let r: SubrequestResult;
    try {
      // The client's body, unread by the worker, streams on as it arrives.
      r = await Promise.race([this.hooks.subrequest({ method: req.method, url: url.href, headers, body: req.body, redirect: 'manual', signal: abort.signal }, rc.depth), rc.failed()]);
    } catch (err) {
      abort.abort();
      rc.bodyPassedOn = false;
      if (rc.failure) throw rc.failure;
      throw new EdgeError('E_ORIGIN_UNREACHABLE', `Worker "${worker}" failed after passThroughOnException(), and the origin ${url.host} could not be reached: ${errorText(err)}`, { status: 502 });
    }
    // The worker's part is over once the origin answered, but for its waitUntil work.
    if (released) rc.released = true;
    this.finishAfter(rc, waitUntil);
    const from = r.body;
    async function* relay(): AsyncGenerator<Uint8Array> {
      let complete = false;
      try {
        if (from) for await (const chunk of from) yield chunk;
        complete = true;
      } finally {
        // The client went away: release the origin.
        if (!complete) abort.abort();
      }
    }
    return { status: r.status, statusText: r.statusText, headers: r.headers, body: from ? null : (r.bytes ?? new Uint8Array(0)), stream: from ? relay() : null };
  }

  /**
   * Runs the worker's scheduled handler for one cron event (or a manual trigger), under the same limits as a request,
   * waiting for its waitUntil work. Never rejects: the outcome says how it ended, and it is logged to tail.
   */
  async scheduled(event: ScheduledEventInit): Promise<ScheduledOutcome> {
    this.lastUsed = performance.now();
    this.heapDirty = true;
    const started = performance.now();
    const { worker, manifest } = this.version;
    const rc = new RequestContext(this.nextReqId++, new RequestLimitEnforcer(worker, manifest.limits), null);
    let noRetry = false;
    let error: EdgeError | null = null;
    if (this.dead) error = new EdgeError('E_ISOLATE_RESET', 'The worker isolate was reset; the run was not started.', { status: 503 });
    else {
      this.requests.set(rc.id, rc);
      try {
        let result = (await this.enter(rc, { t: 'scheduled', reqId: rc.id, cron: event.cron, scheduledTime: event.scheduledTime })) as EntryResult | { deferred: true };
        if (rc.failure) throw rc.failure;
        if ('deferred' in result) {
          this.armWallTimer(rc);
          result = await Promise.race([rc.wait<EntryResult>('response'), rc.failed()]);
        }
        noRetry = result.noRetry === true;
        if (!result.ok) {
          const e = result.error;
          if (result.noHandler) {
            rc.released = true;
            throw new EdgeError(
              'E_NO_SCHEDULED_HANDLER',
              `Worker "${worker}" has no scheduled handler: add scheduled(controller, env, ctx) to its default export (or addEventListener('scheduled', ...)) to run cron triggers.`,
              { status: 501 },
            );
          }
          if (e.limit === 'E_MEMORY_LIMIT') {
            const err = rc.limiter.memoryExceeded('WebAssembly memory');
            this.dispose(err, rc);
            throw err;
          }
          this.tail('error', 'exception', `Uncaught ${e.message.startsWith('Uncaught') ? e.message.slice(9) : `${e.name}: ${e.message}`}`, undefined, e.stack);
          throw new EdgeError('E_WORKER_EXCEPTION', `The scheduled handler of worker "${worker}" threw an exception; see \`edge tail ${worker}\` for the stack.`, { status: 500 });
        }
        if (result.released === true) rc.released = true;
        if (result.waitUntil === true) {
          // The run lasts until its waitUntil work settled, within the wall-clock limit (failRequest ends it then).
          this.armWallTimer(rc);
          await Promise.race([rc.wait('waitUntil'), rc.failed()]);
        }
        this.finish(rc, null);
      } catch (err) {
        error = rc.failure ?? asEdgeError(err);
        this.finish(rc, error);
      }
    }
    const outcome: ScheduledOutcome = {
      worker,
      version: this.version.versionId,
      cron: event.cron,
      scheduledTime: event.scheduledTime,
      outcome: error === null ? 'ok' : error.code === 'E_WORKER_EXCEPTION' ? 'exception' : error.code === 'E_NO_SCHEDULED_HANDLER' ? 'noHandler' : error instanceof LimitExceededError ? 'exceededLimit' : 'canceled',
      noRetry,
      cpuMs: rc.limiter.cpuUsedNs / 1e6,
      wallMs: performance.now() - started,
    };
    if (error) {
      outcome.code = error.code;
      outcome.message = error.message;
    }
    const due = Number.isFinite(event.scheduledTime) ? new Date(event.scheduledTime).toISOString() : String(event.scheduledTime);
    this.tail(
      error ? 'error' : 'info',
      'request',
      `scheduled ${event.cron ? JSON.stringify(event.cron) : '(manual, no cron)'} due ${due}: ${outcome.outcome}${error ? ` ${error.code}` : ''} (${outcome.cpuMs.toFixed(1)} ms CPU, ${Math.round(outcome.wallMs)} ms)${noRetry ? ', noRetry' : ''}`,
      outcome.code,
    );
    return outcome;
  }

  /**
   * A component began its response: the head goes to the client now, the body follows as the guest writes it, and
   * the request ends when its handler returns (or fails: the client then sees a truncated body).
   */
  private streamFromComponent(
    rc: RequestContext,
    head: { status: number; headers: Array<[string, string]> },
    entry: Promise<EntryResult | { deferred: true }>,
  ): WorkerResponse {
    const out = rc.out!;
    this.armWallTimer(rc);
    entry.then(
      (r) => {
        if ('deferred' in r) {
          out.fail(new EdgeError('E_INTERNAL', 'a component handler cannot defer its response'));
          return this.finish(rc, null);
        }
        if (r.ok) {
          if (r.fuel !== undefined) rc.fuelUsed = r.fuel;
          out.end();
          return this.finish(rc, null);
        }
        const err = r.error.limit === 'E_FUEL_LIMIT' ? rc.limiter.fuelExceeded() : new EdgeError('E_WORKER_EXCEPTION', 'The component failed while streaming its response.', { status: 500 });
        if (r.error.limit === 'E_FUEL_LIMIT') this.tail('error', 'limit', err.message, err.code);
        else this.tail('error', 'exception', `Uncaught ${r.error.name}: ${r.error.message}`, undefined, r.error.stack);
        out.fail(err);
        this.finish(rc, err);
      },
      (err: unknown) => {
        const e = rc.failure ?? asEdgeError(err);
        out.fail(e);
        this.finish(rc, e);
      },
    );
    return { status: head.status, statusText: '', headers: head.headers, body: null, stream: out.chunks() };
  }

  /** Host side of the guest's synchronous ops: capabilities and a component's request and response bodies. */
  private onInvoke(op: string, arg: unknown): unknown {
    switch (op) {
      case 'cap':
        return this.capabilities.invoke(arg as CapabilityCall);
      case 'cap!': {
        // Sent without waiting (no result): a failure can only be reported to the worker's log.
        const call = arg as CapabilityCall;
        const report = (r: CapabilityReply): void => {
          if ('x' in r) this.tail('error', 'exception', r.x);
          else if ('e' in r) this.tail('error', 'exception', `${call.i}.${call.r}${call.m ? `.${call.m}` : ''}: ${JSON.stringify(r.e)}`);
        };
        const reply = this.capabilities.invoke(call);
        if (reply instanceof Promise) reply.then(report, () => {});
        else report(reply);
        return undefined;
      }
      case 'cap.reset':
        // A component trapped: its resources' handles die with it, so the host releases what they held.
        this.capabilities.dispose();
        return undefined;
      case 'body.read':
        return this.readBodyForComponent(arg);
      case 'resp.begin':
        return this.beginComponentResponse(arg);
      case 'resp.write': {
        const a = (arg ?? {}) as { reqId?: unknown; chunk?: unknown };
        const rc = typeof a.reqId === 'number' ? this.requests.get(a.reqId) : undefined;
        if (!rc?.out || rc.failure) return { e: { tag: 'closed' } };
        if (!(a.chunk instanceof Uint8Array)) return { x: 'outgoing-body.write: chunk must be bytes' };
        return rc.out.write(a.chunk);
      }
      default:
        return { x: `unknown host op ${op}` };
    }
  }

  private readBodyForComponent(arg: unknown): CapabilityReply | Promise<CapabilityReply> {
    const a = (arg ?? {}) as { reqId?: unknown; max?: unknown };
    const rc = typeof a.reqId === 'number' ? this.requests.get(a.reqId) : undefined;
    if (!rc || rc.failure || rc.ended) return { e: { tag: 'closed' } };
    const max = typeof a.max === 'number' && a.max > 0 ? a.max : 65536;
    const take = (chunk: Uint8Array): CapabilityReply => {
      if (chunk.byteLength <= max) return { v: chunk };
      rc.bodyRest = chunk.subarray(max);
      return { v: chunk.subarray(0, max) };
    };
    if (rc.bodyRest) {
      const rest = rc.bodyRest;
      rc.bodyRest = null;
      return take(rest);
    }
    if (!rc.body) return { v: null };
    rc.bodyIter ??= rc.body[Symbol.asyncIterator]();
    const next = rc.bodyIter.next().then(
      ({ value, done }): CapabilityReply => {
        if (done) return { v: null };
        return take(asBytes(value));
      },
      (err: unknown): CapabilityReply => ({ e: { tag: 'io', val: `reading the request body failed: ${errorText(err)}` } }),
    );
    return rc.race(next).catch((): CapabilityReply => ({ e: { tag: 'closed' } }));
  }

  private beginComponentResponse(arg: unknown): CapabilityReply {
    const a = (arg ?? {}) as { reqId?: unknown; status?: unknown; headers?: unknown };
    const rc = typeof a.reqId === 'number' ? this.requests.get(a.reqId) : undefined;
    if (!rc || rc.failure || rc.ended) return { e: { tag: 'closed' } };
    if (rc.out) return { e: { tag: 'io', val: 'begin-response was already called for this request' } };
    const status = a.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      return { e: { tag: 'io', val: `begin-response: status must be 200-599, got ${String(status)}` } };
    }
    const headers: Array<[string, string]> = [];
    for (const h of Array.isArray(a.headers) ? a.headers : []) {
      if (!Array.isArray(h) || typeof h[0] !== 'string' || typeof h[1] !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h[0]) || /[\r\n\0]/.test(h[1])) {
        return { e: { tag: 'io', val: `begin-response: invalid header ${JSON.stringify(h)}` } };
      }
      headers.push([h[0].toLowerCase(), h[1]]);
    }
    rc.out = new ComponentBodyOut();
    rc.deliver('early', { status, headers });
    return { v: null };
  }

  /** Streams a response body out of the isolate, one chunk per entry, as fast as the client reads. */
  private async *pullBody(rc: RequestContext, streamId: number, waitUntil: boolean): AsyncGenerator<Uint8Array> {
    let completed = false;
    try {
      for (;;) {
        let r = (await rc.race(this.enter(rc, { t: 'pull', reqId: rc.id, id: streamId }))) as PullResult | { deferred: true };
        if ('deferred' in r) r = await rc.race(rc.wait<PullResult>(`pulled:${streamId}`));
        if (r.error) {
          this.tail('error', 'exception', `Uncaught (in response body stream) ${r.error.message}`, undefined, r.error.stack);
          throw new EdgeError('E_WORKER_EXCEPTION', 'The response body stream failed.', { status: 500 });
        }
        if (r.done) break;
        if (r.chunk && r.chunk.byteLength > 0) yield r.chunk;
      }
      completed = true;
    } finally {
      if (!completed && !rc.failure) {
        // The client went away or the stream failed: let the guest's stream know.
        this.enter(rc, { t: 'cancel', reqId: rc.id, id: streamId }).catch(() => {});
      }
      this.finishAfter(rc, waitUntil && completed);
    }
  }

  /**
   * Enters the isolate for `rc`. Entries run one after another and complete in that order (each ends with
   * its task), so the CPU time since the previous completion is this entry's, and the oldest entry not yet
   * completed is the one running: the CPU watchdog charges it.
   */
  private async enter(rc: RequestContext | null, cmd: Record<string, unknown>): Promise<unknown> {
    if (this.dead) throw this.dead;
    const isolate = this.pooled.isolate;
    if (this.running.length === 0) {
      // Idle until now: CPU the isolate used outside entries (heap statistics, say) is nobody's request.
      this.cpuMark = isolate.cpuTime;
      cpuWatchdog.watch(this);
    }
    this.running.push(rc);
    try {
      const out = (await this.pooled.entry.apply(undefined, [cmd], {
        arguments: { copy: true },
        result: { copy: true, promise: true },
      })) as { r: unknown; o: unknown[] };
      // The guest's calls made during this entry come back with it (see runtime.js, outbox).
      const o = out.o;
      for (let i = 0; i < o.length; i += 3) {
        if (typeof o[i] === 'number' && typeof o[i + 1] === 'string') this.onCall(o[i] as number, o[i + 1] as string, o[i + 2]);
      }
      return out.r;
    } catch (err) {
      const text = errorText(err);
      const wasm = text.includes('__EDGE_LIMIT__:E_MEMORY_LIMIT');
      // Disposed under this entry (a limit, by this request or another one): each request has its own verdict.
      if (rc?.failure) throw rc.failure;
      if (isolate.isDisposed || wasm || MEMORY_MESSAGE.test(text)) {
        const what = wasm ? 'WebAssembly memory' : 'JavaScript heap';
        const e = this.dead ?? (rc ? rc.limiter.memoryExceeded(what) : new EdgeError('E_MEMORY_LIMIT', `Memory limit exceeded (${what}).`, { status: 503 }));
        this.dispose(e, rc ?? undefined);
        throw rc?.failure ?? e;
      }
      throw new EdgeError('E_INTERNAL', `entry ${String(cmd.t)} failed: ${text}`, { status: 500 });
    } finally {
      const at = this.running.indexOf(rc);
      if (at >= 0) this.running.splice(at, 1);
      if (this.running.length === 0) cpuWatchdog.unwatch(this);
      if (!isolate.isDisposed) {
        const now = isolate.cpuTime;
        const used = now - this.cpuMark;
        this.cpuMark = now;
        if (rc) rc.limiter.exitJs(Number(used));
      }
    }
  }

  checkCpu(): void {
    const isolate = this.pooled.isolate;
    if (this.dead || isolate.isDisposed || this.running.length === 0) return;
    const head = this.running[0] ?? null;
    if (head && !head.ended && head.limiter.wallRemainingMs() <= 0) {
      // Still running past the request's wall-clock limit (possible when cpu_ms > wall_ms): only disposal stops it.
      this.dispose(head.limiter.wallExceeded(), head);
      return;
    }
    const used = Number(isolate.cpuTime - this.cpuMark);
    if (used <= (head ? head.limiter.cpuRemainingNs() : STARTUP_CPU_MS * 1e6)) return;
    // Execution is cut at an arbitrary point: the isolate's state can no longer be trusted.
    const e = head ? head.limiter.cpuExceeded() : new EdgeError('E_CPU_LIMIT', `Worker "${this.version.worker}" used more than ${STARTUP_CPU_MS} ms of CPU outside a request.`, { status: 503 });
    this.dispose(e, head ?? undefined);
  }

  /** Host side of the guest's `call(reqId, op, arg)`: async work whose answer comes back as an entry. */
  private onCall(reqId: number, op: string, arg: unknown): void {
    const rc = this.requests.get(reqId);
    switch (op) {
      case 'exception': {
        const e = (arg ?? {}) as { name?: unknown; message?: unknown; stack?: unknown };
        this.tail('error', 'exception', `Uncaught ${String(e.name ?? 'Error')}: ${String(e.message ?? '')}`, undefined, String(e.stack ?? ''));
        return;
      }
      case 'response':
        rc?.deliver('response', arg);
        return;
      case 'pulled': {
        const id = (arg as { id?: unknown } | null)?.id;
        if (typeof id === 'number') rc?.deliver(`pulled:${id}`, arg);
        return;
      }
      case 'waitUntil.done':
        if (rc && arg === true) rc.released = true;
        rc?.deliver('waitUntil', true);
        return;
      case 'op': {
        // Sent with the entry's result: even an answer known at once goes back as a 'settled' entry.
        const a = (arg ?? {}) as { id?: unknown };
        const r = this.hostOp(arg);
        if (!('later' in r) && typeof a.id === 'number') this.settleOp(reqId, a.id, r);
        return;
      }
    }
    if (!rc || rc.ended || rc.failure) {
      if (op === 'fetch' && !this.dead) {
        const id = (arg as { id?: unknown } | null)?.id;
        if (typeof id === 'number') this.enter(null, { t: 'fetched', id, error: 'fetch() can only be used while handling a request (not in the global scope or after the request ended).' }).catch(() => {});
      }
      if (op === 'fetch.read' && typeof arg === 'number' && !this.dead) this.enter(null, { t: 'fchunk', id: arg, error: 'The request has ended.' }).catch(() => {});
      if (op === 'timer.set' && reqId === 0) {
        this.tail('warn', 'console', 'setTimeout/setInterval outside of a request is ignored: timers only run while a request (or its waitUntil work) is alive.');
      }
      return;
    }
    switch (op) {
      case 'timer.set': {
        if (!Array.isArray(arg)) return;
        const [timerId, delay, interval] = arg as [unknown, unknown, unknown];
        if (typeof timerId !== 'number' || typeof delay !== 'number') return;
        const fire = (): void => {
          if (!interval) rc.timers.delete(timerId);
          this.enter(rc, { t: 'timer', reqId, id: timerId }).catch((err) => this.failRequest(rc, asEdgeError(err)));
        };
        const ms = Math.max(interval ? 1 : 0, delay);
        rc.timers.set(timerId, interval ? setInterval(fire, ms) : setTimeout(fire, ms));
        return;
      }
      case 'timer.clear': {
        if (typeof arg !== 'number') return;
        const t = rc.timers.get(arg);
        if (t) clearTimeout(t);
        rc.timers.delete(arg);
        return;
      }
      case 'body.read':
        this.readBodyChunk(rc);
        return;
      case 'fetch':
        this.subrequest(rc, arg);
        return;
      case 'fetch.read':
        this.readFetched(rc, arg);
        return;
      case 'fetch.cancel':
        this.dropFetch(rc, arg);
        return;
      case 'body.cancel':
        rc.body?.destroy();
        return;
    }
  }

  private readBodyChunk(rc: RequestContext): void {
    if (!rc.body) {
      this.enter(rc, { t: 'chunk', reqId: rc.id, done: true }).catch(() => {});
      return;
    }
    rc.bodyIter ??= rc.body[Symbol.asyncIterator]();
    rc.bodyIter.next().then(
      ({ value, done }) => {
        if (rc.failure || rc.ended) return;
        const cmd = done
          ? { t: 'chunk', reqId: rc.id, done: true }
          : { t: 'chunk', reqId: rc.id, chunk: asBytes(value) };
        return this.enter(rc, cmd);
      },
      (err: unknown) => {
        if (rc.failure || rc.ended) return;
        return this.enter(rc, { t: 'chunk', reqId: rc.id, error: `Reading the request body failed: ${errorText(err)}` });
      },
    ).catch((err) => this.failRequest(rc, asEdgeError(err)));
  }

  /**
   * A worker's fetch(): counted against the request's subrequest limit, its request body read from the guest as
   * the upstream accepts it, its response head answered with a 'fetched' entry and its body left upstream until the
   * guest pulls it ('fetch.read'). Aborting the fetch, cancelling its body or the request ending releases the upstream.
   */
  private subrequest(rc: RequestContext, arg: unknown): void {
    const a = (arg ?? {}) as Record<string, unknown>;
    const id = a.id;
    if (typeof id !== 'number' || typeof a.method !== 'string' || typeof a.url !== 'string' || !Array.isArray(a.headers)) return;
    const answer = (cmd: Record<string, unknown>): Promise<unknown> | undefined => {
      if (this.dead) return undefined;
      // The request ended meanwhile: answer anyway, so that the guest's promise does not stay pending.
      if (rc.failure || rc.ended) return this.enter(null, { t: 'fetched', id, error: 'The request has ended.' }).catch(() => {});
      return this.enter(rc, { t: 'fetched', reqId: rc.id, id, ...cmd });
    };
    try {
      rc.limiter.newSubrequest();
    } catch (err) {
      this.failRequest(rc, asEdgeError(err));
      return;
    }
    let service: SubrequestInit['service'];
    if (typeof a.service === 'string') {
      const target = this.hooks.registry.fetchTarget(this.version.manifest, a.service);
      if (target === undefined) {
        answer({ error: `env.${a.service} is not a service binding of worker "${this.version.worker}".` })?.catch((err) => this.failRequest(rc, asEdgeError(err)));
        return;
      }
      service = { binding: a.service, worker: target };
    }
    let body: Uint8Array | Readable | null = null;
    let guestBody: Readable | null = null;
    if (a.body instanceof Uint8Array) body = a.body;
    else if (typeof a.stream === 'number') body = guestBody = Readable.from(this.pullGuestStream(rc, a.stream), { objectMode: false });
    else if (a.incoming === true) {
      if (rc.body === null || rc.bodyIter !== null || rc.bodyPassedOn) {
        answer({ error: 'fetch(): the request body was already read, so it cannot be sent on.' })?.catch((err) => this.failRequest(rc, asEdgeError(err)));
        return;
      }
      body = rc.body;
    }
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, rc.signal]);
    const o: OutboundFetch = { abort, body: guestBody, iter: null };
    const inFlight = outboundFetches(rc);
    inFlight.set(id, o);
    signal.addEventListener('abort', () => releaseOutbound(o), { once: true });
    const init: SubrequestInit = {
      method: a.method,
      url: a.url,
      headers: (a.headers as unknown[]).filter((h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string'),
      body,
      redirect: a.redirect === 'manual' || a.redirect === 'error' ? a.redirect : 'follow',
      signal,
      ...(service ? { service } : {}),
    };
    this.hooks.subrequest(init, rc.depth).then(
      (r) => {
        const iter = r.body ? r.body[Symbol.asyncIterator]() : null;
        if (signal.aborted || inFlight.get(id) !== o) {
          if (iter) void iter.return?.()?.catch(() => {});
          return answer({ error: 'fetch(): aborted' });
        }
        o.iter = iter;
        if (iter === null && o.body === null) inFlight.delete(id);
        const head = { status: r.status, statusText: r.statusText, headers: r.headers, url: r.url, redirected: r.redirected, body: iter !== null };
        return answer(r.bytes && r.bytes.byteLength > 0 && iter === null ? { ...head, bytes: r.bytes } : head);
      },
      (err: unknown) => {
        inFlight.delete(id);
        releaseOutbound(o);
        return answer({ error: errorText(err) });
      },
    ).catch((err) => this.failRequest(rc, asEdgeError(err)));
  }

  /** The next chunk of a fetch's response body, for the guest's pull ('fetch.read'), as an 'fchunk' entry. */
  private readFetched(rc: RequestContext, arg: unknown): void {
    const id = typeof arg === 'number' ? arg : -1;
    const o = outboundFetches(rc).get(id);
    const reply = (cmd: Record<string, unknown>): Promise<unknown> | undefined => {
      if (this.dead) return undefined;
      if (rc.failure || rc.ended) return this.enter(null, { t: 'fchunk', id, error: 'The request has ended.' }).catch(() => {});
      return this.enter(rc, { t: 'fchunk', reqId: rc.id, id, ...cmd });
    };
    const iter = o?.iter;
    if (!o || !iter) {
      reply({ error: 'fetch(): the response body is no longer available.' })?.catch((err) => this.failRequest(rc, asEdgeError(err)));
      return;
    }
    const next = (): Promise<unknown> | undefined =>
      iter.next().then(
        ({ value, done }) => {
          if (done) {
            outboundFetches(rc).delete(id);
            return reply({ done: true });
          }
          const chunk = asBytes(value);
          // A byte stream refuses empty chunks.
          return chunk.byteLength === 0 ? next() : reply({ chunk });
        },
        (err: unknown) => {
          outboundFetches(rc).delete(id);
          releaseOutbound(o);
          return reply({ error: o.abort.signal.aborted ? 'fetch(): aborted' : `fetch(): reading the response body failed: ${errorText(err)}` });
        },
      );
    next()?.catch((err) => this.failRequest(rc, asEdgeError(err)));
  }

  /** The guest aborted a fetch or cancelled its response body: the upstream is released. */
  private dropFetch(rc: RequestContext, arg: unknown): void {
    const inFlight = outboundFetches(rc);
    const o = typeof arg === 'number' ? inFlight.get(arg) : undefined;
    if (!o) return;
    inFlight.delete(arg as number);
    o.abort.abort(new Error('fetch(): aborted by the worker'));
  }

  /** A fetch's response body that the worker returned untouched, sent on to the client straight from the upstream. */
  private async *forwardFetched(rc: RequestContext, id: number, waitUntil: boolean): AsyncGenerator<Uint8Array> {
    const inFlight = outboundFetches(rc);
    const o = inFlight.get(id);
    inFlight.delete(id);
    let completed = false;
    try {
      const iter = o?.iter;
      if (!o || !iter) throw new EdgeError('E_INTERNAL', `the body of fetch ${id} is no longer available`, { status: 500 });
      for (;;) {
        let n: IteratorResult<Uint8Array>;
        try {
          n = await rc.race(iter.next());
        } catch (err) {
          if (rc.failure) throw rc.failure;
          this.tail('error', 'exception', `Uncaught (in response body stream) TypeError: fetch(): reading the response body failed: ${errorText(err)}`);
          throw new EdgeError('E_WORKER_EXCEPTION', 'The response body stream failed.', { status: 500 });
        }
        if (n.done) break;
        const chunk = asBytes(n.value);
        if (chunk.byteLength > 0) yield chunk;
      }
      completed = true;
    } finally {
      // The client went away, or the upstream failed: release it.
      if (!completed && o) releaseOutbound(o);
      if (!completed) o?.abort.abort();
      this.finishAfter(rc, waitUntil && completed);
    }
  }

  /** A guest's ReadableStream sent as a fetch's request body, pulled one chunk per entry as the upstream takes them. */
  private async *pullGuestStream(rc: RequestContext, streamId: number): AsyncGenerator<Uint8Array> {
    let completed = false;
    try {
      for (;;) {
        let r = (await rc.race(this.enter(rc, { t: 'pull', reqId: rc.id, id: streamId }))) as PullResult | { deferred: true };
        if ('deferred' in r) r = await rc.race(rc.wait<PullResult>(`pulled:${streamId}`));
        if (r.error) throw new TypeError(`the request body stream failed: ${r.error.message}`);
        if (r.done) break;
        if (r.chunk && r.chunk.byteLength > 0) yield r.chunk;
      }
      completed = true;
    } finally {
      // The upstream went away, the fetch was aborted or the request ended: the guest's stream is cancelled.
      if (!completed && !this.dead) this.enter(rc.failure || rc.ended ? null : rc, { t: 'cancel', reqId: rc.id, id: streamId }).catch(() => {});
    }
  }

  /**
   * Runs a host op (host-ops.ts) for the guest's hostAsync: returns the outcome when the handler knew it at once,
   * else `later` (a 'settled' entry answers when its promise settles).
   */
  private hostOp(arg: unknown): { v: unknown } | { e: { name: string; message: string } } | { later: true } {
    const a = (arg ?? {}) as { reqId?: unknown; id?: unknown; op?: unknown; arg?: unknown };
    if (typeof a.reqId !== 'number' || typeof a.id !== 'number' || typeof a.op !== 'string') return { e: { name: 'TypeError', message: 'malformed host op' } };
    const reqId = a.reqId;
    const rc = reqId === 0 ? undefined : this.requests.get(reqId);
    // An op of a request that already ended: nobody would wait for its answer.
    if (reqId !== 0 && (!rc || rc.ended || rc.failure)) return { e: { name: 'TypeError', message: `${a.op}: the request has ended.` } };
    const id = a.id;
    const target = rc ?? null;
    if (a.op === 'cap') {
      // A JS facade's call of a capability's WIT function: the same implementation components reach, answered
      // asynchronously; resource handles it makes belong to the request.
      const reply = this.capabilities.invoke(a.arg as CapabilityCall, reqId);
      if (!(reply instanceof Promise)) return { v: reply };
      reply.then((v) => this.settleOp(reqId, id, { v }));
      return { later: true };
    }
    const handler = this.hooks.ops.get(a.op);
    if (!handler) return { e: { name: 'TypeError', message: `unknown host operation ${a.op}` } };
    const ctx: HostOpContext = {
      worker: this.version.worker,
      version: this.version.versionId,
      manifest: this.version.manifest,
      reqId,
      depth: target?.depth ?? 0,
      signal: target ? target.signal : new AbortController().signal,
    };
    let result: unknown;
    try {
      result = handler(a.arg, ctx);
    } catch (err) {
      return { e: opFailure(err) };
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') return { v: result };
    Promise.resolve(result).then(
      (v) => this.settleOp(reqId, id, { v }),
      (err: unknown) => this.settleOp(reqId, id, { e: opFailure(err) }),
    );
    return { later: true };
  }

  /** Answers the guest's pending host op `id` with a 'settled' entry (unless its request is over). */
  private settleOp(reqId: number, id: number, outcome: { v: unknown } | { e: { name: string; message: string } }): void {
    const target = reqId === 0 ? null : this.requests.get(reqId);
    if (this.dead || target === undefined || (target && (target.ended || target.failure))) return;
    this.enter(target, { t: 'settled', reqId, id, ...outcome }).catch((err) => {
      if (target) this.failRequest(target, asEdgeError(err));
    });
  }

  private armWallTimer(rc: RequestContext): void {
    if (rc.wallTimer || rc.ended) return;
    rc.wallTimer = setTimeout(() => this.failRequest(rc, rc.limiter.wallExceeded()), rc.limiter.wallRemainingMs());
  }

  /**
   * Ends the request once its waitUntil work (if any) settled. That work gets WAIT_UNTIL_MS after the response (as
   * Workers), never beyond the request's wall-clock limit; work still running then is cancelled with a tail warning.
   */
  private finishAfter(rc: RequestContext, waitUntil: boolean): void {
    if (!waitUntil || rc.failure) {
      this.finish(rc, rc.failure);
      return;
    }
    const bound = Math.min(WAIT_UNTIL_MS, rc.limiter.wallRemainingMs());
    const viaWall = bound < WAIT_UNTIL_MS;
    if (rc.wallTimer) clearTimeout(rc.wallTimer);
    rc.wallTimer = setTimeout(() => {
      if (rc.ended) return;
      this.tail(
        'warn',
        'limit',
        `waitUntil() work of worker "${this.version.worker}" had not settled ${Math.round(bound)} ms after the response and was cancelled (waitUntil work gets ${WAIT_UNTIL_MS / 1000} s after the response${viaWall ? `, here less: the request's wall-clock limit of ${this.version.manifest.limits.wallMs} ms ([limits] wall_ms) came first` : ''}).`,
        'E_WAIT_UNTIL_TIMEOUT',
      );
      this.finish(rc, null);
    }, bound);
    rc.wait('waitUntil').then(
      () => this.finish(rc, null),
      (e: unknown) => this.finish(rc, asEdgeError(e)),
    );
  }

  private failRequest(rc: RequestContext, err: EdgeError): void {
    if (rc.ended) return;
    if (err instanceof LimitExceededError) this.tail('error', 'limit', err.message, err.code);
    rc.fail(err);
    this.finish(rc, err);
  }

  private finish(rc: RequestContext, err: EdgeError | null): void {
    if (rc.ended) return;
    rc.ended = true;
    if (err && !rc.failure) rc.fail(err);
    rc.close();
    if (rc.wallTimer) clearTimeout(rc.wallTimer);
    for (const t of rc.timers.values()) clearTimeout(t);
    rc.timers.clear();
    this.requests.delete(rc.id);
    // Resources the request's capability calls opened (an R2 body it did not read to the end) are released.
    this.capabilities.releaseScope(rc.id);
    if (rc.body && !rc.bodyPassedOn && !rc.body.readableEnded) rc.body.resume();
    if (!this.dead && !rc.released) this.enter(null, { t: 'end', reqId: rc.id }).catch(() => {});
    this.hooks.requestDone({
      worker: this.version.worker,
      cpuNs: rc.limiter.cpuUsedNs,
      ...(err ? { code: err.code } : {}),
      ...(rc.fuelUsed !== undefined ? { fuel: rc.fuelUsed } : {}),
    });
  }

  /**
   * Discards the isolate. `cause` names the limit breached (logged to tail); the request that breached it
   * gets that error, every other request in flight on this isolate gets E_ISOLATE_RESET.
   */
  dispose(cause: EdgeError | null, culprit?: RequestContext): void {
    if (this.dead) return;
    this.dead = cause ?? new EdgeError('E_ISOLATE_RESET', 'The worker isolate was evicted.', { status: 503 });
    if (cause) this.tail('error', 'limit', cause.message, cause.code);
    const reset = new EdgeError('E_ISOLATE_RESET', `The isolate of worker "${this.version.worker}" was reset because another request broke a limit; retry the request.`, { status: 503 });
    for (const rc of [...this.requests.values()]) {
      const e = rc === culprit && cause ? cause : reset;
      rc.fail(e);
      this.finish(rc, e);
    }
    try {
      if (!this.pooled.isolate.isDisposed) this.pooled.isolate.dispose();
    } catch {
      // already gone
    }
    this.capabilities.dispose();
    this.shared?.release();
    this.shared = null;
    this.hooks.disposed(this);
  }

  private tail(level: TailEvent['level'], kind: TailKind, message: string, code?: string, stack?: string): void {
    const ev: TailEvent = { ts: Date.now(), worker: this.version.worker, version: this.version.versionId, level, kind, message };
    if (code) ev.code = code;
    if (stack) ev.stack = this.version.sourceMaps ? mapStack(stack, this.version.worker, this.version.sourceMaps) : stack;
    this.hooks.tail(ev);
  }
}

function normalizeLevel(level: string): TailEvent['level'] {
  return level === 'info' || level === 'warn' || level === 'error' || level === 'debug' ? level : 'log';
}

/** A request-body chunk as bytes (Node streams give Buffers, or strings when an encoding was set). */
function asBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(Buffer.from(String(value)));
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function errorStack(err: unknown): string | undefined {
  return err instanceof Error ? err.stack : undefined;
}

function asEdgeError(err: unknown): EdgeError {
  return err instanceof EdgeError ? err : new EdgeError('E_INTERNAL', errorText(err), { status: 500 });
}

/**
 * The response for a request the host ended with `err`. Errors made for the admin API carry 4xx statuses
 * (a bad deploy); reaching a client they mean the server failed, so only 5xx statuses and 404 (no such
 * worker) are kept.
 */
export function errorResponse(err: EdgeError): WorkerResponse {
  const body = new TextEncoder().encode(`${err.code}: ${err.message}\n`);
  return {
    status: err.status >= 500 || err.status === 404 ? err.status : 500,
    statusText: '',
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['x-edge-error', err.code],
    ],
    body,
    stream: null,
  };
}
