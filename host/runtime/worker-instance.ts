// One worker version loaded into one isolate: the request state machine of its fetch and scheduled events, the
// host side of the guest's calls and synchronous ops, and the limits of each entry into the isolate (each carries
// the CPU budget left to its request; every breach becomes a clear error). Loading is bootstrap.ts's, bodies are
// body-streams.ts's, outbound traffic is egress.ts's.
import { WAIT_UNTIL_MS } from '../core/limits.ts';
import { EdgeError } from '../core/errors.ts';
import type {
  Deferred,
  EntryCommand,
  EntryEnvelope,
  EntryReturns,
  FetchEntryResult,
  FetchRequest,
  GuestCallOp,
  GuestCalls,
  GuestErrorDescription,
  HeaderList,
  HostOpOutcome,
  HostOpRequest,
  InvokeOp,
  InvokeOps,
  InvokeReply,
  ScheduledEntryResult,
  SocketEntryResult,
  SyncCommand,
  SyncFetchArgs,
  FlatResponse,
  FlatResponseText,
  ResponseResult,
  SyncOutcome,
  TakeCommand,
  Untrusted,
} from '../core/isolate-protocol.ts';
import { SYNC_FETCH, SYNC_TAKE } from '../core/isolate-protocol.ts';
import type ivm from 'isolated-vm';
import { MAX_ATTACHMENT_BYTES, MAX_MESSAGE_BYTES, WebSocketHub, type ObjectAddress, type ObjectEndState, type WsEvent, type WsHolder } from './websockets.ts';
import type { PooledIsolate } from './isolate-pool.ts';
import { cpuWatchdog, LimitExceededError, RequestLimitEnforcer, type CpuWatched } from './limits.ts';
import type { CapabilityInstance, CapabilityRegistry, CapabilityReply } from '../bindings/registry.ts';
import type { InProcessRequest, InProcessResponse } from '../bindings/capability.ts';
import { opFailure, type HostOpContext, type HostOps } from '../core/host-ops.ts';
import { mapStack } from './source-map.ts';
import { evaluateWorker, STARTUP_CPU_MS, type BootstrapTarget, type ClassicScript, type MainCode } from './bootstrap.ts';
import { beginComponentResponse, collectHostBody, discardBody, pullBody, readBodyChunk, readBodyForComponent, sendHostBody } from './body-streams.ts';
import { sharedDeadlineMs } from '../../storage/ivm-timeout.ts';
import { holdBody, takeWhole } from './held-bodies.ts';
import { hostBodyOp } from './host-body-ops.ts';
import { dropFetch, forwardFetched, passThrough, readFetched, subrequest } from './egress.ts';
import { componentFetch, componentFetchRead, componentSleep } from './component-egress.ts';
import { asEdgeError, errorResponse, errorText } from './error-response.ts';
import { exactBytes } from './exact-bytes.ts';
import { RequestContext, type RequestRunner } from './request-context.ts';
import { lolHtmlModule } from './lol-html-module.ts';
import type {
  IncomingRequestData,
  LoadedVersion,
  ScheduledEventInit,
  ScheduledOutcome,
  SubrequestInit,
  SubrequestResult,
  TailEvent,
  TailKind,
  VersionModule,
  WorkerResponse,
} from './worker-types.ts';

export interface InstanceHooks {
  tail(event: TailEvent): void;
  /** A request finished; `code` is the error code when it failed. */
  requestDone(info: { worker: string; cpuNs: number; entries: number; code?: string; fuel?: number }): void;
  /** The isolate was discarded (limit breach or eviction). */
  disposed(instance: WorkerInstance): void;
  /** Performs a worker's outbound fetch. */
  subrequest(req: SubrequestInit, depth: number): Promise<SubrequestResult>;
  /** The host's capabilities: each instance gets the implementations its manifest grants. */
  registry: CapabilityRegistry;
  /** Asynchronous host operations the prelude may ask for (WebCrypto, the Cache API, ...). */
  ops: HostOps;
  /** The host's WebSocket pairs (the instance holds the ends its guest has). */
  sockets: WebSocketHub;
}

export { WAIT_UNTIL_MS };

/** The most an in-process call of a capability (a component calling a Durable Object) reads of a response body. */
const IN_PROCESS_BODY_BYTES = 32 * 1024 * 1024;

/** A capability's in-process request (CapabilityInstanceContext.inProcess), through the host's subrequest dispatcher. */
async function inProcessCall(hooks: InstanceHooks, req: InProcessRequest): Promise<InProcessResponse> {
  const r = await hooks.subrequest(
    {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.body,
      redirect: 'manual',
      service: { binding: '', worker: req.worker, ...(req.object ? { object: req.object } : {}) },
    },
    1,
  );
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (r.bytes) {
    chunks.push(r.bytes);
    size = r.bytes.byteLength;
  }
  if (r.body) {
    for await (const c of r.body) {
      size += c.byteLength;
      if (size > IN_PROCESS_BODY_BYTES) throw new Error(`the response body is larger than ${IN_PROCESS_BODY_BYTES} bytes`);
      chunks.push(c);
    }
  }
  return { status: r.status, headers: r.headers, body: Buffer.concat(chunks) };
}

const PENDING = Symbol('pending');
const MEMORY_MESSAGE = /memory limit|array buffer allocation failed|out of memory/i;

