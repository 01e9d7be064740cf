// Typed handle on the engine's WebAssembly API. The project compiles against lib es2023 without DOM, which
// declares no WebAssembly types; this module types the few parts the wasm runtime uses, without adding globals.

export type WasmValue = number | bigint | null | object;

export interface WasmGlobal {
  value: WasmValue;
}

export interface WasmGlobalDescriptor {
  value: 'i32' | 'i64' | 'f32' | 'f64';
  mutable?: boolean;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

// Opaque compiled module.
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export type WasmImports = Record<string, Record<string, unknown>>;

export interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: {
    new (bytes: Uint8Array): WasmModule;
    customSections(module: WasmModule, name: string): ArrayBuffer[];
    exports(module: WasmModule): Array<{ name: string; kind: string }>;
    imports(module: WasmModule): Array<{ module: string; name: string; kind: string }>;
  };
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Global: new (descriptor: WasmGlobalDescriptor, value?: WasmValue) => WasmGlobal;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  CompileError: new (message?: string) => Error;
  RuntimeError: new (message?: string) => Error;
}

export const webAssembly: WebAssemblyApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
