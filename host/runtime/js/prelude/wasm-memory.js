// Caps and accounts WebAssembly memories against the isolate's memory budget. isolated-vm's memoryLimit does
// not see wasm memories, so this wraps the WebAssembly namespace before guest code runs: every memory gets a
// maximum of at most the budget (JS-created ones by descriptor, wasm-defined ones by rewriting the module
// binary), every memory is registered here (wasm-defined ones through an added hidden export), and the runtime
// asks wasmMemoryBytes()/wasmMemoryExceeded() at the end of each entry, because a `memory.grow` instruction
// inside wasm is bounded only by that per-memory maximum.
//
// Guest code runs after install and may replace any builtin, so everything used after install (including by
// wasmMemoryBytes, called after guest code) is captured at install time: no global or prototype lookups.
// Evaluated into the startup snapshot: nothing happens at module load except defining functions.

const PAGE = 65536;
const HIDDEN_PREFIX = '__edge_memory_';

/** @type {any} captured builtins, filled by capture() (at install, or on first use of the rewriter in Node) */
let P = null;
let budget = 0; // bytes; 0 until installed
let cap32 = 0; // pages: min(budget pages, 65536)
let cap64 = 0; // pages
// Live memories: parallel arrays of WeakRefs and "is shared" flags. Null-prototype arrays, so that guest
// setters on Array.prototype cannot intercept our index writes.
let refs = null;
let sharedFlags = null;
let registered = null; // WeakSet of memories already in refs
let moduleInfo = null; // WeakMap Module -> { initialBytes, hidden: string[] | null }
let hiddenExports = null; // WeakMap Instance -> filtered exports object

