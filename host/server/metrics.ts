// Prometheus metrics of the host (served at GET /metrics on the admin port).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class HostMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'edge_requests_total', help: 'Requests handled by workers', labelNames: ['worker'] as const, registers: [this.registry], collect: () => this.flush() });
  readonly errors = new Counter({ name: 'edge_errors_total', help: 'Requests that ended with an error, by error code', labelNames: ['worker', 'code'] as const, registers: [this.registry] });
  readonly coldStarts = new Counter({ name: 'edge_cold_starts_total', help: 'Isolates started for a worker version', labelNames: ['worker'] as const, registers: [this.registry] });
  readonly coldStartSeconds = new Histogram({
    name: 'edge_cold_start_seconds',
    help: 'Time to start an isolate for a worker (pooled isolate, code load, global scope)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly cpuSeconds = new Counter({ name: 'edge_cpu_seconds_total', help: 'Isolate CPU time used by requests', labelNames: ['worker'] as const, registers: [this.registry], collect: () => this.flush() });
  readonly isolateEntries = new Counter({
    name: 'edge_isolate_entries_total',
    help: 'Entries into isolates for requests (a body streamed through an isolate takes one per chunk; one the host pipes, none)',
    labelNames: ['worker'] as const,
    registers: [this.registry],
    collect: () => this.flush(),
  });
  readonly fuel = new Counter({ name: 'edge_fuel_consumed_total', help: 'WebAssembly fuel used by requests of metered component workers', labelNames: ['worker'] as const, registers: [this.registry] });
  readonly noRoute = new Counter({ name: 'edge_no_route_total', help: 'Requests that matched no worker', registers: [this.registry] });

  private readonly perWorker = new Map<string, WorkerCounts>();

  /**
   * A worker's per-request counters: plain numbers, added to the Prometheus counters when they are read (their
   * collect hook: a labeled increment per request cost more than the rest of the request's bookkeeping).
   */
  worker(name: string): WorkerCounts {
    let w = this.perWorker.get(name);
    if (!w) {
      w = new WorkerCounts();
      // A worker served by the isolate its deploy left warm has had no cold start: show 0, not nothing.
      this.coldStarts.labels(name).inc(0);
      this.perWorker.set(name, w);
    }
    return w;
  }

  /** Adds what the workers counted since the last read to the Prometheus counters. */
  private flush(): void {
    for (const [name, w] of this.perWorker) {
      if (w.requests.n > 0) this.requests.labels(name).inc(w.requests.take());
      if (w.cpuSeconds.n > 0) this.cpuSeconds.labels(name).inc(w.cpuSeconds.take());
      if (w.entries.n > 0) this.isolateEntries.labels(name).inc(w.entries.take());
    }
  }

  constructor(sources: {
    isolatesAlive(): number;
    isolateHeapBytes(): number;
    spareIsolates(): number;
    workersDeployed(): number;
    /** Durable stores' log statistics: writes acknowledged and fdatasync calls made for them (group commit). */
    storage?(): Array<{ store: string; appends: number; fsyncs: number }>;
  }) {
    new Gauge({ name: 'edge_isolates_alive', help: 'Warm worker isolates', registers: [this.registry], collect() { this.set(sources.isolatesAlive()); } });
    new Gauge({ name: 'edge_isolates_spare', help: 'Pre-created isolates waiting in the pool', registers: [this.registry], collect() { this.set(sources.spareIsolates()); } });
    new Gauge({ name: 'edge_isolate_heap_bytes', help: 'Heap of warm isolates (sampled)', registers: [this.registry], collect() { this.set(sources.isolateHeapBytes()); } });
    new Gauge({ name: 'edge_workers_deployed', help: 'Workers with an active version', registers: [this.registry], collect() { this.set(sources.workersDeployed()); } });
    if (sources.storage) {
      const storage = sources.storage;
      new Gauge({ name: 'edge_storage_appends', help: 'Writes acknowledged by a durable store since the host started (each durable before its acknowledgement)', labelNames: ['store'] as const, registers: [this.registry], collect() { for (const s of storage()) this.set({ store: s.store }, s.appends); } });
      new Gauge({ name: 'edge_storage_fsyncs', help: 'fdatasync calls of a durable store since the host started (appends / fsyncs = writes per group commit)', labelNames: ['store'] as const, registers: [this.registry], collect() { for (const s of storage()) this.set({ store: s.store }, s.fsyncs); } });
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'edge_host_' });
  }
}

/** A count not yet added to its Prometheus counter. */
class Pending {
  n = 0;
  inc(v = 1): void {
    this.n += v;
  }
  take(): number {
    const n = this.n;
    this.n = 0;
    return n;
  }
}

export class WorkerCounts {
  readonly requests = new Pending();
  readonly cpuSeconds = new Pending();
  readonly entries = new Pending();
}
