// The memory rule for core modules, applied at deploy by rewriting the binary: every linear memory is one the
// module defines itself, with a maximum of at most `[limits] memory_mb`. The isolate's memoryLimit does not
// count WebAssembly memory (LAB-NOTES), so the declared maximum is what stops `memory.grow`: past it, grow
// returns -1. Works on the bytes (no binaryen: it has no setter for a memory's maximum), so it costs a
// section scan and one copy.

import { WasmModuleError } from './wasm-module-error.ts';

/** 64 KiB WebAssembly pages per MiB. */
export const PAGES_PER_MIB = 16;
/** The most pages a 32-bit memory can have (4 GiB). */
export const MAX_MEMORY32_PAGES = 65_536;

/** `[limits] memory_mb` as a page count. */
export function memoryMbToPages(memoryMb: number): number {
  if (!Number.isFinite(memoryMb) || memoryMb < 0) throw new RangeError(`memory_mb must be a non-negative number, got ${memoryMb}`);
  return Math.min(MAX_MEMORY32_PAGES, Math.floor(memoryMb * PAGES_PER_MIB));
}

export interface CappedMemory {
  /** Memory index (the module defines all of its memories: imported ones are refused). */
  index: number;
  /** Export names of this memory, if any. */
  exportedAs: string[];
  initialPages: number;
  /** The maximum the module declared, or null if it had none. */
  declaredMaxPages: number | null;
  /** The maximum in the rewritten module: min(declared, cap). */
  maxPages: number;
}

export interface MemoryCapResult {
  /** The module with every memory's maximum at most the cap; the input itself when nothing changed. */
  bytes: Uint8Array;
  memories: CappedMemory[];
}

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;
const KIND_MEMORY = 2;

// Limits flags (core spec + threads + memory64 + custom-page-sizes proposals).
const LIMITS_HAS_MAX = 0x01;
const LIMITS_SHARED = 0x02;
const LIMITS_64 = 0x04;
const LIMITS_PAGE_SIZE = 0x08;

/**
 * Caps every defined memory's maximum at `maxPages` (a smaller declared maximum is kept). Refuses, with
 * E_WASM_MEMORY, a module that imports a memory (unless `allowImportedMemory`) or whose initial size is already above the cap; refuses
 * shared, 64-bit and custom-page-size memories with E_WASM_UNSUPPORTED. Expects a module the engine
 * validated (assertValidCoreModule).
 */
export function capMemories(wasm: Uint8Array, maxPages: number, options: { allowImportedMemory?: boolean } = {}): MemoryCapResult {
  if (!Number.isInteger(maxPages) || maxPages < 0 || maxPages > MAX_MEMORY32_PAGES) {
    throw new RangeError(`memoryMaxPages must be an integer from 0 to ${MAX_MEMORY32_PAGES}, got ${maxPages}`);
  }
  const sections = readSections(wasm);

  const importSection = sections.find((s) => s.id === SECTION_IMPORT);
  // A component's adapter module (the WASI preview1 adapter) imports the memory of the component's main module,
  // which is capped where it is defined: the caller says so.
  if (importSection && !options.allowImportedMemory) {
    for (const memoryImport of memoryImports(wasm, importSection)) {
      throw new WasmModuleError(
        'E_WASM_MEMORY',
        `the module imports its linear memory ("${memoryImport.module}" "${memoryImport.name}"); only modules that ` +
          'define their own memory can be capped to [limits] memory_mb: build the guest without --importMemory',
      );
    }
  }

  const exportNames = new Map<number, string[]>();
  const exportSection = sections.find((s) => s.id === SECTION_EXPORT);
  if (exportSection) {
    for (const { name, kind, index } of exportsOf(wasm, exportSection)) {
      if (kind === KIND_MEMORY) exportNames.set(index, [...(exportNames.get(index) ?? []), name]);
    }
  }

  const memorySection = sections.find((s) => s.id === SECTION_MEMORY);
  if (!memorySection) return { bytes: wasm, memories: [] };

  const reader = new Reader(wasm, memorySection.start);
  const count = reader.u32();
  const memories: CappedMemory[] = [];
  const rewritten: number[] = [...uleb(count)];
  for (let index = 0; index < count; index++) {
    const flags = reader.byte();
    const label = memoryLabel(index, exportNames.get(index) ?? []);
    if (flags & LIMITS_64) {
      throw new WasmModuleError('E_WASM_UNSUPPORTED', `${label} is a 64-bit memory (memory64), which this runtime does not run; build a 32-bit guest`);
    }
    if (flags & LIMITS_SHARED) {
      throw new WasmModuleError('E_WASM_UNSUPPORTED', `${label} is a shared memory (threads), which this runtime does not run; build the guest without shared memory`);
    }
    if (flags & LIMITS_PAGE_SIZE || flags & ~LIMITS_HAS_MAX) {
      throw new WasmModuleError('E_WASM_UNSUPPORTED', `${label} uses memory limits flags 0x${flags.toString(16)} (custom page sizes?), which this runtime does not run`);
    }
    const initialPages = reader.u32();
    const declaredMaxPages = flags & LIMITS_HAS_MAX ? reader.u32() : null;
    if (initialPages > maxPages) {
      throw new WasmModuleError(
        'E_WASM_MEMORY',
        `${label} starts at ${initialPages} pages (${pagesToMib(initialPages)} MiB), above the cap of ${maxPages} pages ` +
          `(${pagesToMib(maxPages)} MiB) from [limits] memory_mb: raise memory_mb or make the guest's initial memory smaller`,
      );
    }
    const capped = declaredMaxPages === null ? maxPages : Math.min(declaredMaxPages, maxPages);
    rewritten.push(LIMITS_HAS_MAX, ...uleb(initialPages), ...uleb(capped));
    memories.push({ index, exportedAs: exportNames.get(index) ?? [], initialPages, declaredMaxPages, maxPages: capped });
  }
  if (reader.offset !== memorySection.end) throw new Error('memory section longer than its entries: was the module validated?');

  // Every memory now has a maximum, exported ones included; nothing unbounded can leave the module.
  const before = wasm.subarray(memorySection.start, memorySection.end);
  if (before.length === rewritten.length && before.every((byte, i) => byte === rewritten[i])) return { bytes: wasm, memories };
  const size = uleb(rewritten.length);
  const out = new Uint8Array(memorySection.headerStart + 1 + size.length + rewritten.length + (wasm.length - memorySection.end));
  out.set(wasm.subarray(0, memorySection.headerStart), 0);
  let offset = memorySection.headerStart;
  out[offset++] = SECTION_MEMORY;
  out.set(size, offset);
  offset += size.length;
  out.set(rewritten, offset);
  offset += rewritten.length;
  out.set(wasm.subarray(memorySection.end), offset);
  return { bytes: out, memories };
}

