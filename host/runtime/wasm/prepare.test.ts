// Tests for the deploy-time preparation of core modules: the memory rule (rewritten maximums, refused imports
// and oversized memories), the single entry point prepareCoreModule, and a real AssemblyScript worker built,
// transpiled by jco, prepared module by module and run with a fuel limit.

import binaryen from 'binaryen';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IncomingBody, OutgoingBody, request, bodyText, type WitRequest, type WitResponse } from '../../../guest-sdk/assemblyscript/test-worker.ts';
import { transpileComponent } from '../../build/component-tools.ts';
import { buildWorker } from '../../build/worker-build.ts';
import { findFuelGlobal, fuelUsed, IN_ISOLATE_FUEL_SOURCE, readFuel, refillInstances, runWithFuel, fuelGlobalOf, FuelExhaustedError } from './fuel-counter.ts';
import { assertMemoriesCapped, capMemories, memoryMbToPages } from './memory-limit.ts';
import { prepareCoreModule, WasmModuleError } from './prepare.ts';
import { webAssembly, type WasmImports, type WasmInstance, type WasmMemory, type WasmModule } from '../../core/webassembly-api.ts';

const FEATURES = binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt;

function assemble(wat: string, features = FEATURES): Uint8Array {
  const module = binaryen.parseText(wat);
  try {
    module.setFeatures(features);
    if (!module.validate()) throw new Error('test module does not validate');
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

function errorOf(action: () => unknown): WasmModuleError {
  try {
    action();
  } catch (error) {
    if (error instanceof WasmModuleError) return error;
    throw error;
  }
  throw new Error('expected a WasmModuleError');
}

function memoryLimits(bytes: Uint8Array): { initial: number; maximum?: number } {
  // WebAssembly.Module.imports/exports give no limits; a round trip through binaryen does.
  const module = binaryen.readBinary(bytes);
  try {
    const info = module.getMemoryInfo(binaryen.getExportInfo(module.getExport('memory')).value) as { initial: number; max?: number };
    return info.max === undefined ? { initial: info.initial } : { initial: info.initial, maximum: info.max };
  } finally {
    module.dispose();
  }
}

// Grows its memory a page at a time until memory.grow says no; returns the final size in pages.
const GROWER = `(module
  (memory (export "memory") 1)
  (func (export "growAll") (result i32) (local $grown i32)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $grown (i32.add (local.get $grown) (i32.const 1)))
        (br $more)))
    (memory.size)))`;

describe('capMemories (the memory rule)', () => {
  it('gives an unbounded memory the cap as its maximum; memory.grow then returns -1 at the cap', () => {
    const plain = assemble(GROWER);
    expect(memoryLimits(plain)).toEqual({ initial: 1 });
    const capped = capMemories(plain, memoryMbToPages(2));
    expect(capped.memories).toEqual([{ index: 0, exportedAs: ['memory'], initialPages: 1, declaredMaxPages: null, maxPages: 32 }]);
    expect(memoryLimits(capped.bytes)).toEqual({ initial: 1, maximum: 32 });

    const instance = new webAssembly.Instance(new webAssembly.Module(capped.bytes));
    expect((instance.exports['growAll'] as () => number)()).toBe(32);
    expect((instance.exports['memory'] as WasmMemory).buffer.byteLength).toBe(2 * 1024 * 1024);
  });

  it('keeps a smaller declared maximum and lowers a larger one', () => {
    const small = capMemories(assemble('(module (memory 1 4))'), 32);
    expect(small.memories[0]).toMatchObject({ declaredMaxPages: 4, maxPages: 4 });
    expect(memoryLimits(assemble('(module (memory (export "memory") 1 4))'))).toEqual({ initial: 1, maximum: 4 });
    const large = capMemories(assemble('(module (memory (export "memory") 2 65536))'), 32);
    expect(large.memories[0]).toMatchObject({ initialPages: 2, declaredMaxPages: 65536, maxPages: 32 });
    expect(memoryLimits(large.bytes)).toEqual({ initial: 2, maximum: 32 });
  });

  it('passes modules without memory through untouched (jco shim and fixup modules)', () => {
    const shim = assemble(`(module (type $t (func (param i32))) (table (export "$imports") 1 1 funcref)
      (func (export "0") (param i32) (call_indirect (type $t) (local.get 0) (i32.const 0))))`);
    const result = capMemories(shim, 16);
    expect(result.bytes).toBe(shim);
    expect(result.memories).toEqual([]);

    // The fixup module fills the shim's table with the lowered imports.
    const fixup = assemble(`(module (type $t (func (param i32)))
      (import "" "0" (func $lowered (type $t)))
      (import "" "$imports" (table $imports 1 1 funcref))
      (elem (i32.const 0) $lowered))`);
    for (const module of [shim, fixup]) {
      for (const fuel of [false, true]) {
        const prepared = prepareCoreModule(module, { memoryMaxPages: 16, fuel });
        expect(prepared.stats.memories).toEqual([]);
        expect(webAssembly.validate(prepared.bytes)).toBe(true);
      }
    }
    // Wired together the way jco does it, the metered shim still calls through the table.
    const seen: number[] = [];
    const shimInstance = new webAssembly.Instance(new webAssembly.Module(prepareCoreModule(shim, { memoryMaxPages: 16, fuel: true }).bytes));
    new webAssembly.Instance(new webAssembly.Module(prepareCoreModule(fixup, { memoryMaxPages: 16, fuel: true }).bytes), {
      '': { '0': (n: number) => seen.push(n), $imports: shimInstance.exports['$imports'] as object },
    });
    runWithFuel(fuelGlobalOf(shimInstance.exports), 100, () => (shimInstance.exports['0'] as (n: number) => void)(7));
    expect(seen).toEqual([7]);
  });

  it('refuses an imported memory, naming it (E_WASM_MEMORY)', () => {
    const error = errorOf(() => capMemories(assemble('(module (import "env" "memory" (memory 1)))'), 16));
    expect(error.code).toBe('E_WASM_MEMORY');
    expect(error.message).toMatch(/imports its linear memory \("env" "memory"\)/);
  });

  it('refuses an initial size above the cap, naming both sizes (E_WASM_MEMORY)', () => {
    const error = errorOf(() => capMemories(assemble('(module (memory (export "memory") 40))'), 32));
    expect(error.code).toBe('E_WASM_MEMORY');
    expect(error.message).toMatch(/memory 0 \(exported as "memory"\) starts at 40 pages \(2\.5 MiB\), above the cap of 32 pages \(2 MiB\)/);
  });

  it('the final check refuses an exported memory without a maximum, or above the cap (E_WASM_MEMORY)', () => {
    const unbounded = assemble('(module (memory (export "memory") 1))');
    expect(errorOf(() => assertMemoriesCapped(unbounded, 16))).toMatchObject({
      code: 'E_WASM_MEMORY',
      message: expect.stringMatching(/memory 0 \(exported as "memory"\) has no maximum, above the cap of 16 pages/),
    });
    expect(errorOf(() => assertMemoriesCapped(assemble('(module (memory 1 32))'), 16)).message).toMatch(/has a maximum of 32 pages/);
    expect(() => assertMemoriesCapped(capMemories(unbounded, 16).bytes, 16)).not.toThrow();
  });

  it('refuses shared and 64-bit memories (E_WASM_UNSUPPORTED)', () => {
    const shared = assemble('(module (memory 1 2 shared))', FEATURES | binaryen.Features.Atomics);
    expect(errorOf(() => capMemories(shared, 16))).toMatchObject({ code: 'E_WASM_UNSUPPORTED', message: expect.stringMatching(/shared memory/) });
    const memory64 = assemble('(module (memory i64 1))', FEATURES | binaryen.Features.Memory64);
    expect(errorOf(() => capMemories(memory64, 16))).toMatchObject({ code: 'E_WASM_UNSUPPORTED', message: expect.stringMatching(/64-bit memory/) });
  });

  it('converts memory_mb to pages (16 per MiB, at most 4 GiB)', () => {
    expect(memoryMbToPages(128)).toBe(2048);
    expect(memoryMbToPages(0.5)).toBe(8);
    expect(memoryMbToPages(1e9)).toBe(65536);
    expect(() => capMemories(assemble(GROWER), 65537)).toThrow(RangeError);
  });
});

describe('prepareCoreModule', () => {
  it('caps memory and meters in one pass; the in-isolate protocol is a plain global write', () => {
    const prepared = prepareCoreModule(assemble(GROWER), { memoryMaxPages: 16, fuel: true });
    expect(prepared.fuelExport).toBe('__edge_fuel');
    expect(prepared.memoryMaxPages).toBe(16);
    expect(prepared.stats.memories[0]).toMatchObject({ maxPages: 16 });
    expect(prepared.stats.fuel).toEqual({ functions: 1, leafFunctions: 0, loops: 1, unrolledLoops: 1, instrumentedSites: 1 });
    expect(memoryLimits(prepared.bytes)).toEqual({ initial: 1, maximum: 16 });

    const module = new webAssembly.Module(prepared.bytes);
    expect(webAssembly.Module.exports(module)).toContainEqual({ name: '__edge_fuel', kind: 'global' });
    const instance = new webAssembly.Instance(module);
    const growAll = instance.exports['growAll'] as () => number;

    // What the code inside the isolate does, as plain JS.
    const inIsolate = new Function(`${IN_ISOLATE_FUEL_SOURCE}; return { refill: __edgeRefillFuel, exhausted: __edgeFuelExhausted };`)() as {
      refill(exports: Record<string, unknown>, fuel: number): void;
      exhausted(exports: Record<string, unknown>): boolean;
    };
    inIsolate.refill(instance.exports, 1_000_000);
    expect(growAll()).toBe(16);
    expect(inIsolate.exhausted(instance.exports)).toBe(false);
    const fuel = fuelGlobalOf(instance.exports);
    expect(readFuel(fuel)).toBeLessThan(1_000_000n);

    // The same grow loop, out of fuel: growing by 0 never fails, so only fuel stops it.
    const spinner = prepareCoreModule(assemble(GROWER.replace('(memory.grow (i32.const 1))', '(memory.grow (i32.const 0))')), {
      memoryMaxPages: 16,
      fuel: true,
    });
    const spinning = new webAssembly.Instance(new webAssembly.Module(spinner.bytes));
    const error = (() => {
      try {
        runWithFuel(fuelGlobalOf(spinning.exports), 10_000, spinning.exports['growAll'] as () => number);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(FuelExhaustedError);
    expect((error as FuelExhaustedError).code).toBe('E_FUEL_LIMIT');
    expect(inIsolate.exhausted(spinning.exports)).toBe(true);
  });

  it('with fuel off, adds no global and needs no binaryen round trip', () => {
    const plain = assemble(GROWER);
    const prepared = prepareCoreModule(plain, { memoryMaxPages: 16, fuel: false });
    expect(prepared.fuelExport).toBeNull();
    expect(prepared.stats.fuel).toBeNull();
    const exports = webAssembly.Module.exports(new webAssembly.Module(prepared.bytes)).map((e) => e.name);
    expect(exports).toEqual(['memory', 'growAll']);
    expect(memoryLimits(prepared.bytes)).toEqual({ initial: 1, maximum: 16 });
  });

  it('is deterministic: the same bytes and options give the same output', () => {
    const plain = assemble(GROWER);
    const a = prepareCoreModule(plain, { memoryMaxPages: 16, fuel: true }).bytes;
    const b = prepareCoreModule(plain, { memoryMaxPages: 16, fuel: true }).bytes;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('refuses corrupt bytes with E_WASM_INVALID and a component with E_WASM_UNSUPPORTED', () => {
    const corrupt = errorOf(() => prepareCoreModule(new TextEncoder().encode('not wasm at all'), { memoryMaxPages: 16, fuel: true }));
    expect(corrupt.code).toBe('E_WASM_INVALID');
    expect(corrupt.message).toMatch(/not a valid WebAssembly module/);
    const plain = assemble(GROWER);
    const truncated = errorOf(() => prepareCoreModule(plain.subarray(0, plain.length - 3), { memoryMaxPages: 16, fuel: false }));
    expect(truncated.code).toBe('E_WASM_INVALID');
    expect(truncated.message).toMatch(/not a valid WebAssembly module: .+/);
    const component = errorOf(() => prepareCoreModule(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00), { memoryMaxPages: 16, fuel: true }));
    expect(component.code).toBe('E_WASM_UNSUPPORTED');
    expect(component.message).toMatch(/component, not a core module/);
    const imported = errorOf(() => prepareCoreModule(assemble('(module (import "env" "memory" (memory 1)))'), { memoryMaxPages: 16, fuel: true }));
    expect(imported.code).toBe('E_WASM_MEMORY');
  });
});

describe('prepareCoreModule on deeply nested code', () => {
  // Hand-assembled, since binaryen's own text parser and writer recurse: (func $h) (func $g (call $h))
  // (func (export "f") (block (nop) (block (nop) ... (call $g) ...))) nested `depth` times.
  function deepModule(depth: number): Uint8Array {
    const uleb = (n: number) => {
      const out: number[] = [];
      do {
        let byte = n & 0x7f;
        n >>>= 7;
        if (n !== 0) byte |= 0x80;
        out.push(byte);
      } while (n !== 0);
      return out;
    };
    const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
    const code = (instructions: number[]) => {
      const body = [0, ...instructions, 0x0b];
      return [...uleb(body.length), ...body];
    };
    const nested = [...Array(depth).fill([0x02, 0x40, 0x01]).flat(), 0x10, 1, ...Array(depth).fill(0x0b)];
    return Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
      ...section(1, [1, 0x60, 0, 0]),
      ...section(3, [3, 0, 0, 0]),
      ...section(7, [1, 1, 0x66, 0, 2]),
      ...section(10, [3, ...code([]), ...code([0x10, 0]), ...code(nested)]),
    ]);
  }

  it('meters 5,000 levels (the walks are iterative), refuses 50,000 with E_WASM_UNSUPPORTED, and keeps working', () => {
    const fine = prepareCoreModule(deepModule(5000), { memoryMaxPages: 16, fuel: true });
    const instance = new webAssembly.Instance(new webAssembly.Module(fine.bytes));
    expect(runWithFuel(fuelGlobalOf(instance.exports), 1_000_000, instance.exports['f'] as () => void).consumed).toBeGreaterThan(5000n);

    const tooDeep = deepModule(50_000);
    expect(webAssembly.validate(tooDeep)).toBe(true);
    const error = errorOf(() => prepareCoreModule(tooDeep, { memoryMaxPages: 16, fuel: true }));
    expect(error.code).toBe('E_WASM_UNSUPPORTED');
    expect(error.message).toMatch(/nests its code too deeply/);
    // Without fuel, binaryen is not involved: the memory rule alone passes it.
    expect(prepareCoreModule(tooDeep, { memoryMaxPages: 16, fuel: false }).bytes).toBe(tooDeep);
    // binaryen is still usable afterwards.
    expect(prepareCoreModule(deepModule(10), { memoryMaxPages: 16, fuel: true }).stats.fuel).toMatchObject({ functions: 3 });
  });
});

describe('prepareCoreModule on what jco extracts from real AssemblyScript workers', () => {
  it('examples/fib-as: the worker answers, uses the same fuel on every request, and a large n ends on fuel', { timeout: 120_000 }, async () => {
    const worker = await prepareExample('fib-as');
    try {
      const run = (n: number, fuel: number) => {
        const tanks = refillInstances(worker.instances, fuel);
        const response = worker.handle(request('GET', `http://fib.localhost/?n=${n}`));
        return { text: bodyText(response), used: fuelUsed(tanks, fuel) };
      };
      const first = run(20, 5_000_000);
      expect(first.text).toBe('fib(20) = 6765\n');
      expect(run(20, 5_000_000).used).toBe(first.used); // deterministic across requests
      console.log(`fib-as: fib(20) used ${first.used} fuel (core modules: ${worker.coreNames.join(', ')})`);

      let trap: unknown;
      try {
        run(40, 5_000_000);
      } catch (error) {
        trap = error;
      }
      expect(trap).toBeInstanceOf(webAssembly.RuntimeError);
      expect(worker.instances.some((instance) => (findFuelGlobal(instance.exports)?.value as bigint) < 0n)).toBe(true);
    } finally {
      await worker.dispose();
    }
  });

  it('examples/hello-as: the main module and jco\'s shim and fixup modules, each metered with its own tank', { timeout: 120_000 }, async () => {
    const worker = await prepareExample('hello-as');
    try {
      expect(worker.coreNames.length).toBeGreaterThan(1); // a string-taking import needs jco's shim/fixup pair
      const tanks = refillInstances(worker.instances, 1_000_000);
      expect(tanks.length).toBe(worker.instances.length);
      const response = worker.handle(request('GET', 'http://hello.localhost/path?x=1'));
      expect(bodyText(response)).toBe('hello from http://hello.localhost/path?x=1\n');
      expect(worker.logs).toEqual(['GET /path']);
      const used = fuelUsed(tanks, 1_000_000);
      refillInstances(worker.instances, 1_000_000);
      worker.handle(request('GET', 'http://hello.localhost/path?x=1'));
      expect(fuelUsed(tanks, 1_000_000)).toBe(used);
    } finally {
      await worker.dispose();
    }
  });
});

/**
 * Builds an example worker, transpiles it with jco, prepares every core module (fuel off first, then on, as
 * the deployer may), checks the memory rule's outcome, and instantiates the result.
 */
async function prepareExample(example: string): Promise<{
  coreNames: string[];
  handle(request: WitRequest): WitResponse;
  instances: WasmInstance[];
  logs: string[];
  dispose(): Promise<void>;
}> {
  const { component } = await buildWorker({ dir: resolve(import.meta.dirname, '../../../examples', example), main: 'assembly/index.ts' });
  const transpiled = await transpileComponent(component, 'worker');
  const coreNames = Object.keys(transpiled.files).filter((name) => name.endsWith('.wasm')).sort();
  expect(coreNames[0]).toBe('worker.core.wasm');
  const dir = await mkdtemp(join(tmpdir(), `edge-prepare-${example}-`));
  const prepared: Record<string, Uint8Array> = {};
  for (const name of coreNames) {
    prepareCoreModule(transpiled.files[name]!, { memoryMaxPages: memoryMbToPages(16), fuel: false });
    const out = prepareCoreModule(transpiled.files[name]!, { memoryMaxPages: memoryMbToPages(16), fuel: true, initialFuel: 5_000_000 });
    prepared[name] = out.bytes;
    if (name === 'worker.core.wasm') expect(out.stats.memories).toMatchObject([{ exportedAs: ['memory'], maxPages: 256 }]);
    else expect(out.stats.memories).toEqual([]);
  }
  for (const [name, bytes] of Object.entries(transpiled.files)) await writeFile(join(dir, name), name.endsWith('.wasm') ? prepared[name]! : bytes);
  const logs: string[] = [];
  const { handle, instances } = await instantiate(dir, coreNames, logs);
  return { coreNames, handle, instances, logs, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Instantiates the transpiled worker in `dir` with minimal platform imports; keeps every core instance. */
async function instantiate(
  dir: string,
  coreNames: string[],
  logs: string[],
): Promise<{ handle(request: WitRequest): WitResponse; instances: WasmInstance[] }> {
  const glue = (await import(pathToFileURL(join(dir, 'worker.js')).href)) as {
    instantiate(
      getCoreModule: (name: string) => WasmModule,
      imports: Record<string, unknown>,
      instantiateCore: (m: WasmModule, i: WasmImports) => Promise<WasmInstance>,
    ): Promise<{ incomingHandler: { handle(request: WitRequest): WitResponse } }>;
  };
  const modules = new Map<string, WasmModule>();
  for (const name of coreNames) modules.set(name, new webAssembly.Module(new Uint8Array(await readFile(join(dir, name)))));
  const instances: WasmInstance[] = [];
  const imports = {
    'edge:platform/log': { write: (_level: string, message: string) => logs.push(message) },
    'edge:platform/vars': { get: () => undefined, names: () => [] },
    'edge:platform/http-types': {
      IncomingBody,
      OutgoingBody,
      beginResponse: () => new OutgoingBody(),
    },
  };
  const component = await glue.instantiate(
    (name) => modules.get(name)!,
    imports,
    async (module, coreImports) => {
      const instance = new webAssembly.Instance(module, coreImports);
      instances.push(instance);
      return instance;
    },
  );
  return { handle: (req) => component.incomingHandler.handle(req), instances };
}
