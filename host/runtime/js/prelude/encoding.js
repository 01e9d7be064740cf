// TextEncoder / TextDecoder (UTF-8 only, per the WHATWG Encoding Standard), plus the UTF-8 helpers that
// Body, URLSearchParams and the streams share. Written by hand: V8 has no built-in codec a bare isolate can reach and
// the spec'd algorithm is small; a library would only add bundle weight to every isolate. Large inputs go to the
// host's codec module (host/runtime/utf8-codec.ts: V8's own UTF-8 conversion, ~1 µs for 64 KiB of ASCII) when the
// host gave one; else strings are encoded by a small WebAssembly module (internal/utf8-encode.wat) that copies a
// string's units natively (wasm:js-string), where a JS charCodeAt loop costs 1.5-5 ns a unit, and up to 40x more on
// a string sliced from a concatenation, and bytes are decoded by the state machine below.
import { streams } from './streams.js';
import { UTF8_ENCODE_WASM } from './internal/utf8-wasm.js';

const fromCharCode = String.fromCharCode;
/** String.prototype.slice as it is now, called as stringSlice(s, start, end) (guest code may replace the method). */
const stringSlice = /** @type {(s: string, start: number, end: number) => string} */ (Function.prototype.call.bind(String.prototype.slice));
/** String.prototype.charCodeAt as it is now, called as charCodeAt(s, i). */
const charCodeAt = /** @type {(s: string, i: number) => number} */ (Function.prototype.call.bind(String.prototype.charCodeAt));
const CHUNK = 0x2000;

function isBufferSource(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer);
}

function toBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (isBufferSource(input)) return new Uint8Array(input);
  throw new TypeError("The \"input\" argument must be an ArrayBuffer or ArrayBufferView");
}

/** Number of UTF-8 bytes for s from index `from` (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(s, from) {
  let n = 0;
  const len = s.length;
  for (let i = from; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// The originals, captured by __edgeInit (captureCodecWasm; a V8 snapshot context has no WebAssembly yet) before
// guest code could replace them and before wasm-memory.js wraps the namespace: the codec's memory is the runtime's
// own, not the worker's. The prelude harness of the tests, which evaluates the prelude in a plain context,
// captures them at load.
/** With the js-string builtins option (V8 13), which lib.dom's WebAssembly types do not know yet. @typedef {new (bytes: Uint8Array, options: { builtins: string[] }) => WebAssembly.Module} WasmModuleWithBuiltins */
/** @type {{ Module: WasmModuleWithBuiltins, Instance: typeof WebAssembly.Instance, exports: () => unknown, buffer: () => ArrayBuffer } | null} */
let wasm = null;
/** The host's codec module (host/runtime/utf8-codec.ts, EdgeInitOptions.utf8Codec), or null without one. @type {WebAssembly.Module | null} */
let codecModule = null;

/**
 * Keeps what the encoder needs of the WebAssembly namespace, as it is now, and the host's codec module if given.
 * @param {unknown} WA  globalThis.WebAssembly
 * @param {unknown} [codec]  EdgeInitOptions.utf8Codec
 */
export function captureCodecWasm(WA, codec = undefined) {
  if (WA === null || typeof WA !== 'object') return;
  const W = /** @type {typeof WebAssembly} */ (WA);
  const exportsGetter = Object.getOwnPropertyDescriptor(W.Instance.prototype, 'exports')?.get;
  const bufferGetter = Object.getOwnPropertyDescriptor(W.Memory.prototype, 'buffer')?.get;
  if (typeof W.Module !== 'function' || typeof W.Instance !== 'function' || !exportsGetter || !bufferGetter) return;
  wasm = { Module: /** @type {WasmModuleWithBuiltins} */ (/** @type {unknown} */ (W.Module)), Instance: W.Instance, exports: exportsGetter, buffer: bufferGetter };
  codecModule = codec instanceof W.Module ? codec : null;
  wasmEncoder = null;
}

