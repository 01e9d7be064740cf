// lol-html compiled to wasm (the `html-rewriter-wasm` package), for the prelude's HTMLRewriter: read and compiled by
// the host once per memory cap, and handed compiled to the isolates that rewrite HTML (the 'htmlrewriter.module' host
// op), which V8 lets share the compiled code. Its memory gets a maximum of the worker's budget, as every guest module
// does (wasm/memory-limit.ts): isolated-vm's memoryLimit does not see WebAssembly memory.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { webAssembly, type WasmModule } from '../core/webassembly-api.ts';
import { capMemories, memoryMbToPages } from './wasm/memory-limit.ts';

let bytes: Uint8Array | null = null;
const compiled = new Map<number, WasmModule>();

/** The lol-html module with its memory capped at `memoryMb`; compiled on first use for each cap. */
export function lolHtmlModule(memoryMb: number): WasmModule {
  const pages = memoryMbToPages(memoryMb);
  let module = compiled.get(pages);
  if (!module) {
    bytes ??= readFileSync(createRequire(import.meta.url).resolve('html-rewriter-wasm/dist/html_rewriter_bg.wasm'));
    module = new webAssembly.Module(capMemories(bytes, pages).bytes);
    compiled.set(pages, module);
  }
  return module;
}
