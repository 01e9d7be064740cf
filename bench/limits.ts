// Limits: the latency of a well-behaved worker (examples/hello-js) under load while another worker on the same host
// burns its CPU limit in a loop (`while (true) {}` with the default cpu_ms, hit continuously by a second load
// generator), against the same load without that neighbour. Runs alternate (quiet, noisy, noisy, quiet, ...) so
// that drift hits both alike.
import { setTimeout as sleep } from 'node:timers/promises';
import { startChildHost } from './child-host.ts';
import { measure, interleaveAll, type Measurement, type SuiteResult } from './records.ts';
import { formatNumber } from './markdown.ts';
import { summarize } from './stats.ts';
import { deployHelloJs, loadGenerator } from './throughput.ts';

export interface LimitsOptions {
  durationSec: number;
  rounds: number;
  concurrency: number;
  log(line: string): void;
  step?(done: number, total: number): void;
}

const SUITE = 'limits';
const BURNER = `export default {\n  fetch(request, env, ctx) {\n    while (true) {}\n  },\n};\n`;
/** Connections kept busy on the burner: one request running in its isolate, one queued behind it. */
const BURNER_CONNECTIONS = 2;

export async function runLimits(options: LimitsOptions): Promise<SuiteResult> {
  const gen = loadGenerator();
  const host = await startChildHost();
  try {
    const goodHeader = await deployHelloJs(host, 'good');
    await host.deploy({ manifest: { fileName: 'wrangler.toml', content: 'name = "burner"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n' }, modules: [{ path: 'index.js', content: BURNER }] });
    const burnerHeader = `burner.localhost:${host.dataPort}`;
    const url = `${host.dataUrl}/`;
    await gen.run(url, goodHeader, options.concurrency, 2); // warm-up, dropped
    const total = options.rounds * 2;
    let done = 0;
    const burnerCounts: Array<{ answered: number; bad: number }> = [];
    options.log(`  limits: hello-js at c=${options.concurrency} with ${gen.tool}, ${options.rounds} rounds of ${options.durationSec} s without and with a CPU-burning neighbour (c=${BURNER_CONNECTIONS})`);
    const [quiet, noisy] = await interleaveAll(options.rounds, [
      async () => {
        const r = await gen.run(url, goodHeader, options.concurrency, options.durationSec);
        options.step?.(++done, total);
        return r;
      },
      async () => {
        // The neighbour starts first and runs a second longer, so that it burns through the whole measured run.
        const burn = gen.run(url, burnerHeader, BURNER_CONNECTIONS, options.durationSec + 2);
        await sleep(1000);
        const r = await gen.run(url, goodHeader, options.concurrency, options.durationSec);
        const b = await burn;
        burnerCounts.push({ answered: b.requests, bad: b.bad });
        options.step?.(++done, total);
        return r;
      },
    ]);
    const metrics = await host.metrics();
    const cpuErrors = /edge_errors_total\{[^}]*worker="burner"[^}]*code="E_CPU_LIMIT"[^}]*\}\s+(\S+)/.exec(metrics)?.[1] ?? /edge_errors_total\{[^}]*code="E_CPU_LIMIT"[^}]*worker="burner"[^}]*\}\s+(\S+)/.exec(metrics)?.[1];
    const measurements: Measurement[] = [];
    for (const [neighbour, runs] of [['none', quiet!], ['cpu burner', noisy!]] as const) {
      const params = { concurrency: options.concurrency, neighbour, tool: gen.tool };
      // Counted, not fatal: a few socket errors or 5xx under this load are a figure of the suite, not a broken run.
      measurements.push(measure({ suite: SUITE, runtime: 'edge-js', workload: 'hello-js beside a CPU-limit burner', metric: 'errors', unit: 'responses', note: `${gen.tool} socket errors + non-2xx responses of the well-behaved worker, per run` }, runs.map((r) => r.bad), params));
      measurements.push(measure({ suite: SUITE, runtime: 'edge-js', workload: 'hello-js beside a CPU-limit burner', metric: 'latency_ms', unit: 'ms', note: 'samples are 200 quantiles of each run\'s latency distribution, runs concatenated' }, runs.flatMap((r) => r.latencyQuantilesMs), params));
      measurements.push(measure({ suite: SUITE, runtime: 'edge-js', workload: 'hello-js beside a CPU-limit burner', metric: 'requests_per_s', unit: 'req/s', note: `one sample per ${options.durationSec} s run` }, runs.map((r) => r.reqPerSec), params));
    }
    const lat = measurements.filter((m) => m.metric === 'latency_ms');
    const [qLat, nLat] = [lat[0]!, lat[1]!];
    const errs = measurements.filter((m) => m.metric === 'errors').map((m) => m.samples.reduce((a, b) => a + b, 0));
    const [qReq, nReq] = [summarize(quiet!.map((r) => r.reqPerSec)).p50, summarize(noisy!.map((r) => r.reqPerSec)).p50];
    const burned = burnerCounts.reduce((s, b) => s + b.answered + b.bad, 0);
    return {
      measurements,
      notes: [
        `limits: one host (\`edge serve\`, default limits: cpu_ms 50), the well-behaved worker loaded by ${gen.tool} -c${options.concurrency} and the burner (\`while (true) {}\`) by a second ${gen.tool} -c${BURNER_CONNECTIONS} started 1 s before and ending 1 s after each noisy run; ${options.rounds} rounds each, alternating. ` +
          `The burner was answered ${burned} times in all (its requests end with E_CPU_LIMIT: host metric edge_errors_total{worker="burner",code="E_CPU_LIMIT"} = ${cpuErrors ?? 'absent'}).`,
        `limits: with the neighbour, hello-js p50/p99 latency ${formatNumber(nLat.p50)}/${formatNumber(nLat.p99)} ms vs ${formatNumber(qLat.p50)}/${formatNumber(qLat.p99)} ms without (p99 ${(nLat.p99 / qLat.p99).toFixed(2)}x); throughput ${formatNumber(nReq)} vs ${formatNumber(qReq)} req/s; errors or non-2xx ${errs[1]} vs ${errs[0]} in all. ` +
          'On this 2-core machine the burner takes one core for its isolate thread and the second load generator shares the rest, so part of the slowdown is the machine, not the host.',
      ],
      targets: [{ target: 'well-behaved worker p99 beside a CPU-limit burner (no target set; shown for comparison)', measured: `${formatNumber(nLat.p99)} ms vs ${formatNumber(qLat.p99)} ms alone = ${(nLat.p99 / qLat.p99).toFixed(2)}x`, pass: null }],
    };
  } finally {
    await host.stop();
  }
}
