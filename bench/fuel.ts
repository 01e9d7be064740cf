// Fuel metering overhead: the same kernels run plain and metered (prepareCoreModule with fuel: true) on
// Node's V8, warmed up, interleaved, median of several runs. Standalone:
//   node_modules/.bin/node --no-node-snapshot bench/fuel.ts [--quick]
import binaryen from 'binaryen';
import { pathToFileURL } from 'node:url';
import { fuelGlobalOf, readFuel, refillFuel } from '../host/runtime/wasm/fuel-counter.ts';
import { prepareCoreModule } from '../host/runtime/wasm/prepare.ts';
import { webAssembly, type WasmInstance } from '../host/core/webassembly-api.ts';

export interface FuelBenchRow {
  workload: string;
  baselineMs: number;
  meteredMs: number;
  /** Median of metered/plain over interleaved pairs of runs (close to meteredMs / baselineMs, steadier). */
  overhead: number;
  /** Fuel one run uses (deterministic), as a decimal string. */
  fuel: string;
}

export interface FuelBenchOptions {
  /** Smaller inputs and fewer runs (a few seconds). */
  quick?: boolean;
  /** The instrumentation to measure; default prepareCoreModule with fuel on. For comparing variants. */
  instrument?: (plain: Uint8Array) => Uint8Array;
  log?: (line: string) => void;
}

const FEATURES =
  binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt;

interface Kernel {
  workload: string;
  wat: string;
  /** Exported function and its argument. */
  run: string;
  arg: number;
  quickArg: number;
}

const KERNELS: Kernel[] = [
  {
    workload: 'fib (recursive)',
    run: 'fib',
    arg: 30,
    quickArg: 27,
    wat: `(module
      (func $fib (export "fib") (param $n i32) (result i32)
        (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
          (then (local.get $n))
          (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                         (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`,
  },
  {
    // The tightest loop there is: a few instructions per iteration, so the per-iteration charge shows fully.
    workload: 'loop sum',
    run: 'sum',
    arg: 30_000_000,
    quickArg: 5_000_000,
    wat: `(module
      (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $acc i64)
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.mul (local.get $i) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.get $acc)))`,
  },
  {
    // Nested loops over linear memory: a byte per number below n (n <= 4 MiB).
    workload: 'sieve',
    run: 'sieve',
    arg: 4_000_000,
    quickArg: 1_000_000,
    wat: `(module
      (memory 64 64)
      (func (export "sieve") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $count i32)
        (memory.fill (i32.const 0) (i32.const 0) (local.get $n))
        (local.set $i (i32.const 2))
        (block $done
          (loop $outer
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (if (i32.eqz (i32.load8_u (local.get $i)))
              (then
                (local.set $count (i32.add (local.get $count) (i32.const 1)))
                (local.set $j (i32.mul (local.get $i) (local.get $i)))
                (block $jdone
                  (loop $inner
                    (br_if $jdone (i32.ge_u (local.get $j) (local.get $n)))
                    (i32.store8 (local.get $j) (i32.const 1))
                    (local.set $j (i32.add (local.get $j) (local.get $i)))
                    (br $inner)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $outer)))
        (local.get $count)))`,
  },
  {
    // A hash over a buffer with a helper per byte: calls to a leaf function from a loop.
    workload: 'hash (loop + leaf calls)',
    run: 'hash',
    arg: 4_000_000,
    quickArg: 1_000_000,
    wat: `(module
      (memory 64 64)
      (func $mix (param $h i32) (param $byte i32) (result i32)
        (i32.mul (i32.xor (local.get $h) (local.get $byte)) (i32.const 16777619)))
      (func (export "hash") (param $n i32) (result i32) (local $i i32) (local $h i32)
        (local.set $h (i32.const -2128831035))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $h (call $mix (local.get $h) (i32.load8_u (local.get $i))))
            (i32.store8 (local.get $i) (local.get $h))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.get $h)))`,
  },
];