function capture() {
  if (P) return P;
  const FnProto = Function.prototype;
  const uncurry = FnProto.bind.bind(FnProto.call);
  const getter = (obj, key) => uncurry(/** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(obj, key)).get);
  const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const prefix = [];
  for (let i = 0; i < HIDDEN_PREFIX.length; i++) prefix[i] = HIDDEN_PREFIX.charCodeAt(i);
  const ascii = { __proto__: null };
  for (const c of '0123456789_') ascii[c] = c.charCodeAt(0);
  const dvByteLength = getter(DataView.prototype, 'byteLength');
  P = {
    __proto__: null,
    Uint8Array,
    Promise,
    WeakRef,
    WeakMap,
    WeakSet,
    Number,
    BigInt,
    String,
    TypeError,
    RangeError,
    MathFloor: Math.floor,
    MathRound: Math.round,
    ObjectCreate: Object.create,
    ObjectFreeze: Object.freeze,
    ObjectSetPrototypeOf: Object.setPrototypeOf,
    ObjectDefineProperty: Object.defineProperty,
    ObjectGetOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
    ReflectConstruct: Reflect.construct,
    ReflectOwnKeys: Reflect.ownKeys,
    ArrayBufferIsView: ArrayBuffer.isView,
    ArrayBufferByteLength: getter(ArrayBuffer.prototype, 'byteLength'),
    SharedArrayBufferByteLength: typeof SharedArrayBuffer === 'function' ? getter(SharedArrayBuffer.prototype, 'byteLength') : null,
    TypedArrayBuffer: getter(TypedArrayProto, 'buffer'),
    TypedArrayByteOffset: getter(TypedArrayProto, 'byteOffset'),
    TypedArrayByteLength: getter(TypedArrayProto, 'byteLength'),
    TypedArraySet: uncurry(TypedArrayProto.set),
    DataViewBuffer: getter(DataView.prototype, 'buffer'),
    DataViewByteOffset: getter(DataView.prototype, 'byteOffset'),
    DataViewByteLength: dvByteLength,
    IsDataView: (v) => {
      try {
        dvByteLength(v);
        return true;
      } catch {
        return false;
      }
    },
    WeakRefDeref: uncurry(WeakRef.prototype.deref),
    WeakMapGet: uncurry(WeakMap.prototype.get),
    WeakMapSet: uncurry(WeakMap.prototype.set),
    WeakSetHas: uncurry(WeakSet.prototype.has),
    WeakSetAdd: uncurry(WeakSet.prototype.add),
    prefixBytes: prefix,
    asciiCodes: ascii,
    // Filled by install from the context's WebAssembly namespace:
    CompileError: typeof WebAssembly === 'object' ? WebAssembly.CompileError : Error,
    MemoryBuffer: null,
    MemoryGrow: null,
    InstanceExports: null,
  };
  return P;
}

function nullArray() {
  const a = [];
  P.ObjectSetPrototypeOf(a, null);
  return a;
}

function mib(bytes) {
  return `${P.MathRound((bytes / 1048576) * 10) / 10} MiB`;
}

function limitError(what, bytes) {
  return new P.RangeError(
    `WebAssembly memory limit exceeded: ${what} needs ${mib(bytes)} more, but this isolate's WebAssembly memories ` +
      `already use ${mib(wasmMemoryBytes())} of its ${mib(budget)} memory budget`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Binary rewriting

/** Private copy of a BufferSource's bytes; TypeError if it is not one. */
function copyBytes(source) {
  let buffer, offset, length;
  if (P.ArrayBufferIsView(source)) {
    if (P.IsDataView(source)) {
      buffer = P.DataViewBuffer(source);
      offset = P.DataViewByteOffset(source);
      length = P.DataViewByteLength(source);
    } else {
      buffer = P.TypedArrayBuffer(source);
      offset = P.TypedArrayByteOffset(source);
      length = P.TypedArrayByteLength(source);
    }
  } else if (isArrayBuffer(source)) {
    buffer = source;
    offset = 0;
    length = bufferByteLength(source);
  } else {
    throw new P.TypeError('WebAssembly: the first argument must be an ArrayBuffer or typed array of module bytes');
  }
  const out = new P.Uint8Array(length);
  P.TypedArraySet(out, new P.Uint8Array(buffer, offset, length));
  return out;
}

function isArrayBuffer(v) {
  try {
    P.ArrayBufferByteLength(v);
    return true;
  } catch {}
  if (P.SharedArrayBufferByteLength === null) return false;
  try {
    P.SharedArrayBufferByteLength(v);
    return true;
  } catch {
    return false;
  }
}

function bufferByteLength(ab) {
  try {
    return P.ArrayBufferByteLength(ab);
  } catch {
    return P.SharedArrayBufferByteLength(ab);
  }
}

function isBufferSource(v) {
  return P.ArrayBufferIsView(v) || isArrayBuffer(v);
}

function lebSize(v) {
  let n = 1;
  while (v >= 128) {
    v = P.MathFloor(v / 128);
    n++;
  }
  return n;
}

function writeLeb(out, pos, v) {
  while (v >= 128) {
    out[pos++] = (v % 128) | 0x80;
    v = P.MathFloor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/**
 * Rewrites a wasm module so that every memory it defines has maximum <= maxPages and is exported (under a
 * hidden `__edge_memory_<index>` name unless the module already exports it). One parse over the sections,
 * then one copy. Throws CompileError for a module whose import/memory/export sections cannot be parsed, and
 * RangeError for a memory whose initial size exceeds maxPages.
 * @param {Uint8Array} src  private bytes (not shared with guest code)
 * @returns {RewriteResult}
 */
/** @typedef {{ bytes: Uint8Array, initialBytes: number, hidden: string[] | null }} RewriteResult */
function rewriteModule(src, maxPages) {
  const len = P.TypedArrayByteLength(src);
  const srcBuffer = P.TypedArrayBuffer(src);
  const srcOffset = P.TypedArrayByteOffset(src);
  const view = (from, n) => new P.Uint8Array(srcBuffer, srcOffset + from, n);
  const unchanged = { __proto__: null, bytes: src, initialBytes: 0, hidden: null };
  // Not a core module of version 1: leave it to the engine to reject.
  if (len < 8 || src[0] !== 0 || src[1] !== 0x61 || src[2] !== 0x73 || src[3] !== 0x6d) return unchanged;
  if (src[4] !== 1 || src[5] !== 0 || src[6] !== 0 || src[7] !== 0) return unchanged;

  let p = 8;
  let end = len;
  const fail = (what) => {
    throw new P.CompileError(`WebAssembly.Module(): ${what} @+${p}`);
  };
  const byte = () => (p < end ? src[p++] : fail('unexpected end'));
  const u32 = () => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) fail('invalid u32 LEB');
        return result;
      }
      mul *= 128;
    }
    return fail('u32 LEB too long');
  };
  const u64 = () => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return fail('u64 LEB too long');
  };
  const skipLeb = () => {
    for (let i = 0; i < 10; i++) if ((byte() & 0x80) === 0) return;
    fail('LEB too long');
  };
  const skipBytes = () => {
    const n = u32();
    if (n > end - p) fail('length out of bounds');
    p += n;
  };
  const skipLimits = () => {
    const flags = byte();
    skipLeb();
    if (flags & 1) skipLeb();
    if (flags & 8) skipLeb(); // custom page size log2
  };
  const skipValType = () => {
    const t = byte();
    if (t === 0x63 || t === 0x64) skipLeb(); // (ref null? heaptype)
  };

  let importedMemories = 0;
  let memStart = -1, memEnd = -1, memSectionStart = -1;
  let expStart = -1, expEnd = -1, expSectionStart = -1;
  let lastPreExportEnd = -1; // end offset of the last section that must precede the export section
  let exportedMemories = null; // memory indices the module exports itself
  let prefixedNames = null; // [start, length] of export names starting with the hidden prefix
  let seenImport = false;

  while (p < len) {
    const sectionStart = p;
    end = len;
    const id = byte();
    const size = u32();
    if (size > len - p) fail('section out of bounds');
    const start = p;
    end = start + size;
    if (id === 2) {
      if (seenImport) fail('duplicate import section');
      seenImport = true;
      const count = u32();
      for (let i = 0; i < count; i++) {
        skipBytes();
        skipBytes();
        const kind = byte();
        if (kind === 0x00) skipLeb();
        else if (kind === 0x01) {
          skipValType();
          skipLimits();
        } else if (kind === 0x02) {
          importedMemories++;
          skipLimits();
        } else if (kind === 0x03) {
          skipValType();
          byte();
        } else if (kind === 0x04) {
          byte();
          skipLeb();
        } else fail('unknown import kind');
      }
      if (p !== end) fail('import section size mismatch');
    } else if (id === 5) {
      if (memStart >= 0) fail('duplicate memory section');
      memSectionStart = sectionStart;
      memStart = start;
      memEnd = end;
    } else if (id === 7) {
      if (expStart >= 0) fail('duplicate export section');
      expSectionStart = sectionStart;
      expStart = start;
      expEnd = end;
      exportedMemories = nullArray();
      const count = u32();
      for (let i = 0; i < count; i++) {
        const n = u32();
        if (n > end - p) fail('length out of bounds');
        if (n >= P.prefixBytes.length && hasPrefix(src, p)) {
          if (prefixedNames === null) prefixedNames = nullArray();
          prefixedNames[prefixedNames.length] = p;
          prefixedNames[prefixedNames.length] = n;
        }
        p += n;
        const kind = byte();
        const index = u32();
        if (kind === 0x02) exportedMemories[exportedMemories.length] = index;
      }
      if (p !== end) fail('export section size mismatch');
    }
    if ((id >= 1 && id <= 6) || id === 13 || id === 14) lastPreExportEnd = end;
    p = end;
  }
  end = len;
  if (memStart < 0) return unchanged;

  // Memory section: every limits entry gets flags | 1 and max = min(declared max, maxPages).
  p = memStart;
  end = memEnd;
  const count = u32();
  if (count > end - p) fail('memory count out of bounds');
  const memPayload = new P.Uint8Array(memEnd - memStart + count * 11);
  let mp = writeLeb(memPayload, 0, count);
  let initialPages = 0;
  /** @type {string[] | null} */
  let added = null; // names of hidden exports to add, parallel with addedIndex
  /** @type {number[] | null} */
  let addedIndex = null;
  for (let i = 0; i < count; i++) {
    const flags = byte();
    if (flags > 7) fail(`unsupported memory flags ${flags} for memory ${importedMemories + i}`);
    const is64 = (flags & 4) !== 0;
    const minStart = p;
    const min = is64 ? u64() : u32();
    const minEnd = p;
    let max = maxPages;
    if (flags & 1) {
      const declared = is64 ? u64() : u32();
      if (declared < max) max = declared;
    }
    if (min > maxPages) {
      throw new P.RangeError(
        `WebAssembly memory limit exceeded: memory ${importedMemories + i} of this module starts at ${min} pages ` +
          `(${mib(min * PAGE)}), more than the isolate's memory budget allows (${maxPages} pages)`,
      );
    }
    initialPages += min;
    memPayload[mp++] = flags | 1;
    for (let k = minStart; k < minEnd; k++) memPayload[mp++] = src[k];
    mp = writeLeb(memPayload, mp, max);

    const index = importedMemories + i;
    if (!includes(exportedMemories, index)) {
      if (added === null) {
        added = nullArray();
        addedIndex = nullArray();
      }
      const indices = /** @type {number[]} */ (addedIndex); // made with `added`
      added[added.length] = hiddenName(src, prefixedNames, index);
      indices[indices.length] = index;
    }
  }
  if (p !== memEnd) fail('memory section size mismatch');

  // Export section: original entries plus the hidden memory exports.
  let expPayload = null;
  let expPayloadLen = 0;
  if (added !== null) {
    const indices = /** @type {number[]} */ (addedIndex); // made with `added`
    let oldCount = 0;
    let entriesStart = expEnd;
    if (expStart >= 0) {
      p = expStart;
      end = expEnd;
      oldCount = u32();
      entriesStart = p;
    }
    let extra = 0;
    for (let i = 0; i < added.length; i++) extra += lebSize(added[i].length) + added[i].length + 1 + lebSize(indices[i]);
    expPayload = new P.Uint8Array(5 + (expEnd - entriesStart) + extra);
    let ep = writeLeb(expPayload, 0, oldCount + added.length);
    if (expEnd > entriesStart) {
      P.TypedArraySet(expPayload, view(entriesStart, expEnd - entriesStart), ep);
      ep += expEnd - entriesStart;
    }
    for (let i = 0; i < added.length; i++) {
      const name = added[i];
      ep = writeLeb(expPayload, ep, name.length);
      for (let k = 0; k < name.length; k++) ep = writeAscii(expPayload, ep, name, k);
      expPayload[ep++] = 0x02;
      ep = writeLeb(expPayload, ep, indices[i]);
    }
    expPayloadLen = ep;
  }

  // Assemble: header + sections, with the memory section replaced, the export section replaced or inserted.
  const memLen = mp;
  const newMemSection = 1 + lebSize(memLen) + memLen;
  const newExpSection = expPayload === null ? 0 : 1 + lebSize(expPayloadLen) + expPayloadLen;
  let total = len - (memEnd - memSectionStart) + newMemSection;
  if (expPayload !== null) total += newExpSection - (expStart >= 0 ? expEnd - expSectionStart : 0);
  const out = new P.Uint8Array(total);
  let o = 0;
  const copy = (from, to) => {
    if (to > from) P.TypedArraySet(out, view(from, to - from), o);
    o += to - from;
  };
  const emit = (id, payload, n) => {
    out[o++] = id;
    o = writeLeb(out, o, n);
    P.TypedArraySet(out, new P.Uint8Array(P.TypedArrayBuffer(payload), 0, n), o);
    o += n;
  };
  // Cut points, in order: the memory section, the export section (replaced, or inserted after the last
  // section that must come before it).
  let q = 0;
  const expCutStart = expPayload === null ? -1 : expStart >= 0 ? expSectionStart : lastPreExportEnd;
  const expCutEnd = expPayload === null ? -1 : expStart >= 0 ? expEnd : lastPreExportEnd;
  // The export section always follows the memory section in a valid module; memEnd <= expCutStart.
  if (expCutStart >= 0 && expCutStart < memEnd) fail('export section before memory section');
  copy(q, memSectionStart);
  emit(5, memPayload, memLen);
  q = memEnd;
  if (expCutStart >= 0) {
    copy(q, expCutStart);
    emit(7, expPayload, expPayloadLen);
    q = expCutEnd;
  }
  copy(q, len);
  return /** @type {RewriteResult} */ ({ __proto__: null, bytes: out, initialBytes: initialPages * PAGE, hidden: added });
}