/** Strings shorter than this are encoded in JS: the module is instantiated on first use, and a short loop costs less than the call. */
const WASM_MIN_UNITS = 512;
/** Bytes shorter than this are decoded in JS (a call of the codec costs about what a short loop does). */
const NATIVE_DECODE_MIN_BYTES = 256;

/**
 * The codec of this isolate: `enc(s, start, end)` writes the UTF-8 of units [start, end) at the start of `out` (the
 * module's memory) and returns the byte count; `block` units at most per call (3 bytes each fit `out`). With the
 * host's module, `dec(at, len)` / `strict(at, len)` decode bytes of `out` natively (strict: null if not valid UTF-8);
 * without it (the js-string module, internal/utf8-encode.wat) they are null and the JS decoder does the work.
 * @typedef {{ enc: (s: string, start: number, end: number) => number, out: Uint8Array, block: number, dec: ((at: number, len: number) => string) | null, strict: ((at: number, len: number) => string | null) | null }} Codec
 */
/** @type {Codec | false | null} null: not tried yet, false: unavailable */
let wasmEncoder = null;

/** The codec of this isolate, instantiated on first use, or null where it cannot be. */
function largeEncoder() {
  if (wasmEncoder === null) {
    wasmEncoder = false;
    if (wasm !== null && codecModule !== null) {
      try {
        const x = /** @type {{ enc: (s: string, at: number) => number, dec: (at: number, len: number) => string, strict: (at: number, len: number) => string | null, m: WebAssembly.Memory }} */ (wasm.exports.call(new wasm.Instance(codecModule, {})));
        const out = new Uint8Array(wasm.buffer.call(x.m));
        const native = x.enc;
        wasmEncoder = { enc: (s, start, end) => codecEncode(native, s, start, end), out, block: Math.floor(out.length / 3), dec: x.dec, strict: x.strict };
      } catch {
        // Not instantiable here: the js-string module below.
      }
    }
    if (wasmEncoder === false && wasm !== null) {
      try {
        const module = new wasm.Module(UTF8_ENCODE_WASM, { builtins: ['js-string'] });
        const exports = /** @type {{ enc: (s: string, start: number, end: number) => number, m: WebAssembly.Memory }} */ (wasm.exports.call(new wasm.Instance(module, {})));
        const out = new Uint8Array(wasm.buffer.call(exports.m));
        wasmEncoder = { enc: exports.enc, out, block: Math.floor(out.length / 3), dec: null, strict: null };
      } catch {
        // No js-string builtins in this V8: the JS loop below does the work.
      }
    }
  }
  return wasmEncoder || null;
}

/**
 * The UTF-8 of s[start, end) into the codec's memory from 0, by its native encode; the byte count.
 *
 * The codec is only ever handed a slice of s, never s itself. V8's encode (Runtime_WasmStringEncodeWtf8) reads the
 * instance without a handle and then flattens the string it gets; a string made by concatenation (a cons string)
 * is flattened by allocating, and a GC that moves the instance there leaves V8 writing through a stale pointer: a
 * SIGSEGV of the whole host, seen under load and every time with --stress-compaction (test/utf8-codec-gc.test.ts).
 * A slice that is a proper part of s is made by String.prototype.slice, which flattens s first, in JS, where a GC is
 * harmless; what reaches the codec is then already flat. So a whole string goes as two slices, cut where no
 * surrogate pair is split.
 * @param {(s: string, at: number) => number} native
 * @param {string} s
 * @param {number} start
 * @param {number} end
 */
function codecEncode(native, s, start, end) {
  if (start !== 0 || end !== s.length) return native(stringSlice(s, start, end), 0);
  const cut = blockEnd(s, 0, end, end - 1);
  const n = native(stringSlice(s, 0, cut), 0);
  return n + native(stringSlice(s, cut, end), n);
}

/** The block of s that starts at i: `block` units, one less when that would split a surrogate pair. */
function blockEnd(s, i, len, block) {
  if (len - i <= block) return len;
  const end = i + block;
  return (charCodeAt(s, end - 1) & 0xfc00) === 0xd800 ? end - 1 : end;
}

