// Memory and density. RSS per idle warm worker: the host in a child process, small distinct workers deployed
// through the admin API up to each count asked for (100, 1,000, 5,000), each sent one request so that it has a
// warm isolate, then the growth of the host's RSS (/proc/<pid>/status VmRSS) over the warm isolates, read a few
// times over the idle period; workerd with the same number of workers, measured between our steps. Density: while
// deploying, the host's /metrics (edge_isolates_alive) is read after every batch, and the first count at which
// fewer isolates are alive than workers were touched is where eviction started under the default memory budget.
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { IsolatePool, type PooledIsolate } from '../host/runtime/isolate-pool.ts';
import { safeMaxIsolates } from '../host/runtime/worker-runtime.ts';
import { readRssBytes, startChildHost, type ChildHost } from './child-host.ts';
import { timedGet } from './http-get.ts';
import { metricValue } from './prom.ts';
import { measure, type Measurement, type SuiteResult, type TargetCheck } from './records.ts';
import { formatNumber } from './markdown.ts';
import { ratioText, type WorkerdApi } from './workerd-bridge.ts';

export interface MemoryOptions {
  /** Worker counts, ascending. */
  counts: number[];
  /** How many deploys are in flight at once. */
  concurrency: number;
  log(line: string): void;
  step?(done: number, total: number): void;
  workerd?: WorkerdApi;
}

const SUITE = 'memory';
const MB = 1e6;
const MiB = 1024 * 1024;
const TARGET_MB_PER_WORKER = 1.2;
const IDLE_WAIT_MS = 2000;
const READINGS = 5;
const BATCH = 100;
/** WorkerRuntime's default memory budget (host/runtime/worker-runtime.ts), the sum of warm isolates' heaps. */
const DEFAULT_BUDGET_MB = 8192;

const manifest = (name: string): string => `name = "${name}"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n`;
const source = (name: string): string =>
  `export default {\n  fetch(request, env, ctx) {\n    return new Response('Hello from ${name}!\\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } });\n  },\n};\n`;

async function deploy(host: ChildHost, name: string): Promise<void> {
  await host.deploy({ manifest: { fileName: 'wrangler.toml', content: manifest(name) }, modules: [{ path: 'index.js', content: source(name) }] });
}

async function get(host: ChildHost, agent: Agent, name: string): Promise<void> {
  const res = await timedGet({ port: host.dataPort, host: `${name}.localhost:${host.dataPort}`, agent });
  if (res.status !== 200 || res.body !== `Hello from ${name}!\n`) throw new Error(`GET ${name}: expected 200 "Hello from ${name}!", got ${res.status} ${res.body.slice(0, 300)}`);
}

/** Memory mappings of a process, against the kernel's per-process limit (each V8 isolate maps a few dozen regions). */
function mappings(pid: number): { count: number; max: number } {
  const count = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l !== '').length;
  const max = Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim());
  return { count, max };
}

async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** RSS readings over an idle period, in bytes. */
async function idleReadings(rss: () => number): Promise<number[]> {
  await sleep(IDLE_WAIT_MS);
  const out: number[] = [];
  for (let i = 0; i < READINGS; i++) {
    out.push(rss());
    await sleep(200);
  }
  return out;
}

/**
 * Diagnostic: what a pooled isolate costs before any worker is loaded into it (snapshot + context + prelude
 * init), measured in this process with the host's own IsolatePool.
 */
async function pooledIsolateRss(count: number): Promise<{ mbEach: number; heapTotalMib: number; heapUsedMib: number }> {
  const pool = await IsolatePool.create({ size: 0 });
  const held: PooledIsolate[] = [];
  try {
    for (let i = 0; i < 5; i++) held.push(await pool.take(128));
    await sleep(1000);
    const before = readRssBytes(process.pid);
    for (let i = 0; i < count; i++) held.push(await pool.take(128));
    await sleep(IDLE_WAIT_MS);
    const after = readRssBytes(process.pid);
    const heap = await held[held.length - 1]!.isolate.getHeapStatistics();
    return { mbEach: (after - before) / count / MB, heapTotalMib: heap.total_heap_size / MiB, heapUsedMib: heap.used_heap_size / MiB };
  } finally {
    pool.close();
    for (const p of held) if (!p.isolate.isDisposed) p.isolate.dispose();
  }
}

