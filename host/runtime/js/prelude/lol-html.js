// The JS side of lol-html compiled to wasm (html-rewriter-wasm 0.4.1, its wasm-bindgen glue and asyncify helper),
// adapted for the isolate: one set of bindings per wasm instance (a factory, not module state), no Node modules
// (`util`, `assert`, `fs`), the module handed in already compiled by the host, strings through the prelude's UTF-8
// codec. Loaded on first use of HTMLRewriter (html-rewriter.js), with no import of an eager prelude module.
//
// Async handlers use binaryen's asyncify: a handler that returns a promise unwinds the wasm stack into a buffer
// owned by the rewriter, the promise is awaited, and the call is replayed to rewind. The unwound frames' shadow
// stack stays below the wasm stack pointer, so two rewriters interleaving async unwinds in ONE instance could
// overwrite each other's frames: html-rewriter.js gives each transform an instance of its own (reused once free).
//
// The import names (`__wbg_..._<hash>`) are the ones this build of the wasm module asks for: they change with the
// package version, which package.json pins.

/** Asyncify's states (binaryen src/passes/Asyncify.cpp). */
const NONE = 0;
const UNWINDING = 1;
const REWINDING = 2;
/** Only the bindings construct the handlers' arguments. */
const TOKEN = Symbol('lol-html');

/**
 * @typedef {{ html?: boolean }} ContentOptions
 * @typedef {{ utf8Encode: (s: string) => Uint8Array, utf8Decode: (b: Uint8Array) => string }} Utf8
 * @typedef {ReturnType<typeof instantiateLolHtml>} LolHtml
 */

/**
 * Instantiates the wasm module (through `Instance`: the prelude's WebAssembly.Instance, which counts the module's
 * memory against the isolate's budget) and returns its bindings.
 * @param {WebAssembly.Module} module
 * @param {typeof WebAssembly.Instance} Instance
 * @param {Utf8} utf8
 */
