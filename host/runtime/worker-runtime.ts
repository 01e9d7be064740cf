// The live side of deployments: which version of each worker is active, and the warm isolate running it.
// Cold starts take a pooled isolate; idle isolates are evicted least-recently-used when the count or the
// total heap passes its bound. A cold start is awaited only by requests for that worker.
import { readFileSync } from 'node:fs';
import { EdgeError } from '../core/errors.ts';
import type { IsolatePool } from './isolate-pool.ts';
import type { CapabilityRegistry } from '../bindings/registry.ts';
import { HostOps } from '../core/host-ops.ts';
import { WorkerInstance, type InstanceHooks } from './worker-instance.ts';
import { WebSocketHub } from './websockets.ts';
import type { LoadedVersion, SubrequestInit, SubrequestResult, TailEvent } from './worker-types.ts';

export interface RuntimeObserver {
  tail(event: TailEvent): void;
  requestDone(info: { worker: string; cpuNs: number; entries: number; code?: string; fuel?: number }): void;
  coldStart(info: { worker: string; ms: number }): void;
  subrequest(req: SubrequestInit, depth: number): Promise<SubrequestResult>;
}

export interface WorkerRuntimeOptions {
  pool: IsolatePool;
  observer: RuntimeObserver;
  registry: CapabilityRegistry;
  /** Asynchronous host operations for the prelude (WebCrypto, the Cache API, ...); empty when absent. */
  ops?: HostOps;
  /** Most warm isolates kept at once. Default: what vm.max_map_count allows (safeMaxIsolates), at most 10,000. */
  maxIsolates?: number;
  /** Total heap of warm isolates, in MB, before idle ones are evicted. */
  memoryBudgetMb?: number;
}

/** Memory mappings one warm worker isolate takes (heap spaces, code, stacks): ~10 measured bare, more with code and wasm. */
const MAPPINGS_PER_ISOLATE = 16;
/** Mappings left for everything else in the process (Node, Fastify, sockets, files). */
const MAPPINGS_RESERVED = 5000;

/**
 * How many warm isolates this process can hold: V8 aborts the whole process when mmap fails, and Linux caps the
 * mappings of a process (vm.max_map_count, 65530 by default), which ~5,000 isolates reach before any memory budget
 * does. Beyond this count idle isolates are evicted instead.
 */
export function safeMaxIsolates(mapCountPath = '/proc/sys/vm/max_map_count'): number {
  let limit: number;
  try {
    limit = Number(readFileSync(mapCountPath, 'utf8').trim());
  } catch {
    return 10_000;
  }
  if (!Number.isFinite(limit) || limit <= 0) return 10_000;
  return Math.max(16, Math.min(10_000, Math.floor((limit - MAPPINGS_RESERVED) / MAPPINGS_PER_ISOLATE)));
}

export class WorkerRuntime {
  private readonly pool: IsolatePool;
  private readonly observer: RuntimeObserver;
  private readonly maxIsolates: number;
  private readonly memoryBudgetBytes: number;
  private readonly active = new Map<string, LoadedVersion>();
  /** name -> warm instance of its active version; Map order is least recently used first. */
  private readonly warm = new Map<string, WorkerInstance>();
  private readonly starting = new Map<string, Promise<WorkerInstance>>();
  /** name -> instances replaced while they still had work in flight (they are disposed once it ends). */
  private readonly retiring = new Map<string, Set<WorkerInstance>>();
  private readonly registry: CapabilityRegistry;
  private readonly hooks: InstanceHooks;
  private heapTimer: NodeJS.Timeout;
  evictions = 0;

  constructor(options: WorkerRuntimeOptions) {
    this.pool = options.pool;
    this.observer = options.observer;
    this.registry = options.registry;
    const safe = safeMaxIsolates();
    if (options.maxIsolates !== undefined && options.maxIsolates > safe) {
      process.emitWarning(`maxIsolates ${options.maxIsolates} is above what vm.max_map_count allows this process (about ${safe} isolates); raise vm.max_map_count or the host may abort when it runs out of memory mappings`);
    }
    this.maxIsolates = options.maxIsolates ?? safe;
    this.memoryBudgetBytes = (options.memoryBudgetMb ?? 8192) * 1024 * 1024;
    this.hooks = {
      tail: (e) => this.observer.tail(e),
      requestDone: (i) => this.observer.requestDone(i),
      subrequest: (req, depth) => this.observer.subrequest(req, depth),
      registry: options.registry,
      ops: options.ops ?? new HostOps(),
      // An event for an object's hibernatable WebSocket starts the worker (and in it the object) if it is not running.
      sockets: new WebSocketHub((worker) => this.instance(worker)),
      disposed: (inst) => {
        const name = inst.version.worker;
        if (this.warm.get(name) === inst) this.warm.delete(name);
      },
    };
    this.heapTimer = setInterval(() => void this.sampleHeaps(), 5000);
    this.heapTimer.unref();
  }

  get hookSet(): InstanceHooks {
    return this.hooks;
  }

  get isolatesAlive(): number {
    return this.warm.size;
  }

  get heapBytes(): number {
    let n = 0;
    for (const i of this.warm.values()) n += i.heapBytes;
    return n;
  }

  /** The warm instance serving `name`, if one is loaded (for diagnostics and the benchmark). */
  warmInstance(name: string): WorkerInstance | undefined {
    return this.warm.get(name);
  }

