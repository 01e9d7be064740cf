// Tests for fuel metering: modules are written in WAT, assembled with binaryen, instrumented, and run on
// the real engine (Node's V8), metered and unmetered side by side.

import binaryen from 'binaryen';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INITIAL_FUEL,
  FuelExhaustedError,
  fuelGlobalOf,
  instrumentFuel,
  isFuelExhausted,
  loopUnrollFactor,
  readFuel,
  refillFuel,
  runWithFuel,
  WasmModuleError,
  type FuelOptions,
} from './fuel.ts';
import { webAssembly, type WasmImports, type WasmInstance } from '../../core/webassembly-api.ts';

// What AssemblyScript emits by default (plus mutable-globals, needed by the fuel export).
const GUEST_FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt; // binaryen asserts (and aborts for good) on bulk-memory without it

function assemble(wat: string, features = GUEST_FEATURES, customSections: Record<string, Uint8Array> = {}): Uint8Array {
  const module = binaryen.parseText(wat);
  try {
    module.setFeatures(features);
    for (const [name, contents] of Object.entries(customSections)) module.addCustomSection(name, contents);
    if (!module.validate()) throw new Error('test module does not validate');
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

function instantiate(bytes: Uint8Array, imports?: WasmImports): WasmInstance {
  return new webAssembly.Instance(new webAssembly.Module(bytes), imports);
}

type Fn<A extends unknown[], R> = (...args: A) => R;
function exported<A extends unknown[], R>(instance: WasmInstance, name: string): Fn<A, R> {
  return instance.exports[name] as Fn<A, R>;
}

function metered(wat: string, options?: FuelOptions) {
  const plain = assemble(wat);
  const out = instrumentFuel(plain, options);
  const instance = instantiate(out.bytes);
  return { plain, out, instance, fuel: fuelGlobalOf(instance.exports) };
}

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const FIB = `(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`;

const SUM = `(module
  (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc)))`;

// Counts primes below n (n <= 65536) with a byte per number in linear memory.
const SIEVE = `(module
  (memory 1)
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
    (local.get $count)))`;

const SPIN = `(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "crash") (unreachable)))`;

const RECURSION = `(module
  (func $down (export "down") (param $n i32)
    (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1))))))
  (func $forever (export "forever") (call $forever)))`;

const START = `(module
  (global $ready (mut i32) (i32.const 0))
  (func $init (local $i i32)
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.const 1000))))
    (global.set $ready (local.get $i)))
  (start $init)
  (func (export "ready") (result i32) (global.get $ready)))`;

/** Calls to fib made by fib(n), recursive: c(n) = 1 + c(n-1) + c(n-2), c(0) = c(1) = 1. */
function fibCalls(n: number): bigint {
  let [a, b] = [1n, 1n];
  for (let i = 2; i <= n; i++) [a, b] = [b, 1n + a + b];
  return n < 1 ? a : b;
}

describe('instrumentFuel', () => {
  it('charges the same fuel for fib(25) on every run and in every fresh instance (2,913,408 units)', () => {
    const plain = assemble(FIB);
    const consumed: bigint[] = [];
    for (let instance = 0; instance < 3; instance++) {
      const out = instrumentFuel(plain);
      const guest = instantiate(out.bytes);
      const fuel = fuelGlobalOf(guest.exports);
      const fib = exported<[number], number>(guest, 'fib');
      for (let run = 0; run < 2; run++) consumed.push(runWithFuel(fuel, 10_000_000n, () => fib(25)).consumed);
    }
    expect(new Set(consumed).size).toBe(1);

    // Stable by construction: the base case (n < 2) makes no call, so it runs free (its price is in its
    // caller's charge); every other call pays one charge, the same each time.
    const { fuel, instance } = metered(FIB);
    const fib = exported<[number], number>(instance, 'fib');
    expect(runWithFuel(fuel, 1000, () => fib(0)).consumed).toBe(0n);
    expect(runWithFuel(fuel, 1000, () => fib(1)).consumed).toBe(0n);
    const perCall = runWithFuel(fuel, 1000, () => fib(2)).consumed;
    const recursiveCalls = (fibCalls(25) - 1n) / 2n;
    expect(consumed[0]).toBe(recursiveCalls * perCall);
    expect(consumed[0]).toBe(2_913_408n);
    console.log(`fib(25): ${consumed[0]} fuel units = ${recursiveCalls} recursive calls x ${perCall}`);
  });

  it('is deterministic across instrumentations: the same input gives the same bytes', () => {
    const plain = assemble(SIEVE);
    expect(Buffer.from(instrumentFuel(plain).bytes).equals(Buffer.from(instrumentFuel(plain).bytes))).toBe(true);
  });

  it('stops an infinite loop once the fuel runs out, and a refilled instance runs again', () => {
    const { instance, fuel, out } = metered(SPIN);
    expect(out.stats).toEqual({ functions: 3, leafFunctions: 1, loops: 1, unrolledLoops: 1, instrumentedSites: 2 });
    const spin = exported<[], void>(instance, 'spin');
    const fib = exported<[number], number>(instance, 'fib');

    const error = errorOf(() => runWithFuel(fuel, 1_000_000, spin));
    expect(error).toBeInstanceOf(FuelExhaustedError);
    expect((error as FuelExhaustedError).code).toBe('E_FUEL_LIMIT');
    expect((error as FuelExhaustedError).budget).toBe(1_000_000n);
    expect(readFuel(fuel)).toBeLessThan(0n);

    // Core instances stay callable after a trap: the next request gets a full tank.
    expect(runWithFuel(fuel, 1_000_000, () => fib(10)).result).toBe(55);
    // Without a refill the tank stays empty.
    refillFuel(fuel, 0);
    expect(isFuelExhausted(errorOf(() => fib(10)), fuel)).toBe(true);
  });

  it("does not mistake the guest's own trap for an empty tank", () => {
    const { instance, fuel } = metered(SPIN);
    const error = errorOf(() => runWithFuel(fuel, 1_000_000, exported<[], void>(instance, 'crash')));
    expect(error).toBeInstanceOf(webAssembly.RuntimeError);
    expect(error).not.toBeInstanceOf(FuelExhaustedError);
    expect(readFuel(fuel)).toBeGreaterThan(0n);
  });

  it('meters recursion without loops: one charge per call that recurses', () => {
    const { instance, fuel, out } = metered(RECURSION);
    expect(out.stats.loops).toBe(0);
    const down = exported<[number], void>(instance, 'down');
    expect(runWithFuel(fuel, 1000, () => down(0)).consumed).toBe(0n);
    const perCall = runWithFuel(fuel, 1000, () => down(1)).consumed;
    expect(perCall).toBeGreaterThan(0n);
    expect(runWithFuel(fuel, 1_000_000, () => down(1000)).consumed).toBe(1000n * perCall);

    // Runs out of fuel long before it runs out of stack.
    const error = errorOf(() => runWithFuel(fuel, 10_000, exported<[], void>(instance, 'forever')));
    expect(error).toBeInstanceOf(FuelExhaustedError);
  });

  it('charges a small loop once per few passes, up front: fuel is a step function of the trip count', () => {
    const { instance, fuel, out } = metered(SUM);
    expect(out.stats.unrolledLoops).toBe(1);
    const sum = exported<[number], bigint>(instance, 'sum');
    // sum(n) runs the loop body n + 1 times (the last pass leaves through br_if); the function entry is free.
    const used = (n: number) => runWithFuel(fuel, 1_000_000, () => sum(n)).consumed;
    const perCharge = used(0);
    const factor = [...Array(20).keys()].find((n) => used(n) > perCharge)!; // passes = factor + 1 needs a second charge
    expect(factor).toBe(loopUnrollFactor(Number(perCharge) / factor));
    expect(factor).toBe(8); // the sum loop is priced 15: 8 copies
    for (const n of [0, 1, 7, 8, 15, 16, 100, 1000]) {
      expect(used(n), `sum(${n})`).toBe(BigInt(Math.ceil((n + 1) / factor)) * perCharge);
    }
  });

  it('keeps results of unrolled loops of every shape: fall-through exits, br_table, nested loops and labels', () => {
    const wat = `(module
      (memory 1)
      ;; Ends in br_if: the body can fall through, which leaves the loop.
      (func (export "countdown") (param $n i32) (result i32) (local $steps i32)
        (loop $again
          (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $again (i32.gt_s (local.get $n) (i32.const 0))))
        (local.get $steps))
      ;; br_table to the loop, to an inner block and out of the loop; an early return.
      (func (export "dispatch") (param $n i32) (result i32) (local $acc i32) (local $i i32)
        (block $out
          (loop $top
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (if (i32.gt_u (local.get $i) (i32.const 1000)) (then (return (i32.const -1))))
            (block $skip
              (br_table $top $skip $out (i32.rem_u (i32.add (local.get $i) (local.get $n)) (i32.const 5)))
            )
            (local.set $acc (i32.add (local.get $acc) (local.get $i)))
            (br_if $top (i32.lt_u (local.get $acc) (local.get $n)))))
        (i32.add (i32.mul (local.get $acc) (i32.const 1000)) (local.get $i)))
      ;; Nested loops with their own labels, both small enough to unroll.
      (func (export "nested") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $acc i32)
        (block $done (loop $outer
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $j (i32.const 0))
          (block $jdone (loop $inner
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $i)))
            (local.set $acc (i32.add (local.get $acc) (i32.xor (local.get $i) (local.get $j))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $outer)))
        (local.get $acc))
      ;; A loop that produces a value is left as it is.
      (func (export "valued") (param $n i32) (result i32)
        (loop $l (result i32)
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (i32.gt_s (local.get $n) (i32.const 0)))
          (local.get $n))))`;
    const { plain, instance, fuel, out } = metered(wat);
    expect(out.stats).toMatchObject({ loops: 5, unrolledLoops: 4 });
    const reference = instantiate(plain);
    for (const name of ['countdown', 'dispatch', 'nested', 'valued']) {
      for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 9, 17, 100, 999]) {
        const expected = exported<[number], number>(reference, name)(n);
        const got = runWithFuel(fuel, 100_000_000, () => exported<[number], number>(instance, name)(n)).result;
        expect(got, `${name}(${n})`).toBe(expected);
      }
    }
  });

  it('meters the start function, which runs on the fuel the module was instrumented with', () => {
    const plain = assemble(START);
    const defaultTank = instantiate(instrumentFuel(plain).bytes);
    const startCost = DEFAULT_INITIAL_FUEL - readFuel(fuelGlobalOf(defaultTank.exports));
    expect(exported<[], number>(defaultTank, 'ready')()).toBe(1000);
    expect(startCost).toBeGreaterThan(1000n);

    // Exactly enough fuel instantiates; one unit less traps during instantiation.
    const exact = instantiate(instrumentFuel(plain, { initialFuel: startCost }).bytes);
    expect(readFuel(fuelGlobalOf(exact.exports))).toBe(0n);
    const short = instrumentFuel(plain, { initialFuel: startCost - 1n }).bytes;
    expect(errorOf(() => instantiate(short))).toBeInstanceOf(webAssembly.RuntimeError);
  });

  it('leaves results unchanged: fib, loop sum and sieve, metered and unmetered', () => {
    const cases: Array<[string, string, number[]]> = [
      [FIB, 'fib', [0, 1, 2, 10, 20]],
      [SUM, 'sum', [0, 1, 10, 1000, 100_000]],
      [SIEVE, 'sieve', [2, 10, 100, 1000, 65_536]],
    ];
    for (const [wat, name, inputs] of cases) {
      const { plain, instance, fuel } = metered(wat);
      const reference = exported<[number], unknown>(instantiate(plain), name);
      const instrumented = exported<[number], unknown>(instance, name);
      for (const input of inputs) {
        expect(runWithFuel(fuel, 1_000_000_000n, () => instrumented(input)).result, `${name}(${input})`).toEqual(
          reference(input),
        );
      }
    }
    const { instance } = metered(SIEVE);
    expect(exported<[number], number>(instance, 'sieve')(65_536)).toBe(6542);
  });

  it('keeps imports, exports, memory, tables, data and custom sections working', () => {
    const wat = `(module
      (import "env" "log" (func $log (param i32)))
      (import "env" "base" (global $base i32))
      (type $constant (func (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "edge")
      (table (export "table") 2 funcref)
      (elem (i32.const 0) $one $two)
      (global $started (mut i32) (i32.const 0))
      (func $one (result i32) (i32.const 1))
      (func $two (result i32) (i32.const 2))
      (func (export "run") (param $k i32) (result i32)
        (call $log (i32.load8_u (i32.const 16)))
        (i32.add (i32.add (global.get $base) (global.get $started))
                 (call_indirect (type $constant) (local.get $k))))
      (func $start (global.set $started (i32.const 100)))
      (start $start))`;
    const customSection = new TextEncoder().encode('kept as is');
    const plain = assemble(wat, GUEST_FEATURES, { 'edge:test': customSection });
    const out = instrumentFuel(plain, { exportName: 'fuel' });
    expect(out.fuelGlobal).toBe('fuel');
    expect(out.stats).toEqual({ functions: 4, leafFunctions: 3, loops: 0, unrolledLoops: 0, instrumentedSites: 1 });
    expect(webAssembly.validate(out.bytes)).toBe(true);

    const module = new webAssembly.Module(out.bytes);
    expect(webAssembly.Module.imports(module)).toEqual(webAssembly.Module.imports(new webAssembly.Module(plain)));
    expect(webAssembly.Module.exports(module).map((e) => `${e.kind}:${e.name}`).sort()).toEqual(
      ['function:run', 'global:fuel', 'memory:memory', 'table:table'].sort(),
    );
    const [section] = webAssembly.Module.customSections(module, 'edge:test');
    expect(new Uint8Array(section!)).toEqual(customSection);

    const logged: number[] = [];
    const base = new webAssembly.Global({ value: 'i32' }, 1000);
    const instance = new webAssembly.Instance(module, { env: { log: (x: number) => logged.push(x), base } });
    const fuel = fuelGlobalOf(instance.exports, 'fuel');
    const run = exported<[number], number>(instance, 'run');
    expect(runWithFuel(fuel, 1000, () => run(0)).result).toBe(1101);
    expect(runWithFuel(fuel, 1000, () => run(1)).result).toBe(1102);
    expect(logged).toEqual(['e'.charCodeAt(0), 'e'.charCodeAt(0)]);
  });

  it('rejects what is not a valid module with E_WASM_INVALID and says why', () => {
    const invalid = (bytes: Uint8Array) => {
      const error = errorOf(() => instrumentFuel(bytes));
      expect(error).toBeInstanceOf(WasmModuleError);
      expect((error as WasmModuleError).code).toBe('E_WASM_INVALID');
      return (error as Error).message;
    };
    expect(invalid(new TextEncoder().encode('export default { fetch() {} }'))).toMatch(/not a valid WebAssembly module.*magic bytes/);
    expect(invalid(new Uint8Array())).toMatch(/magic bytes/);
    const plain = assemble(SIEVE);
    expect(invalid(plain.subarray(0, plain.length - 5))).toMatch(/not a valid WebAssembly module: .+/);
    expect(invalid(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00))).toMatch(/version 2/);
  });

  it('refuses, with E_WASM_UNSUPPORTED, what it cannot meter completely', () => {
    const unsupported = (bytes: Uint8Array) => {
      const error = errorOf(() => instrumentFuel(bytes));
      expect((error as WasmModuleError).code).toBe('E_WASM_UNSUPPORTED');
      return (error as Error).message;
    };
    // A component (layer 1) rather than a core module.
    expect(unsupported(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00))).toMatch(/component/);
    // Instrumenting twice would charge twice.
    expect(unsupported(instrumentFuel(assemble(FIB)).bytes)).toMatch(/already exports '__edge_fuel'/);
    // table.fill: binaryen.js cannot reach its operands.
    const tableFill = assemble(
      `(module (table 4 funcref)
         (func (export "clear") (table.fill 0 (i32.const 0) (ref.null func) (i32.const 4))))`,
      GUEST_FEATURES | binaryen.Features.ReferenceTypes,
    );
    expect(unsupported(tableFill)).toMatch(/table\.fill/);
    // GC is valid on V8 but outside the supported feature set (binaryen prints its validator errors).
    const gc = assemble(
      `(module (func (export "f") (result i32) (i31.get_s (ref.i31 (i32.const 1)))))`,
      GUEST_FEATURES | binaryen.Features.ReferenceTypes | binaryen.Features.GC,
    );
    expect(unsupported(gc)).toMatch(/feature fuel metering does not support/);
  });
});

