// Cold start and memory of a componentize-js (StarlingMonkey, ~13 MB) wasi:http/proxy component, with the host in
// this process and requests over real HTTP on loopback. Not one of `npm run bench`'s suites (a deploy takes
// seconds): run it alone with `node --no-node-snapshot bench/wasi-component.ts [samples]`. It reports the deploy, the
// first request after the deploy, the first request after the warm isolate was evicted (a pooled isolate, the
// glue from its deploy-time code cache, the core modules already compiled in this process, instantiation, the
// request), later requests (each instantiates the component anew, as wasi:http/proxy is run), and memory.
import { componentizeFixture } from '../test/helpers/wasi-fixtures.ts';
import { startTestHost } from '../test/helpers/test-host.ts';
import { summarize } from './stats.ts';

const samples = Number(process.argv[2] ?? 15);
const component = await componentizeFixture('proxy.js', 'proxy');
const t = await startTestHost({ poolSize: 4 });
const manifest = `name = "sm"\nmain = "component.wasm"\ncompatibility_date = "2026-11-01"\n[limits]\ncpu_ms = 2000\n`;
const mb = (n: number): string => (n / 1048576).toFixed(1);
const ms = (n: number): string => n.toFixed(1);
const get = async (): Promise<number> => {
  const started = performance.now();
  const res = await t.get('sm', '/');
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return performance.now() - started;
};
const line = (label: string, xs: number[]): void => {
  const s = summarize(xs);
  console.log(`${label.padEnd(44)} p50 ${ms(s.p50)} ms  min ${ms(s.min)}  max ${ms(s.max)}  (n=${xs.length})`);
};

try {
  console.log(`component ${mb(component.byteLength)} MB (componentize-js, test/fixtures/wasi-components/proxy.js)`);
  const rss0 = process.memoryUsage().rss;
  const deploys: number[] = [];
  const firsts: number[] = [];
  for (let i = 0; i < Math.min(3, samples); i++) {
    const started = performance.now();
    const d = await t.admin('POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifest },
      modules: [{ path: 'component.wasm', content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
    });
    if (d.status !== 201) throw new Error(JSON.stringify(d.body));
    deploys.push(performance.now() - started);
    firsts.push(await get());
  }
  console.log(`host RSS after ${deploys.length} deploys: +${mb(process.memoryUsage().rss - rss0)} MB`);
  line('deploy (transpile, cap, compile, code cache)', deploys);
  line('first request after deploy', firsts);
  const colds: number[] = [];
  const evaluate: number[] = [];
  for (let i = 0; i < samples; i++) {
    t.host.runtime.evict('sm');
    await new Promise((r) => setTimeout(r, 20));
    colds.push(await get());
    const inst = t.host.runtime.warmInstance('sm');
    if (inst) evaluate.push(inst.timings.codeLoadMs + inst.timings.evaluateMs);
  }
  line('first request after evict (cold start)', colds);
  line('  of which glue load + instantiation', evaluate);
  const warm: number[] = [];
  for (let i = 0; i < samples * 2; i++) warm.push(await get());
  line('later requests (a new instance each)', warm);
  const inst = t.host.runtime.warmInstance('sm')!;
  const heap = await inst.pooled.isolate.getHeapStatistics();
  console.log(`isolate JS heap ${mb(heap.total_heap_size)} MB (+ the instance's linear memory, 145 pages = 9.1 MiB at start); host RSS ${mb(process.memoryUsage().rss)} MB`);
} finally {
  await t.close();
}
