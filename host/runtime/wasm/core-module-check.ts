// The first deploy-time check of a core module: is it WebAssembly the engine accepts, and a core module
// rather than a component? Done with the engine itself (what will run it), before binaryen sees the bytes.

import { WasmModuleError } from './wasm-module-error.ts';
import { webAssembly } from '../../core/webassembly-api.ts';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** What a binary is by its header: a core module, a component (layer 1), or not WebAssembly at all. */
export function wasmKind(wasm: Uint8Array): 'core' | 'component' | 'other' {
  if (wasm.length < 8 || WASM_MAGIC.some((byte, i) => wasm[i] !== byte)) return 'other';
  const version = wasm[4]! | (wasm[5]! << 8);
  const layer = wasm[6]! | (wasm[7]! << 8);
  if (layer === 1) return 'component';
  return layer === 0 && version === 1 ? 'core' : 'other';
}

/** Throws E_WASM_INVALID (with the engine's reason) or E_WASM_UNSUPPORTED (a component) unless `wasm` is a valid core module. */
export function assertValidCoreModule(wasm: Uint8Array): void {
  if (!(wasm instanceof Uint8Array)) {
    throw new WasmModuleError('E_WASM_INVALID', 'not a valid WebAssembly module: expected the module as a Uint8Array');
  }
  if (wasm.length < 8 || WASM_MAGIC.some((byte, i) => wasm[i] !== byte)) {
    throw new WasmModuleError(
      'E_WASM_INVALID',
      `not a valid WebAssembly module: it does not start with the magic bytes \\0asm (${wasm.length} bytes)`,
    );
  }
  const version = wasm[4]! | (wasm[5]! << 8);
  if (wasmKind(wasm) === 'component') {
    throw new WasmModuleError(
      'E_WASM_UNSUPPORTED',
      'this is a WebAssembly component, not a core module: pass the core modules jco transpile extracts from it ' +
        '(<name>.core.wasm, <name>.core2.wasm, ...)',
    );
  }
  if (version !== 1) {
    throw new WasmModuleError('E_WASM_INVALID', `not a valid WebAssembly module: binary version ${version}, expected 1`);
  }
  if (webAssembly.validate(wasm)) return;
  let reason = 'the engine rejected it';
  try {
    new webAssembly.Module(wasm);
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  throw new WasmModuleError('E_WASM_INVALID', `not a valid WebAssembly module: ${reason}`);
}
