// The fuel suite of `npm run bench`: runs bench/fuel.ts (the same kernels plain and fuel-metered) and turns its rows
// into records and the issue's target (fuel overhead < 1.25x). bench/fuel.ts is loaded at run time, so that the
// rest of the benchmark runs (and says why this suite is skipped) when it is not there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measure, type Measurement, type SuiteResult } from './records.ts';
import { formatNumber } from './markdown.ts';

/** One row of runFuelBench() (bench/fuel.ts). */
interface FuelRow {
  workload: string;
  baselineMs: number;
  meteredMs: number;
  overhead: number;
  fuel: string;
}
type RunFuelBench = (options: { quick?: boolean; log?: (line: string) => void }) => Promise<FuelRow[]>;

const TARGET_OVERHEAD = 1.25;
const FUEL_MODULE = './fuel.ts';

export interface FuelSuiteOptions {
  quick: boolean;
  log(line: string): void;
}

function isRow(r: unknown): r is FuelRow {
  if (r === null || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  return typeof o.workload === 'string' && typeof o.baselineMs === 'number' && typeof o.meteredMs === 'number' && typeof o.overhead === 'number' && typeof o.fuel === 'string';
}

export async function runFuelSuite(options: FuelSuiteOptions): Promise<SuiteResult> {
  const path = fileURLToPath(new URL(FUEL_MODULE, import.meta.url));
  if (!existsSync(path)) {
    const why = `bench/fuel.ts is not in this checkout, so the fuel overhead was not measured`;
    options.log(`  fuel: skipped: ${why}`);
    return { measurements: [], notes: [`fuel: skipped: ${why}.`], targets: [{ target: `fuel overhead < ${TARGET_OVERHEAD}x`, measured: 'not measured', pass: false, note: 'bench/fuel.ts missing' }] };
  }
  const mod = (await import(FUEL_MODULE)) as { runFuelBench?: unknown };
  if (typeof mod.runFuelBench !== 'function') throw new Error(`bench/fuel.ts exports no runFuelBench function (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  const run = mod.runFuelBench as RunFuelBench;
  const rows: unknown = await run({ quick: options.quick, log: (line) => options.log(`  fuel: ${line.trim()}`) });
  if (!Array.isArray(rows) || !rows.every(isRow)) throw new Error(`runFuelBench() returned ${JSON.stringify(rows).slice(0, 300)}, not rows of { workload, baselineMs, meteredMs, overhead, fuel }`);

  const measurements: Measurement[] = [];
  const one = (workload: string, metric: string, unit: string, v: number, note: string): Measurement => measure({ suite: 'fuel', runtime: 'wasm-core', workload, metric, unit, note }, [v]);
  for (const r of rows) {
    measurements.push(one(r.workload, 'fuel_overhead_x', 'x', r.overhead, `metered vs plain as bench/fuel.ts reports it (its overhead field); one run uses ${r.fuel} fuel`));
    measurements.push(one(r.workload, 'plain_run_ms', 'ms', r.baselineMs, 'median time of one run without fuel metering'));
    measurements.push(one(r.workload, 'metered_run_ms', 'ms', r.meteredMs, 'median time of one run with fuel metering (prepareCoreModule, fuel on)'));
  }
  const notes = [
    `fuel: bench/fuel.ts${options.quick ? ' --quick' : ''}: core wasm kernels compiled plain and metered (host/runtime/wasm/prepare.ts prepareCoreModule with fuel on), run in this process on Node's V8 (no isolate, no component glue), interleaved; overhead as bench/fuel.ts computes it, plain and metered times are its medians.`,
    `fuel, overheads: ${rows.map((r) => `${r.workload} ${r.overhead.toFixed(2)}x`).join(', ')}.`,
  ];
  const faster = rows.filter((r) => r.overhead < 0.9);
  if (faster.length > 0) {
    notes.push(
      `fuel: suspicious: ${faster.map((r) => `${r.workload} ran faster metered (${r.overhead.toFixed(2)}x)`).join(', ')}; metering only adds work, so plain and metered were not compiled or tiered alike (e.g. the metered module went through an optimizer the plain one did not, or V8 tiered one up and not the other). Such a ratio says nothing about the cost of fuel.`,
    );
  }
  return {
    measurements,
    notes,
    targets: rows.map((r) =>
      r.overhead < 0.9
        ? {
            target: `fuel overhead < ${TARGET_OVERHEAD}x: ${r.workload}`,
            measured: `${r.overhead.toFixed(2)}x (${formatNumber(r.baselineMs)} → ${formatNumber(r.meteredMs)} ms)`,
            pass: null,
            note: 'not judged: metered ran faster than plain (see notes)',
          }
        : {
            target: `fuel overhead < ${TARGET_OVERHEAD}x: ${r.workload}`,
            measured: `${r.overhead.toFixed(2)}x (${formatNumber(r.baselineMs)} → ${formatNumber(r.meteredMs)} ms)`,
            pass: r.overhead < TARGET_OVERHEAD,
            note: r.overhead < TARGET_OVERHEAD ? '' : `missed by ${((r.overhead / TARGET_OVERHEAD - 1) * 100).toFixed(0)}%`,
          },
    ),
  };
}
