// Resident memory per idle warm worker: the host in a child process, N small distinct workers deployed through
// the admin API, each sent one request so that it has a warm isolate, then the growth of the host's RSS
// (/proc/<pid>/status VmRSS) divided by N. Nothing is forced (no GC, no eviction).
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { IsolatePool, type PooledIsolate } from '../host/runtime/isolate-pool.ts';
import { readRssBytes, startChildHost, type ChildHost } from './child-host.ts';
import { timedGet } from './http-get.ts';
import { metricValue } from './prom.ts';
import { formatNumber, type BenchRecord, type SuiteResult } from './report.ts';
import { summarize } from './stats.ts';

export interface MemoryOptions {
  workers: number;
  /** How many deploys are in flight at once. */
  concurrency: number;
  log(line: string): void;
}

const MiB = 1024 * 1024;
const TARGET_MB_PER_WORKER = 1.2;
const IDLE_WAIT_MS = 2000;

const manifest = (name: string): string => `name = "${name}"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n`;
const source = (name: string): string =>
  `export default {\n  fetch(request, env, ctx) {\n    return new Response('Hello from ${name}!\\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } });\n  },\n};\n`;

/** Deploys one worker over the admin API; returns how long it took, in ms. */
async function deploy(host: ChildHost, name: string): Promise<number> {
  const t0 = performance.now();
  await host.deploy({ manifest: { fileName: 'wrangler.toml', content: manifest(name) }, modules: [{ path: 'index.js', content: source(name) }] });
  return performance.now() - t0;
}

async function get(host: ChildHost, agent: Agent, name: string): Promise<void> {
  const res = await timedGet({ port: host.dataPort, host: `${name}.localhost:${host.dataPort}`, agent });
  if (res.status !== 200 || res.body !== `Hello from ${name}!\n`) throw new Error(`GET ${name}: expected 200 "Hello from ${name}!", got ${res.status} ${res.body.slice(0, 300)}`);
}

async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Diagnostic: what a pooled isolate costs before any worker is loaded into it (snapshot + context + prelude
 * init), measured in this process with the host's own IsolatePool, so that the per-worker figure can be split
 * into "isolate as the pool makes it" and "the worker on top".
 */
async function pooledIsolateRss(count: number): Promise<{ mibEach: number; heapTotalMib: number; heapUsedMib: number }> {
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
    return { mibEach: (after - before) / count / MiB, heapTotalMib: heap.total_heap_size / MiB, heapUsedMib: heap.used_heap_size / MiB };
  } finally {
    pool.close();
    for (const p of held) if (!p.isolate.isDisposed) p.isolate.dispose();
  }
}

export async function runMemory(options: MemoryOptions): Promise<SuiteResult> {
  const result = await measureHost(options);
  const n = Math.min(300, options.workers);
  options.log(`  memory: ${n} bare pooled isolates in this process (diagnostic)`);
  const bare = await pooledIsolateRss(n);
  result.records.push({
    suite: 'memory',
    runtime: 'edge-js',
    workload: `${n} pooled isolates, no worker loaded (IsolatePool in the bench process)`,
    metric: 'rss_per_pooled_isolate',
    unit: 'MiB',
    p50: bare.mibEach,
    p90: bare.mibEach,
    p99: bare.mibEach,
    mean: bare.mibEach,
    n: 1,
    note: 'diagnostic: VmRSS growth / isolates; snapshot + context + prelude init only',
  });
  result.notes.push(
    `memory: of the per-worker RSS, ${formatNumber(bare.mibEach)} MiB is the pooled isolate itself before any worker code (prelude snapshot + context + init; its V8 heap: ${formatNumber(bare.heapTotalMib)} MiB total, ${formatNumber(bare.heapUsedMib)} MiB used), measured with the host's IsolatePool on ${n} isolates in the bench process; the lab notes measured 1.26 MB for a bare isolate + context on Node 24.`,
  );
  return result;
}

