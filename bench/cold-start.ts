// Cold start of a JS worker (examples-like hello world) and of a component worker (examples/hello-as, built once
// with buildWorker), with the host in this process and requests over real HTTP on loopback:
//  (a) the first request after a deploy (the deploy hands its validation isolate over, so this is what a user
//      sees right after `edge deploy`), and
//  (b) the first request after the runtime's warm isolate was evicted: the request takes a pooled isolate, loads
//      the code with the deploy-time code cache and runs it (a true cold start).
// Every JS sample deploys a new version (a different string) of the same worker, so each is a version never seen;
// every component sample deploys the same component under a new worker name (deleted after its sample).
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHost, type RunningHost } from '../host/server/host.ts';
import { WorkerInstance } from '../host/runtime/worker-instance.ts';
import type { DeployUpload } from '../host/deploy/upload.ts';
import { makeTempDir, removeTempDir } from './child-host.ts';
import { helloAsComponent, helloAsUpload } from './hello-as.ts';
import { timedGet } from './http-get.ts';
import { histogram, histogramDelta, type HistogramSnapshot } from './prom.ts';
import { formatNumber, type BenchRecord, type SuiteResult } from './report.ts';
import { summarize } from './stats.ts';

export interface ColdStartOptions {
  samples: number;
  /** Samples run first and dropped (JIT warm-up of the host's own code). */
  warmup: number;
  log(line: string): void;
  /** Also measure the hello-as component (default true). */
  component?: boolean;
}

const WORKER = 'cold';
const POOL_SIZE = 4;
/** After the pool is full again, this much quiet before the next request. */
const SETTLE_MS = 5;
const TARGET_P50_MS = 2;
const COMPONENT_TARGET_P50_MS = 1;

const manifest = `name = "${WORKER}"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n`;
const workerSource = (marker: string): string =>
  `export default {\n  fetch(request, env, ctx) {\n    return new Response('hello ${marker}\\n', { headers: { 'content-type': 'text/plain' } });\n  },\n};\n`;

/** What one cold-start series deploys and expects back. */
interface ColdSubject {
  runtime: 'edge-js' | 'edge-wasm';
  workload: string;
  /** The worker name, the upload and the exact expected body of sample `i` (`marker` is unique per sample). */
  sample(i: number, marker: string): { name: string; upload: DeployUpload; body: string };
  /** Delete the worker after its sample (when every sample has its own name). */
  deleteAfter: boolean;
  /** Also time the floors (404 and bare node:http) in this series. */
  floors: boolean;
}

const jsSubject: ColdSubject = {
  runtime: 'edge-js',
  workload: 'hello world, new version per sample',
  sample: (_i, marker) => ({
    name: WORKER,
    upload: { manifest: { fileName: 'wrangler.toml', content: manifest }, modules: [{ path: 'index.js', content: workerSource(marker) }] },
    body: `hello ${marker}\n`,
  }),
  deleteAfter: false,
  floors: true,
};

function componentSubject(component: Uint8Array, port: number): ColdSubject {
  return {
    runtime: 'edge-wasm',
    workload: 'examples/hello-as component, new worker per sample',
    sample: (i) => {
      const name = `cold-as-${i}`;
      // hello-as answers "hello from " + request.url.
      return { name, upload: helloAsUpload(name, component), body: `hello from http://${name}.localhost:${port}/\n` };
    },
    deleteAfter: true,
    floors: false,
  };
}

/** Lets the pool refill itself (asynchronously, one isolate per macrotask) before the next sample. */
async function waitForFullPool(host: RunningHost): Promise<void> {
  const deadline = performance.now() + 5000;
  while (host.pool.spareCount < POOL_SIZE) {
    if (performance.now() > deadline) throw new Error(`isolate pool did not refill to ${POOL_SIZE} spares within 5 s (has ${host.pool.spareCount})`);
    await sleep(1);
  }
  await sleep(SETTLE_MS);
}

async function scrapeColdStartHistogram(host: RunningHost): Promise<HistogramSnapshot | undefined> {
  const res = await fetch(`${host.adminUrl}/metrics`, { headers: { authorization: `Bearer ${host.adminToken}` } });
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return histogram(await res.text(), 'edge_cold_start_seconds');
}