export function instantiateLolHtml(module, Instance, utf8) {
  /** @type {any} the instance's exports */
  let wasm;

  // wasm-bindgen's table of JS values the wasm side holds by index; 0-31 are the borrowed-object stack.
  /** @type {unknown[]} */
  const heap = new Array(32).fill(undefined);
  heap.push(undefined, null, true, false);
  let heapNext = heap.length;
  let stackPointer = 32;

  const getObject = (idx) => heap[idx];
  const dropObject = (idx) => {
    if (idx < 36) return;
    heap[idx] = heapNext;
    heapNext = idx;
  };
  const takeObject = (idx) => {
    const ret = getObject(idx);
    dropObject(idx);
    return ret;
  };
  const addHeapObject = (obj) => {
    if (heapNext === heap.length) heap.push(heap.length + 1);
    const idx = heapNext;
    heapNext = /** @type {number} */ (heap[idx]);
    heap[idx] = obj;
    return idx;
  };
  const addBorrowedObject = (obj) => {
    if (stackPointer === 1) throw new Error('lol-html: out of JS stack');
    heap[--stackPointer] = obj;
    return stackPointer;
  };

  /** @type {Uint8Array | null} */
  let u8 = null;
  /** @type {Int32Array | null} */
  let i32 = null;
  const memU8 = () => (u8 === null || u8.buffer !== wasm.memory.buffer ? (u8 = new Uint8Array(wasm.memory.buffer)) : u8);
  const memI32 = () => (i32 === null || i32.buffer !== wasm.memory.buffer ? (i32 = new Int32Array(wasm.memory.buffer)) : i32);

  const getString = (ptr, len) => utf8.utf8Decode(memU8().subarray(ptr, ptr + len));
  let vectorLen = 0;
  /** @param {string} s */
  const passString = (s) => {
    const bytes = utf8.utf8Encode(String(s));
    const ptr = wasm.__wbindgen_malloc(bytes.length);
    memU8().set(bytes, ptr);
    vectorLen = bytes.length;
    return ptr;
  };
  /** Inserted content: a string (Workers also takes a ReadableStream or Response there, which this runtime does not). */
  const passContent = (c) => {
    if (typeof c === 'object' && c !== null && (typeof c.getReader === 'function' || typeof c.arrayBuffer === 'function')) {
      throw new TypeError('HTMLRewriter: inserted content must be a string here (a ReadableStream or Response as content is not supported; read it into a string first).');
    }
    return passString(c);
  };
  /** @param {Uint8Array} bytes */
  const passBytes = (bytes) => {
    const ptr = wasm.__wbindgen_malloc(bytes.length);
    memU8().set(bytes, ptr);
    vectorLen = bytes.length;
    return ptr;
  };
  const isLikeNone = (x) => x === undefined || x === null;
  /** The content-type options argument: `{ html: true }` or nothing. */
  const options = (o) => (isLikeNone(o) ? 0 : addHeapObject(o));
  /** A string the wasm side returns through a return pointer (freed after reading). */
  const returnedString = (fn, ptr) => {
    const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
    let r0 = 0;
    let r1 = 0;
    try {
      fn(retptr, ptr);
      r0 = memI32()[retptr / 4];
      r1 = memI32()[retptr / 4 + 1];
      return getString(r0, r1);
    } finally {
      wasm.__wbindgen_add_to_stack_pointer(16);
      wasm.__wbindgen_free(r0, r1);
    }
  };
  /** Writes a string for the wasm side at `retptr` (ptr, len). */
  const writeString = (retptr, s) => {
    const ptr = passString(s);
    memI32()[retptr / 4 + 1] = vectorLen;
    memI32()[retptr / 4] = ptr;
  };
  const handleError = (f) =>
    function (...args) {
      try {
        return f(...args);
      } catch (e) {
        wasm.__wbindgen_exn_store(addHeapObject(e));
      }
    };

  // --- asyncify ------------------------------------------------------------------------------------------------
  /** The promise each rewriter (by its asyncify stack pointer) is waiting on. @type {Map<number, unknown>} */
  const promises = new Map();
  const checkState = (expected) => {
    const state = wasm.asyncify_get_state();
    if (state !== expected) throw new Error(`lol-html: asyncify state ${state}, expected ${expected}`);
  };
  const awaitPromise = (stackPtr, promise) => {
    if (wasm.asyncify_get_state() === REWINDING) {
      wasm.asyncify_stop_rewind();
      return;
    }
    checkState(NONE);
    if (stackPtr % 4 !== 0) throw new Error('lol-html: misaligned asyncify stack');
    // The asyncify data header: where the saved stack starts and ends (the rewriter reserved 1 KiB for it).
    memI32().set([stackPtr + 8, stackPtr + 1024], stackPtr / 4);
    wasm.asyncify_start_unwind(stackPtr);
    if (promises.has(stackPtr)) throw new Error('lol-html: a rewriter is already waiting on a handler');
    promises.set(stackPtr, promise);
  };
  /** Calls into the rewriter, awaiting (and then replaying into) every async handler it meets. */
  const drive = async (stackPtr, fn, ...args) => {
    checkState(NONE);
    let result = fn(...args);
    while (wasm.asyncify_get_state() === UNWINDING) {
      wasm.asyncify_stop_unwind();
      checkState(NONE);
      const promise = promises.get(stackPtr);
      promises.delete(stackPtr);
      await promise;
      checkState(NONE);
      wasm.asyncify_start_rewind(stackPtr);
      result = fn();
    }
    checkState(NONE);
    return result;
  };

  // --- the content handlers' arguments -------------------------------------------------------------------------
  // Each wraps a pointer the wasm side owns; valid only while the handler it was given to runs.

  class Handle {
    /**
     * @param {symbol} token
     * @param {number} ptr
     */
    constructor(token, ptr) {
      if (token !== TOKEN) throw new TypeError('Illegal constructor');
      /** @readonly */
      this.ptr = ptr;
    }
  }

  class Element extends Handle {
    /** @param {string} content @param {ContentOptions} [o] */
    before(content, o) {
      const p = passContent(content);
      wasm.element_before(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    after(content, o) {
      const p = passContent(content);
      wasm.element_after(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    replace(content, o) {
      const p = passContent(content);
      wasm.element_replace(this.ptr, p, vectorLen, options(o));
      return this;
    }
    remove() {
      wasm.element_remove(this.ptr);
      return this;
    }
    /** @returns {boolean} */
    get removed() {
      return wasm.element_removed(this.ptr) !== 0;
    }
    /** @returns {string} */
    get tagName() {
      return returnedString(wasm.element_tag_name, this.ptr);
    }
    set tagName(name) {
      const p = passString(name);
      wasm.element_set_tag_name(this.ptr, p, vectorLen);
    }
    /** @returns {string} */
    get namespaceURI() {
      return /** @type {string} */ (takeObject(wasm.element_namespace_uri(this.ptr)));
    }
    /** @returns {IterableIterator<[string, string]>} */
    get attributes() {
      return /** @type {Array<[string, string]>} */ (takeObject(wasm.element_attributes(this.ptr)))[Symbol.iterator]();
    }
    /** @param {string} name @returns {string | null} */
    getAttribute(name) {
      const p = passString(name);
      return /** @type {string | null} */ (takeObject(wasm.element_getAttribute(this.ptr, p, vectorLen)));
    }
    /** @param {string} name @returns {boolean} */
    hasAttribute(name) {
      const p = passString(name);
      return wasm.element_hasAttribute(this.ptr, p, vectorLen) !== 0;
    }
    /** @param {string} name @param {string} value */
    setAttribute(name, value) {
      const p0 = passString(name);
      const l0 = vectorLen;
      const p1 = passString(value);
      wasm.element_setAttribute(this.ptr, p0, l0, p1, vectorLen);
      return this;
    }
    /** @param {string} name */
    removeAttribute(name) {
      const p = passString(name);
      wasm.element_removeAttribute(this.ptr, p, vectorLen);
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    prepend(content, o) {
      const p = passContent(content);
      wasm.element_prepend(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    append(content, o) {
      const p = passContent(content);
      wasm.element_append(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    setInnerContent(content, o) {
      const p = passContent(content);
      wasm.element_setInnerContent(this.ptr, p, vectorLen, options(o));
      return this;
    }
    removeAndKeepContent() {
      wasm.element_removeAndKeepContent(this.ptr);
      return this;
    }
    /** @param {(endTag: EndTag) => void | Promise<void>} handler */
    onEndTag(handler) {
      if (typeof handler !== 'function') throw new TypeError('Element.onEndTag(): the handler must be a function.');
      wasm.element_onEndTag(this.ptr, addHeapObject(handler.bind(this)));
    }
  }

  class EndTag extends Handle {
    /** @returns {string} */
    get name() {
      return returnedString(wasm.endtag_name, this.ptr);
    }
    set name(name) {
      const p = passString(name);
      wasm.endtag_set_name(this.ptr, p, vectorLen);
    }
    /** @param {string} content @param {ContentOptions} [o] */
    before(content, o) {
      const p = passContent(content);
      wasm.endtag_before(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    after(content, o) {
      const p = passContent(content);
      wasm.endtag_after(this.ptr, p, vectorLen, options(o));
      return this;
    }
    remove() {
      wasm.endtag_remove(this.ptr);
      return this;
    }
  }

  class Comment extends Handle {
    /** @param {string} content @param {ContentOptions} [o] */
    before(content, o) {
      const p = passContent(content);
      wasm.comment_before(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    after(content, o) {
      const p = passContent(content);
      wasm.comment_after(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    replace(content, o) {
      const p = passContent(content);
      wasm.comment_replace(this.ptr, p, vectorLen, options(o));
      return this;
    }
    remove() {
      wasm.comment_remove(this.ptr);
      return this;
    }
    /** @returns {boolean} */
    get removed() {
      return wasm.comment_removed(this.ptr) !== 0;
    }
    /** @returns {string} */
    get text() {
      return returnedString(wasm.comment_text, this.ptr);
    }
    set text(text) {
      const p = passString(text);
      wasm.comment_set_text(this.ptr, p, vectorLen);
    }
  }

  class TextChunk extends Handle {
    /** @param {string} content @param {ContentOptions} [o] */
    before(content, o) {
      const p = passContent(content);
      wasm.textchunk_before(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    after(content, o) {
      const p = passContent(content);
      wasm.textchunk_after(this.ptr, p, vectorLen, options(o));
      return this;
    }
    /** @param {string} content @param {ContentOptions} [o] */
    replace(content, o) {
      const p = passContent(content);
      wasm.textchunk_replace(this.ptr, p, vectorLen, options(o));
      return this;
    }
    remove() {
      wasm.textchunk_remove(this.ptr);
      return this;
    }
    /** @returns {boolean} */
    get removed() {
      return wasm.textchunk_removed(this.ptr) !== 0;
    }
    /** @returns {string} */
    get text() {
      return returnedString(wasm.textchunk_text, this.ptr);
    }
    /** @returns {boolean} */
    get lastInTextNode() {
      return wasm.textchunk_last_in_text_node(this.ptr) !== 0;
    }
  }

  class Doctype extends Handle {
    /** @returns {string | null} */
    get name() {
      return /** @type {string | null} */ (takeObject(wasm.doctype_name(this.ptr)));
    }
    /** @returns {string | null} */
    get publicId() {
      return /** @type {string | null} */ (takeObject(wasm.doctype_public_id(this.ptr)));
    }
    /** @returns {string | null} */
    get systemId() {
      return /** @type {string | null} */ (takeObject(wasm.doctype_system_id(this.ptr)));
    }
  }

  class DocumentEnd extends Handle {
    /** @param {string} content @param {ContentOptions} [o] */
    append(content, o) {
      const p = passContent(content);
      wasm.documentend_append(this.ptr, p, vectorLen, options(o));
      return this;
    }
  }

  /** One lol-html rewriter: handlers first, then write() chunks and end() once, then free(). */
  class Rewriter {
    /**
     * @param {(chunk: Uint8Array) => void} sink  receives output as it is produced (a view into wasm memory: copy it)
     * @param {{ enableEsiTags?: boolean }} [opts]
     */
    constructor(sink, opts) {
      try {
        /** @type {number} */
        this.ptr = wasm.htmlrewriter_new(addBorrowedObject(sink), isLikeNone(opts) ? 0 : addHeapObject(opts));
      } finally {
        heap[stackPointer++] = undefined;
      }
    }
    /** @param {string} selector @param {object} handlers */
    on(selector, handlers) {
      const p = passString(selector);
      wasm.htmlrewriter_on(this.ptr, p, vectorLen, addHeapObject(handlers));
      return this;
    }
    /** @param {object} handlers */
    onDocument(handlers) {
      wasm.htmlrewriter_onDocument(this.ptr, addHeapObject(handlers));
      return this;
    }
    /** @param {Uint8Array} chunk */
    async write(chunk) {
      const p = passBytes(chunk);
      await drive(this.stackPtr, wasm.htmlrewriter_write, this.ptr, p, vectorLen);
    }
    async end() {
      await drive(this.stackPtr, wasm.htmlrewriter_end, this.ptr);
    }
    /** @returns {number} */
    get stackPtr() {
      return wasm.htmlrewriter_asyncify_stack_ptr(this.ptr);
    }
    free() {
      const ptr = this.ptr;
      this.ptr = 0;
      if (ptr !== 0) wasm.__wbg_htmlrewriter_free(ptr);
    }
  }

  const imports = {
    __wbindgen_object_drop_ref: (a) => {
      takeObject(a);
    },
    __wbg_html_cd9a0f328493678b: (a) => {
      const ret = /** @type {ContentOptions} */ (getObject(a)).html;
      return isLikeNone(ret) ? 0xffffff : ret ? 1 : 0;
    },
    __wbindgen_string_new: (ptr, len) => addHeapObject(getString(ptr, len)),
    __wbg_documentend_new: (ptr) => addHeapObject(new DocumentEnd(TOKEN, ptr)),
    __wbg_awaitPromise_39a1101fd8518869: (stackPtr, idx) => awaitPromise(stackPtr, getObject(idx)),
    __wbindgen_object_clone_ref: (idx) => addHeapObject(getObject(idx)),
    __wbg_element_c38470ed972aea27: (idx) => handlerOf(idx, 'element'),
    __wbg_comments_ba86bc03331d9378: (idx) => handlerOf(idx, 'comments'),
    __wbg_text_7800bf26cb443911: (idx) => handlerOf(idx, 'text'),
    __wbg_element_new: (ptr) => addHeapObject(new Element(TOKEN, ptr)),
    __wbg_comment_new: (ptr) => addHeapObject(new Comment(TOKEN, ptr)),
    __wbg_textchunk_new: (ptr) => addHeapObject(new TextChunk(TOKEN, ptr)),
    __wbg_doctype_ac58c0964a59b61b: (idx) => handlerOf(idx, 'doctype'),
    __wbg_comments_94d876f6c0502e82: (idx) => handlerOf(idx, 'comments'),
    __wbg_text_4606a16c30e4ae91: (idx) => handlerOf(idx, 'text'),
    __wbg_end_34efb9402eac8a4e: (idx) => handlerOf(idx, 'end'),
    __wbg_doctype_new: (ptr) => addHeapObject(new Doctype(TOKEN, ptr)),
    __wbg_endtag_new: (ptr) => addHeapObject(new EndTag(TOKEN, ptr)),
    __wbg_enableEsiTags_de6b91cc61a25874: (idx) => {
      const ret = /** @type {{ enableEsiTags?: boolean }} */ (getObject(idx)).enableEsiTags;
      return isLikeNone(ret) ? 0xffffff : ret ? 1 : 0;
    },
    __wbg_String_60c4ba333b5ca1c6: (retptr, idx) => writeString(retptr, String(getObject(idx))),
    __wbg_new_4fee7e2900033464: () => addHeapObject([]),
    __wbg_push_ba9b5e3c25cff8f9: (arr, v) => /** @type {unknown[]} */ (getObject(arr)).push(getObject(v)),
    __wbg_call_6c4ea719458624eb: handleError((fn, thisArg, arg) => addHeapObject(/** @type {Function} */ (getObject(fn)).call(getObject(thisArg), getObject(arg)))),
    __wbg_new_917809a3e20a4b00: (ptr, len) => addHeapObject(new TypeError(getString(ptr, len))),
    __wbg_instanceof_Promise_c6535fc791fcc4d2: (idx) => {
      const obj = getObject(idx);
      return obj instanceof Promise || Object.prototype.toString.call(obj) === '[object Promise]';
    },
    __wbg_buffer_89a8560ab6a3d9c6: (idx) => addHeapObject(/** @type {WebAssembly.Memory} */ (getObject(idx)).buffer),
    __wbg_newwithbyteoffsetandlength_e45d8b33c02dc3b5: (buf, offset, len) => addHeapObject(new Uint8Array(/** @type {ArrayBuffer} */ (getObject(buf)), offset >>> 0, len >>> 0)),
    __wbg_new_bd2e1d010adb8a1a: (idx) => addHeapObject(new Uint8Array(/** @type {ArrayBuffer} */ (getObject(idx)))),
    __wbindgen_debug_string: (retptr, idx) => writeString(retptr, debugString(getObject(idx))),
    __wbindgen_throw: (ptr, len) => {
      throw new Error(getString(ptr, len));
    },
    __wbindgen_rethrow: (idx) => {
      throw takeObject(idx);
    },
    __wbindgen_memory: () => addHeapObject(wasm.memory),
  };

  /** A handler method of a handlers object, or 0 (none); a value that is not a function is refused. */
  function handlerOf(idx, name) {
    const ret = /** @type {Record<string, unknown>} */ (getObject(idx))[name];
    return isLikeNone(ret) ? 0 : addHeapObject(ret);
  }

  wasm = new Instance(module, { __wbindgen_placeholder__: imports }).exports;
  /** The instance's linear memory now, in bytes (it only grows). */
  const memoryBytes = () => wasm.memory.buffer.byteLength;
  return { Rewriter, Element, EndTag, Comment, TextChunk, Doctype, DocumentEnd, memoryBytes };
}

/** What the wasm side's debug formatting (`{:?}` of a JsValue) shows. */
function debugString(val) {
  const type = typeof val;
  if (type === 'number' || type === 'boolean' || val === null || val === undefined) return `${val}`;
  if (type === 'string') return `"${val}"`;
  if (type === 'symbol') return val.description === undefined ? 'Symbol' : `Symbol(${val.description})`;
  if (type === 'function') return val.name ? `Function(${val.name})` : 'Function';
  if (Array.isArray(val)) return `[${val.map(debugString).join(', ')}]`;
  if (val instanceof Error) return `${val.name}: ${val.message}`;
  return Object.prototype.toString.call(val).slice(8, -1);
}