function hasPrefix(src, at) {
  const prefix = P.prefixBytes;
  for (let k = 0; k < prefix.length; k++) if (src[at + k] !== prefix[k]) return false;
  return true;
}

function includes(list, v) {
  if (list === null) return false;
  for (let i = 0; i < list.length; i++) if (list[i] === v) return true;
  return false;
}

/** `__edge_memory_<index>`, with `_` appended while it collides with one of the module's own export names. */
function hiddenName(src, prefixedNames, index) {
  let name = HIDDEN_PREFIX + index;
  for (;;) {
    let clash = false;
    if (prefixedNames !== null) {
      for (let i = 0; i < prefixedNames.length && !clash; i += 2) {
        if (prefixedNames[i + 1] !== name.length) continue;
        clash = true;
        for (let k = 0; k < name.length; k++) {
          if (src[prefixedNames[i] + k] !== asciiAt(name, k)) {
            clash = false;
            break;
          }
        }
      }
    }
    if (!clash) return name;
    name += '_';
  }
}

// Our names are ASCII: prefix, digits and '_'. Encoded without String.prototype methods (guest-replaceable).
function asciiAt(name, k) {
  const prefix = P.prefixBytes;
  if (k < prefix.length) return prefix[k];
  return P.asciiCodes[name[k]]; // indexing a string primitive is not a prototype lookup
}

