// Durable Objects in the storage suite: counter increments per second through a worker and a stub over HTTP, every one
// answered only once durable (the output gate), on one object (every increment serialized through it) and spread
// over 1,000 objects. Target (the Durable Objects issue): at least twice what workerd does with on-disk storage,
// about 1,500 increments/s with `wrk -c10` on one object (../shared/LAB-NOTES.md; workerd's on-disk Durable Object
// storage needs a config of its own, so it is not run here).
import { startChildHost, readCpuSeconds, type ChildHost } from './child-host.ts';
import { formatNumber } from './markdown.ts';
import { interleaveAll, measure, type Measurement, type SuiteResult, type TargetCheck } from './records.ts';
import { summarize } from './stats.ts';
import { loadGenerator, type LoadGenerator } from './throughput.ts';

export interface DurableOptions {
  durationSec: number;
  rounds: number;
  warmupSec: number;
  concurrency: number;
  log(line: string): void;
  step?(done: number, total: number): void;
}

const SUITE = 'storage';
/** workerd's figure the issue names (increments/s, one object, wrk -c10, on-disk storage). */
export const WORKERD_ONE_OBJECT = 1500;
export const TARGET_FACTOR = 2;

const MANIFEST = 'name = "do-bench"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Counter"]\n';

export const DURABLE_WORKER = `
export class Counter {
  constructor(ctx) { this.storage = ctx.storage; }
  async fetch() {
    const n = ((await this.storage.get('n')) ?? 0) + 1;
    this.storage.put('n', n);
    return new Response(String(n));
  }
}
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    const name = url.pathname === '/many' ? 'o' + Math.floor(Math.random() * 1000) : 'one';
    return env.COUNTERS.getByName(name).fetch('http://counter/');
  },
};
`;

export function durableTargets(oneObject: number, manyObjects: number, concurrency: number): TargetCheck[] {
  const want = WORKERD_ONE_OBJECT * TARGET_FACTOR;
  return [
    {
      target: `Durable Object counter increments through a worker and a stub, one object: at least ${TARGET_FACTOR}x workerd's ~${formatNumber(WORKERD_ONE_OBJECT)}/s (c=${concurrency})`,
      measured: `${formatNumber(oneObject)} increments/s (1,000 objects: ${formatNumber(manyObjects)}/s)`,
      pass: oneObject >= want,
      note: 'every increment answered once durable (the output gate); workerd figure from the lab notes (wrk -c10, on-disk storage), not run side by side',
    },
  ];
}

export async function runDurable(options: DurableOptions): Promise<SuiteResult> {
  const gen: LoadGenerator = loadGenerator();
  let host: ChildHost | undefined;
  try {
    host = await startChildHost();
    await host.deploy({ manifest: { fileName: 'wrangler.toml', content: MANIFEST }, modules: [{ path: 'index.js', content: DURABLE_WORKER }] });
    const header = `do-bench.localhost:${host.dataPort}`;
    const h = host;
    const workloads = [
      { workload: 'durable counter, one object', path: '/one' },
      { workload: 'durable counter, 1,000 objects', path: '/many' },
    ];
    for (const w of workloads) await gen.run(`${h.dataUrl}${w.path}`, header, options.concurrency, options.warmupSec, {});
    options.log(`  storage/durable: ${workloads.length} HTTP workloads with ${gen.tool}, ${options.rounds} interleaved rounds of ${options.durationSec} s`);
    let done = 0;
    const total = options.rounds * workloads.length;
    const runs = await interleaveAll(
      options.rounds,
      workloads.map((w) => async () => {
        const cpu0 = readCpuSeconds(h.pid);
        const r = await gen.run(`${h.dataUrl}${w.path}`, header, options.concurrency, options.durationSec, {});
        const cpu1 = readCpuSeconds(h.pid);
        options.step?.(++done, total);
        if (r.bad > 0) throw new Error(`${gen.tool} against ${w.workload}: ${r.bad} errors or non-2xx responses of ${r.requests + r.bad}`);
        return { ...r, cpuUs: ((cpu1.total - cpu0.total) * 1e6) / Math.max(1, r.requests) };
      }),
    );
    const measurements: Measurement[] = [];
    const p50: number[] = [];
    workloads.forEach((w, i) => {
      const rs = runs[i]!;
      const meta = { suite: SUITE, runtime: 'edge-js' as const, workload: w.workload };
      const params = { concurrency: options.concurrency, tool: gen.tool, durationSec: options.durationSec };
      measurements.push(measure({ ...meta, metric: 'requests_per_s', unit: 'req/s', note: 'increments answered per second, each once durable' }, rs.map((r) => r.reqPerSec), params));
      measurements.push(measure({ ...meta, metric: 'latency_ms', unit: 'ms', note: "quantiles of each run's latency distribution, runs concatenated" }, rs.flatMap((r) => r.latencyQuantilesMs), params));
      measurements.push(measure({ ...meta, metric: 'server_cpu_us_per_request', unit: 'µs', note: 'host process CPU / increments answered, per run' }, rs.map((r) => r.cpuUs), params));
      p50.push(summarize(rs.map((r) => r.reqPerSec)).p50);
    });
    return { measurements, targets: durableTargets(p50[0]!, p50[1]!, options.concurrency), notes: [] };
  } finally {
    await host?.stop();
  }
}
