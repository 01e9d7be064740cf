// Cold start of three workers, with the host in this process and requests over real HTTP on loopback: a hello
// world JS worker, a larger JS worker (bench/large-bundle.ts, an esbuild bundle of ~370 KB of real libraries) and
// the examples/hello-as component (built once with buildWorker). Each sample measures
//  (a) the first request after a deploy (the deploy hands its validation isolate over, so this is what a user
//      sees right after `edge deploy`), and
//  (b) the first request after the runtime's warm isolate was evicted: the request takes a pooled isolate, loads
//      the code with the deploy-time code cache and runs it (a true cold start),
// and the host-side split of (b). The three series, and workerd's cold start when workerd is installed, are
// interleaved sample by sample (A B C D, then B C D A, ...) so that drift of the machine hits all of them alike.
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
import { largeBundleAnswer, largeBundleSource, MARKER } from './large-bundle.ts';
import { histogram, histogramDelta, type HistogramSnapshot } from './prom.ts';
import { measure as record, type Measurement, type Runtime, type SuiteResult, type TargetCheck } from './records.ts';
import { formatNumber } from './markdown.ts';
import { summarize } from './stats.ts';
import { ratioText, type WorkerdApi } from './workerd-bridge.ts';

export interface ColdStartOptions {
  samples: number;
  /** Samples run first and dropped (JIT warm-up of the host's own code). */
  warmup: number;
  log(line: string): void;
  /** Progress of the series: samples done of all. */
  step?(done: number, total: number): void;
  /** Which workers to measure (default all three). */
  subjects?: Array<'hello-js' | 'large-js' | 'hello-as'>;
  /** workerd's cold-start sampler, interleaved with ours when given. */
  workerd?: WorkerdApi;
}

const SUITE = 'cold';
const POOL_SIZE = 4;
/** After the pool is full again, this much quiet before the next request. */
const SETTLE_MS = 5;
const TARGET_P50_MS = 2;
const COMPONENT_TARGET_P50_MS = 1;

const jsManifest = (name: string): string => `name = "${name}"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n`;
const helloSource = (marker: string): string =>
  `export default {\n  fetch(request, env, ctx) {\n    return new Response('hello ${marker}\\n', { headers: { 'content-type': 'text/plain' } });\n  },\n};\n`;

/** What one cold-start series deploys and expects back. */
interface ColdSubject {
  runtime: Extract<Runtime, 'edge-js' | 'edge-wasm'>;
  workload: string;
  /** The worker name, the upload and the exact expected body of sample `i` (`marker` is unique per sample). */
  sample(i: number, marker: string): { name: string; upload: DeployUpload; body: string };
  /** Delete the worker after its sample (when every sample has its own name). */
  deleteAfter: boolean;
  /** Also time the floors (404 and bare node:http) in this series. */
  floors: boolean;
}

const helloJs: ColdSubject = {
  runtime: 'edge-js',
  workload: 'hello-js',
  sample: (_i, marker) => ({
    name: 'cold',
    upload: { manifest: { fileName: 'wrangler.toml', content: jsManifest('cold') }, modules: [{ path: 'index.js', content: helloSource(marker) }] },
    body: `hello ${marker}\n`,
  }),
  deleteAfter: false,
  floors: true,
};

function largeJs(bundle: string): ColdSubject {
  return {
    runtime: 'edge-js',
    workload: `large-js (${Math.round(bundle.length / 1024)} KB bundle)`,
    sample: (_i, marker) => ({
      name: 'cold-large',
      upload: { manifest: { fileName: 'wrangler.toml', content: jsManifest('cold-large') }, modules: [{ path: 'index.js', content: bundle.replace(MARKER, marker) }] },
      body: largeBundleAnswer(marker),
    }),
    deleteAfter: false,
    floors: false,
  };
}