function writeAscii(out, pos, name, k) {
  out[pos] = asciiAt(name, k);
  return pos + 1;
}

/**
 * Rewrites module bytes (ArrayBuffer or any ArrayBufferView) so that every memory the module defines has a
 * maximum of at most `maxPages` and is exported (hidden name `__edge_memory_<index>` unless already exported).
 * @returns {Uint8Array} new bytes (always a fresh copy)
 */
export function rewriteWasmMemoryLimits(bytes, maxPages) {
  capture();
  return rewriteModule(copyBytes(bytes), maxPages).bytes;
}

/**
 * For the host, which compiles a worker's `.wasm` modules once per version and hands them compiled to each isolate:
 * the bytes rewritten as `new WebAssembly.Module` does in the isolate, with what adoptWasmModule needs to know.
 * @returns {{ bytes: Uint8Array, initialBytes: number, hidden: string[] | null }}
 */
export function rewriteWasmModule(bytes, maxPages) {
  capture();
  const r = rewriteModule(copyBytes(bytes), maxPages);
  /** @type {string[] | null} */
  let hidden = null;
  if (r.hidden !== null) {
    hidden = [];
    for (let i = 0; i < r.hidden.length; i++) hidden.push(r.hidden[i]);
  }
  return { bytes: r.bytes, initialBytes: r.initialBytes, hidden };
}

