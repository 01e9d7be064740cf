// The benchmark runner behind `edge bench` (host/cli/bench.ts) and `npm run bench`: runs the suites asked for,
// shows a progress line while they run, prints a table of the measurements and the targets, and writes the run
// file (bench/schema.ts RunFile), a Markdown report and SVG charts.
//   cold     cold start of hello-js, a ~370 KB bundle and the hello-as component (+ workerd), component instantiate
//   warm     requests/s and latency at several concurrencies: edge-js, edge-wasm, workerd, Fastify (the ceiling)
//   memory   RSS per idle worker at 100 / 1,000 / 5,000 workers (+ workerd), where eviction starts
//   limits   a well-behaved worker's latency beside a worker burning its CPU limit
//   fuel     the fuel metering overhead of WebAssembly (bench/fuel.ts)
//   storage  KV get/put and R2 put/get through a worker over HTTP (durable writes), fsyncs per acknowledged write;
//            D1 point reads and inserts through a worker beside sql.js behind plain Fastify, sql.js and SqlEngine direct
//            Durable Object counter increments through a worker and a stub, one object and 1,000 objects
//   bytes    a 50 MB TextEncoder-built streamed response, a 30 MB upload read whole, a 100 MB object passed through
//            (+ workerd): process CPU per request, throughput, CPU charged to the worker
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT, killAllChildren, removeAllTempDirs } from './child-host.ts';
import { runColdStart } from './cold-start.ts';
import { runWasiComponent } from './wasi-component.ts';
import { runComponentInstantiate } from './component-instantiate.ts';
import { runFuelSuite } from './fuel-suite.ts';
import { helloAsComponent } from './hello-as.ts';
import { runLimits } from './limits.ts';
import { runMemory } from './memory.ts';
import { runStorage } from './storage.ts';
import { runD1 } from './d1.ts';
import { runDurable } from './durable.ts';
import { runBytes } from './bytes.ts';
import { createProgress } from './progress.ts';
import { writeCharts } from './charts.ts';
import { markdownReport } from './markdown.ts';
import { mergeResults, type RunFile, type SuiteResult } from './records.ts';
import { validateRunFile } from './schema.ts';
import { formatMeasurements, formatTargets } from './report.ts';
import { loadGenerator, runThroughput } from './throughput.ts';
import { loadWorkerd, type WorkerdApi } from './workerd-bridge.ts';
import { WORKERD_NOTES } from './workerd.ts';

export const SUITES = ['cold', 'warm', 'memory', 'storage', 'limits', 'fuel', 'bytes'] as const;
export type Suite = (typeof SUITES)[number];
export const SUITE_CHOICES = [...SUITES, 'all'] as const;


export interface BenchOptions {
  suites: Suite[];
  quick: boolean;
  /** Where the run file goes (default bench/results/latest.json; with --quick bench/results/quick/latest.json). */
  json?: string;
  /** Where the Markdown report goes (default beside the JSON); the SVG charts go beside the report. */
  report?: string;
  /** Overrides the cold-start sample count (the smoke test uses a handful). */
  coldSamples?: number;
  /** Cold start only: which workers (default all). */
  coldSubjects?: Array<'hello-js' | 'large-js' | 'hello-as'>;
  /** Skip the component instantiate part of the cold suite. */
  noInstantiate?: boolean;
  /** Skip workerd even when installed. */
  noWorkerd?: boolean;
  /** Skip the charts and the Markdown report. */
  noReport?: boolean;
  /** Kill the children and exit on SIGINT/SIGTERM (default true; off when embedded, e.g. in a test runner). */
  handleSignals?: boolean;
  /** Where the table goes (default stdout). */
  out?: NodeJS.WritableStream;
}

/** Time budgets from the issue, in seconds. */
const BUDGET = { quick: 180, all: 1200 };

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function machine(workerd: WorkerdApi | { missing: string }, tool: string): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.version,
    packages: {
      edgeRuntime: packageVersion('..'),
      isolatedVm: packageVersion('isolated-vm'),
      fastify: packageVersion('fastify'),
      jcoTranspile: packageVersion('@bytecodealliance/jco-transpile'),
      assemblyscript: packageVersion('assemblyscript'),
      esbuild: packageVersion('esbuild'),
      autocannon: packageVersion('autocannon'),
      workerd: 'missing' in workerd ? 'not installed' : workerd.version,
    },
    loadGenerator: tool,
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