/** utf8Encode for a large string, by the codec. */
function encodeLarge(w, s) {
  const len = s.length;
  // Most text is ASCII: one byte a unit. More is made room for as it turns up, at the rate seen so far.
  let out = new Uint8Array(len);
  let p = 0;
  for (let i = 0; i < len; ) {
    const end = blockEnd(s, i, len, w.block);
    const n = w.enc(s, i, end);
    if (p + n > out.length) {
      const estimate = Math.ceil(((p + n) / end) * len * 1.0625);
      const bigger = new Uint8Array(Math.max(estimate, p + n + (len - end)));
      bigger.set(out.subarray(0, p));
      out = bigger;
    }
    out.set(n === w.out.length ? w.out : w.out.subarray(0, n), p);
    p += n;
    i = end;
  }
  return p === out.length ? out : out.slice(0, p);
}

/** UTF-8 encodes s into an exactly sized Uint8Array (USVString conversion: lone surrogates become U+FFFD). */
export function utf8Encode(s) {
  const len = s.length;
  if (len >= WASM_MIN_UNITS) {
    const w = largeEncoder();
    if (w !== null) return encodeLarge(w, s);
  }
  let out = new Uint8Array(len);
  let i = 0;
  // ASCII fast path: most strings in practice are ASCII and need exactly len bytes.
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    out[i] = c;
  }
  if (i === len) return out;
  const ascii = out.subarray(0, i);
  out = new Uint8Array(i + utf8Length(s, i));
  out.set(ascii);
  let p = i;
  for (; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
    } else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[p++] = 0xf0 | (c >> 18);
          out[p++] = 0x80 | ((c >> 12) & 0x3f);
          out[p++] = 0x80 | ((c >> 6) & 0x3f);
          out[p++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 0x3f);
      out[p++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

/**
 * The string of one char per element of `units` from `start` to `end` (UTF-16 units, or bytes as latin1), made with
 * the String.fromCharCode this module captured, CHUNK elements per call.
 * @param {Uint8Array | Uint16Array} units
 * @param {number} start
 * @param {number} end
 * @returns {string}
 */
export function unitsToString(units, start, end) {
  if (end - start <= CHUNK) return fromCharCode.apply(null, /** @type {number[]} */ (/** @type {ArrayLike<number>} */ (units.subarray(start, end))));
  let s = '';
  for (let i = start; i < end; i += CHUNK) s += fromCharCode.apply(null, /** @type {number[]} */ (/** @type {ArrayLike<number>} */ (units.subarray(i, Math.min(i + CHUNK, end)))));
  return s;
}

function asciiPrefix(bytes) {
  const len = bytes.length;
  let i = 0;
  while (i < len && bytes[i] < 0x80) i++;
  return i;
}

/**
 * Where to end a block of bytes that would end at k so that it splits no sequence: at the last byte at or before k
 * that is not a continuation byte (it starts a sequence, or is ASCII), looking back three bytes; when those are all
 * continuation bytes, no sequence can still be open at k (a sequence is four bytes at most), and k itself is.
 * Decoding the bytes before and from that point separately then gives what decoding them at once does.
 * @param {Uint8Array} bytes
 * @param {number} k
 */
function sequenceStart(bytes, k) {
  for (let m = k; m >= k - 3; m--) if ((bytes[m] & 0xc0) !== 0x80) return m;
  return k;
}

/**
 * The WHATWG UTF-8 decoder as a resumable state machine (so `stream: true` works across chunk boundaries).
 * Invalid input yields U+FFFD per maximal subpart, or a TypeError when fatal.
 */
class Utf8Decoder {
  constructor(fatal) {
    this.fatal = fatal;
    this.reset();
  }

  reset() {
    this.need = 0;
    this.seen = 0;
    this.cp = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  /** Decodes bytes into a string; with flush the trailing incomplete sequence becomes an error. */
  decode(bytes, flush) {
    const len = bytes.length;
    if (this.need === 0 && len >= NATIVE_DECODE_MIN_BYTES) {
      const w = largeEncoder();
      if (w !== null && w.dec !== null) return this.#decodeNative(w, bytes, flush);
    }
    // Fast path: a whole ASCII chunk with no pending sequence.
    if (this.need === 0) {
      const a = asciiPrefix(bytes);
      if (a === len) return len <= CHUNK ? fromCharCode.apply(null, bytes) : unitsToString(bytes, 0, len);
    }
    const out = new Uint16Array(len + 4);
    let n = 0;
    let { need, seen, cp, lower, upper } = this;
    for (let i = 0; i < len; i++) {
      const b = bytes[i];
      if (need === 0) {
        if (b < 0x80) {
          out[n++] = b;
        } else if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
          cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          else if (b === 0xed) upper = 0x9f;
          need = 2;
          cp = b & 0xf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          else if (b === 0xf4) upper = 0x8f;
          need = 3;
          cp = b & 0x7;
        } else {
          if (this.fatal) return this.#fail();
          out[n++] = 0xfffd;
        }
        continue;
      }
      if (b < lower || b > upper) {
        // The byte ends the bad sequence (one U+FFFD) and is then processed again on its own.
        need = seen = cp = 0;
        lower = 0x80;
        upper = 0xbf;
        if (this.fatal) return this.#fail();
        out[n++] = 0xfffd;
        i--;
        continue;
      }
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      if (++seen === need) {
        if (cp > 0xffff) {
          cp -= 0x10000;
          out[n++] = 0xd800 | (cp >> 10);
          out[n++] = 0xdc00 | (cp & 0x3ff);
        } else {
          out[n++] = cp;
        }
        need = seen = cp = 0;
      }
    }
    if (flush && need !== 0) {
      need = seen = cp = 0;
      lower = 0x80;
      upper = 0xbf;
      if (this.fatal) return this.#fail();
      out[n++] = 0xfffd;
    }
    this.need = need;
    this.seen = seen;
    this.cp = cp;
    this.lower = lower;
    this.upper = upper;
    return unitsToString(out, 0, n);
  }

  /**
   * decode() by the host's codec, from a state with no sequence pending: the bytes go through the codec's memory a
   * block at a time, each block ending before a byte that starts a sequence, so that no sequence is split; in a
   * stream, a sequence started by one of the last three bytes (which the next chunk may complete) is left to the
   * state machine.
   * @param {Codec} w
   * @param {Uint8Array} bytes
   * @param {boolean} flush
   * @returns {string}
   */
  #decodeNative(w, bytes, flush) {
    const len = bytes.length;
    let j = len;
    if (!flush) {
      for (let k = len - 1; k >= len - 3; k--) {
        if (bytes[k] >= 0xc0) {
          j = k;
          break;
        }
      }
    }
    const room = w.out.length;
    const decode = /** @type {(at: number, len: number) => string | null} */ (this.fatal ? w.strict : w.dec);
    let s = '';
    for (let i = 0; i < j; ) {
      const end = j - i <= room ? j : sequenceStart(bytes, i + room);
      w.out.set(bytes.subarray(i, end));
      const part = decode(0, end - i);
      if (part === null) return this.#fail();
      s += part;
      i = end;
    }
    return j === len ? s : s + this.decode(bytes.subarray(j), flush);
  }

  /** @returns {never} */
  #fail() {
    this.reset();
    throw new TypeError('The encoded data was not valid for encoding utf-8');
  }
}

