// HTMLRewriter, as on Workers: `new HTMLRewriter().on(selector, handlers).onDocument(handlers).transform(response)`
// gives a Response whose body is rewritten by lol-html (lol-html.js) as it streams through, handler by handler,
// awaiting async handlers. Loaded on first use (globals.js): an isolate that never rewrites HTML neither evaluates
// this nor instantiates the wasm module, which the host compiled once and hands over on the first rewrite (the
// 'htmlrewriter.module' host op). Like every lazily loaded prelude module, it imports no eager one: what it needs
// of them comes in `deps`.
import { instantiateLolHtml } from './lol-html.js';
/** @import { LolHtml } from './lol-html.js' */

/** Instances kept for reuse once their transform is over; more exist only while more transforms run at once. */
const MAX_IDLE_INSTANCES = 2;

/**
 * @typedef {{
 *   Response: any,
 *   isResponse: (v: unknown) => boolean,
 *   getResponseHead: (r: any) => { status: number, statusText: string, headers: Array<[string, string]> },
 *   ReadableStream: () => any,
 *   loadModule: () => WebAssembly.Module,
 *   chunkBytes: (v: unknown) => Uint8Array | null,
 *   utf8Encode: (s: string) => Uint8Array,
 *   utf8Decode: (b: Uint8Array) => string,
 * }} HTMLRewriterDeps
 * @typedef {{ element?: Function, comments?: Function, text?: Function }} ElementHandlers
 * @typedef {{ doctype?: Function, comments?: Function, text?: Function, end?: Function }} DocumentHandlers
 * @typedef {{ selector: string, handlers: ElementHandlers } | { selector: null, handlers: DocumentHandlers }} Registration
 */