/**
 * Takes a module the host compiled from rewriteWasmModule's bytes as if this context had compiled it: instantiating
 * it is checked against the budget and its hidden memory exports stay hidden. A second call for a module changes nothing.
 */
export function adoptWasmModule(module, initialBytes, hidden) {
  if (moduleInfo === null) throw new P.TypeError('adoptWasmModule: the WebAssembly limits are not installed');
  P.ModuleExports(module); // TypeError unless a WebAssembly.Module
  if (P.WeakMapGet(moduleInfo, module) !== undefined) return module;
  let names = null;
  if (hidden !== null && hidden !== undefined) {
    names = nullArray();
    for (let i = 0; i < hidden.length; i++) names[i] = P.String(hidden[i]);
  }
  P.WeakMapSet(moduleInfo, module, { __proto__: null, initialBytes: P.Number(initialBytes) || 0, hidden: names });
  return module;
}

// ---------------------------------------------------------------------------------------------------------
// Accounting

function memoryByteLength(mem, shared) {
  const buf = P.MemoryBuffer(mem);
  return shared ? P.SharedArrayBufferByteLength(buf) : P.ArrayBufferByteLength(buf);
}

/** Adds a WebAssembly.Memory to the live list (once). Ignores anything that is not a real memory. */
function register(mem) {
  if ((typeof mem !== 'object' && typeof mem !== 'function') || mem === null) return;
  if (P.WeakSetHas(registered, mem)) return;
  let buf;
  try {
    buf = P.MemoryBuffer(mem);
  } catch {
    return; // not a memory
  }
  let shared = false;
  try {
    P.ArrayBufferByteLength(buf);
  } catch {
    shared = true;
  }
  P.WeakSetAdd(registered, mem);
  const i = refs.length;
  refs[i] = new P.WeakRef(mem);
  sharedFlags[i] = shared;
}

