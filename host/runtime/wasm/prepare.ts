// The deploy-time entry point for core modules: the deployer calls prepareCoreModule on every core module jco's
// transpile extracts from a component (<name>.core.wasm, <name>.core2.wasm, ...) and stores what it returns.
// Validation, the memory cap and fuel metering happen here once, so that nothing at request time needs binaryen.

import { emitCoreModule, readCoreModule } from './binaryen-module.ts';
import { assertValidCoreModule } from './core-module-check.ts';
import { DEFAULT_FUEL_EXPORT } from './fuel-counter.ts';
import { DEFAULT_INITIAL_FUEL, meterModule, type FuelStats } from './fuel.ts';
import { assertMemoriesCapped, capMemories, type CappedMemory } from './memory-limit.ts';

export { WasmModuleError, type WasmModuleErrorCode } from './wasm-module-error.ts';
export { memoryMbToPages, PAGES_PER_MIB } from './memory-limit.ts';

export interface PrepareOptions {
  /** Cap for every linear memory's maximum, in 64 KiB pages: memoryMbToPages(limits.memory_mb). */
  memoryMaxPages: number;
  /** Meter the module (exported i64 global `__edge_fuel`) so that `[limits] fuel` can be enforced. */
  fuel: boolean;
  /**
   * What the fuel global holds at instantiation, i.e. what the start function runs on (the host can only
   * refill once the instance exists). Pass `[limits] fuel`. Default DEFAULT_INITIAL_FUEL (100,000,000).
   */
  initialFuel?: bigint | number;
  /**
   * Accept a module that imports its memory: right only for a component's core module whose memory is another core
   * module's of the same component, prepared (capped) too, such as the WASI preview1 adapter of componentize-js.
   */
  allowImportedMemory?: boolean;
}

export interface PreparedCoreModule {
  bytes: Uint8Array;
  /** Export name of the fuel global (an exported mutable i64), or null when `fuel` was false. */
  fuelExport: string | null;
  /** The cap that was applied (the option, echoed for the deployer's records). */
  memoryMaxPages: number;
  stats: {
    inputBytes: number;
    outputBytes: number;
    /** The module's memories after the cap (none for jco's shim and fixup modules). */
    memories: CappedMemory[];
    /** Null when `fuel` was false. */
    fuel: FuelStats | null;
    /** Wall time spent preparing, in ms (not deterministic, unlike everything else here). */
    durationMs: number;
  };
}

/**
 * Checks and rewrites one core module for deployment. Throws WasmModuleError: E_WASM_INVALID (not a valid
 * WebAssembly module), E_WASM_UNSUPPORTED (a component, or a feature this runtime does not run or meter),
 * E_WASM_MEMORY (an imported memory, an initial size above the cap, or, as a last check on the output, a
 * memory left without a maximum within the cap). Deterministic: the same bytes and
 * options give the same output bytes.
 */
export function prepareCoreModule(bytes: Uint8Array, options: PrepareOptions): PreparedCoreModule {
  const started = performance.now();
  assertValidCoreModule(bytes);
  const capped = capMemories(bytes, options.memoryMaxPages, { allowImportedMemory: options.allowImportedMemory === true });

  let output = capped.bytes;
  let fuel: FuelStats | null = null;
  if (options.fuel) {
    // One binaryen read/write; the memory limits rewritten above are carried through as read.
    const module = readCoreModule(capped.bytes);
    try {
      fuel = meterModule(module, { exportName: DEFAULT_FUEL_EXPORT, initialFuel: options.initialFuel ?? DEFAULT_INITIAL_FUEL }).stats;
      output = emitCoreModule(module);
    } finally {
      module.dispose();
    }
  }
  // Whatever binaryen wrote, every memory must still be capped, exported ones included.
  assertMemoriesCapped(output, options.memoryMaxPages, { allowImportedMemory: options.allowImportedMemory === true });
  return {
    bytes: output,
    fuelExport: options.fuel ? DEFAULT_FUEL_EXPORT : null,
    memoryMaxPages: options.memoryMaxPages,
    stats: {
      inputBytes: bytes.length,
      outputBytes: output.length,
      memories: capped.memories,
      fuel,
      durationMs: performance.now() - started,
    },
  };
}