describe('instrumentFuel soundness: nothing runs unbounded without paying', () => {
  const exhausts = (instance: WasmInstance, name: string, budget = 100_000, args: unknown[] = []) => {
    const fuel = fuelGlobalOf(instance.exports);
    const error = errorOf(() => runWithFuel(fuel, budget, () => (instance.exports[name] as Fn<unknown[], unknown>)(...args)));
    expect(error, name).toBeInstanceOf(FuelExhaustedError);
  };

  it('stops call trees that never recurse but double at each level (2^40 calls)', () => {
    const levels = 40;
    const functions = Array.from({ length: levels }, (_, i) =>
      i === levels - 1
        ? `(func $f${i} (result i32) (i32.const 1))`
        : `(func $f${i} (result i32) (i32.add (call $f${i + 1}) (call $f${i + 1})))`,
    );
    const bytes = instrumentFuel(assemble(`(module ${functions.join(' ')} (export "run" (func $f0)))`)).bytes;
    exhausts(instantiate(bytes), 'run');
  });

  it('stops mutual recursion, recursion through a table, and tail calls', () => {
    const wat = `(module
      (type $void (func))
      (table 1 funcref)
      (elem (i32.const 0) $indirect)
      (func $ping (export "ping") (call $pong))
      (func $pong (call $ping))
      (func $indirect (export "indirect") (call_indirect (type $void) (i32.const 0)))
      (func $tail (export "tail") (param $n i32) (return_call $tail (i32.add (local.get $n) (i32.const 1)))))`;
    const bytes = instrumentFuel(assemble(wat, GUEST_FEATURES | binaryen.Features.TailCall | binaryen.Features.ReferenceTypes)).bytes;
    const instance = instantiate(bytes);
    // Small budgets: these also recurse deeper and deeper, and would hit the stack limit on a large one.
    exhausts(instance, 'ping', 1000);
    exhausts(instance, 'indirect', 1000);
    exhausts(instance, 'tail', 100_000, [0]);
  });

  it('stops recursion through the host: a guest calling an import that calls the guest back', () => {
    const wat = `(module
      (import "env" "again" (func $again))
      (func (export "enter") (call $again)))`;
    let instance: WasmInstance | undefined;
    const imports = { env: { again: () => (instance!.exports['enter'] as () => void)() } };
    instance = instantiate(instrumentFuel(assemble(wat)).bytes, imports);
    exhausts(instance, 'enter', 100);
  });

  it('charges a leaf function to its caller: free when called alone, paid on every call from a loop', () => {
    const wat = `(module
      (func $mix (export "mix") (param $h i32) (result i32) (i32.mul (i32.xor (local.get $h) (i32.const 7)) (i32.const 31)))
      (func (export "hash") (param $n i32) (result i32) (local $h i32)
        (block $done (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $h (call $mix (local.get $h)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
        (local.get $h)))`;
    const { instance, fuel, out } = metered(wat);
    expect(out.stats).toEqual({ functions: 2, leafFunctions: 1, loops: 1, unrolledLoops: 1, instrumentedSites: 1 });
    expect(runWithFuel(fuel, 1000, () => exported<[number], number>(instance, 'mix')(1)).consumed).toBe(0n);
    const hash = exported<[number], number>(instance, 'hash');
    const trips = [0, 3, 4, 100];
    const used = trips.map((n) => runWithFuel(fuel, 1_000_000, () => hash(n)).consumed);
    // One charge per `factor` passes; the price of a pass includes mix's body (7 expressions).
    const factor = [0, 1, 2, 3, 4, 5, 6, 7, 8].find((n) => runWithFuel(fuel, 1_000_000, () => hash(n)).consumed > used[0]!)!;
    const perPass = used[0]! / BigInt(factor);
    expect(perPass).toBeGreaterThan(7n);
    expect(factor).toBe(loopUnrollFactor(Number(perPass)));
    expect(used).toEqual(trips.map((n) => BigInt(Math.ceil((n + 1) / factor)) * used[0]!));
  });
});

