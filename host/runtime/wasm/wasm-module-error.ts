// The error every deploy-time check of a core module throws: one class, a stable code per kind of problem.

export type WasmModuleErrorCode =
  /** Not a WebAssembly module at all, or one the engine rejects (truncated, malformed). */
  | 'E_WASM_INVALID'
  /** Valid WebAssembly using something this runtime does not run or cannot meter (components, memory64, ...). */
  | 'E_WASM_UNSUPPORTED'
  /** A linear memory that breaks the memory rule: imported, or larger than `[limits] memory_mb` from the start. */
  | 'E_WASM_MEMORY';

/** Why a core module cannot be deployed; `message` says what to change. */
export class WasmModuleError extends Error {
  readonly code: WasmModuleErrorCode;

  constructor(code: WasmModuleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WasmModuleError';
    this.code = code;
  }
}