export async function runMemory(options: MemoryOptions): Promise<SuiteResult> {
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const targets: TargetCheck[] = [];
  const host = await startChildHost();
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const max = options.counts[options.counts.length - 1]!;
  let evictionAt: { touched: number; alive: number } | undefined;
  let heapPerIsolate: number | undefined;
  try {
    // Warm-up: one worker deployed and exercised, so that the host's own code, Fastify's routes and the pool
    // are already paid for in the "before" figure.
    await deploy(host, 'warmup');
    for (let i = 0; i < 200; i++) await get(host, agent, 'warmup');
    await host.metrics();
    const before = await idleReadings(() => host.rssBytes());
    const rssBefore = Math.min(...before);
    options.log(`  memory: edge-js host ${formatNumber(rssBefore / MiB)} MiB before; deploying up to ${max} workers ${options.concurrency} at a time${options.workerd ? `, workerd with the same counts in between` : ''}`);

    let deployed = 0;
    const tDeploy = performance.now();
    try {
      for (const n of options.counts) {
        // workerd first, while our host holds fewer workers, so that the two never hold their most at once.
        let workerdMb: number | undefined;
        let workerdRss: { mibPerWorker: number } | undefined;
        if (options.workerd) {
          try {
            workerdRss = await options.workerd.rssPerWorker(n);
          } catch (err) {
            const why = ((err as Error).message ?? String(err)).split('\n').filter((l) => /fatal|error|exited/i.test(l)).slice(0, 2).join(' / ');
            options.log(`  memory: workerd ${n} workers: FAILED: ${why}`);
            notes.push(`memory: workerd could not run ${n} workers in one process: ${why}`);
          }
        }
        if (workerdRss) {
          workerdMb = (workerdRss.mibPerWorker * MiB) / MB;
          measurements.push(
            measure(
              { suite: SUITE, runtime: 'workerd', workload: 'hello workers, hit once, idle', metric: 'rss_per_worker_mb', unit: 'MB', note: '(RSS with n workers - RSS with 1) / (n - 1), one workerd process (bench/workerd.ts workerdRssPerWorker); MB = 10^6 bytes' },
              [workerdMb],
              { workers: n },
            ),
          );
          options.log(`  memory: workerd ${n} workers: ${formatNumber(workerdMb)} MB per worker`);
        }
        while (deployed < n) {
          const names = Array.from({ length: Math.min(BATCH, n - deployed) }, (_, i) => `w${String(deployed + i + 1).padStart(5, '0')}`);
          await inParallel(names, options.concurrency, (name) => deploy(host, name));
          await inParallel(names, options.concurrency, (name) => get(host, agent, name));
          deployed += names.length;
          options.step?.(deployed, max);
          if (!evictionAt) {
            const alive = metricValue(await host.metrics(), 'edge_isolates_alive') ?? Infinity;
            if (alive < deployed + 1) {
              evictionAt = { touched: deployed, alive };
              options.log(`  memory: eviction started: ${alive} isolates alive after ${deployed} workers touched`);
            }
          }
        }
        const readings = await idleReadings(() => host.rssBytes());
        const metrics = await host.metrics();
        const alive = (metricValue(metrics, 'edge_isolates_alive') ?? n + 1) - 1;
        const heap = metricValue(metrics, 'edge_isolate_heap_bytes');
        if (heap !== undefined && alive > 0) heapPerIsolate = heap / (alive + 1);
        const perWorker = readings.map((r) => (r - rssBefore) / Math.max(1, alive) / MB);
        const m = measure(
          {
            suite: SUITE,
            runtime: 'edge-js',
            workload: 'hello workers, warm after one request, idle',
            metric: 'rss_per_worker_mb',
            unit: 'MB',
            note: `(VmRSS - VmRSS before) / warm isolates (${alive} alive of ${n} deployed), ${READINGS} readings 200 ms apart after ${IDLE_WAIT_MS / 1000} s idle; MB = 10^6 bytes`,
          },
          perWorker,
          { workers: n },
        );
        measurements.push(m);
        const maps = mappings(host.pid);
      notes.push(`memory edge-js ${n} workers: host has ${maps.count} memory mappings (vm.max_map_count ${maps.max}, ${formatNumber(maps.count / Math.max(1, alive + 1))} per isolate).`);
      notes.push(`memory edge-js ${n} workers: VmRSS ${formatNumber(rssBefore / MiB)} → ${formatNumber(Math.max(...readings) / MiB)} MiB, edge_isolates_alive ${alive + 1} (incl. the warm-up worker), edge_isolate_heap_bytes ${heap === undefined ? 'absent' : `${formatNumber(heap / MiB)} MiB`} (sampled every 5 s).`);
        options.log(`  memory: edge-js ${n} workers: ${formatNumber(m.p50)} MB per warm worker (${alive} alive)`);
        if (alive === n) targets.push({ target: `< ${TARGET_MB_PER_WORKER} MB RSS per idle worker (${n} workers)`, measured: `${formatNumber(m.p50)} MB`, pass: m.p50 < TARGET_MB_PER_WORKER });
        else targets.push({ target: `< ${TARGET_MB_PER_WORKER} MB RSS per idle worker (${n} workers)`, measured: `${formatNumber(m.p50)} MB over ${alive} warm isolates`, pass: null, note: `not judged: eviction kept only ${alive} of ${n} warm` });
        if (workerdMb !== undefined) notes.push(`memory vs workerd, ${n} workers: edge-js ${formatNumber(m.p50)} MB vs workerd ${formatNumber(workerdMb)} MB per worker = ${ratioText(m.p50, workerdMb)} (lower is better for us).`);
      }
    } catch (err) {
      // Keep what was measured below this count, and say how the host failed.
      const message = err instanceof Error ? err.message : String(err);
      const tail = host.stderrTail().trim().split('\n').slice(-6).join(' / ');
      const maps = host.alive() ? mappings(host.pid) : undefined;
      const state = maps ? `the host process was still running, with ${maps.count} memory mappings of vm.max_map_count ${maps.max}` : 'the host process had exited';
      options.log(`  memory: FAILED after ${deployed} workers: ${message} (${state})`);
      notes.push(`memory: FAILED after ${deployed} workers deployed: ${message}; ${state}; host stderr: ${tail || '(empty)'}. Figures for larger counts are missing.`);
      targets.push({ target: `the host holds ${max} deployed workers (eviction beyond the budget)`, measured: `failed after ${deployed}: ${message}`, pass: false });
    }
    const deploySeconds = (performance.now() - tDeploy) / 1000;
    notes.push(`memory: host \`edge serve\` in a child process with the default limits; ${max} workers deployed over the admin API ${options.concurrency} at a time in batches of ${BATCH}, each batch then sent one request per worker (${formatNumber(deploySeconds)} s in all, RSS readings included). No GC forced.`);

    const bound = safeMaxIsolates();
    const budgetNote = `the host's defaults: a memory budget of ${DEFAULT_BUDGET_MB} MiB of isolate heap (WorkerRuntime memoryBudgetMb; heaps sampled every 5 s, so that eviction lags deploys by up to 5 s) and at most ${bound} warm isolates (safeMaxIsolates: what vm.max_map_count allows this process), whichever binds first`;
    if (evictionAt) {
      measurements.push(measure({ suite: SUITE, runtime: 'edge-js', workload: 'hello workers deployed and touched', metric: 'workers_before_eviction', unit: 'workers', note: `first batch after which edge_isolates_alive < workers touched + 1; ${budgetNote}` }, [evictionAt.touched], { workers: max }));
      notes.push(`density: eviction started by ${evictionAt.touched} workers touched (${evictionAt.alive} isolates alive at that reading; the first reading is checked every ${BATCH} workers); ${budgetNote}.`);
    } else if (deployed < max) {
      notes.push(`density: no eviction seen up to ${deployed} workers, where the run stopped (see the failure above); ${budgetNote}.`);
    } else {
      const projected = heapPerIsolate ? Math.floor((DEFAULT_BUDGET_MB * MiB) / heapPerIsolate) : undefined;
      const cap = safeMaxIsolates();
      notes.push(
        `density: no eviction up to ${max} workers; ${budgetNote}. ` +
          (projected ? `At ${formatNumber(heapPerIsolate! / MiB)} MiB of heap per warm isolate, eviction would start near ${Math.min(projected, cap)} workers (projected, not measured).` : ''),
      );
    }
  } finally {
    agent.destroy();
    await host.stop();
  }

  const n = Math.min(300, options.counts[0]!);
  options.log(`  memory: ${n} bare pooled isolates in this process (diagnostic)`);
  const bare = await pooledIsolateRss(n);
  measurements.push(
    measure({ suite: SUITE, runtime: 'edge-js', workload: 'pooled isolates, no worker loaded (IsolatePool in the bench process)', metric: 'rss_per_pooled_isolate_mb', unit: 'MB', note: 'diagnostic: VmRSS growth / isolates; snapshot + context + prelude init only' }, [bare.mbEach], { workers: n }),
  );
  notes.push(`memory: of the per-worker RSS, ${formatNumber(bare.mbEach)} MB is the pooled isolate itself before any worker code (prelude snapshot + context + init; V8 heap ${formatNumber(bare.heapTotalMib)} MiB total, ${formatNumber(bare.heapUsedMib)} MiB used), measured on ${n} isolates in the bench process.`);
  return { measurements, targets, notes };
}
