// `npm run bench`: cold start (JS and component workers), component instantiate time, warm throughput (hello-js,
// hello-as), memory per idle worker and fuel metering overhead of this host on this machine. Prints a table and the
// targets from the issue, and writes one JSON record per measurement (default bench/results/latest.json).
// Options: --quick, --json <path>, --only cold|instantiate|warm|memory|fuel.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, killAllChildren, removeAllTempDirs } from './child-host.ts';
import { runColdStart } from './cold-start.ts';
import { runComponentInstantiate } from './component-instantiate.ts';
import { runFuelSuite } from './fuel-suite.ts';
import { helloAsComponent } from './hello-as.ts';
import { runMemory } from './memory.ts';
import { formatRecords, formatTargets, type BenchRecord, type SuiteResult, type TargetCheck } from './report.ts';
import { runThroughput } from './throughput.ts';

const SUITES = ['cold', 'instantiate', 'warm', 'memory', 'fuel'] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `usage: npm run bench -- [--quick] [--json <path>] [--only ${SUITES.join('|')}]
  --quick   fewer samples and shorter runs (50 cold starts per runtime, 100 instantiations, 5 s at c=10 only,
            200 workers, small fuel kernels)
  --json    where to write the records (default bench/results/latest.json)
  --only    run one suite`;

function parseOptions(): { quick: boolean; json: string; only: Suite[] } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'string', default: join(ROOT, 'bench/results/latest.json') },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.only !== undefined && !(SUITES as readonly string[]).includes(values.only)) {
    process.stderr.write(`--only must be one of ${SUITES.join(', ')} (got "${values.only}")\n${USAGE}\n`);
    process.exit(2);
  }
  return { quick: values.quick, json: resolve(values.json), only: values.only ? [values.only as Suite] : [...SUITES] };
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    isolatedVm: packageVersion('isolated-vm'),
    autocannon: packageVersion('autocannon'),
    jcoTranspile: packageVersion('@bytecodealliance/jco-transpile'),
    assemblyscript: packageVersion('assemblyscript'),
    fastify: packageVersion('fastify'),
    kernel: release(),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

// Children and temp dirs go away whatever happens.
process.on('exit', () => {
  killAllChildren();
  removeAllTempDirs();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: killing child processes, removing temporary directories\n`);
    killAllChildren();
    removeAllTempDirs();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const facts = machine();
  const started = performance.now();
  log(`edge bench${opts.quick ? ' --quick' : ''}: ${opts.only.join(', ')} on ${facts.cpuModel} × ${facts.cores}, ${facts.memoryGiB} GiB, Node ${facts.node}, isolated-vm ${facts.isolatedVm}`);

  const results: SuiteResult[] = [];
  const timings: Record<string, number> = {};
  if (opts.only.some((s) => s === 'cold' || s === 'instantiate' || s === 'warm')) {
    const t0 = performance.now();
    const built = await helloAsComponent();
    timings.build = Number(((performance.now() - t0) / 1000).toFixed(1));
    log(`== build: examples/hello-as → component of ${built.component.byteLength} bytes (buildWorker) in ${built.buildMs.toFixed(0)} ms`);
  }
  const load: string[] = [];
  for (const suite of opts.only) {
    const t0 = performance.now();
    const loadBefore = loadavg()[0]!;
    log(`== ${suite}`);
    if (suite === 'cold') results.push(await runColdStart({ samples: opts.quick ? 50 : 200, warmup: 5, log }));
    if (suite === 'instantiate') results.push(await runComponentInstantiate({ samples: opts.quick ? 100 : 400, warmup: 20, log }));
    if (suite === 'warm') {
      results.push(await runThroughput({ durationSec: opts.quick ? 5 : 10, connections: opts.quick ? [10] : [10, 50], warmupSec: 2, log }));
    }
    if (suite === 'memory') results.push(await runMemory({ workers: opts.quick ? 200 : 1000, concurrency: 4, log }));
    if (suite === 'fuel') results.push(await runFuelSuite({ quick: opts.quick, log }));
    timings[suite] = Number(((performance.now() - t0) / 1000).toFixed(1));
    load.push(`${suite} ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`);
  }
  const totalSeconds = Number(((performance.now() - started) / 1000).toFixed(1));

  const records: BenchRecord[] = results.flatMap((r) => r.records);
  const targets: TargetCheck[] = results.flatMap((r) => r.targets);
  const notes: string[] = results.flatMap((r) => r.notes);
  const missed = targets.filter((t) => t.pass === false);
  notes.push(
    `machine: 1-minute load average before → after each suite: ${load.join('; ')}. The benchmark itself keeps up to 2 processes busy; a higher figure at the start means other work was running on this shared ${facts.cores}-core machine.`,
  );

  const out = process.stdout;
  out.write(`\nedge bench — ${facts.cpuModel}, ${facts.cores} cores, ${facts.memoryGiB} GiB, Node ${facts.node}, isolated-vm ${facts.isolatedVm}${opts.quick ? ' (--quick)' : ''}\n\n`);
  out.write(`${formatRecords(records)}\n\n`);
  out.write(`Targets (from the issue)\n${formatTargets(targets)}\n`);
  const judged = targets.filter((t) => t.pass !== null).length;
  const unjudged = targets.length - judged;
  const rest = unjudged > 0 ? ` (${unjudged} more shown but not judged: ----)` : '';
  out.write(missed.length === 0 ? `All ${judged} judged targets met${rest}.\n\n` : `${missed.length} of ${judged} targets MISSED${rest}: ${missed.map((t) => t.target).join('; ')}.\n\n`);
  out.write(`How\n${notes.map((n) => `- ${n}`).join('\n')}\n\n`);
  out.write(`Time: ${totalSeconds} s (${Object.entries(timings).map(([k, v]) => `${k} ${v} s`).join(', ')})\n`);

  mkdirSync(dirname(opts.json), { recursive: true });
  const doc = { createdAt: new Date().toISOString(), quick: opts.quick, suites: opts.only, machine: facts, seconds: { total: totalSeconds, ...timings }, records, targets, notes };
  writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
  out.write(`Records written to ${opts.json}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