/** UTF-8 decode with BOM stripping and replacement (what Body.text() and URLSearchParams use). */
export function utf8Decode(bytes) {
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  return new Utf8Decoder(false).decode(start === 0 ? bytes : bytes.subarray(start), true);
}

export class TextEncoder {
  get encoding() {
    return 'utf-8';
  }

  encode(input = '') {
    return utf8Encode(String(input));
  }

  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError('The "destination" argument must be a Uint8Array');
    const s = String(source);
    const len = s.length;
    const cap = destination.length;
    if (len >= WASM_MIN_UNITS && cap >= len * 3) {
      // Room for the worst case: all of it is written, by the WebAssembly encoder.
      const w = largeEncoder();
      if (w !== null) {
        let written = 0;
        for (let i = 0; i < len; ) {
          const end = blockEnd(s, i, len, w.block);
          const n = w.enc(s, i, end);
          destination.set(w.out.subarray(0, n), written);
          written += n;
          i = end;
        }
        return { read: len, written };
      }
    }
    let read = 0;
    let written = 0;
    while (read < len) {
      let c = s.charCodeAt(read);
      if (c < 0x80) {
        if (written >= cap) break;
        destination[written++] = c;
        read++;
        continue;
      }
      let units = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = read + 1 < len ? s.charCodeAt(read + 1) : 0;
        if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          units = 2;
        } else {
          c = 0xfffd;
        }
      }
      if (c < 0x800) {
        if (written + 2 > cap) break;
        destination[written++] = 0xc0 | (c >> 6);
        destination[written++] = 0x80 | (c & 0x3f);
      } else if (c < 0x10000) {
        if (written + 3 > cap) break;
        destination[written++] = 0xe0 | (c >> 12);
        destination[written++] = 0x80 | ((c >> 6) & 0x3f);
        destination[written++] = 0x80 | (c & 0x3f);
      } else {
        if (written + 4 > cap) break;
        destination[written++] = 0xf0 | (c >> 18);
        destination[written++] = 0x80 | ((c >> 12) & 0x3f);
        destination[written++] = 0x80 | ((c >> 6) & 0x3f);
        destination[written++] = 0x80 | (c & 0x3f);
      }
      read += units;
    }
    return { read, written };
  }
}
Object.defineProperty(TextEncoder.prototype, Symbol.toStringTag, { value: 'TextEncoder', configurable: true });

const UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];
// WHATWG: these all mean UTF-16LE (jco's glue decodes WebAssembly guests' UTF-16 strings with 'utf-16').
const UTF16LE_LABELS = ['utf-16', 'utf-16le', 'csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff'];

/** UTF-16LE: pairs of bytes into code units; an odd byte or a high surrogate at a chunk's end waits for the next. */
class Utf16leDecoder {
  constructor(fatal) {
    this.fatal = fatal;
    this.reset();
  }

  reset() {
    this.carry = -1;
    this.pendingHigh = '';
  }

  decode(bytes, flush) {
    let start = 0;
    let head = this.pendingHigh;
    this.pendingHigh = '';
    if (this.carry >= 0 && bytes.length > 0) {
      head += String.fromCharCode(this.carry | (bytes[0] << 8));
      this.carry = -1;
      start = 1;
    }
    const n = (bytes.length - start) >> 1;
    let body = '';
    if (n > 0) {
      const aligned = (bytes.byteOffset + start) % 2 === 0;
      const units = aligned ? new Uint16Array(bytes.buffer, bytes.byteOffset + start, n) : new Uint16Array(bytes.slice(start, start + n * 2).buffer);
      // apply() takes any array-like, a typed array too.
      for (let i = 0; i < n; i += CHUNK) body += fromCharCode.apply(null, /** @type {number[]} */ (/** @type {ArrayLike<number>} */ (units.subarray(i, Math.min(n, i + CHUNK)))));
    }
    if ((bytes.length - start) % 2 === 1) this.carry = bytes[bytes.length - 1];
    let s = head + body;
    if (!flush && s.length > 0) {
      const last = s.charCodeAt(s.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.pendingHigh = s.slice(-1);
        s = s.slice(0, -1);
      }
    } else if (flush && this.carry >= 0) {
      this.carry = -1;
      if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-16le');
      s += '\ufffd';
    }
    if (!s.isWellFormed()) {
      if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-16le');
      s = s.toWellFormed();
    }
    if (flush) this.reset();
    return s;
  }
}

export class TextDecoder {
  #decoder;
  #encoding;
  #fatal;
  #ignoreBOM;
  #bomSeen = false;
  #streaming = false;