/**
 * Refuses (E_WASM_MEMORY, naming it) any memory of `wasm` without a maximum or with one above `maxPages`;
 * the final check on what the deployer stores, whatever rewrote it last. An exported memory without a
 * maximum would let the guest, or the host through the export, grow it without bound.
 */
export function assertMemoriesCapped(wasm: Uint8Array, maxPages: number, options: { allowImportedMemory?: boolean } = {}): void {
  for (const memory of capMemories(wasm, maxPages, options).memories) {
    if (memory.declaredMaxPages === null || memory.declaredMaxPages > maxPages) {
      const bound = memory.declaredMaxPages === null ? 'no maximum' : `a maximum of ${memory.declaredMaxPages} pages`;
      throw new WasmModuleError(
        'E_WASM_MEMORY',
        `${memoryLabel(memory.index, memory.exportedAs)} has ${bound}, above the cap of ${maxPages} pages; ` +
          'refusing a memory that could grow past [limits] memory_mb',
      );
    }
  }
}

function memoryLabel(index: number, exportedAs: string[]): string {
  return exportedAs.length > 0 ? `memory ${index} (exported as ${exportedAs.map((n) => `"${n}"`).join(', ')})` : `memory ${index}`;
}

function pagesToMib(pages: number): string {
  return String(pages / PAGES_PER_MIB);
}

interface Section {
  id: number;
  /** Offset of the id byte. */
  headerStart: number;
  /** Contents: [start, end). */
  start: number;
  end: number;
}

function readSections(wasm: Uint8Array): Section[] {
  const sections: Section[] = [];
  const reader = new Reader(wasm, 8);
  while (reader.offset < wasm.length) {
    const headerStart = reader.offset;
    const id = reader.byte();
    const size = reader.u32();
    const start = reader.offset;
    sections.push({ id, headerStart, start, end: start + size });
    reader.offset = start + size;
  }
  return sections;
}

function* memoryImports(wasm: Uint8Array, section: Section): Generator<{ module: string; name: string }> {
  const reader = new Reader(wasm, section.start);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const module = reader.name();
    const name = reader.name();
    const kind = reader.byte();
    switch (kind) {
      case 0x00: // function: type index
        reader.u32();
        break;
      case 0x01: // table: reference type, limits
        reader.refType();
        reader.limits();
        break;
      case 0x02: // memory
        yield { module, name };
        reader.limits();
        break;
      case 0x03: // global: value type, mutability
        reader.valueType();
        reader.byte();
        break;
      case 0x04: // tag: attribute, type index
        reader.byte();
        reader.u32();
        break;
      default:
        throw new WasmModuleError('E_WASM_UNSUPPORTED', `unknown import kind 0x${kind.toString(16)} for "${module}" "${name}"`);
    }
  }
}

function exportsOf(wasm: Uint8Array, section: Section): Array<{ name: string; kind: number; index: number }> {
  const reader = new Reader(wasm, section.start);
  const count = reader.u32();
  const out: Array<{ name: string; kind: number; index: number }> = [];
  for (let i = 0; i < count; i++) out.push({ name: reader.name(), kind: reader.byte(), index: reader.u32() });
  return out;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** A cursor over a validated binary: no bounds errors to report, the engine already checked. */
class Reader {
  readonly bytes: Uint8Array;
  offset: number;

  constructor(bytes: Uint8Array, offset: number) {
    this.bytes = bytes;
    this.offset = offset;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error('read past the end of the module: was it validated?');
    return this.bytes[this.offset++]!;
  }

  /** Unsigned LEB128 up to 64 bits, as a number (exact below 2^53; only used for sizes and indices). */
  u32(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
  }

  /** Signed LEB128 (a heap type index); only skipped. */
  private skipLeb(): void {
    while (this.byte() & 0x80);
  }

  name(): string {
    const length = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & LIMITS_HAS_MAX) this.u32();
    if (flags & LIMITS_PAGE_SIZE) this.u32();
  }

  refType(): void {
    const code = this.byte();
    if (code === 0x63 || code === 0x64) this.skipLeb(); // (ref null ht) / (ref ht)
  }

  valueType(): void {
    this.refType(); // numeric and vector types are one byte, like the short reference types
  }
}