let cleanupInstalled = false;
function installCleanup(signals: boolean): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    killAllChildren();
    removeAllTempDirs();
  });
  if (signals) for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: killing child processes, removing temporary directories\n`);
      killAllChildren();
      removeAllTempDirs();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export interface BenchOutcome {
  run: RunFile;
  jsonPath: string;
  reportPath: string | undefined;
  seconds: number;
  /** Suites that threw (their figures are missing from the run). */
  failed: Suite[];
}

export async function runBench(options: BenchOptions): Promise<BenchOutcome> {
  installCleanup(options.handleSignals !== false);
  const out = options.out ?? process.stdout;
  const quick = options.quick;
  const defaultDir = join(ROOT, quick ? 'bench/results/quick' : 'bench/results');
  const jsonPath = resolve(options.json ?? join(defaultDir, 'latest.json'));
  const reportPath = options.noReport ? undefined : resolve(options.report ?? join(options.json ? dirname(jsonPath) : defaultDir, 'latest.md'));
  const progress = createProgress(options.suites);
  const log = (line: string): void => progress.log(line);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();

  const workerdFound: WorkerdApi | { missing: string } = options.noWorkerd ? { missing: 'skipped (--no-workerd)' } : loadWorkerd();
  const workerd = 'missing' in workerdFound ? undefined : workerdFound;
  const workerdMissing = 'missing' in workerdFound ? workerdFound.missing : '';
  const gen = loadGenerator();
  const facts = machine(workerdFound, `${gen.tool} ${gen.version}`);
  const settings = {
    quick,
    suites: options.suites,
    cold: { samples: options.coldSamples ?? (quick ? 30 : 200), warmup: quick ? 3 : 5, instantiateSamples: quick ? 100 : 400 },
    warm: { concurrencies: quick ? [10] : [1, 10, 50], rounds: quick ? 2 : 3, durationSec: quick ? 3 : 5, warmupSec: 2 },
    memory: { counts: quick ? [100, 1000] : [100, 1000, 5000], concurrency: 4 },
    limits: { rounds: quick ? 2 : 4, durationSec: quick ? 3 : 5, concurrency: 10 },
    storage: { rounds: quick ? 2 : 3, durationSec: quick ? 3 : 5, warmupSec: quick ? 1 : 2 },
    // D1, part of the storage suite: reads at KV gets' concurrency (and 50 in a full run), inserts at KV puts'.
    durable: { rounds: quick ? 2 : 3, durationSec: quick ? 3 : 5, warmupSec: 1, concurrency: 10 },
    d1: { rounds: quick ? 2 : 3, durationSec: quick ? 3 : 5, warmupSec: quick ? 1 : 2, readConcurrencies: quick ? [10] : [10, 50], insertConcurrencies: quick ? [50] : [10, 50], directSec: quick ? 0.5 : 2, callers: 10 },
    bytes: { requests: quick ? 3 : 10 },
    workerd: workerd ? { version: workerd.version, binary: workerd.binary } : { missing: workerdMissing },
  };
  log(`edge bench${quick ? ' --quick' : ''}: ${options.suites.join(', ')} on ${facts.cpuModel} × ${facts.cores}, ${facts.memoryGiB} GiB, Node ${process.version}; load generator ${gen.tool}; workerd ${workerd ? workerd.version : `skipped: ${workerdMissing}`}`);

  const results: SuiteResult[] = [];
  const seconds: Record<string, number> = {};
  const load: string[] = [];
  const notes: string[] = [];
  const failed: Suite[] = [];
  if (!workerd) notes.push(`workerd: side-by-side figures skipped: ${workerdMissing}.`);
  else notes.push(`workerd ${workerd.version} (${workerd.binary}) run in the same invocation; ratios are ours / workerd's p50.`, ...WORKERD_NOTES);
  for (const suite of options.suites) {
    const s0 = performance.now();
    const loadBefore = loadavg()[0]!;
    progress.suite(suite);
    log(`== ${suite}`);
    const step = (label: string) => (done: number, total: number) => progress.step(label, done, total);
    try {
      if (suite === 'cold') {
        if (!options.coldSubjects || options.coldSubjects.includes('hello-as')) {
          const built = await helloAsComponent();
          log(`  build: examples/hello-as → component of ${built.component.byteLength} bytes in ${built.buildMs.toFixed(0)} ms`);
        }
        results.push(
          await runColdStart({
            samples: settings.cold.samples,
            warmup: settings.cold.warmup,
            log,
            step: step('deploys'),
            ...(options.coldSubjects ? { subjects: options.coldSubjects } : {}),
            ...(workerd ? { workerd } : {}),
          }),
        );
        if (!options.noInstantiate) results.push(await runComponentInstantiate({ samples: settings.cold.instantiateSamples, warmup: 20, log }));
        // A component from a foreign toolchain (13 MB): only in a whole cold run, its deploy takes seconds.
        if (!options.noInstantiate && !options.coldSubjects) results.push(await runWasiComponent({ samples: quick ? 5 : 15, log }));
      }
      if (suite === 'warm') {
        results.push(await runThroughput({ ...settings.warm, log, step: step('runs'), ...(workerd ? { workerd } : {}) }));
      }
      if (suite === 'memory') results.push(await runMemory({ ...settings.memory, log, step: step('workers'), ...(workerd ? { workerd } : {}) }));
      if (suite === 'limits') results.push(await runLimits({ ...settings.limits, log, step: step('runs') }));
      if (suite === 'fuel') results.push(await runFuelSuite({ quick, log }));
      if (suite === 'bytes') results.push(await runBytes({ ...settings.bytes, log, step: step('requests'), ...(workerd ? { workerd } : {}) }));
      if (suite === 'storage') {
        // KV/R2 and D1 apart: one part failing keeps the other's figures.
        const partFailures: string[] = [];
        for (const [part, run] of [
          ['KV/R2', () => runStorage({ ...settings.storage, log, step: step('runs') })],
          ['D1', () => runD1({ ...settings.d1, log, step: step('D1 runs') })],
          ['Durable Objects', () => runDurable({ ...settings.durable, log, step: step('Durable Object runs') })],
        ] as const) {
          try {
            results.push(await run());
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            log(`  storage (${part}): FAILED: ${message}`);
            partFailures.push(`${part} part failed (the other part's figures were kept): ${message}`);
          }
        }
        if (partFailures.length > 0) throw new Error(partFailures.join('; '));
      }
    } catch (err) {
      // One suite failing does not lose the others' figures: the run file says what failed.
      const message = err instanceof Error ? err.message : String(err);
      failed.push(suite);
      log(`  ${suite}: FAILED: ${message}`);
      notes.push(`${suite}: FAILED, its figures are missing: ${message.split('\n')[0]}`);
    }
    seconds[suite] = Number(((performance.now() - s0) / 1000).toFixed(1));
    load.push(`${suite} ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`);
  }
  progress.done();
  const total = Number(((performance.now() - t0) / 1000).toFixed(1));
  const all = mergeResults(...results);
  const isAll = SUITES.every((s) => options.suites.includes(s));
  const budget = quick && isAll ? BUDGET.quick : !quick && isAll ? BUDGET.all : undefined;
  notes.push(...all.notes);
  notes.push(
    `time: ${total} s in all (${Object.entries(seconds).map(([k, v]) => `${k} ${v} s`).join(', ')})${budget ? `; budget ${budget} s for ${quick ? '--quick' : '--suite all'}: ${total <= budget ? 'within' : 'OVER'}` : ''}.`,
    `machine: 1-minute load average before → after each suite: ${load.join('; ')}. The benchmark keeps up to 2 processes busy; a higher figure at the start means other work was running on this shared ${facts.cores}-core machine.`,
  );

  const run: RunFile = { version: 1, startedAt, finishedAt: new Date().toISOString(), machine: facts, settings: { ...settings, seconds: { total, ...seconds }, ...(failed.length > 0 ? { failedSuites: failed } : {}) }, measurements: all.measurements, targets: all.targets, notes };
  validateRunFile(run);

  out.write(`\nedge bench — ${facts.cpuModel}, ${facts.cores} cores, ${facts.memoryGiB} GiB, Node ${process.version}${quick ? ' (--quick)' : ''}\n\n`);
  out.write(`${formatMeasurements(run.measurements)}\n\n`);
  const judged = run.targets.filter((t) => t.pass !== null);
  const missed = judged.filter((t) => t.pass === false);
  if (run.targets.length > 0) {
    out.write(`Targets\n${formatTargets(run.targets)}\n`);
    out.write(missed.length === 0 ? `All ${judged.length} judged targets met.\n\n` : `${missed.length} of ${judged.length} judged targets MISSED: ${missed.map((t) => t.target).join('; ')}.\n\n`);
  }
  const noisy = run.measurements.filter((m) => m.noisy).length;
  if (noisy > 0) out.write(`${noisy} of ${run.measurements.length} measurements are NOISY (spread > 0.5): read their ratios with care.\n`);
  out.write(`Time: ${total} s (${Object.entries(seconds).map(([k, v]) => `${k} ${v} s`).join(', ')})${budget ? `, budget ${budget} s: ${total <= budget ? 'within' : 'OVER'}` : ''}\n`);

  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
  out.write(`Run file: ${relative(process.cwd(), jsonPath) || jsonPath}\n`);
  if (reportPath) {
    mkdirSync(dirname(reportPath), { recursive: true });
    const charts = await writeCharts(run, dirname(reportPath));
    const md = markdownReport(run, { charts });
    writeFileSync(reportPath, md);
    out.write(`Report: ${relative(process.cwd(), reportPath) || reportPath}${Object.keys(charts).length ? ` with charts ${Object.values(charts).join(', ')}` : ''}\n`);
  }
  if (failed.length > 0) out.write(`FAILED suites: ${failed.join(', ')} (see the notes in the run file)\n`);
  return { run, jsonPath, reportPath, seconds: total, failed };
}

/** `--suite` values → the suites to run, in order. */
export function suitesFrom(values: string[]): Suite[] {
  if (values.length === 0 || values.includes('all')) return [...SUITES];
  return SUITES.filter((s) => values.includes(s));
}