export async function runColdStart(options: ColdStartOptions): Promise<SuiteResult> {
  const dataDir = makeTempDir('cold');
  const host = await startHost({ dataDir, port: 0, adminPort: 0, adminToken: randomBytes(24).toString('hex'), poolSize: POOL_SIZE });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const floor = createServer((_req, res) => res.end('ok'));
  try {
    await new Promise<void>((ok, fail) => floor.once('error', fail).listen(0, '127.0.0.1', ok));
    const floorPort = (floor.address() as AddressInfo).port;
    options.log('  cold start: edge-js (hello world)');
    const js = await measure(host, agent, floorPort, jsSubject, options);
    if (options.component === false) return js;
    const built = await helloAsComponent();
    options.log(`  cold start: edge-wasm (examples/hello-as, component of ${built.component.byteLength} bytes built in ${built.buildMs.toFixed(0)} ms)`);
    const wasm = await measure(host, agent, floorPort, componentSubject(built.component, Number(new URL(host.dataUrl).port)), options);
    return { records: [...js.records, ...wasm.records], targets: [...js.targets, ...wasm.targets], notes: [...js.notes, ...wasm.notes] };
  } finally {
    agent.destroy();
    floor.closeAllConnections();
    floor.close();
    await host.close();
    removeTempDir(dataDir);
  }
}

