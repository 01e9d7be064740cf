// Cold start and memory of a componentize-js (StarlingMonkey, ~13 MB) wasi:http/proxy component, with the host in
// this process and requests over real HTTP on loopback: part of the cold suite (`npm run bench -- --suite cold`), or
// alone with `node --no-node-snapshot bench/wasi-component.ts [samples]`. It measures the deploy (transpile, memory
// cap, compile, the glue's code cache), the first request after it, the first request after the warm isolate was
// evicted (a pooled isolate, the glue from its deploy-time code cache, the core modules already compiled in this
// process, instantiation, the request), later requests (each instantiates the component anew, as wasi:http/proxy
// is run), and the isolate's heap. The component is built by test/helpers/wasi-fixtures.ts (cached).
import { componentizeFixture } from '../test/helpers/wasi-fixtures.ts';
import { startTestHost } from '../test/helpers/test-host.ts';
import { measure, type Measurement, type SuiteResult } from './records.ts';
import { summarize } from './stats.ts';

const SUITE = 'cold';
const WORKLOAD = 'wasi:http/proxy component (componentize-js)';

export interface WasiComponentOptions {
  /** Cold starts (evict, then one request) and twice as many warm requests. */
  samples: number;
  log: (line: string) => void;
}

export async function runWasiComponent(options: WasiComponentOptions): Promise<SuiteResult> {
  const component = await componentizeFixture('proxy.js', 'proxy');
  const t = await startTestHost({ poolSize: 4 });
  const manifest = `name = "sm"\nmain = "component.wasm"\ncompatibility_date = "2026-11-01"\n[limits]\ncpu_ms = 2000\n`;
  const get = async (): Promise<number> => {
    const started = performance.now();
    const res = await t.get('sm', '/');
    if (res.status !== 200) throw new Error(`${WORKLOAD}: ${res.status} ${res.text}`);
    return performance.now() - started;
  };
  try {
    const deploys: number[] = [];
    const firsts: number[] = [];
    for (let i = 0; i < Math.min(3, options.samples); i++) {
      const started = performance.now();
      const d = await t.admin('POST', '/v1/workers', {
        manifest: { fileName: 'wrangler.toml', content: manifest },
        modules: [{ path: 'component.wasm', content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
      });
      if (d.status !== 201) throw new Error(`${WORKLOAD}: deploy failed: ${JSON.stringify(d.body)}`);
      deploys.push(performance.now() - started);
      firsts.push(await get());
    }
    const colds: number[] = [];
    const loads: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      t.host.runtime.evict('sm');
      await new Promise((r) => setTimeout(r, 20));
      colds.push(await get());
      const inst = t.host.runtime.warmInstance('sm');
      if (inst) loads.push(inst.timings.codeLoadMs + inst.timings.evaluateMs);
    }
    const warm: number[] = [];
    for (let i = 0; i < options.samples * 2; i++) warm.push(await get());
    const heap = await t.host.runtime.warmInstance('sm')!.pooled.isolate.getHeapStatistics();
    const meta = { suite: SUITE, runtime: 'edge-wasm' as const, workload: WORKLOAD };
    const params = { componentBytes: component.byteLength };
    const measurements: Measurement[] = [
      measure({ ...meta, metric: 'deploy_ms', unit: 'ms', note: 'POST /v1/workers of the .wasm: jco transpile, memory cap, compile, glue code cache' }, deploys, params),
      measure({ ...meta, metric: 'first_request_after_deploy_ms', unit: 'ms', note: 'the deploy handed over a warm instance' }, firsts, params),
      measure({ ...meta, metric: 'cold_start_ms', unit: 'ms', note: 'evict, then one GET over HTTP: pooled isolate, glue from its code cache, instantiation, the handler' }, colds, params),
      measure({ ...meta, metric: 'load_and_instantiate_ms', unit: 'ms', note: "WorkerInstance timings of the cold start: code load + evaluation (the glue and the component's instantiation)" }, loads, params),
      measure({ ...meta, metric: 'warm_request_ms', unit: 'ms', note: 'later GETs, one at a time; each instantiates the component anew (as wasm serve does)' }, warm, params),
      measure({ ...meta, metric: 'isolate_heap_bytes', unit: 'bytes', note: "the isolate's JS heap after the requests (its linear memory, 9.1 MiB at start, is outside it)" }, [heap.total_heap_size], params),
    ];
    const p50 = (xs: number[]): string => summarize(xs).p50.toFixed(1);
    options.log(`  ${WORKLOAD}: ${(component.byteLength / 1048576).toFixed(1)} MB; deploy p50 ${p50(deploys)} ms, cold start p50 ${p50(colds)} ms (load+instantiate ${p50(loads)}), warm request p50 ${p50(warm)} ms, heap ${(heap.total_heap_size / 1048576).toFixed(1)} MB`);
    return {
      measurements,
      targets: [],
      notes: [`cold: the ${WORKLOAD} is test/fixtures/wasi-components/proxy.js built by componentize-js 0.23 into ${component.byteLength} bytes (cached by test/helpers/wasi-fixtures.ts); every request instantiates it anew.`],
    };
  } finally {
    await t.close();
  }
}

if (import.meta.main) {
  const samples = Number(process.argv[2] ?? 15);
  const r = await runWasiComponent({ samples, log: (l) => console.log(l) });
  for (const m of r.measurements) console.log(`${m.metric.padEnd(32)} p50 ${summarize(m.samples).p50.toFixed(1)} ${m.unit} (n=${m.samples.length})`);
}
