// Reading a validated core module into binaryen and writing it back, with the feature set the runtime
// supports. The one place that knows binaryen.js 132's reading and writing quirks (README.md).

import binaryen from 'binaryen';
import { WasmModuleError } from './wasm-module-error.ts';
import { webAssembly } from '../../core/webassembly-api.ts';

/**
 * What a module may use: the features AssemblyScript can emit that V8 in Node 24 runs and binaryen 132
 * encodes in the standard way. Deliberately not Features.All: it includes CompactImports, whose import
 * encoding V8 rejects ("unknown import kind 0x7f"). GC, strings, exceptions, memory64 and multi-memory are
 * left out until their instructions are walked by fuel.ts.
 */
export const SUPPORTED_FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue |
  binaryen.Features.SIMD128 |
  binaryen.Features.RelaxedSIMD |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.TailCall |
  binaryen.Features.ExtendedConst |
  binaryen.Features.Atomics;

const SUPPORTED_FEATURE_NAMES =
  'mutable-globals, sign-ext, nontrapping-float-to-int, bulk-memory, multivalue, simd, relaxed-simd, ' +
  'reference-types, tail-call, extended-const, threads';

// binaryen.js 132 reads with explicit features through readBinary's second parameter; the
// readBinaryWithFeatures its index.d.ts declares does not exist at runtime.
const readBinary = binaryen.readBinary as (data: Uint8Array, features?: binaryen.Features) => binaryen.Module;

/**
 * Reads a module the engine already validated (assertValidCoreModule). A module that reads but does not
 * validate in binaryen uses a feature outside SUPPORTED_FEATURES: E_WASM_UNSUPPORTED. The caller disposes.
 */
export function readCoreModule(wasm: Uint8Array): binaryen.Module {
  let module: binaryen.Module;
  try {
    module = readBinary(wasm, SUPPORTED_FEATURES);
  } catch (error) {
    throw new WasmModuleError('E_WASM_UNSUPPORTED', `binaryen could not read the module: ${describe(error)}`, { cause: error });
  }
  let valid: boolean;
  try {
    valid = Boolean(withinStack(() => module.validate()));
  } catch (error) {
    module.dispose();
    throw error;
  }
  if (!valid) {
    module.dispose();
    throw new WasmModuleError(
      'E_WASM_UNSUPPORTED',
      'the module uses a WebAssembly feature fuel metering does not support yet (binaryen validator output above); ' +
        `supported: ${SUPPORTED_FEATURE_NAMES}`,
    );
  }
  return module;
}

/** Writes the module back (name section kept, so traps still show function names) and checks the engine takes it. */
export function emitCoreModule(module: binaryen.Module): Uint8Array {
  if (!withinStack(() => module.validate())) {
    throw new Error('binaryen rejected the rewritten module (validator output above); this is a bug in host/runtime/wasm');
  }
  const previous = binaryen.getDebugInfo();
  binaryen.setDebugInfo(true);
  let bytes: Uint8Array;
  try {
    bytes = withinStack(() => module.emitBinary());
  } finally {
    binaryen.setDebugInfo(previous);
  }
  if (!webAssembly.validate(bytes)) {
    throw new Error('the engine rejected the rewritten module; this is a bug in host/runtime/wasm (feature set?)');
  }
  return bytes;
}

/**
 * Runs a binaryen call that recurses on the nesting of the code (its validator and binary writer do; its
 * reader and this folder's own walks do not). Code nested tens of thousands deep, which V8 accepts, runs it
 * out of stack: that becomes E_WASM_UNSUPPORTED rather than a bare RangeError. binaryen keeps working
 * afterwards (tested); the module being processed is abandoned.
 */
function withinStack<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new WasmModuleError(
        'E_WASM_UNSUPPORTED',
        'the module nests its code too deeply for binaryen to process it (out of stack); ' +
          'split the deeply nested function or deploy without [limits] fuel',
        { cause: error },
      );
    }
    throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) return JSON.stringify(error);
  return String(error);
}