describe('instrumentFuel on binaryen fuzzer programs (differential)', () => {
  // wasm-opt -ttf turns arbitrary bytes into a valid program full of loops, nested blocks, br_table, calls,
  // indirect calls and traps (with its own hang limits, so it ends). Metered and plain must log the same
  // values, return the same results and trap at the same calls; metered runs must use the same fuel in
  // fresh instances. Seeds are fixed: the test is deterministic.
  const wasmOpt = createRequire(import.meta.url).resolve('binaryen/bin/wasm-opt');
  const FUZZ_FEATURES = ['--mvp-features', '--enable-mutable-globals', '--enable-sign-ext', '--enable-bulk-memory', '--enable-bulk-memory-opt',
    '--enable-nontrapping-float-to-int', '--enable-multivalue', '--enable-tail-call'];

  function seedBytes(seed: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let state = seed >>> 0;
    for (let i = 0; i < length; i++) {
      // mulberry32
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
    return out;
  }

  function observe(bytes: Uint8Array): { trace: string[]; fuel: bigint | null } {
    const trace: string[] = [];
    const support = new Proxy({} as Record<string, unknown>, {
      get: (_target, name: string) => (name.startsWith('log') ? (...values: unknown[]) => void trace.push(`${name}(${values.map(String).join(',')})`) : () => 0),
    });
    let instance: WasmInstance;
    try {
      instance = instantiate(bytes, { 'fuzzing-support': support });
    } catch (error) {
      return { trace: [`instantiate: ${String(error)}`], fuel: null };
    }
    for (const [name, value] of Object.entries(instance.exports)) {
      if (typeof value !== 'function') continue;
      try {
        trace.push(`${name} -> ${String((value as () => unknown)())}`);
      } catch (error) {
        // A metered call has a few more locals and frames: only the stack-overflow point may move.
        trace.push(`${name} threw ${String(error).replace(/Maximum call stack size exceeded/, 'stack overflow')}`);
      }
    }
    const fuel = instance.exports['__edge_fuel'];
    return { trace, fuel: fuel === undefined ? null : readFuel(fuel as Parameters<typeof readFuel>[0]) };
  }

  it('behave exactly like the originals on 12 generated programs', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-fuel-fuzz-'));
    let unrolled = 0;
    let logged = 0;
    try {
      for (let seed = 1; seed <= 12; seed++) {
        writeFileSync(join(dir, 'seed.bin'), seedBytes(seed, 2000 + seed * 700));
        execFileSync(process.execPath, [wasmOpt, join(dir, 'seed.bin'), '-ttf', ...FUZZ_FEATURES, '-o', join(dir, 'fuzz.wasm')], { stdio: 'ignore' });
        const plain = new Uint8Array(readFileSync(join(dir, 'fuzz.wasm')));
        const out = instrumentFuel(plain, { initialFuel: 1n << 60n });
        unrolled += out.stats.unrolledLoops;
        const reference = observe(plain);
        const first = observe(out.bytes);
        const second = observe(out.bytes);
        expect(reference.trace[0], `seed ${seed}`).not.toMatch(/^instantiate: TypeError/); // the harness is complete
        expect(first.trace, `seed ${seed}`).toEqual(reference.trace);
        expect(second.fuel, `seed ${seed}`).toBe(first.fuel);
        logged += reference.trace.filter((line) => line.startsWith('log')).length;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The programs did something worth comparing.
    expect(unrolled).toBeGreaterThan(12);
    expect(logged).toBeGreaterThan(100);
  });
});

describe('fuel measurements (reported, not asserted)', () => {
  it('slowdown: fib(25) and sieve(65536), metered vs unmetered', () => {
    // Fresh bytes (a unique custom section): V8 caches compiled modules by their bytes, and a cached copy
    // from an earlier test can keep its earlier tiering state, which skews the comparison.
    const fresh = (wat: string) => {
      const plain = assemble(wat, GUEST_FEATURES, { bench: new TextEncoder().encode(String(Math.random())) });
      const instance = instantiate(instrumentFuel(plain).bytes);
      return { plain: instantiate(plain), instance, fuel: fuelGlobalOf(instance.exports) };
    };
    const { plain, instance, fuel } = fresh(FIB);
    const reference = exported<[number], number>(plain, 'fib');
    const instrumented = exported<[number], number>(instance, 'fib');
    const sieve = fresh(SIEVE);
    const fuel2 = sieve.fuel;
    const sieveReference = exported<[number], number>(sieve.plain, 'sieve');
    const sieveInstrumented = exported<[number], number>(sieve.instance, 'sieve');
    // Warm both up first: V8 starts on Liftoff and tiers up hot functions to TurboFan.
    const median = (call: () => void) => {
      for (let i = 0; i < 5; i++) call();
      const samples: number[] = [];
      for (let i = 0; i < 11; i++) {
        const start = performance.now();
        call();
        samples.push(performance.now() - start);
      }
      return samples.sort((a, b) => a - b)[5]!;
    };
    const plainMs = median(() => reference(25));
    const meteredMs = median(() => runWithFuel(fuel, 10_000_000n, () => instrumented(25)));
    const plainSieveMs = median(() => sieveReference(65_536));
    const meteredSieveMs = median(() => runWithFuel(fuel2, 100_000_000n, () => sieveInstrumented(65_536)));
    console.log(
      `fib(25): unmetered ${plainMs.toFixed(2)} ms, metered ${meteredMs.toFixed(2)} ms, ` +
        `slowdown ${(meteredMs / plainMs).toFixed(2)}x; sieve(65536): unmetered ${plainSieveMs.toFixed(2)} ms, ` +
        `metered ${meteredSieveMs.toFixed(2)} ms, slowdown ${(meteredSieveMs / plainSieveMs).toFixed(2)}x`,
    );
    expect(meteredMs).toBeGreaterThan(0);
  });

  it('instrumentation time for a ~100 KB module', () => {
    const functions: string[] = [];
    const count = 850;
    for (let i = 0; i < count; i++) {
      const callee = i === 0 ? '' : `(drop (call $f${i - 1} (i32.const 0)))`;
      functions.push(`(func $f${i} (export "f${i}") (param $n i32) (result i32) (local $i i32) (local $acc i32)
        ${callee}
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const ${i + 3}))))
          (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 7))))
          (i32.store (i32.and (local.get $acc) (i32.const 0xfffc)) (local.get $acc))
          (local.set $acc (i32.add (local.get $acc) (i32.load offset=4 (i32.and (local.get $i) (i32.const 0xfff0)))))
          (if (i32.eq (i32.and (local.get $acc) (i32.const 15)) (i32.const ${i % 16}))
            (then (local.set $acc (i32.rotl (local.get $acc) (i32.const 3))))
            (else (local.set $acc (i32.sub (local.get $acc) (i32.const ${i * 7})))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
        (i32.add (local.get $acc) (i32.const ${i})))`);
    }
    const plain = assemble(`(module (memory 1) ${functions.join('\n')})`);
    const timings: number[] = [];
    let out = instrumentFuel(plain);
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      out = instrumentFuel(plain);
      timings.push(performance.now() - start);
    }
    console.log(
      `instrumenting ${(plain.length / 1024).toFixed(0)} KB (${count} functions): ` +
        `${timings.map((t) => t.toFixed(0)).join(' / ')} ms, output ${(out.bytes.length / 1024).toFixed(0)} KB`,
    );
    expect(out.stats).toEqual({ functions: count, leafFunctions: 0, loops: count, unrolledLoops: 0, instrumentedSites: 2 * count - 1 });
  });
});