/** @param {HTMLRewriterDeps} deps */
export function createHTMLRewriter(deps) {
  /** @type {WebAssembly.Module | null} */
  let module = null;
  /** @type {LolHtml[]} */
  const idle = [];

  /** An instance for one transform (or one selector check), used by nothing else until released. */
  function lease() {
    const free = idle.pop();
    if (free !== undefined) return free;
    module ??= deps.loadModule();
    return instantiateLolHtml(module, WebAssembly.Instance, deps);
  }
  /**
   * Back to the pool, unless it may be unusable: a trap (a wasm panic), or a rewrite stopped inside a handler
   * (its stack still unwound), leaves an instance that is dropped for the garbage collector instead.
   * @param {LolHtml} lol
   */
  function release(lol) {
    if (idle.length < MAX_IDLE_INSTANCES) idle.push(lol);
  }

  /** Parses the selector now, so that a bad one throws at `.on()` as on Workers, not on the first rewrite. */
  function checkSelector(selector) {
    const lol = lease();
    let reusable = true;
    let rewriter = null;
    try {
      rewriter = new lol.Rewriter(() => {});
      rewriter.on(selector, {});
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) reusable = false;
      throw new TypeError(`HTMLRewriter.on(): invalid selector ${JSON.stringify(selector)}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      try {
        rewriter?.free();
      } catch {
        reusable = false;
      }
      if (reusable) release(lol);
    }
  }

  /**
   * The rewritten body: pulled chunk by chunk from `source`, each written through a lol-html rewriter whose output
   * is enqueued as it comes. Nothing runs before the first read (highWaterMark 0).
   * @param {any} source  the response's body stream
   * @param {Registration[]} registrations
   */
  function rewrittenStream(source, registrations) {
    const reader = source.getReader();
    /** @type {LolHtml | null} */
    let lol = null;
    /** @type {any} */
    let rewriter = null;
    let produced = 0;
    /** True while a pull is inside lol-html (possibly waiting on an async handler). */
    let inside = false;
    /** Cancelled, errored or done: no more output, and the rewriter is (or, once out of lol-html, will be) freed. */
    let closed = false;

    /** Frees the rewriter; its instance goes back to the pool only when lol-html returned normally. */
    const finish = (/** @type {boolean} */ reusable) => {
      closed = true;
      if (rewriter !== null) {
        try {
          rewriter.free();
        } catch {
          reusable = false;
        }
      }
      if (lol !== null && reusable) release(lol);
      rewriter = null;
      lol = null;
    };
    /** Runs one write() or end(): the pull that was cancelled meanwhile frees the rewriter once lol-html is done. */
    const step = async (/** @type {Promise<void>} */ call) => {
      inside = true;
      try {
        await call;
      } finally {
        inside = false;
      }
      if (closed) finish(true);
    };

    return new (deps.ReadableStream())(
      {
        /** @param {any} controller */
        async pull(controller) {
          try {
            if (rewriter === null) {
              lol = lease();
              rewriter = new lol.Rewriter((chunk) => {
                if (closed || chunk.length === 0) return;
                controller.enqueue(chunk); // a copy already (js-sys copies out of wasm memory)
                produced++;
              });
              for (const r of registrations) {
                if (r.selector === null) rewriter.onDocument(r.handlers);
                else rewriter.on(r.selector, r.handlers);
              }
            }
            // Until something came out: a pull that enqueues nothing would not be called again.
            for (;;) {
              const before = produced;
              const { done, value } = await reader.read();
              if (closed) return;
              if (done) {
                await step(rewriter.end());
                if (closed) return;
                finish(true);
                controller.close();
                return;
              }
              const bytes = deps.chunkBytes(value);
              if (bytes === null) {
                throw new TypeError(`HTMLRewriter.transform(): the response body must produce Uint8Array (or ArrayBuffer/ArrayBufferView) chunks, got ${value === null ? 'null' : typeof value}.`);
              }
              if (bytes.length > 0) await step(rewriter.write(bytes));
              if (closed || produced !== before) return;
            }
          } catch (err) {
            // A handler threw (or its promise rejected), or lol-html trapped: the instance may hold an unwound stack or
            // a broken heap, so it is dropped for the garbage collector rather than reused.
            const error = err instanceof WebAssembly.RuntimeError && lol !== null ? trapError(err, lol) : err;
            finish(false);
            reader.cancel(error).catch(() => {});
            throw error;
          }
        },
        /** @param {unknown} reason */
        cancel(reason) {
          // Inside lol-html (waiting on a handler) the rewriter cannot be freed yet: the pull frees it when it returns.
          if (inside) closed = true;
          else finish(true);
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * lol-html aborts (a wasm trap) when it cannot allocate: its memory is capped at the worker's budget (memory_mb),
   * and it buffers a whole start tag, comment or doctype, however long.
   * @param {Error} err
   * @param {LolHtml} lol
   */
  function trapError(err, lol) {
    const mib = Math.round((lol.memoryBytes() / 1048576) * 10) / 10;
    return new RangeError(
      `HTMLRewriter failed inside lol-html (${err.name}: ${err.message}), most likely out of memory: its WebAssembly memory had grown to ${mib} MiB, ` +
        "and it counts against the worker's memory budget ([limits] memory_mb). It buffers a whole start tag, comment or doctype, however long.",
      { cause: err },
    );
  }

  class HTMLRewriter {
    /** @type {Registration[]} */
    #registrations = [];

    /**
     * Calls `handlers.element(el)`, `.comments(c)`, `.text(t)` for what matches the CSS selector.
     * @param {string} selector
     * @param {ElementHandlers} handlers
     */
    on(selector, handlers) {
      if (arguments.length < 2) throw new TypeError(`HTMLRewriter.on(): 2 arguments required, but only ${arguments.length} present.`);
      checkHandlers('on', handlers, ['element', 'comments', 'text']);
      const s = String(selector);
      checkSelector(s);
      this.#registrations.push({ selector: s, handlers });
      return this;
    }

    /**
     * Calls `handlers.doctype(d)`, `.comments(c)`, `.text(t)` for the whole document and `.end(end)` after it.
     * @param {DocumentHandlers} handlers
     */
    onDocument(handlers) {
      checkHandlers('onDocument', handlers, ['doctype', 'comments', 'text', 'end']);
      this.#registrations.push({ selector: null, handlers });
      return this;
    }

    /**
     * A Response with the same status and headers (but Content-Length, which rewriting changes) whose body is
     * `response`'s rewritten as it is read. Takes `response`'s body.
     * @param {any} response
     */
    transform(response) {
      if (!deps.isResponse(response)) throw new TypeError("HTMLRewriter.transform(): the argument must be a Response.");
      const head = deps.getResponseHead(response);
      const headers = head.headers.filter(([name]) => name.toLowerCase() !== 'content-length');
      const source = response.body;
      if (source !== null && (source.locked || response.bodyUsed)) {
        throw new TypeError('HTMLRewriter.transform(): the response body has already been used or is locked to a reader.');
      }
      const body = source === null ? null : rewrittenStream(source, this.#registrations.slice());
      return new deps.Response(body, { status: head.status, statusText: head.statusText, headers });
    }
  }
  Object.defineProperty(HTMLRewriter.prototype, Symbol.toStringTag, { value: 'HTMLRewriter', configurable: true });

  return { HTMLRewriter };
}

/**
 * @param {string} method
 * @param {unknown} handlers
 * @param {string[]} names
 */
function checkHandlers(method, handlers, names) {
  if ((typeof handlers !== 'object' && typeof handlers !== 'function') || handlers === null) {
    throw new TypeError(`HTMLRewriter.${method}(): the handlers must be an object with ${names.join(', ')} methods.`);
  }
  for (const name of names) {
    const h = /** @type {Record<string, unknown>} */ (handlers)[name];
    if (h !== undefined && h !== null && typeof h !== 'function') {
      throw new TypeError(`HTMLRewriter.${method}(): handlers.${name} must be a function, got ${typeof h}.`);
    }
  }
}