  /**
   * @param {unknown} [label]
   * @param {{ fatal?: unknown, ignoreBOM?: unknown } | null} [options]  TextDecoderOptions
   */
  constructor(label = 'utf-8', options = undefined) {
    const l = String(label).trim().toLowerCase();
    const utf16 = UTF16LE_LABELS.includes(l);
    if (!utf16 && !UTF8_LABELS.includes(l)) throw new RangeError(`The "${label}" encoding is not supported`);
    const opts = options == null ? {} : options;
    if (typeof opts !== 'object' && typeof opts !== 'function') throw new TypeError('The "options" argument must be an object');
    this.#fatal = Boolean(opts.fatal);
    this.#ignoreBOM = Boolean(opts.ignoreBOM);
    this.#encoding = utf16 ? 'utf-16le' : 'utf-8';
    this.#decoder = utf16 ? new Utf16leDecoder(this.#fatal) : new Utf8Decoder(this.#fatal);
  }

  get encoding() {
    return this.#encoding;
  }

  get fatal() {
    return this.#fatal;
  }

  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  /**
   * @param {unknown} [input]  a BufferSource
   * @param {{ stream?: unknown } | null} [options]  TextDecodeOptions
   */
  decode(input = undefined, options = undefined) {
    const bytes = input === undefined ? new Uint8Array(0) : toBytes(input);
    const stream = options != null && Boolean(options.stream);
    if (!this.#streaming) {
      this.#decoder.reset();
      this.#bomSeen = false;
    }
    this.#streaming = stream;
    let s;
    try {
      s = this.#decoder.decode(bytes, !stream);
    } catch (e) {
      this.#streaming = false;
      throw e;
    }
    if (!this.#ignoreBOM && !this.#bomSeen && s.length > 0) {
      this.#bomSeen = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    return s;
  }
}
Object.defineProperty(TextDecoder.prototype, Symbol.toStringTag, { value: 'TextDecoder', configurable: true });

export class TextEncoderStream {
  #transform;

  constructor() {
    let pending = '';
    this.#transform = new (streams().TransformStream)({
      transform(chunk, controller) {
        let s = pending + String(chunk);
        pending = '';
        const last = s.charCodeAt(s.length - 1);
        // Keep a trailing high surrogate for the next chunk so a split pair still encodes as one code point.
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = s.slice(-1);
          s = s.slice(0, -1);
        }
        if (s.length > 0) controller.enqueue(utf8Encode(s));
      },
      flush(controller) {
        if (pending) controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
      },
    });
  }

  get encoding() {
    return 'utf-8';
  }

  get readable() {
    return this.#transform.readable;
  }

  get writable() {
    return this.#transform.writable;
  }
}
Object.defineProperty(TextEncoderStream.prototype, Symbol.toStringTag, { value: 'TextEncoderStream', configurable: true });

export class TextDecoderStream {
  #decoder;
  #transform;

  /**
   * @param {unknown} [label]
   * @param {{ fatal?: unknown, ignoreBOM?: unknown } | null} [options]  TextDecoderOptions
   */
  constructor(label = 'utf-8', options = undefined) {
    const decoder = new TextDecoder(label, options);
    this.#decoder = decoder;
    this.#transform = new (streams().TransformStream)({
      transform(chunk, controller) {
        const s = decoder.decode(toBytes(chunk), { stream: true });
        if (s) controller.enqueue(s);
      },
      flush(controller) {
        const s = decoder.decode();
        if (s) controller.enqueue(s);
      },
    });
  }

  get encoding() {
    return 'utf-8';
  }

  get fatal() {
    return this.#decoder.fatal;
  }

  get ignoreBOM() {
    return this.#decoder.ignoreBOM;
  }

  get readable() {
    return this.#transform.readable;
  }

  get writable() {
    return this.#transform.writable;
  }
}
Object.defineProperty(TextDecoderStream.prototype, Symbol.toStringTag, { value: 'TextDecoderStream', configurable: true });

/** UTF-8 decode without BOM handling (URL percent-decoding keeps a leading U+FEFF). */
export function utf8DecodeKeepBOM(bytes) {
  return new Utf8Decoder(false).decode(bytes, true);
}