  activeVersion(name: string): LoadedVersion | undefined {
    return this.active.get(name);
  }

  activeNames(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Makes `version` the one serving `version.worker`. A warm instance made while validating the deploy may
   * be handed over; the previous instance finishes its in-flight requests and is then discarded.
   */
  activate(version: LoadedVersion, instance?: WorkerInstance): void {
    const name = version.worker;
    this.closeSockets(name, 'the worker was redeployed');
    this.active.set(name, version);
    this.starting.delete(name);
    const old = this.warm.get(name);
    this.warm.delete(name);
    if (old) this.retire(old);
    if (instance && !instance.disposed) {
      this.warm.set(name, instance);
      this.enforceBounds();
    }
  }

  remove(name: string): void {
    this.closeSockets(name, 'the worker was deleted');
    this.active.delete(name);
    this.starting.delete(name);
    const old = this.warm.get(name);
    this.warm.delete(name);
    if (old) this.retire(old);
  }

  /** The host's WebSocket pairs. */
  get sockets(): WebSocketHub {
    return this.hooks.sockets;
  }

  /** A new version (or none) serves `name`: its WebSockets close with 1012, as Workers closes them on a deploy. */
  private closeSockets(name: string, reason: string): void {
    const sockets = this.hooks.sockets;
    for (const end of sockets.workerEnds(name)) sockets.gone(end, 1012, reason);
  }

  /**
   * Evicts the warm isolate of `name` (the next request cold-starts). For tests and benchmarks. WebSockets it holds
   * close (1001); hibernatable ones stay open, and their next event starts it again.
   */
  evict(name: string): boolean {
    const inst = this.warm.get(name);
    if (!inst) return false;
    this.warm.delete(name);
    this.retire(inst);
    return true;
  }

  private retire(inst: WorkerInstance): void {
    if (inst.inFlight === 0) {
      inst.dispose(null);
      return;
    }
    const name = inst.version.worker;
    let set = this.retiring.get(name);
    if (!set) this.retiring.set(name, (set = new Set()));
    set.add(inst);
    const timer = setInterval(() => {
      if (inst.inFlight === 0 || inst.disposed) {
        clearInterval(timer);
        inst.dispose(null);
        set.delete(inst);
        if (set.size === 0 && this.retiring.get(name) === set) this.retiring.delete(name);
      }
    }, 10);
    timer.unref();
  }

  /** A worker whose instances must live one at a time (it hosts Durable Objects) starts once the ones it replaces are gone. */
  private async drained(version: LoadedVersion): Promise<void> {
    if (!this.retiring.has(version.worker) || !this.registry.exclusive(version.manifest)) return;
    while ((this.retiring.get(version.worker)?.size ?? 0) > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** The warm instance for `name`, cold-starting it when needed; null when no such worker is deployed. */
  instance(name: string): WorkerInstance | Promise<WorkerInstance> | null {
    const inst = this.warm.get(name);
    if (inst && !inst.disposed) {
      // Move to the most-recently-used end.
      this.warm.delete(name);
      this.warm.set(name, inst);
      return inst;
    }
    const version = this.active.get(name);
    if (!version) return null;
    let p = this.starting.get(name);
    if (!p) {
      p = this.coldStart(version);
      this.starting.set(name, p);
      const clear = (): void => {
        if (this.starting.get(name) === p) this.starting.delete(name);
      };
      p.then(clear, clear);
    }
    return p;
  }

  private async coldStart(version: LoadedVersion): Promise<WorkerInstance> {
    const t0 = performance.now();
    await this.drained(version);
    const pooled = await this.pool.take(version.manifest.limits.memoryMb);
    const inst = await WorkerInstance.load(version, pooled, this.hooks);
    if (this.active.get(version.worker) !== version) {
      // Redeployed or deleted while starting: serve this request, then let it go.
      this.retire(inst);
      return inst;
    }
    this.warm.set(version.worker, inst);
    this.observer.coldStart({ worker: version.worker, ms: performance.now() - t0 });
    this.enforceBounds();
    return inst;
  }

  private enforceBounds(): void {
    if (this.warm.size <= this.maxIsolates && this.heapBytes <= this.memoryBudgetBytes) return;
    for (const [name, inst] of this.warm) {
      if (this.warm.size <= this.maxIsolates && this.heapBytes <= this.memoryBudgetBytes) break;
      if (inst.inFlight > 0 || inst.openSockets > 0) continue;
      this.warm.delete(name);
      inst.dispose(null);
      this.evictions++;
    }
  }

  private async sampleHeaps(): Promise<void> {
    for (const inst of [...this.warm.values()]) {
      // An isolate that ran nothing since its last sample has the same heap: 1,000 idle workers cost nothing.
      if (inst.disposed || !inst.heapDirty) continue;
      inst.heapDirty = false;
      try {
        const s = await inst.pooled.isolate.getHeapStatistics();
        inst.heapBytes = s.total_heap_size + s.externally_allocated_size;
      } catch {
        // disposed meanwhile
      }
    }
    this.enforceBounds();
  }

  close(): void {
    clearInterval(this.heapTimer);
    for (const inst of this.warm.values()) inst.dispose(null);
    this.warm.clear();
    this.active.clear();
  }
}

export function notDeployed(name: string): EdgeError {
  return new EdgeError('E_WORKER_NOT_FOUND', `No worker named "${name}" is deployed.`, { status: 404 });
}