function assemble(wat: string): Uint8Array {
  const module = binaryen.parseText(wat);
  try {
    module.setFeatures(FEATURES);
    // A unique custom section: V8 caches compiled modules by their bytes, and a cached module keeps its tiering state.
    module.addCustomSection('bench', new TextEncoder().encode(`${Math.random()}`));
    if (!module.validate()) throw new Error('bench kernel does not validate');
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

const WARMUP_CAP_MS = 5000;

const defaultInstrument = (plain: Uint8Array): Uint8Array => prepareCoreModule(plain, { memoryMaxPages: 1024, fuel: true }).bytes;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runFuelBench(options: FuelBenchOptions = {}): Promise<FuelBenchRow[]> {
  const quick = options.quick ?? false;
  const instrument = options.instrument ?? defaultInstrument;
  const warmups = 5;
  const warmupMs = quick ? 300 : 600;
  const runs = quick ? 15 : 25;
  const budget = 0x7fff_ffff_ffff_ffffn;
  const rows: FuelBenchRow[] = [];
  for (const kernel of KERNELS) {
    const arg = quick ? kernel.quickArg : kernel.arg;
    const plain = assemble(kernel.wat);
    const metered = instrument(plain);
    const plainInstance: WasmInstance = new webAssembly.Instance(new webAssembly.Module(plain));
    const meteredInstance: WasmInstance = new webAssembly.Instance(new webAssembly.Module(metered));
    const plainRun = plainInstance.exports[kernel.run] as (n: number) => unknown;
    const meteredRun = meteredInstance.exports[kernel.run] as (n: number) => unknown;
    const tank = fuelGlobalOf(meteredInstance.exports);

    const expected = plainRun(arg);
    refillFuel(tank, budget);
    const got = meteredRun(arg);
    if (got !== expected) throw new Error(`${kernel.workload}: metered result ${String(got)} differs from ${String(expected)}`);
    const fuel = budget - readFuel(tank);

    // V8 runs new code on Liftoff and tiers hot functions up to TurboFan in the background (later under load);
    // a long call stays on the tier it started on. Warm up by count, by time, and until the last calls of
    // both sides run about as fast as their fastest so far, i.e. on optimized code; at most WARMUP_CAP_MS.
    const started = performance.now();
    const best = { plain: Infinity, metered: Infinity };
    for (let i = 0; ; i++) {
      let t = performance.now();
      plainRun(arg);
      const plainMs = performance.now() - t;
      refillFuel(tank, budget);
      t = performance.now();
      meteredRun(arg);
      const meteredOnce = performance.now() - t;
      const settled = plainMs < best.plain * 1.2 && meteredOnce < best.metered * 1.2;
      best.plain = Math.min(best.plain, plainMs);
      best.metered = Math.min(best.metered, meteredOnce);
      const elapsed = performance.now() - started;
      if ((i >= warmups && elapsed >= warmupMs && settled) || elapsed >= WARMUP_CAP_MS) break;
    }
    // Paired and interleaved (alternating which side goes first), so that a noisy neighbour slows both sides
    // of a pair alike; the overhead is the median of the per-pair ratios.
    const baseline: number[] = [];
    const meteredMs: number[] = [];
    const ratios: number[] = [];
    const time = (call: () => void) => {
      const start = performance.now();
      call();
      return performance.now() - start;
    };
    const meteredCall = () => {
      refillFuel(tank, budget);
      meteredRun(arg);
    };
    for (let i = 0; i < runs; i++) {
      let plainMs: number;
      let meteredOnce: number;
      if (i % 2 === 0) {
        plainMs = time(() => plainRun(arg));
        meteredOnce = time(meteredCall);
      } else {
        meteredOnce = time(meteredCall);
        plainMs = time(() => plainRun(arg));
      }
      baseline.push(plainMs);
      meteredMs.push(meteredOnce);
      ratios.push(meteredOnce / plainMs);
    }
    const row: FuelBenchRow = {
      workload: `${kernel.workload} ${kernel.run}(${arg})`,
      baselineMs: median(baseline),
      meteredMs: median(meteredMs),
      overhead: median(ratios),
      fuel: fuel.toString(),
    };
    options.log?.(formatRow(row));
    rows.push(row);
    await new Promise((resolve) => setImmediate(resolve)); // let the caller's timers breathe
  }
  return rows;
}

function formatRow(row: FuelBenchRow): string {
  return [
    row.workload.padEnd(36),
    `${row.baselineMs.toFixed(2)} ms`.padStart(11),
    `${row.meteredMs.toFixed(2)} ms`.padStart(11),
    `${row.overhead.toFixed(2)}x`.padStart(7),
    row.fuel.padStart(14),
  ].join('  ');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  console.log(['workload'.padEnd(36), 'plain'.padStart(11), 'metered'.padStart(11), 'ratio'.padStart(7), 'fuel'.padStart(14)].join('  '));
  await runFuelBench({ quick, log: (line) => console.log(line) });
}