async function measure(host: RunningHost, agent: Agent, floorPort: number, subject: ColdSubject, options: ColdStartOptions): Promise<SuiteResult> {
  const port = Number(new URL(host.dataUrl).port);
  const floorAgent = new Agent({ keepAlive: true, maxSockets: 1 });

  // Time the host-side parts of a cold start by wrapping two public methods of this in-process host (no host
  // code is changed): runtime.instance() returns a promise only when it cold-starts, and pool.take() is its
  // first step (the rest is WorkerInstance.load: compile with the code cache, link, evaluate, hand over).
  let coldMs: number | undefined;
  let takeMs: number | undefined;
  const runtime = host.runtime;
  const pool = host.pool;
  const instance = runtime.instance.bind(runtime);
  runtime.instance = (name) => {
    const t0 = performance.now();
    const got = instance(name);
    if (got instanceof Promise) got.then(() => (coldMs = performance.now() - t0), () => {});
    return got;
  };
  const take = pool.take.bind(pool);
  pool.take = async (memoryMb) => {
    const t0 = performance.now();
    const pooled = await take(memoryMb);
    takeMs = performance.now() - t0;
    return pooled;
  };

  const deployMs: number[] = [];
  const afterDeploy: number[] = [];
  const afterEviction: number[] = [];
  const hostCold: number[] = [];
  const poolTake: number[] = [];
  const codeLoad: number[] = [];
  const warm: number[] = [];
  const quiet: number[] = [];
  const noRoute: number[] = [];
  const bareHttp: number[] = [];
  let coldStartsInVariantA = 0;

  const get = async (name: string, body: string): Promise<number> => {
    const hostHeader = `${name}.localhost:${port}`;
    const res = await timedGet({ port, host: hostHeader, agent });
    if (res.status !== 200 || res.body !== body) {
      throw new Error(`GET ${hostHeader}: expected 200 ${JSON.stringify(body)}, got ${res.status} ${JSON.stringify(res.body.slice(0, 300))}`);
    }
    return res.ms;
  };

  // Open the keep-alive connection first (answered 404 by the router: nothing of this name is deployed yet).
  await timedGet({ port, host: `${subject.sample(0, 'open').name}.localhost:${port}`, agent });
  let before: HistogramSnapshot | undefined;
  const total = options.warmup + options.samples;
  for (let i = 0; i < total; i++) {
    const keep = i >= options.warmup;
    if (i === options.warmup) before = await scrapeColdStartHistogram(host);
    const marker = `v${i}-${randomBytes(4).toString('hex')}`;
    const { name, upload, body } = subject.sample(i, marker);

    await waitForFullPool(host);
    const t0 = performance.now();
    await host.deployer.deploy(upload);
    const tDeploy = performance.now() - t0;

    // (a) first request after deploy
    await waitForFullPool(host);
    coldMs = undefined;
    const a = await get(name, body);
    if (coldMs !== undefined) coldStartsInVariantA++;

    // (b) first request after eviction
    if (!runtime.evict(name)) throw new Error(`host.runtime.evict("${name}") found no warm isolate to evict`);
    await waitForFullPool(host);
    coldMs = undefined;
    takeMs = undefined;
    const b = await get(name, body);
    if (coldMs === undefined || takeMs === undefined) throw new Error('the request after eviction did not cold-start (runtime.instance returned a warm instance)');

    // the same worker once more, now warm: the HTTP + routing + call cost without any start-up
    await waitForFullPool(host);
    const w = await get(name, body);

    // Diagnostic: the same load as (b)'s, on an isolate taken from the pool *after* the pool has refilled, i.e.
    // without the refill's new isolate being built on the same thread meanwhile.
    const version = runtime.activeVersion(name);
    if (!version) throw new Error(`no active version of "${name}"`);
    const pooled = await take(version.manifest.limits.memoryMb);
    await waitForFullPool(host);
    const tq = performance.now();
    const loaded = await WorkerInstance.load(version, pooled, runtime.hookSet);
    const quietLoad = performance.now() - tq;
    loaded.dispose(null);

    if (subject.deleteAfter) await host.deployer.delete(name);

    // Floors, spaced like the samples above: the host answering 404 (HTTP + router, no isolate), and a bare
    // node:http server in this process (what loopback HTTP alone costs on this machine after a few idle ms).
    let nr: number | undefined;
    let bare: number | undefined;
    if (subject.floors) {
      await waitForFullPool(host);
      const r = await timedGet({ port, host: `no-such-worker.localhost:${port}`, agent });
      if (r.status !== 404) throw new Error(`expected 404 for an unknown worker, got ${r.status}`);
      nr = r.ms;
      await sleep(SETTLE_MS);
      bare = (await timedGet({ port: floorPort, host: 'bare', agent: floorAgent })).ms;
    }

    if (keep) {
      deployMs.push(tDeploy);
      afterDeploy.push(a);
      afterEviction.push(b);
      hostCold.push(coldMs);
      poolTake.push(takeMs);
      codeLoad.push(coldMs - takeMs);
      warm.push(w);
      quiet.push(quietLoad);
      if (nr !== undefined) noRoute.push(nr);
      if (bare !== undefined) bareHttp.push(bare);
    }
    if ((i + 1) % 50 === 0) options.log(`  cold start: ${subject.runtime}: ${i + 1}/${total} samples`);
  }
  const after = await scrapeColdStartHistogram(host);
  floorAgent.destroy();
  runtime.instance = instance;
  pool.take = take;

  const workload = subject.workload;
  const rec = (metric: string, samples: number[], note: string): BenchRecord => {
    const s = summarize(samples);
    return { suite: 'cold-start', runtime: subject.runtime, workload, metric, unit: 'ms', p50: s.p50, p90: s.p90, p99: s.p99, mean: s.mean, n: s.n, note };
  };
  const isComponent = subject.runtime === 'edge-wasm';
  const records = [
    rec('first_request_after_deploy', afterDeploy, 'client: request written → last body byte; keep-alive connection; served by the validation isolate the deploy left warm'),
    rec('first_request_after_eviction', afterEviction, 'client: same, after host.runtime.evict(): pooled isolate + code load with the code cache + first call'),
    rec('host_cold_start', hostCold, 'host side of (b): runtime.instance() promise from call to resolution (pool.take + WorkerInstance.load)'),
    rec('host_cold_start.pool_take', poolTake, 'part of host_cold_start: IsolatePool.take()'),
    rec(
      'host_cold_start.code_load',
      codeLoad,
      isComponent
        ? 'part of host_cold_start: the rest (jco glue compiled with the code cache, core modules compiled, component instantiated, hand over)'
        : 'part of host_cold_start: the rest (compile with code cache, link, evaluate, hand over)',
    ),
    rec('code_load_with_quiet_pool', quiet, 'diagnostic: WorkerInstance.load() alone, on an isolate taken before the pool refilled and started after it had (no refill competing for the thread)'),
    rec('warm_request_after_cold', warm, 'client: the next request to the same, now warm, worker (HTTP + routing + call)'),
    ...(noRoute.length > 0 ? [rec('http_no_route_404', noRoute, 'floor: the host answering an unknown worker (HTTP + router, no isolate), same keep-alive connection and spacing')] : []),
    ...(bareHttp.length > 0 ? [rec('http_bare_node_floor', bareHttp, 'floor: a bare node:http server in this process answering "ok", own keep-alive connection, after the same idle gap')] : []),
    rec(
      'deploy_in_process',
      deployMs,
      isComponent
        ? 'host.deployer.deploy(): jco transpile + core modules prepared, validate (instantiate) in an isolate, produce code cache, store, activate'
        : 'host.deployer.deploy(): validate in an isolate, produce code cache, store, activate',
    ),
  ];

  const label = `cold start ${subject.runtime}`;
  const notes: string[] = [
    `${label}: ${subject.workload}: ${options.samples} samples (+${options.warmup} warm-up samples dropped), in-process host, requests over HTTP on 127.0.0.1 with one keep-alive connection (connection set-up not measured).`,
    `${label}: before each measured request the isolate pool was allowed to refill: waited until host.pool.spareCount was back at ${POOL_SIZE} (polled every 1 ms), then ${SETTLE_MS} ms more.`,
  ];
  if (coldStartsInVariantA > 0) notes.push(`${label}: ${coldStartsInVariantA} of the "first request after deploy" samples cold-started instead of using the deploy's warm isolate (unexpected).`);
  if (before && after) {
    const d = histogramDelta(before, after);
    const le = (bound: number): number => d.buckets.find((b) => b.le === bound)?.count ?? 0;
    const pct = (c: number): string => `${((100 * c) / Math.max(1, d.count)).toFixed(0)}%`;
    notes.push(
      `${label}: host metric edge_cold_start_seconds over the measured samples: count ${d.count}, mean ${formatNumber((1000 * d.sum) / Math.max(1, d.count))} ms, ` +
        `≤1 ms ${pct(le(0.001))}, ≤2 ms ${pct(le(0.002))}, ≤5 ms ${pct(le(0.005))} (it times pool.take + load, like host_cold_start).`,
    );
  } else {
    notes.push(`${label}: the host exports no edge_cold_start_seconds histogram; only the wrapped timings are reported.`);
  }

  const med = (xs: number[]): string => formatNumber(summarize(xs).p50);
  const floors = noRoute.length > 0 && bareHttp.length > 0 ? `, a 404 ${med(noRoute)} ms, bare node:http ${med(bareHttp)} ms on this machine` : '';
  notes.push(
    `${label}, where the time goes (p50): client ${med(afterEviction)} ms = host cold start ${med(hostCold)} ms (pool.take ${med(poolTake)} + code load ${med(codeLoad)}) + the rest (HTTP, routing, first fetch, anything else on the thread; a warm request costs ${med(warm)} ms${floors}). ` +
      `The same code load takes ${med(quiet)} ms when no pool refill runs meanwhile: pool.take() schedules the refill (a new isolate from the snapshot, its context and prelude init) on the same thread, and it lands between the load's async steps.`,
  );
  if (isComponent) {
    notes.push(
      `${label}: every sample deploys the same component bytes (built once) under a new name, so V8's process-wide cache of compiled wasm modules serves the core modules after the first deploy; ` +
        'the first request after a deploy is served by the instance the deploy validated with (no instantiation in the request); after eviction the request pays glue evaluation, core module compilation (from that cache) and instantiation.',
    );
    notes.push(
      `${label}: the first request after deploy (${med(afterDeploy)} ms) costs ${formatNumber(summarize(afterDeploy).p50 - summarize(warm).p50)} ms more than a warm one (${med(warm)} ms) although no instantiation happens in it: ` +
        "the deploy instantiates the component but never calls handle(), so the first request runs the glue's lift/lower code and the guest's wasm functions for the first time (compare component_first_handle_call with component_second_handle_call in the instantiate suite).",
    );
  }
  const pB = summarize(afterEviction).p50;
  const pA = summarize(afterDeploy).p50;
  const hostSide = formatNumber(summarize(hostCold).p50);
  if (isComponent) {
    const t = COMPONENT_TARGET_P50_MS;
    return {
      records,
      notes,
      targets: [
        {
          target: `component cold start p50 < ${t} ms (first request after deploy)`,
          measured: `${formatNumber(pA)} ms (p90 ${formatNumber(summarize(afterDeploy).p90)} ms)`,
          pass: pA < t,
          note: pA < t ? '' : `missed: ${formatNumber(pA / t)}x the target`,
        },
        {
          target: `component cold start p50 < ${t} ms (true cold: after eviction)`,
          measured: `${formatNumber(pB)} ms (host side ${hostSide} ms)`,
          pass: pB < t,
          note: pB < t ? '' : `missed: ${formatNumber(pB / t)}x the target`,
        },
      ],
    };
  }
  return {
    records,
    notes,
    targets: [
      {
        target: `JS cold start p50 < ${TARGET_P50_MS} ms (true cold: after eviction)`,
        measured: `${formatNumber(pB)} ms (host side ${hostSide} ms)`,
        pass: pB < TARGET_P50_MS,
      },
      { target: `JS cold start p50 < ${TARGET_P50_MS} ms (first request after deploy)`, measured: `${formatNumber(pA)} ms`, pass: pA < TARGET_P50_MS },
    ],
  };
}