function helloAs(component: Uint8Array, port: number): ColdSubject {
  return {
    runtime: 'edge-wasm',
    workload: 'hello-as',
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

/**
 * Times the host-side parts of a cold start by wrapping two public methods of this in-process host (no host code
 * is changed): runtime.instance() returns a promise only when it cold-starts, and pool.take() is its first step
 * (the rest is WorkerInstance.load: compile with the code cache, link, evaluate, instantiate a component, hand
 * over). Finer phases (code load vs. instantiate vs. handler) are not exposed by the host, see the notes.
 */
interface HostProbe {
  coldMs: number | undefined;
  takeMs: number | undefined;
  take: RunningHost['pool']['take'];
  restore(): void;
}

function probeHost(host: RunningHost): HostProbe {
  const runtime = host.runtime;
  const pool = host.pool;
  const instance = runtime.instance.bind(runtime);
  const take = pool.take.bind(pool);
  const probe: HostProbe = {
    coldMs: undefined,
    takeMs: undefined,
    take,
    restore() {
      runtime.instance = instance;
      pool.take = take;
    },
  };
  runtime.instance = (name) => {
    const t0 = performance.now();
    const got = instance(name);
    if (got instanceof Promise) got.then(() => (probe.coldMs = performance.now() - t0), () => {});
    return got;
  };
  pool.take = async (memoryMb) => {
    const t0 = performance.now();
    const pooled = await take(memoryMb);
    probe.takeMs = performance.now() - t0;
    return pooled;
  };
  return probe;
}

interface Series {
  subject: ColdSubject;
  step(i: number, keep: boolean): Promise<void>;
  result(): SuiteResult;
}

export async function runColdStart(options: ColdStartOptions): Promise<SuiteResult> {
  const dataDir = makeTempDir('cold');
  const host = await startHost({ dataDir, port: 0, adminPort: 0, adminToken: randomBytes(24).toString('hex'), poolSize: POOL_SIZE });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const floor = createServer((_req, res) => res.end('ok'));
  const probe = probeHost(host);
  try {
    await new Promise<void>((ok, fail) => floor.once('error', fail).listen(0, '127.0.0.1', ok));
    const floorPort = (floor.address() as AddressInfo).port;
    const port = Number(new URL(host.dataUrl).port);
    const wanted = options.subjects ?? ['hello-js', 'large-js', 'hello-as'];
    const subjects: ColdSubject[] = [];
    const notes: string[] = [];
    if (wanted.includes('hello-js')) subjects.push(helloJs);
    if (wanted.includes('large-js')) {
      const bundle = await largeBundleSource();
      subjects.push(largeJs(bundle));
      notes.push(`cold: large-js is bench/large-bundle.ts: smol-toml, jsonc-parser, web-streams-polyfill and acorn bundled by esbuild (ESM, not minified, tree shaking off) into ${bundle.length} bytes; its handler uses all four.`);
    }
    if (wanted.includes('hello-as')) {
      const built = await helloAsComponent();
      subjects.push(helloAs(built.component, port));
      notes.push(`cold: hello-as is examples/hello-as built by buildWorker into a component of ${built.component.byteLength} bytes in ${built.buildMs.toFixed(0)} ms.`);
    }
    const series = subjects.map((s) => createSeries(host, agent, floorPort, s, probe));
    const workerdMs: number[] = [];
    const runners: Array<(i: number, keep: boolean) => Promise<void>> = series.map((s) => (i, keep) => s.step(i, keep));
    if (options.workerd) {
      const w = options.workerd;
      runners.push(async (_i, keep) => {
        const { totalMs } = await w.coldStartSample();
        if (keep) workerdMs.push(totalMs);
      });
    }
    options.log(`  cold: ${subjects.map((s) => s.workload).join(', ')}${options.workerd ? ', workerd' : ''}: ${options.samples} samples each (+${options.warmup} dropped), interleaved`);

    // Open the keep-alive connection first (answered 404 by the router).
    await timedGet({ port, host: `nothing-yet.localhost:${port}`, agent });
    let before: HistogramSnapshot | undefined;
    const total = options.warmup + options.samples;
    for (let i = 0; i < total; i++) {
      if (i === options.warmup) before = await scrapeColdStartHistogram(host);
      const keep = i >= options.warmup;
      for (let k = 0; k < runners.length; k++) await runners[(i + k) % runners.length]!(i, keep);
      options.step?.(i + 1, total);
    }
    const after = await scrapeColdStartHistogram(host);

    const results = series.map((s) => s.result());
    const measurements = results.flatMap((r) => r.measurements);
    const targets = results.flatMap((r) => r.targets);
    notes.push(...results.flatMap((r) => r.notes));
    notes.push(
      `cold: before each measured request the isolate pool was allowed to refill: waited until host.pool.spareCount was back at ${POOL_SIZE} (polled every 1 ms), then ${SETTLE_MS} ms more. In-process host, requests over HTTP on 127.0.0.1 with one keep-alive connection (connection set-up not measured).`,
      'cold: the host-side breakdown of a cold start after eviction: IsolatePool.take (isolate from pool), then WorkerInstance.load, split by WorkerInstance.timings into compile + link (with the code cache) and evaluate (for a component: glue evaluation and instantiation), and the first request\'s handler call in the new isolate (entry to response head).',
    );
    if (before && after) {
      const d = histogramDelta(before, after);
      const le = (bound: number): number => d.buckets.find((b) => b.le === bound)?.count ?? 0;
      const pct = (c: number): string => `${((100 * c) / Math.max(1, d.count)).toFixed(0)}%`;
      notes.push(
        `cold: host metric edge_cold_start_seconds over the measured samples (all edge series together): count ${d.count}, mean ${formatNumber((1000 * d.sum) / Math.max(1, d.count))} ms, ` +
          `≤1 ms ${pct(le(0.001))}, ≤2 ms ${pct(le(0.002))}, ≤5 ms ${pct(le(0.005))} (it times pool.take + load, like host_cold_start).`,
      );
    }
    if (options.workerd) {
      const w = record({ suite: SUITE, runtime: 'workerd', workload: 'hello', metric: 'cold_start_ms', unit: 'ms', note: options.workerd.coldStartNote }, workerdMs, { phase: 'first request' });
      measurements.push(w);
      for (const m of measurements.filter((x) => x.metric === 'cold_start_ms' && x.runtime !== 'workerd' && x.params?.phase === 'after eviction')) {
        const r = ratioText(m.p50, w.p50);
        notes.push(`cold vs workerd: ${m.runtime} ${m.workload} after eviction p50 ${formatNumber(m.p50)} ms vs workerd ${formatNumber(w.p50)} ms: ${r} (lower is better for us).`);
        targets.push({ target: `cold start vs workerd: ${m.runtime} ${m.workload} (no target set; shown for comparison)`, measured: `${formatNumber(m.p50)} vs ${formatNumber(w.p50)} ms p50 = ${r}`, pass: null });
      }
    }
    return { measurements, targets, notes };
  } finally {
    probe.restore();
    agent.destroy();
    floor.closeAllConnections();
    floor.close();
    await host.close();
    removeTempDir(dataDir);
  }
}

function createSeries(host: RunningHost, agent: Agent, floorPort: number, subject: ColdSubject, probe: HostProbe): Series {
  const port = Number(new URL(host.dataUrl).port);
  const runtime = host.runtime;
  const floorAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const deployMs: number[] = [];
  const afterDeploy: number[] = [];
  const afterEviction: number[] = [];
  const hostCold: number[] = [];
  const poolTake: number[] = [];
  const codeLoad: number[] = [];
  const compileLink: number[] = [];
  const evaluatePhase: number[] = [];
  const firstHandler: number[] = [];
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

  const step = async (i: number, keep: boolean): Promise<void> => {
    const marker = `v${i}-${randomBytes(4).toString('hex')}`;
    const { name, upload, body } = subject.sample(i, marker);

    await waitForFullPool(host);
    const t0 = performance.now();
    await host.deployer.deploy(upload);
    const tDeploy = performance.now() - t0;

    // (a) first request after deploy
    await waitForFullPool(host);
    probe.coldMs = undefined;
    const a = await get(name, body);
    if (probe.coldMs !== undefined) coldStartsInVariantA++;

    // (b) first request after eviction
    if (!runtime.evict(name)) throw new Error(`host.runtime.evict("${name}") found no warm isolate to evict`);
    await waitForFullPool(host);
    probe.coldMs = undefined;
    probe.takeMs = undefined;
    const b = await get(name, body);
    const coldMs = probe.coldMs as number | undefined;
    const takeMs = probe.takeMs as number | undefined;
    if (coldMs === undefined || takeMs === undefined) throw new Error('the request after eviction did not cold-start (runtime.instance returned a warm instance)');
    // The host's own split of that cold start (WorkerInstance.timings): compile + link, evaluate, first handler call.
    const timings = runtime.warmInstance(name)?.timings;
    if (!timings || timings.codeLoadMs < 0 || timings.evaluateMs < 0 || timings.firstFetchMs < 0) throw new Error(`no load timings for "${name}" after its cold start`);

    // the same worker once more, now warm: the HTTP + routing + call cost without any start-up
    await waitForFullPool(host);
    const w = await get(name, body);

    // Diagnostic: the same load as (b)'s, on an isolate taken from the pool *after* the pool has refilled, i.e.
    // without the refill's new isolate being built on the same thread meanwhile.
    const version = runtime.activeVersion(name);
    if (!version) throw new Error(`no active version of "${name}"`);
    const pooled = await probe.take(version.manifest.limits.memoryMb);
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
      compileLink.push(timings.codeLoadMs);
      evaluatePhase.push(timings.evaluateMs);
      firstHandler.push(timings.firstFetchMs);
      warm.push(w);
      quiet.push(quietLoad);
      if (nr !== undefined) noRoute.push(nr);
      if (bare !== undefined) bareHttp.push(bare);
    }
  };

  const result = (): SuiteResult => {
    floorAgent.destroy();
    const { runtime: rt, workload } = subject;
    const isComponent = rt === 'edge-wasm';
    const rec = (metric: string, samples: number[], note: string, params?: Record<string, string>): Measurement =>
      record({ suite: SUITE, runtime: rt, workload, metric, unit: 'ms', note }, samples, params);
    const measurements = [
      rec('cold_start_ms', afterDeploy, 'client: request written → last body byte of the first request after deploy; keep-alive connection; served by the validation isolate the deploy left warm', { phase: 'after deploy' }),
      rec('cold_start_ms', afterEviction, 'client: same, after host.runtime.evict(): pooled isolate + code load with the code cache + first call (a true cold start)', { phase: 'after eviction' }),
      rec('host_cold_start_ms', hostCold, 'host side of the request after eviction: runtime.instance() promise from call to resolution (pool.take + WorkerInstance.load)', { phase: 'total' }),
      rec('host_cold_start_ms', poolTake, 'part of host_cold_start: IsolatePool.take() (isolate from the pool)', { phase: 'isolate from pool' }),
      rec(
        'host_cold_start_ms',
        codeLoad,
        isComponent
          ? 'part of host_cold_start: the rest (jco glue compiled with the code cache, core modules compiled, component instantiated, hand over)'
          : 'part of host_cold_start: the rest (compile with code cache, link, evaluate, hand over)',
        { phase: isComponent ? 'code load + instantiate' : 'code load' },
      ),
      rec('host_cold_start_ms', compileLink, 'part of code load, from WorkerInstance.timings: compiling the modules with their code cache and linking them', { phase: 'compile + link' }),
      rec(
        'host_cold_start_ms',
        evaluatePhase,
        isComponent
          ? 'part of code load, from WorkerInstance.timings: evaluation, i.e. the glue module and the component instantiated (core instances, start function)'
          : 'part of code load, from WorkerInstance.timings: evaluation of the global scope',
        { phase: isComponent ? 'instantiate' : 'evaluate' },
      ),
      rec('host_cold_start_ms', firstHandler, 'from WorkerInstance.timings: the first request in the new isolate, from the host entering it to its response head (the handler running cold)', { phase: 'handler (first call)' }),
      rec('host_cold_start_ms', quiet, 'diagnostic: WorkerInstance.load() alone, on an isolate taken before the pool refilled and started after it had (no refill competing for the thread)', { phase: 'code load, quiet pool' }),
      rec('latency_ms', warm, 'client: the next request to the same, now warm, worker (HTTP + routing + handler)', { phase: 'warm after cold' }),
      ...(noRoute.length > 0 ? [rec('latency_ms', noRoute, 'floor: the host answering an unknown worker (HTTP + router, no isolate), same keep-alive connection and spacing', { phase: 'floor: 404' })] : []),
      ...(bareHttp.length > 0 ? [rec('latency_ms', bareHttp, 'floor: a bare node:http server in this process answering "ok", own keep-alive connection, after the same idle gap', { phase: 'floor: bare node:http' })] : []),
      rec(
        'deploy_ms',
        deployMs,
        isComponent
          ? 'host.deployer.deploy(): jco transpile + core modules prepared, validate (instantiate) in an isolate, produce code cache, store, activate'
          : 'host.deployer.deploy(): validate in an isolate, produce code cache, store, activate',
      ),
    ];
    const label = `cold ${rt} ${workload}`;
    const notes: string[] = [];
    if (coldStartsInVariantA > 0) notes.push(`${label}: ${coldStartsInVariantA} of the "first request after deploy" samples cold-started instead of using the deploy's warm isolate (unexpected).`);
    const med = (xs: number[]): string => formatNumber(summarize(xs).p50);
    const floors = noRoute.length > 0 && bareHttp.length > 0 ? `, a 404 ${med(noRoute)} ms, bare node:http ${med(bareHttp)} ms on this machine` : '';
    notes.push(
      `${label}, where the time goes (p50): client ${med(afterEviction)} ms = host cold start ${med(hostCold)} ms (isolate from pool ${med(poolTake)} + code load${isComponent ? ' + instantiate' : ''} ${med(codeLoad)}) + the rest (HTTP, routing, first fetch; a warm request costs ${med(warm)} ms${floors}). ` +
        `The same load takes ${med(quiet)} ms when no pool refill runs meanwhile (the refill after pool.take() runs on the same thread).`,
    );
    if (isComponent) {
      notes.push(
        `${label}: every sample deploys the same component bytes under a new name, so V8's process-wide cache of compiled wasm modules serves the core modules after the first deploy. ` +
          `The first request after a deploy (${med(afterDeploy)} ms) is served by the instance the deploy validated with, but runs the glue's lift/lower code and the guest's functions for the first time.`,
      );
    }
    const pA = summarize(afterDeploy);
    const pB = summarize(afterEviction);
    const hostSide = formatNumber(summarize(hostCold).p50);
    const t = isComponent ? COMPONENT_TARGET_P50_MS : TARGET_P50_MS;
    const kind = isComponent ? 'component' : workload.startsWith('large') ? 'large JS' : 'JS';
    const targets: TargetCheck[] = [
      { target: `${kind} cold start p50 < ${t} ms (true cold: after eviction)`, measured: `${formatNumber(pB.p50)} ms (p99 ${formatNumber(pB.p99)}; host side ${hostSide} ms)`, pass: pB.p50 < t, ...(pB.p50 < t ? {} : { note: `missed: ${formatNumber(pB.p50 / t)}x the target` }) },
      { target: `${kind} cold start p50 < ${t} ms (first request after deploy)`, measured: `${formatNumber(pA.p50)} ms (p99 ${formatNumber(pA.p99)})`, pass: pA.p50 < t, ...(pA.p50 < t ? {} : { note: `missed: ${formatNumber(pA.p50 / t)}x the target` }) },
    ];
    if (kind === 'large JS') for (const x of targets) (x.pass = null), (x.note = 'no target for a large bundle; the 2 ms target is for hello world');
    return { measurements, targets, notes };
  };
  return { subject, step, result };
}
