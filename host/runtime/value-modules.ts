// A JS worker's WebAssembly, text and data modules (wrangler's CompiledWasm, Text, Data) as the isolate gets them.
// A `.wasm` module is compiled by the host's V8 once per version and handed compiled into each isolate (isolated-vm
// transfers a WebAssembly.Module, and V8 shares the compiled code): for photon's 1.5 MB module, rewriting and
// compiling take 20-40 ms here (once per version), handing it over 0.1-0.25 ms per cold start. Compiling inside the isolate would cost every cold start, and async
// WebAssembly.compile there never settles unless the host keeps entering the isolate. The bytes compiled are the
// ones the isolate's own `new WebAssembly.Module` would compile (prelude wasm-memory.js): every memory capped at the
// worker's budget and exported under a hidden name, so that the prelude counts it against `limits.memory_mb`
// (isolated-vm's memoryLimit does not see WebAssembly memory); the module is adopted by the prelude before the
// worker's code can instantiate it.
import { EdgeError } from '../core/errors.ts';
import { webAssembly, type WasmModule } from '../core/webassembly-api.ts';
import { errorText } from './error-response.ts';
import { memoryMbToPages } from './wasm/memory-limit.ts';
import type { ValueModule } from './worker-types.ts';
// @ts-expect-error plain JS module of the isolate prelude, without type declarations
import { rewriteWasmModule as rewriteUntyped } from './js/prelude/wasm-memory.js';

const rewriteWasmModule = rewriteUntyped as (bytes: Uint8Array, maxPages: number) => { bytes: Uint8Array; initialBytes: number; hidden: string[] | null };

/** The global the bootstrap reads value modules from (and deletes once the worker's modules are evaluated). */
export const VALUE_MODULES_GLOBAL = '__edgeValueModules';

interface CompiledWasm {
  module: WasmModule;
  initialBytes: number;
  hidden: string[] | null;
}

/** What a value module is in the isolate: a compiled module (with what the prelude needs), a string, or bytes. */
export type ValueModuleValue = { kind: 'wasm'; wasm: CompiledWasm } | { kind: 'text'; text: string } | { kind: 'data'; bytes: Uint8Array };

const prepared = new WeakMap<ValueModule, Map<number, ValueModuleValue>>();

/** `module`'s value for a worker whose memory budget is `memoryMb`, made once per version and budget in this process. */
export function valueOf(module: ValueModule, memoryMb: number): ValueModuleValue {
  const pages = memoryMbToPages(memoryMb);
  let byPages = prepared.get(module);
  if (!byPages) {
    byPages = new Map();
    prepared.set(module, byPages);
  }
  let value = byPages.get(pages);
  if (!value) {
    value = prepare(module, pages, memoryMb);
    byPages.set(pages, value);
  }
  return value;
}

function prepare(module: ValueModule, pages: number, memoryMb: number): ValueModuleValue {
  if (module.type === 'Text') return { kind: 'text', text: new TextDecoder().decode(module.bytes) };
  if (module.type === 'Data') return { kind: 'data', bytes: module.bytes };
  if (!webAssembly.validate(module.bytes)) {
    let why = 'not a valid WebAssembly module';
    try {
      new webAssembly.Module(module.bytes);
    } catch (err) {
      why = `not a valid WebAssembly module: ${errorText(err)}`;
    }
    throw new EdgeError('E_MODULE_INVALID', `${module.path}: ${why}.`, { details: { module: module.path } });
  }
  let rewritten;
  try {
    rewritten = rewriteWasmModule(module.bytes, pages);
  } catch (err) {
    throw new EdgeError('E_MODULE_INVALID', `${module.path}: ${errorText(err)} (the worker's limits.memory_mb is ${memoryMb}).`, { details: { module: module.path } });
  }
  return { kind: 'wasm', wasm: { module: new webAssembly.Module(rewritten.bytes), initialBytes: rewritten.initialBytes, hidden: rewritten.hidden } };
}

/** The values handed to the isolate, by path (an ArrayBuffer of its own per isolate for a Data module). */
export function isolateValues(modules: readonly ValueModule[], memoryMb: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of modules) {
    const v = valueOf(m, memoryMb);
    const value = v.kind === 'wasm' ? v.wasm.module : v.kind === 'text' ? v.text : v.bytes.slice().buffer;
    Object.defineProperty(out, m.path, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The JS module that stands for value module `module` in the isolate: its default export is the value. */
export function valueModuleSource(module: ValueModule, memoryMb: number): string {
  const v = valueOf(module, memoryMb);
  const read = `globalThis.${VALUE_MODULES_GLOBAL}[${JSON.stringify(module.path)}]`;
  if (v.kind !== 'wasm') return `export default ${read};\n`;
  return `export default globalThis.__edgeHost.adoptWasmModule(${read}, ${v.wasm.initialBytes}, ${JSON.stringify(v.wasm.hidden)});\n`;
}