/** Total byteLength of all live WebAssembly memories created in this context. Cheap: one short list. */
export function wasmMemoryBytes() {
  if (refs === null) return 0;
  let total = 0;
  let w = 0;
  const n = refs.length;
  for (let r = 0; r < n; r++) {
    const mem = P.WeakRefDeref(refs[r]);
    if (mem === undefined) continue;
    total += memoryByteLength(mem, sharedFlags[r]);
    if (w !== r) {
      refs[w] = refs[r];
      sharedFlags[w] = sharedFlags[r];
    }
    w++;
  }
  refs.length = w;
  sharedFlags.length = w;
  return total;
}

/**
 * Stops counting `mem` against the budget: for the memory of a component instance the runtime dropped and that
 * nothing can reach any more (a wasi:http/proxy component gets a new instance per request), which would otherwise
 * count until the garbage collector frees it. V8 counts it as external memory, so that collection comes soon.
 */
export function forgetWasmMemory(mem) {
  if (refs === null) return;
  const n = refs.length;
  for (let r = 0; r < n; r++) {
    if (P.WeakRefDeref(refs[r]) === mem) {
      refs[r] = refs[n - 1];
      sharedFlags[r] = sharedFlags[n - 1];
      refs.length = n - 1;
      sharedFlags.length = n - 1;
      return;
    }
  }
}

/** True when the live WebAssembly memories together exceed the isolate's memory budget. */
export function wasmMemoryExceeded() {
  return wasmMemoryBytes() > budget;
}

// ---------------------------------------------------------------------------------------------------------
// The patched namespace

/**
 * Patches `WebAssembly` (the context's namespace object) so that guest code cannot create or grow wasm memory
 * past `budgetBytes`. Call once per context, before any guest code runs.
 */