/**
 * Synchronous entries (enterSync): the isolate runs on the host's thread, as a workerd isolate runs on its event
 * loop's, for ~8 µs of host CPU where an asynchronous entry (another thread, and a hand-off back) costs ~40, and the
 * guest's synchronous host calls cost ~2 µs instead of ~22. The host's thread waits while the guest runs, so an
 * instance uses them only while its entries stay short: when their CPU averages over SYNC_DEMOTE_AVG_NS (an
 * exponential average over the last ~10; single entries may take a few ms for a garbage collection) its version goes
 * back to asynchronous entries for SYNC_OFF_MS, and for SYNC_TIMEOUT_OFF_MS after a CPU limit breach in one. An entry
 * holds the thread at most twice its request's CPU left plus SYNC_SLACK_MS of wall-clock time (its timeout, a CPU
 * limit breach: generous, as a busy machine stretches wall-clock time), so only requests with at most
 * SYNC_MAX_CPU_MS of CPU left are entered this way: 120 ms at worst with the default 50 ms, once per version per
 * SYNC_TIMEOUT_OFF_MS.
 */
const SYNC_DEMOTE_AVG_NS = 3_000_000;
/** An isolate's first entries compile the code they run (a cold handler's first call takes ~1 ms): not counted. */
const SYNC_COLD_ENTRIES = 8;
const SYNC_OFF_MS = 30_000;
/** After an entry of the version ran into its timeout (a CPU limit breach): its isolates all enter the other way. */
const SYNC_TIMEOUT_OFF_MS = 10 * 60_000;
const SYNC_SLACK_MS = 20;
const SYNC_MAX_CPU_MS = 100;
/**
 * A version's record for synchronous entries, shared by its isolates (a new isolate after a breach inherits it): when
 * they are off, and the average CPU of its entries.
 */
interface SyncRecord {
  offUntil: number;
  avgNs: number;
}
const syncRecords = new WeakMap<LoadedVersion, SyncRecord>();
function syncRecord(version: LoadedVersion): SyncRecord {
  let r = syncRecords.get(version);
  if (!r) syncRecords.set(version, (r = { offUntil: 0, avgNs: 0 }));
  return r;
}

/**
 * A synchronous entry is running on the host's thread (in any instance). Entries asked for meanwhile (by a host call
 * of its guest: a WebSocket message to another worker, an event for its own) are asynchronous: a synchronous one
 * would run inside it, on its time limit, and into its own isolate would break the entry in progress.
 */
let syncEntryActive = false;

/** ivm's message when an entry ran past its timeout. */
const TIMEOUT_MESSAGE = /Script execution timed out/;

/** Scripts whose code cache was made again after a first request in this process (firstFetchDone). */
const recachedAfterRequest = new WeakSet<VersionModule>();

