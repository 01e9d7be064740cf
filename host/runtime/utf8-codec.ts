// The UTF-8 codec module every isolate's TextEncoder and TextDecoder use for large inputs: four functions that are
// each one V8-native string operation on a linear memory, so that a 64 KiB string is encoded (or bytes decoded) by
// V8's own C++ (SIMD for ASCII) instead of by a loop in WebAssembly or JS. Measured in an isolate on this machine: a
// 64 KiB ASCII string in ~1 µs, where the js-string encoder (internal/utf8-encode.wat) takes ~55 µs, which was
// most of the CPU charged to a worker streaming TextEncoder chunks.
//
// The operations are those of the WebAssembly stringref proposal, which V8 implements behind
// --experimental-wasm-stringref. The flag is not left on: guests' modules must not get an experimental feature.
// It is turned on for the one synchronous compile below, on the main thread, when this module is first imported
// (before the host has created any isolate that could compile something meanwhile), and off again; the compiled
// module keeps the features it was compiled with and is handed to each isolate compiled (__edgeInit's options),
// where only the prelude holds it. Where V8 has no stringref (another Node), the module is null and the prelude
// keeps its js-string encoder and its JS decoder.
import { setFlagsFromString } from 'node:v8';
import { webAssembly, type WasmModule } from '../core/webassembly-api.ts';

/** Bytes of linear memory the codec has (4 pages): room for ENCODE_BLOCK_UNITS units at 3 bytes each. */
export const UTF8_CODEC_MEMORY_BYTES = 4 * 65536;

const STRINGREF = 0x67; // value type (ref null string)
const STRING = 0x67; // heap type string
const EXTERNREF = 0x6f;
const I32 = 0x7f;

/** A section: id, byte length (LEB128), content. */
function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function name(s: string): number[] {
  return [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** A stringref instruction: the 0xfb prefix, then its opcode as LEB128. */
function op(code: number): number[] {
  return [0xfb, ...leb(code)];
}

const LOCAL_GET = 0x20;
const END = 0x0b;

/**
 * The module, in WAT terms:
 *   (memory (export "m") 4)
 *   (func (export "enc") (param $s stringref) (param $at i32) (result i32)
 *     (string.encode_lossy_utf8 0 $s $at))     ;; the UTF-8 of s at $at, lone surrogates as U+FFFD; the byte count
 *   (func (export "dec") (param $at i32) (param $len i32) (result stringref)
 *     (string.new_lossy_utf8 0 $at $len))      ;; WHATWG decoding: each maximal bad subpart becomes U+FFFD
 *   (func (export "strict") (param $at i32) (param $len i32) (result stringref)
 *     (string.new_utf8_try 0 $at $len))        ;; null when the bytes are not valid UTF-8
 */
export function utf8CodecBytes(): Uint8Array {
  const types = section(1, [
    2,
    0x60, 2, EXTERNREF, I32, 1, I32, //           0: enc
    0x60, 2, I32, I32, 1, STRINGREF, //           1: dec, strict
  ]);
  const funcs = section(3, [3, 0, 1, 1]);
  const memory = section(5, [1, 0x00, UTF8_CODEC_MEMORY_BYTES / 65536]);
  const exports = section(7, [4, ...name('enc'), 0, 0, ...name('dec'), 0, 1, ...name('strict'), 0, 2, ...name('m'), 2, 0]);
  const body = (code: number[]): number[] => [...leb(code.length + 1), 0 /* no locals */, ...code];
  const enc = [LOCAL_GET, 0, ...op(0x1a) /* any.convert_extern */, ...op(0x16), STRING /* ref.cast (ref string) */,
    LOCAL_GET, 1, ...op(0x8d) /* string.encode_lossy_utf8 */, 0, END];
  const dec = [LOCAL_GET, 0, LOCAL_GET, 1, ...op(0x8b) /* string.new_lossy_utf8 */, 0, END];
  const strict = [LOCAL_GET, 0, LOCAL_GET, 1, ...op(0x8f) /* string.new_utf8_try */, 0, END];
  const code = section(10, [3, ...body(enc), ...body(dec), ...body(strict)]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...funcs, ...memory, ...exports, ...code]);
}

function compile(): WasmModule | null {
  const bytes = utf8CodecBytes();
  if (webAssembly.validate(bytes)) return new webAssembly.Module(bytes); // the process runs with the flag on already
  setFlagsFromString('--experimental-wasm-stringref');
  try {
    return new webAssembly.Module(bytes);
  } catch {
    return null; // no stringref in this V8
  } finally {
    setFlagsFromString('--no-experimental-wasm-stringref');
  }
}

/** The compiled codec, or null where this V8 cannot compile it. */
export const utf8CodecModule: WasmModule | null = compile();