export function installWasmMemoryLimits(WebAssembly, budgetBytes) {
  if (refs !== null) throw new Error('installWasmMemoryLimits: already installed in this context');
  if (typeof budgetBytes !== 'number' || !(budgetBytes >= PAGE) || budgetBytes > 2 ** 50) {
    throw new TypeError(`installWasmMemoryLimits: budgetBytes must be a number of bytes >= ${PAGE}, got ${budgetBytes}`);
  }
  capture();
  const OrigMemory = WebAssembly.Memory;
  const OrigModule = WebAssembly.Module;
  const OrigInstance = WebAssembly.Instance;
  const MemoryProto = OrigMemory.prototype;
  const ModuleProto = OrigModule.prototype;
  const InstanceProto = OrigInstance.prototype;
  const uncurry = Function.prototype.bind.bind(Function.prototype.call);
  P.CompileError = WebAssembly.CompileError;
  P.MemoryBuffer = uncurry(/** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(MemoryProto, 'buffer')).get);
  P.MemoryGrow = uncurry(MemoryProto.grow);
  P.InstanceExports = uncurry(/** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(InstanceProto, 'exports')).get);
  const ModuleExports = OrigModule.exports;
  P.ModuleExports = ModuleExports;
  const {
    ReflectConstruct, ReflectOwnKeys, ObjectDefineProperty, ObjectCreate, ObjectFreeze, WeakMapGet, WeakMapSet,
    Number: ToNumber, BigInt: ToBigInt, String: ToString, TypeError: TypeErrorCtor, Promise: PromiseCtor,
  } = P;

  budget = budgetBytes;
  const budgetPages = P.MathFloor(budgetBytes / PAGE);
  cap32 = budgetPages < 65536 ? budgetPages : 65536;
  cap64 = budgetPages;
  refs = nullArray();
  sharedFlags = nullArray();
  registered = new P.WeakSet();
  moduleInfo = new P.WeakMap();
  hiddenExports = new P.WeakMap();

  const requireNew = (newTarget, name) => {
    if (newTarget === undefined) throw new TypeErrorCtor(`WebAssembly.${name} must be invoked with 'new'`);
  };
  const define = (obj, key, value) => ObjectDefineProperty(obj, key, { __proto__: null, value, writable: true, enumerable: false, configurable: true });
  // A function's own `prototype` is non-configurable but writable: set it and make it read-only, as on the originals.
  // The name is set too: the prelude bundle is minified, which renames function expressions.
  const setPrototype = (fn, proto, name) => {
    ObjectDefineProperty(fn, 'prototype', { __proto__: null, value: proto, writable: false });
    ObjectDefineProperty(fn, 'name', { __proto__: null, value: name, writable: false });
  };
  const settleNow = (fn) =>
    new PromiseCtor((resolve, reject) => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e);
      }
    });

  // --- Memory -------------------------------------------------------------------------------------------
  const Memory = function Memory(descriptor) {
    requireNew(new.target, 'Memory');
    if (typeof descriptor !== 'object' || descriptor === null) return ReflectConstruct(OrigMemory, [descriptor], new.target);
    // Read every field once and pass primitives on, so that getters cannot show us one value and V8 another.
    const address = descriptor.address;
    const initial = descriptor.initial;
    const maximum = descriptor.maximum;
    const shared = descriptor.shared;
    const desc = { __proto__: null };
    let is64 = false;
    if (address !== undefined) {
      desc.address = ToString(address);
      is64 = desc.address === 'i64';
    }
    const prim = (v) => (typeof v === 'object' || typeof v === 'function') && v !== null ? (is64 ? ToBigInt(v) : ToNumber(v)) : v;
    const init = prim(initial);
    const max = prim(maximum);
    const cap = is64 ? cap64 : cap32;
    if (init !== undefined) desc.initial = init;
    desc.maximum = max === undefined || numberOrNaN(max) > cap ? (is64 ? ToBigInt(cap) : cap) : max;
    if (shared !== undefined) desc.shared = shared;
    const initPages = numberOrNaN(init);
    if (initPages > 0 && wasmMemoryBytes() + initPages * PAGE > budget) {
      throw limitError(`new WebAssembly.Memory with ${initPages} initial pages`, initPages * PAGE);
    }
    const mem = ReflectConstruct(OrigMemory, [desc], new.target);
    register(mem);
    return mem;
  };
  setPrototype(Memory, MemoryProto, 'Memory');
  define(MemoryProto, 'constructor', Memory);
  define(MemoryProto, 'grow', {
    grow(delta) {
      const before = memoryByteLength(this, sharedOf(this));
      const d = (typeof delta === 'object' || typeof delta === 'function') && delta !== null ? ToNumber(delta) : delta;
      const pages = numberOrNaN(d);
      if (pages > 0) {
        register(this);
        if (wasmMemoryBytes() + pages * PAGE > budget) throw limitError(`WebAssembly.Memory.prototype.grow(${pages}) from ${mib(before)}`, pages * PAGE);
      }
      return P.MemoryGrow(this, d);
    },
  }.grow);

  // --- Module -------------------------------------------------------------------------------------------
  const compileModule = (bytes, options, hasOptions, newTarget) => {
    const r = rewriteModule(copyBytes(bytes), cap32);
    const module = hasOptions ? ReflectConstruct(OrigModule, [r.bytes, options], newTarget) : ReflectConstruct(OrigModule, [r.bytes], newTarget);
    WeakMapSet(moduleInfo, module, { __proto__: null, initialBytes: r.initialBytes, hidden: r.hidden });
    return module;
  };
  const Module = function Module(bytes) {
    requireNew(new.target, 'Module');
    return compileModule(bytes, arguments[1], arguments.length > 1, new.target);
  };
  setPrototype(Module, ModuleProto, 'Module');
  define(ModuleProto, 'constructor', Module);
  define(Module, 'imports', OrigModule.imports);
  define(Module, 'customSections', OrigModule.customSections);
  define(Module, 'exports', {
    exports(module) {
      const list = ModuleExports(module);
      const info = WeakMapGet(moduleInfo, module);
      if (info === undefined || info.hidden === null) return list;
      const out = [];
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (!(e.kind === 'memory' && includes(info.hidden, e.name))) {
          ObjectDefineProperty(out, out.length, { __proto__: null, value: e, writable: true, enumerable: true, configurable: true });
        }
      }
      return out;
    },
  }.exports);

  // --- Instance -----------------------------------------------------------------------------------------
  const instantiateModule = (module, importObject, newTarget) => {
    const info = WeakMapGet(moduleInfo, module);
    if (info !== undefined && info.initialBytes > 0 && wasmMemoryBytes() + info.initialBytes > budget) {
      throw limitError('instantiating a WebAssembly module', info.initialBytes);
    }
    const instance = ReflectConstruct(OrigInstance, [module, importObject], newTarget);
    const exports = P.InstanceExports(instance);
    const keys = ReflectOwnKeys(exports);
    for (let i = 0; i < keys.length; i++) register(exports[keys[i]]);
    if (info !== undefined && info.hidden !== null) {
      const visible = ObjectCreate(null);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (!includes(info.hidden, key)) ObjectDefineProperty(visible, key, { __proto__: null, value: exports[key], writable: false, enumerable: true, configurable: false });
      }
      WeakMapSet(hiddenExports, instance, ObjectFreeze(visible));
    }
    // Imported-object getters and start functions run guest code during instantiation; check the result too.
    const total = wasmMemoryBytes();
    if (total > budget) {
      throw new P.RangeError(
        `WebAssembly memory limit exceeded: this isolate's WebAssembly memories use ${mib(total)} after instantiating a module, ` +
          `more than its ${mib(budget)} memory budget`,
      );
    }
    return instance;
  };
  const Instance = function Instance(module) {
    requireNew(new.target, 'Instance');
    return instantiateModule(module, arguments[1], new.target);
  };
  setPrototype(Instance, InstanceProto, 'Instance');
  define(InstanceProto, 'constructor', Instance);
  ObjectDefineProperty(InstanceProto, 'exports', {
    __proto__: null,
    get: P.ObjectGetOwnPropertyDescriptor(
      {
        get exports() {
          const visible = WeakMapGet(hiddenExports, this);
          return visible !== undefined ? visible : P.InstanceExports(this);
        },
      },
      'exports',
    ).get,
    set: undefined,
    enumerable: true,
    configurable: true,
  });

  // --- Promise-returning functions ----------------------------------------------------------------------
  // Compiled synchronously and settled at once: in an isolate, V8's async compilation only makes progress
  // while the host keeps entering the isolate, and its background-thread CPU time is not charged to the
  // isolate; here it runs on the isolate's thread, inside the entry's CPU limit.
  const functions = {
    compile(bytes) {
      const hasOptions = arguments.length > 1;
      const options = arguments[1];
      return settleNow(() => compileModule(bytes, options, hasOptions, OrigModule));
    },
    instantiate(source) {
      const importObject = arguments[1];
      const hasOptions = arguments.length > 2;
      const options = arguments[2];
      return settleNow(() => {
        if (!isBufferSource(source)) return instantiateModule(source, importObject, OrigInstance);
        const module = compileModule(source, options, hasOptions, OrigModule);
        const instance = instantiateModule(module, importObject, OrigInstance);
        return { module, instance };
      });
    },
  };
  define(WebAssembly, 'Memory', Memory);
  define(WebAssembly, 'Module', Module);
  define(WebAssembly, 'Instance', Instance);
  ObjectDefineProperty(WebAssembly, 'compile', { __proto__: null, value: functions.compile, writable: true, enumerable: true, configurable: true });
  ObjectDefineProperty(WebAssembly, 'instantiate', { __proto__: null, value: functions.instantiate, writable: true, enumerable: true, configurable: true });
  // No fetch/Response in the isolate: feature detection should take the bytes path.
  delete WebAssembly.compileStreaming;
  delete WebAssembly.instantiateStreaming;

  function sharedOf(mem) {
    try {
      P.ArrayBufferByteLength(P.MemoryBuffer(mem));
      return false;
    } catch {
      P.MemoryBuffer(mem); // TypeError for a non-memory receiver, as the original grow would throw
      return true;
    }
  }
  /** A primitive's numeric value for budget checks (NaN when it has none); the original then validates it. */
  function numberOrNaN(v) {
    if (v === undefined || typeof v === 'symbol') return NaN;
    try {
      return ToNumber(v);
    } catch {
      return NaN;
    }
  }
}