export class WorkerInstance implements CpuWatched, WsHolder {
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
  /** The classic script of the worker's code (bootstrap.ts), whose code cache is made again after the first request (firstFetchDone). */
  private script: ClassicScript | null = null;
  /**
   * Where this instance's start went, for the benchmark's cold-start breakdown: compile and link (with the code
   * cache), evaluation (the global scope; for a component, glue evaluation and instantiation), and the first
   * request's entry until its response head (the handler running cold). -1 until measured. `mainCode`: how a JS
   * worker's main module was compiled (bootstrap.ts, MainCode).
   */
  readonly timings: { codeLoadMs: number; evaluateMs: number; firstFetchMs: number; mainCode: MainCode } = { codeLoadMs: -1, evaluateMs: -1, firstFetchMs: -1, mainCode: '' };
  /** Host ops of no request settled in this turn, entered together (settleAll). */
  private settling: Array<{ id: number } & HostOpOutcome> = [];
  /**
   * Whether this instance may be entered synchronously: a JS worker whose guest never waits on the host inside an
   * entry (components and SQLite-backed Durable Objects do: their synchronous host calls may need I/O). Until
   * its version's `sync.offUntil` (performance.now()) it may not.
   */
  private readonly syncCapable: boolean;
  private readonly sync: SyncRecord;
  private syncEntries = 0;
  /** Inside a synchronous entry (the guest's host calls must answer at once). */
  private inSync = false;
  /** This instance as the per-request helpers (body streams, egress) see it. */
  private readonly runner: RequestRunner;

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
      inProcess: (req) => inProcessCall(hooks, req),
    });
    pooled.sink = {
      log: (level, text) => this.tail(normalizeLevel(level), 'console', text),
      call: (reqId, op, arg) => this.onCall(reqId, op, arg),
      invoke: (op, arg) => {
        const reply = this.onInvoke(op, arg);
        if (this.inSync && reply instanceof Promise) {
          // The guest would block on the host's thread, which runs it: not possible. This instance enters
          // asynchronously from now on; this one call fails (it is not run).
          this.sync.offUntil = Infinity;
          reply.catch(() => {});
          this.tail('warn', 'exception', `${op}: a synchronous host call needed I/O inside a synchronous entry; this isolate now uses asynchronous entries (retry the request).`);
          return { x: `${op}: the host could not answer at once (retry the request)` };
        }
        return reply;
      },
    };
    this.sync = syncRecord(version);
    this.syncCapable = !version.component && (version.manifest.sqliteClasses?.length ?? 0) === 0;
    const isDead = (): boolean => this.dead !== null;
    this.runner = {
      version,
      get dead() {
        return isDead();
      },
      subrequest: (init, depth) => hooks.subrequest(init, depth),
      fetchTarget: (binding) => hooks.registry.fetchTarget(version.manifest, binding),
      enter: (rc, cmd) => this.enter(rc, cmd),
      tail: (level, kind, message, code, stack) => this.tail(level, kind, message, code, stack),
      armWallTimer: (rc) => this.armWallTimer(rc),
      finishAfter: (rc, waitUntil) => this.finishAfter(rc, waitUntil),
      failRequest: (rc, err) => this.failRequest(rc, err),
      holdSocket: (end) => hooks.sockets.hold(end, this),
    };
  }

  get inFlight(): number {
    return this.requests.size;
  }

  /** The worker (as a WebSocket end's holder). */
  get worker(): string {
    return this.version.worker;
  }

  /** WebSocket ends this isolate holds (not hibernatable ones): it must not be evicted for idleness while it has any. */
  get openSockets(): number {
    return this.hooks.sockets.heldEnds(this).length;
  }

  /** An event for a WebSocket end this isolate holds (WsHolder); settles when its handlers are done. */
  deliver(end: number, ev: WsEvent): Promise<void> {
    return this.socketEvent(end, ev);
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

  /**
   * The first request's handler ran (to its response head): its time is a timing, and the script that holds the
   * worker's code (a component's glue, a JS worker's main module in its script form) gets its code cache made again,
   * off this request's path, once per version in this process. The cache the deploy made (after evaluation) leaves
   * the functions a request runs to be compiled lazily in every new isolate; one made now holds them. Measured,
   * interleaved A/B of cold starts after eviction: hello-as's first handler call 1.92 -> 1.34 ms with compile + link
   * 0.58 -> 0.65 ms (200 each); the 369 KB bundle's 2.1 -> 1.1-1.4 ms with compile + link +0.3-0.5 ms, 0.8 ms less
   * from load to response (100-150 each); hello-js unchanged (its handler is one line).
   */
  private firstFetchDone(): void {
    if (this.timings.firstFetchMs >= 0) return;
    this.timings.firstFetchMs = performance.now() - this.lastUsed;
    const script = this.script;
    if (script === null || recachedAfterRequest.has(script.module)) return;
    recachedAfterRequest.add(script.module);
    // After this turn (the response is on its way), when no request is inside the isolate: the compile runs on this
    // thread, so none can enter meanwhile, and the isolate's CPU it takes is nobody's (the next entry moves the mark).
    // It blocks this thread once per version (measured: 0.14 ms for hello-js, 5 ms for the 369 KB bundle, about
    // what compiling it with its cache costs a cold start).
    // The same source and origin again: V8 answers from this isolate's compilation cache, with what has run since.
    setImmediate(() => {
      const { isolate } = this.pooled;
      if (this.dead || isolate.isDisposed || this.running.length > 0 || this.inSync) return void recachedAfterRequest.delete(script.module);
      try {
        const again = isolate.compileScriptSync(script.source, { ...script.options, produceCachedData: true });
        const cached = (again as ivm.Script & ivm.CachedDataResult).cachedData;
        if (cached) script.module.cache = Buffer.from(cached.copy());
        again.release();
      } catch {
        recachedAfterRequest.delete(script.module);
      }
    });
  }

  private async evaluate(produceCache: boolean): Promise<void> {
    const target: BootstrapTarget = {
      version: this.version,
      pooled: this.pooled,
      registry: this.hooks.registry,
      timings: this.timings,
      adoptShared: (shared) => (this.shared = shared),
      keepScript: (script) => (this.script = script),
    };
    await evaluateWorker(target, produceCache);
    this.cpuMark = this.pooled.isolate.cpuTime;
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
      const entry = this.enter(rc, { t: 'fetch', reqId: id, method: req.method, url: req.url, headers: req.headers, hasBody: req.body !== null, cf: req.cf, ...(req.object ? { object: req.object } : {}) });
      let result: FetchEntryResult | Deferred | { early: { status: number; headers: HeaderList } };
      if (this.version.component) {
        // A component that calls begin-response sends its head while its handler still runs.
        const early = rc.wait<{ status: number; headers: HeaderList }>('early').then(
          (head) => ({ early: head }),
          () => new Promise<never>(() => {}),
        );
        result = await Promise.race([entry, early]);
        if ('early' in result) {
          this.firstFetchDone();
          return this.streamFromComponent(rc, result.early, entry);
        }
      } else {
        result = await entry;
      }
      this.firstFetchDone();
      if (rc.failure) throw rc.failure;
      if ('deferred' in result) {
        this.armWallTimer(rc);
        result = await Promise.race([rc.wait<FetchEntryResult>('response'), rc.failed()]);
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
          if (!result.quiet) this.tail('error', 'exception', `${uncaught(e)} (passing the request on to the origin)`, undefined, e.stack);
          return await passThrough(this.runner, rc, req, result.waitUntil === true, result.released === true);
        }
        if (e.limit === 'E_FUEL_LIMIT') {
          // The component instance was dropped in the isolate; the next request gets a fresh one.
          const err = rc.limiter.fuelExceeded();
          this.tail('error', 'limit', err.message, err.code);
          throw err;
        }
        this.tail('error', 'exception', uncaught(e), undefined, e.stack);
        throw new EdgeError('E_WORKER_EXCEPTION', `Worker "${worker}" threw an exception; see \`edge tail ${worker}\` for the stack.`, { status: 500 });
      }
      if (result.fuel !== undefined) rc.fuelUsed = result.fuel;
      const res: WorkerResponse = { status: result.status, statusText: result.statusText, headers: result.headers, body: result.body, stream: null };
      if (result.ws !== undefined) {
        if (typeof result.ws !== 'number' || !this.hooks.sockets.heldBy(result.ws, worker, this)) throw new EdgeError('E_INTERNAL', 'The response\'s WebSocket is not one this worker holds.', { status: 500 });
        res.webSocket = result.ws;
      }
      if (result.stream !== undefined) {
        this.armWallTimer(rc);
        res.stream = pullBody(this.runner, rc, result.stream, result.waitUntil === true);
      } else if (result.forward !== undefined) {
        if (result.released === true) rc.released = true;
        this.armWallTimer(rc);
        res.stream = forwardFetched(this.runner, rc, result.forward, result.waitUntil === true);
      } else if (result.hostBody !== undefined) {
        // A host stream the worker returned unread (an R2 object's body, its request's body): sent by the host.
        if (result.released === true) rc.released = true;
        this.armWallTimer(rc);
        res.stream = sendHostBody(this.runner, rc, this.capabilities, result.hostBody, result.waitUntil === true);
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
        let result = await this.enter(rc, { t: 'scheduled', reqId: rc.id, cron: event.cron, scheduledTime: event.scheduledTime });
        if (rc.failure) throw rc.failure;
        if ('deferred' in result) {
          this.armWallTimer(rc);
          result = await Promise.race([rc.wait<ScheduledEntryResult>('response'), rc.failed()]);
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
          this.tail('error', 'exception', uncaught(e), undefined, e.stack);
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
   * Delivers a WebSocket event to the guest: a message or the close of the other end, for an end this isolate holds
   * (its listeners run) or a hibernatable end of one of its objects (its webSocketMessage/webSocketClose handler, the
   * object started if need be). Each event is a request of its own for the limits, as on Workers (each message gets
   * the CPU budget of a request). A handler that throws is reported to tail; a limit breach resets the isolate.
   */
  socketEvent(end: number, ev: WsEvent, object?: ObjectAddress, state?: ObjectEndState): Promise<void> {
    const sockets = this.hooks.sockets;
    if (this.dead) {
      sockets.gone(end, 1011, 'the worker isolate was reset');
      return Promise.resolve();
    }
    this.lastUsed = performance.now();
    this.heapDirty = true;
    const { worker, manifest } = this.version;
    const rc = new RequestContext(this.nextReqId++, new RequestLimitEnforcer(worker, manifest.limits), null);
    this.requests.set(rc.id, rc);
    const run = async (): Promise<void> => {
      let result = await this.enter(rc, { t: 'ws', reqId: rc.id, end, ev, ...(object ? { object, attachment: state?.attachment } : {}) });
      if (rc.failure) throw rc.failure;
      if ('deferred' in result) {
        this.armWallTimer(rc);
        result = await Promise.race([rc.wait<SocketEntryResult>('response'), rc.failed()]);
      }
      if (!result.ok) {
        const e = result.error;
        if (e.limit === 'E_MEMORY_LIMIT') {
          const err = rc.limiter.memoryExceeded('WebAssembly memory');
          this.dispose(err, rc);
          throw err;
        }
        this.tail('error', 'exception', `${uncaught(e)} (in a WebSocket ${ev.t} handler)`, undefined, e.stack);
        throw new EdgeError('E_WORKER_EXCEPTION', 'A WebSocket event handler threw an exception.', { status: 500 });
      }
      if (result.released === true) rc.released = true;
      if (result.waitUntil === true) {
        this.armWallTimer(rc);
        await Promise.race([rc.wait('waitUntil'), rc.failed()]);
      }
      this.finish(rc, null);
    };
    return run().catch((err: unknown) => {
      const e = rc.failure ?? asEdgeError(err);
      this.finish(rc, e);
      // An object whose handler failed keeps its socket (Workers: the exception is logged); a broken isolate does not.
      if (this.dead) sockets.gone(end, 1011, 'the worker broke a limit');
    });
  }

  /**
   * A component began its response: the head goes to the client now, the body follows as the guest writes it, and
   * the request ends when its handler returns (or fails: the client then sees a truncated body).
   */
  private streamFromComponent(
    rc: RequestContext,
    head: { status: number; headers: HeaderList },
    entry: Promise<FetchEntryResult | Deferred>,
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
  private onInvoke(op: string, arg: unknown): InvokeOps[InvokeOp]['reply'] | Promise<InvokeReply> {
    // The labels are checked against the protocol's ops; one it does not name gets the default answer.
    switch (op as InvokeOp) {
      case 'cap':
        return this.capabilities.invoke(arg as InvokeOps['cap']['arg']);
      case 'cap!': {
        // Sent without waiting (no result): a failure can only be reported to the worker's log.
        const call = arg as InvokeOps['cap!']['arg'];
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
        return readBodyForComponent(this.requests, arg);
      case 'body.whole.take': {
        const a = (arg ?? {}) as Untrusted<InvokeOps['body.whole.take']['arg']>;
        return takeWhole(typeof a.reqId === 'number' ? this.requests.get(a.reqId) : undefined, a.id);
      }
      case 'resp.begin':
        return beginComponentResponse(this.requests, arg);
      case 'resp.write': {
        const a = (arg ?? {}) as Untrusted<InvokeOps['resp.write']['arg']>;
        const rc = typeof a.reqId === 'number' ? this.requests.get(a.reqId) : undefined;
        if (!rc?.out || rc.failure) return { e: { tag: 'closed' } };
        if (!(a.chunk instanceof Uint8Array)) return { x: 'outgoing-body.write: chunk must be bytes' };
        return rc.out.write(a.chunk);
      }
      case 'wasi.fetch':
        return componentFetch(this.runner, this.requests, arg);
      case 'wasi.fetch.read':
        return componentFetchRead(this.requests, arg);
      case 'wasi.sleep':
        return componentSleep(arg);
      case 'op':
        return this.syncHostOp(arg);
      case 'ws.pair':
        return { v: this.hooks.sockets.pair(this) };
      case 'ws.accept':
      case 'ws.list':
      case 'ws.attach':
      case 'ws.attachment':
      case 'ws.auto':
        return this.socketOp(op as 'ws.accept', arg);
      case 'htmlrewriter.module':
        try {
          return { v: lolHtmlModule(this.version.manifest.limits.memoryMb) };
        } catch (err) {
          return { x: `lol-html's WebAssembly module could not be loaded: ${errorText(err)}` };
        }
      default:
        return { x: `unknown host op ${op}` };
    }
  }

  /** The guest's synchronous WebSocket ops (websocket.js, objects.js): each checks the end is this worker's. */
  private socketOp(op: 'ws.accept' | 'ws.list' | 'ws.attach' | 'ws.attachment' | 'ws.auto', arg: unknown): InvokeReply {
    const sockets = this.hooks.sockets;
    const worker = this.version.worker;
    const a = (arg ?? {}) as Untrusted<{ end: number; object: { className: string; id: string }; tags: string[]; tag: string; value: unknown; pair: { request: string; response: string } | null }>;
    const address = objectAddress(a.object);
    if (op === 'ws.list' || op === 'ws.auto') {
      if (address === null) return { x: `${op}: a Durable Object address is required` };
      if (op === 'ws.list') return { v: sockets.objectEnds(worker, address, typeof a.tag === 'string' ? a.tag : undefined) };
      if (typeof a.end === 'number') return { v: sockets.heldBy(a.end, worker, this) ? sockets.autoResponseTimestamp(a.end) : null };
      const pair = (a.pair ?? null) as Untrusted<{ request: string; response: string }> | null;
      if (pair === null) sockets.setAutoResponse(worker, address, null);
      else if (typeof pair.request === 'string' && typeof pair.response === 'string') sockets.setAutoResponse(worker, address, { request: pair.request, response: pair.response });
      else return { x: 'setWebSocketAutoResponse(): the request and the response must be strings' };
      return { v: null };
    }
    const end = a.end;
    if (typeof end !== 'number' || !sockets.heldBy(end, worker, this)) return { x: 'This WebSocket is closed, or it is not held by this worker.' };
    try {
      switch (op) {
        case 'ws.accept':
          if (address === null) sockets.ready(end);
          else sockets.hibernate(end, worker, address, Array.isArray(a.tags) ? a.tags.map(String) : []);
          return { v: null };
        case 'ws.attach': {
          let size: number;
          try {
            size = WebSocketHub.attachmentSize(a.value);
          } catch (err) {
            return { x: `serializeAttachment(): the value cannot be serialized (${errorText(err)})` };
          }
          if (size > MAX_ATTACHMENT_BYTES) return { x: `serializeAttachment(): the attachment is ${size} bytes serialized; at most ${MAX_ATTACHMENT_BYTES} are allowed.` };
          sockets.setAttachment(end, a.value);
          return { v: null };
        }
        case 'ws.attachment':
          return { v: sockets.attachment(end) ?? null };
      }
    } catch (err) {
      return { x: errorText(err) };
    }
  }

  /** A WebSocket end's send or close ('ws.send', 'ws.close'), from a guest that holds it. */
  private socketCall(op: 'ws.send' | 'ws.close', arg: unknown): void {
    const a = (arg ?? {}) as Untrusted<GuestCalls['ws.send'] & GuestCalls['ws.close']>;
    const sockets = this.hooks.sockets;
    if (typeof a.end !== 'number' || !sockets.heldBy(a.end, this.version.worker, this)) return;
    if (op === 'ws.send') {
      const data = a.data;
      if (typeof data !== 'string' && !(data instanceof Uint8Array)) return;
      if ((typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength) > MAX_MESSAGE_BYTES) {
        this.tail('error', 'exception', `WebSocket send(): a message is at most ${MAX_MESSAGE_BYTES} bytes; the socket was closed.`);
        sockets.send(a.end, { t: 'close', code: 1009, reason: 'message too big', wasClean: true });
        return;
      }
      sockets.send(a.end, { t: 'message', data });
      return;
    }
    const code = typeof a.code === 'number' ? a.code : 1000;
    sockets.send(a.end, { t: 'close', code, reason: typeof a.reason === 'string' ? a.reason : '', wasClean: true });
  }

  /**
   * Enters the isolate for `rc`. Entries run one after another and complete in that order (each ends with
   * its task), so the CPU time since the previous completion is this entry's, and the oldest entry not yet
   * completed is the one running: the CPU watchdog charges it.
   */
  private async enter<C extends EntryCommand>(rc: RequestContext | null, cmd: C): Promise<EntryReturns[C['t']]> {
    if (this.dead) throw this.dead;
    const isolate = this.pooled.isolate;
    // (An `await` of an entry a synchronous one left pending is itself always asynchronous.)
    const syncLeftNs = this.running.length === 0 && !syncEntryActive && this.syncCapable && (cmd as { t: string }).t !== 'await' ? this.syncLeftNs(rc) : 0;
    if (syncLeftNs > 0) {
      const now = this.enterSync(rc, cmd, syncLeftNs);
      if (now !== PENDING) return now;
      // Its promise waits for more than microtasks: an asynchronous entry waits for it.
      return this.enter(rc, { t: 'await' } as unknown as C);
    }
    if (this.running.length === 0 && !this.inSync) {
      // Idle until now: CPU the isolate used outside entries (heap statistics, say) is nobody's request. (An entry
      // asked for inside a synchronous one runs after it, which then sets the mark.)
      this.cpuMark = isolate.cpuTime;
      cpuWatchdog.watch(this);
    }
    this.running.push(rc);
    try {
      const out = (await this.pooled.entry.apply(undefined, [exactBytes(cmd)], {
        arguments: { copy: true },
        result: { copy: true, promise: true },
      })) as EntryEnvelope<EntryReturns[C['t']]>;
      return this.delivered(out);
    } catch (err) {
      // Disposed under this entry (a limit, by this request or another one): each request has its own verdict.
      throw this.entryFailure(rc, cmd, errorText(err));
    } finally {
      const at = this.running.indexOf(rc);
      if (at >= 0) this.running.splice(at, 1);
      if (this.running.length === 0) cpuWatchdog.unwatch(this);
      if (!isolate.isDisposed) this.charge(rc);
    }
  }

  /** The CPU `rc` has left (ns) when its entry may be synchronous now, else 0. */
  private syncLeftNs(rc: RequestContext | null): number {
    if (this.sync.offUntil !== 0) {
      if (performance.now() < this.sync.offUntil) return 0;
      this.sync.offUntil = 0;
    }
    const left = rc ? rc.limiter.cpuRemainingNs() : STARTUP_CPU_MS * 1e6;
    return left > 0 && left <= SYNC_MAX_CPU_MS * 1e6 ? left : 0;
  }

  /**
   * The guest's calls made during an entry come back with its envelope (runtime.js, outbox): made now. Its result.
   */
  private delivered<R>(out: EntryEnvelope<R>): R {
    const o = out.o;
    for (let i = 0; i < o.length; i += 3) {
      if (typeof o[i] === 'number' && typeof o[i + 1] === 'string') this.onCall(o[i] as number, o[i + 1] as string, o[i + 2]);
    }
    return out.r;
  }

  /** Charges the isolate's CPU since the mark to `rc` (when there is one) and moves the mark: what was charged (ns). */
  private charge(rc: RequestContext | null): number {
    const now = this.pooled.isolate.cpuTime;
    const used = Number(now - this.cpuMark);
    this.cpuMark = now;
    if (rc) rc.limiter.exitJs(used);
    return used;
  }

  /**
   * Enters the isolate on this thread (see SYNC_DEMOTE_AVG_NS), `leftNs` being the request's CPU left: the command
   * runs, with the microtasks after it, and a second call takes its envelope. PENDING when the entry's promise did not
   * settle in its microtasks.
   */
  private enterSync<C extends EntryCommand>(rc: RequestContext | null, cmd: C, leftNs: number): EntryReturns[C['t']] | typeof PENDING {
    const isolate = this.pooled.isolate;
    const entry = this.pooled.entry as unknown as ivm.Reference<(cmd: SyncCommand | TakeCommand) => unknown>;
    const args = syncArgs(cmd);
    this.cpuMark = isolate.cpuTime;
    let outcome: SyncOutcome | FlatResponse | FlatResponseText;
    this.inSync = true;
    syncEntryActive = true;
    try {
      const timeout = sharedDeadlineMs(Math.ceil((2 * leftNs) / 1e6) + SYNC_SLACK_MS);
      if (args[0] === SYNC_FETCH) (entry as unknown as ivm.Reference<(...a: SyncFetchArgs) => unknown>).applySync(undefined, args as SyncFetchArgs, { timeout });
      else entry.applySync(undefined, exactBytes(args as [SyncCommand]), { arguments: { copy: true }, timeout });
      outcome = (entry as unknown as ivm.Reference<(take: typeof SYNC_TAKE) => unknown>).applySync(undefined, [SYNC_TAKE], { result: { copy: true } }) as SyncOutcome | FlatResponse | FlatResponseText;
    } catch (err) {
      const text = errorText(err);
      if (TIMEOUT_MESSAGE.test(text) && !isolate.isDisposed) {
        // Stopped at an arbitrary point, as the CPU watchdog would: the isolate's state can no longer be trusted.
        this.sync.offUntil = performance.now() + SYNC_TIMEOUT_OFF_MS;
        const e = rc ? rc.limiter.cpuExceeded() : new EdgeError('E_CPU_LIMIT', `Worker "${this.version.worker}" used more than ${STARTUP_CPU_MS} ms of CPU outside a request.`, { status: 503 });
        this.dispose(e, rc ?? undefined);
        throw rc?.failure ?? e;
      }
      throw this.entryFailure(rc, cmd, text);
    } finally {
      this.inSync = false;
      syncEntryActive = false;
      if (!isolate.isDisposed) {
        const used = this.charge(rc);
        if (++this.syncEntries > SYNC_COLD_ENTRIES) this.sync.avgNs = 0.9 * this.sync.avgNs + 0.1 * used;
        if (this.sync.avgNs > SYNC_DEMOTE_AVG_NS) {
          this.sync.offUntil = performance.now() + SYNC_OFF_MS;
          this.sync.avgNs = 0;
        }
      }
    }
    if (typeof outcome === 'string') return responseOfText(outcome) as EntryReturns[C['t']];
    if (Array.isArray(outcome)) return responseOf(outcome) as EntryReturns[C['t']];
    if (outcome.pending) return PENDING;
    if (outcome.failed !== undefined) throw this.entryFailure(rc, cmd, outcome.failed);
    return this.delivered(outcome.done as EntryEnvelope<EntryReturns[C['t']]>);
  }

  /** An entry that threw or rejected with `text`: the request's own verdict, a memory limit, or an internal error. */
  private entryFailure(rc: RequestContext | null, cmd: EntryCommand, text: string): EdgeError {
    const isolate = this.pooled.isolate;
    const wasm = text.includes('__EDGE_LIMIT__:E_MEMORY_LIMIT');
    if (rc?.failure) return rc.failure;
    if (isolate.isDisposed || wasm || MEMORY_MESSAGE.test(text)) {
      const what = wasm ? 'WebAssembly memory' : 'JavaScript heap';
      const e = this.dead ?? (rc ? rc.limiter.memoryExceeded(what) : new EdgeError('E_MEMORY_LIMIT', `Memory limit exceeded (${what}).`, { status: 503 }));
      this.dispose(e, rc ?? undefined);
      return rc?.failure ?? e;
    }
    return new EdgeError('E_INTERNAL', `entry ${cmd.t} failed: ${text}`, { status: 500 });
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
    // The labels are checked against the protocol's calls; one it does not name does nothing.
    const call = op as GuestCallOp;
    switch (call) {
      case 'exception': {
        const e = (arg ?? {}) as Untrusted<GuestErrorDescription>;
        this.tail('error', 'exception', `Uncaught ${String(e.name ?? 'Error')}: ${String(e.message ?? '')}`, undefined, String(e.stack ?? ''));
        return;
      }
      case 'response':
        rc?.deliver('response', arg);
        return;
      case 'pulled': {
        const id = (arg as Untrusted<GuestCalls['pulled']> | null)?.id;
        if (typeof id === 'number') rc?.deliver(`pulled:${id}`, arg);
        return;
      }
      case 'waitUntil.done':
        if (rc && arg === true) rc.released = true;
        rc?.deliver('waitUntil', true);
        return;
      case 'ws.send':
      case 'ws.close':
        // The socket outlives the request that accepted it: not tied to one.
        this.socketCall(call, arg);
        return;
      case 'ws.drop':
        if (Array.isArray(arg)) {
          for (const end of arg) if (typeof end === 'number' && this.hooks.sockets.heldBy(end, this.version.worker, this)) this.hooks.sockets.gone(end, 1006, 'never used');
        }
        return;
      case 'op': {
        // Sent with the entry's result: even an answer known at once goes back as a 'settled' entry.
        const a = (arg ?? {}) as Untrusted<HostOpRequest>;
        const r = this.hostOp(arg);
        if (!('later' in r) && typeof a.id === 'number') this.settleOp(reqId, a.id, r);
        return;
      }
    }
    if (!rc || rc.ended || rc.failure) {
      if (call === 'fetch' && !this.dead) {
        const id = (arg as Untrusted<FetchRequest> | null)?.id;
        if (typeof id === 'number') this.enter(null, { t: 'fetched', id, error: 'fetch() can only be used while handling a request (not in the global scope or after the request ended).' }).catch(() => {});
      }
      if (call === 'fetch.read' && typeof arg === 'number' && !this.dead) this.enter(null, { t: 'fchunk', id: arg, error: 'The request has ended.' }).catch(() => {});
      if (call === 'timer.set' && reqId === 0) {
        this.tail('warn', 'console', 'setTimeout/setInterval outside of a request is ignored: timers only run while a request (or its waitUntil work) is alive.');
      }
      return;
    }
    switch (call) {
      case 'timer.set': {
        if (!Array.isArray(arg)) return;
        const [timerId, delay, interval] = arg as Untrusted<GuestCalls['timer.set']>;
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
        readBodyChunk(this.runner, rc);
        return;
      case 'fetch':
        subrequest(this.runner, rc, arg);
        return;
      case 'fetch.read':
        readFetched(this.runner, rc, arg);
        return;
      case 'fetch.cancel':
        dropFetch(rc, arg);
        return;
      case 'body.cancel':
        rc.body?.destroy();
        return;
    }
  }

  /**
   * Runs a host op (host-ops.ts) for the guest's hostAsync: returns the outcome when the handler knew it at once,
   * else `later` (a 'settled' entry answers when its promise settles).
   */
  private hostOp(arg: unknown): HostOpOutcome | { later: true } {
    const a = (arg ?? {}) as Untrusted<HostOpRequest>;
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
      const reply = this.capabilities.invoke(a.arg as InvokeOps['cap']['arg'], reqId);
      if (!(reply instanceof Promise)) return { v: reply };
      reply.then((v) => this.settleOp(reqId, id, { v }));
      return { later: true };
    }
    if (a.op === 'body.pipe' || a.op === 'body.take' || a.op === 'body.whole' || a.op === 'cap.held') {
      // Host bodies (host-body-ops.ts): a host stream put into storage unread, a held body read by the worker, a host
      // body read whole by the worker, a capability call whose bytes stay on the host.
      if (!rc) return { e: { name: 'TypeError', message: `${a.op}: only during a request` } };
      const o = hostBodyOp(a.op, rc, this.capabilities, a.arg, this.version.manifest.limits.memoryMb)!;
      if (!(o instanceof Promise)) return o;
      o.then((x) => this.settleOp(reqId, id, x));
      return { later: true };
    }
    const outcome = this.runHostOp(a.op, a.arg, this.opContext(reqId, target));
    if (!(outcome instanceof Promise)) return outcome;
    outcome.then((o) => this.settleOp(reqId, id, o));
    return { later: true };
  }

  /** Runs registered host op `op`: its outcome, or a promise of it when the handler answers later. */
  private runHostOp(op: string, arg: unknown, ctx: HostOpContext): HostOpOutcome | Promise<HostOpOutcome> {
    const handler = this.hooks.ops.get(op);
    if (!handler) return { e: { name: 'TypeError', message: `unknown host operation ${op}` } };
    let result: unknown;
    try {
      result = handler(arg, ctx);
    } catch (err) {
      return { e: opFailure(err) };
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') return { v: result };
    return Promise.resolve(result).then(
      (v) => ({ v }),
      (err: unknown) => ({ e: opFailure(err) }),
    );
  }

  private opContext(reqId: number, target: RequestContext | null): HostOpContext {
    return {
      worker: this.version.worker,
      version: this.version.versionId,
      manifest: this.version.manifest,
      reqId,
      depth: target?.depth ?? 0,
      signal: target ? target.signal : new AbortController().signal,
      ...(target ? { holdBody: (bytes: Uint8Array) => holdBody(target, bytes), readHostBody: (ref: unknown, max: number, tooLarge: string) => collectHostBody(target, this.capabilities, ref, max, tooLarge) } : {}),
    };
  }

  /** A host op the guest blocks on ('op' invoke): its outcome, or a promise of it (the guest waits on a ticket). */
  private syncHostOp(arg: unknown): InvokeOps['op']['reply'] | Promise<InvokeOps['op']['reply']> {
    const a = (arg ?? {}) as Untrusted<InvokeOps['op']['arg']>;
    if (typeof a.op !== 'string') return { x: 'malformed host op' };
    return this.runHostOp(a.op, a.arg, this.opContext(0, null));
  }

  /** Answers the guest's pending host op `id` with a 'settled' entry (unless its request is over). */
  private settleOp(reqId: number, id: number, outcome: HostOpOutcome): void {
    if (reqId === 0) {
      // Ops of no request (an object's writes) that settle in the same turn, as a group commit's do, share one entry.
      if (this.dead) return;
      this.settling.push({ id, ...outcome });
      if (this.settling.length === 1) setImmediate(() => this.settleAll());
      return;
    }
    const target = this.requests.get(reqId);
    if (this.dead || target === undefined || (target && (target.ended || target.failure))) return;
    this.enter(target, { t: 'settled', reqId, id, ...outcome }).catch((err) => {
      if (target) this.failRequest(target, asEdgeError(err));
    });
  }

  private settleAll(): void {
    const items = this.settling;
    this.settling = [];
    if (this.dead || items.length === 0) return;
    const cmd: EntryCommand = items.length === 1 ? { t: 'settled', reqId: 0, ...items[0]! } : { t: 'settledAll', items };
    this.enter(null, cmd).catch(() => {});
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
    // Resources the request's capability calls opened (a body it did not read to the end) are released.
    this.capabilities.releaseScope(rc.id);
    if (rc.body && !rc.bodyPassedOn && !rc.body.readableEnded) discardBody(rc.body);
    if (!this.dead && !rc.released) this.enter(null, { t: 'end', reqId: rc.id }).catch(() => {});
    this.hooks.requestDone({
      worker: this.version.worker,
      cpuNs: rc.limiter.cpuUsedNs,
      entries: rc.limiter.entries,
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
    // WebSockets this isolate held end with it (hibernatable ones belong to their object and stay open).
    for (const end of this.hooks.sockets.heldEnds(this)) this.hooks.sockets.gone(end, cause ? 1011 : 1001, cause ? 'the worker broke a limit' : 'the worker went away');
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

/** A Durable Object address from the guest, or null. */
function objectAddress(v: unknown): ObjectAddress | null {
  const o = (v ?? null) as Untrusted<ObjectAddress> | null;
  if (o === null || typeof o !== 'object' || typeof o.className !== 'string' || typeof o.id !== 'string') return null;
  return { className: o.className, id: o.id };
}

/** The tail line of a guest's uncaught error ("Uncaught TypeError: ..."), whether or not V8 already prefixed it. */
function uncaught(e: GuestErrorDescription): string {
  return `Uncaught ${e.message.startsWith('Uncaught') ? e.message.slice(9) : `${e.name}: ${e.message}`}`;
}

/**
 * A synchronous entry's arguments: a request's fetch as primitives (SyncFetchArgs) when its `cf` is plain (strings,
 * finite numbers, booleans: the data plane's) and no line of it holds a line feed, else the command as a SyncCommand
 * to copy.
 */
function syncArgs(cmd: EntryCommand): SyncFetchArgs | [SyncCommand] {
  if (cmd.t !== 'fetch' || cmd.object !== undefined || cmd.cfJson !== undefined) return [{ t: 'sync', cmd }];
  let cfJson = '';
  if (cmd.cf !== undefined) {
    for (const k in cmd.cf) {
      const v = cmd.cf[k];
      if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) return [{ t: 'sync', cmd }];
    }
    // (JSON text has no raw line feed: JSON.stringify escapes them.)
    cfJson = JSON.stringify(cmd.cf);
  }
  if (cmd.method.includes('\n') || cmd.url.includes('\n')) return [{ t: 'sync', cmd }];
  let text = `${cmd.method}\n${cmd.url}\n${cfJson}`;
  for (const [name, value] of cmd.headers) {
    if (name.includes('\n') || value.includes('\n')) return [{ t: 'sync', cmd }];
    text += `\n${name}\n${value}`;
  }
  return [SYNC_FETCH, cmd.reqId, cmd.hasBody, text];
}

/** A FlatResponse as the ResponseResult it stands for. */
function responseOf(flat: FlatResponse): ResponseResult {
  const headers: HeaderList = [];
  for (let i = 5; i < flat.length; i += 2) headers.push([flat[i] as string, flat[i + 1] as string]);
  const r: ResponseResult = { ok: true, status: flat[1], statusText: flat[2], headers, body: flat[4] };
  if (flat[3]) r.released = true;
  return r;
}

/** A FlatResponseText as the ResponseResult it stands for. */
function responseOfText(text: FlatResponseText): ResponseResult {
  let at = 0;
  const line = (): string => {
    const end = text.indexOf('\n', at);
    const s = text.slice(at, end);
    at = end + 1;
    return s;
  };
  const status = Number(line());
  const released = line() === '1';
  const hasBody = line() === '1';
  const statusText = line();
  const headers: HeaderList = [];
  for (let name = line(); name !== ''; name = line()) headers.push([name, line()]);
  const r: ResponseResult = { ok: true, status, statusText, headers, body: hasBody ? Buffer.from(text.slice(at), 'latin1') : null };
  if (released) r.released = true;
  return r;
}