async function measureHost(options: MemoryOptions): Promise<SuiteResult> {
  const host = await startChildHost();
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    // Warm-up: one worker deployed and exercised, so that the host's own code, Fastify's routes and the pool
    // are already paid for in the "before" figure.
    await deploy(host, 'warmup');
    for (let i = 0; i < 200; i++) await get(host, agent, 'warmup');
    await host.metrics();
    await sleep(IDLE_WAIT_MS);
    const rssBefore = host.rssBytes();

    const names = Array.from({ length: options.workers }, (_, i) => `w${String(i + 1).padStart(4, '0')}`);
    const deployMs: number[] = [];
    const tDeploy = performance.now();
    let done = 0;
    await inParallel(names, options.concurrency, async (name) => {
      deployMs.push(await deploy(host, name));
      if (++done % 250 === 0) options.log(`  memory: ${done}/${names.length} workers deployed`);
    });
    const deploySeconds = (performance.now() - tDeploy) / 1000;
    await inParallel(names, options.concurrency, (name) => get(host, agent, name));
    await sleep(IDLE_WAIT_MS);
    const rssAfter = host.rssBytes();
    const metrics = await host.metrics();

    const alive = metricValue(metrics, 'edge_isolates_alive');
    const deployed = metricValue(metrics, 'edge_workers_deployed');
    const spares = metricValue(metrics, 'edge_isolates_spare');
    const heap = metricValue(metrics, 'edge_isolate_heap_bytes');
    const coldStarts = metricValue(metrics, 'edge_cold_starts_total');
    const perWorker = (rssAfter - rssBefore) / options.workers / MiB;
    const workload = `${options.workers} hello-world workers, each warm after one request, idle ${IDLE_WAIT_MS / 1000} s`;
    const d = summarize(deployMs);
    const records: BenchRecord[] = [
      {
        suite: 'memory',
        runtime: 'edge-js',
        workload,
        metric: 'rss_per_idle_worker',
        unit: 'MiB',
        p50: perWorker,
        p90: perWorker,
        p99: perWorker,
        mean: perWorker,
        n: 1,
        note: `(VmRSS after - VmRSS before) / ${options.workers}; one measurement, so all percentiles are the same value`,
      },
      { suite: 'memory', runtime: 'edge-js', workload, metric: 'host_rss_before', unit: 'MiB', p50: rssBefore / MiB, p90: rssBefore / MiB, p99: rssBefore / MiB, mean: rssBefore / MiB, n: 1 },
      { suite: 'memory', runtime: 'edge-js', workload, metric: 'host_rss_after', unit: 'MiB', p50: rssAfter / MiB, p90: rssAfter / MiB, p99: rssAfter / MiB, mean: rssAfter / MiB, n: 1 },
      {
        suite: 'memory',
        runtime: 'edge-js',
        workload: `deploy over the admin API, ${options.concurrency} at a time`,
        metric: 'deploy_latency',
        unit: 'ms',
        p50: d.p50,
        p90: d.p90,
        p99: d.p99,
        mean: d.mean,
        n: d.n,
      },
    ];
    const notes = [
      `memory: host \`edge serve\` in a child process (pid ${host.pid}); before = after start, one warm-up worker with 200 requests and ${IDLE_WAIT_MS / 1000} s idle; after = ${options.workers} more workers deployed (${options.concurrency} at a time, ${deploySeconds.toFixed(1)} s, ${formatNumber(options.workers / deploySeconds)} deploys/s), one request each, ${IDLE_WAIT_MS / 1000} s idle. No GC or eviction forced. MiB = 2^20 bytes (${formatNumber((perWorker * MiB) / 1e6)} MB in 10^6 bytes).`,
      `memory: VmRSS ${formatNumber(rssBefore / MiB)} → ${formatNumber(rssAfter / MiB)} MiB; host /metrics after: edge_isolates_alive ${alive ?? 'absent'} (expected ${options.workers + 1}: the workers + warm-up), edge_workers_deployed ${deployed ?? 'absent'}, edge_isolates_spare ${spares ?? 'absent'}, edge_isolate_heap_bytes ${heap === undefined ? 'absent' : `${formatNumber(heap / MiB)} MiB (sampled every 5 s)`}, edge_cold_starts_total ${coldStarts ?? '0 (no series yet)'} (deploys hand their validation isolate over, so no request cold-started).`,
    ];
    const allAlive = alive === options.workers + 1;
    if (!allAlive) notes.push(`memory: NOT all isolates were alive at the second reading (edge_isolates_alive ${alive}), so the per-worker figure does not describe ${options.workers} warm workers.`);
    return {
      records,
      notes,
      targets: [
        {
          target: `< ${TARGET_MB_PER_WORKER} MB RSS per idle worker (${options.workers} workers)`,
          measured: `${perWorker.toFixed(3)} MiB${allAlive ? '' : ' (isolates missing!)'}`,
          pass: perWorker < TARGET_MB_PER_WORKER && allAlive,
        },
      ],
    };
  } finally {
    agent.destroy();
    await host.stop();
  }
}
