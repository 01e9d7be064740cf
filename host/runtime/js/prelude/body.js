// The Body mixin shared by Request and Response (as a base class). A body is either bytes or a string that were
// never turned into a stream (kept as is: the common case of `new Response("...")` costs no stream at all), a
// ReadableStream, or nothing. `takeBody` is how the runtime takes a body to send it to the host.
import { isByteStream, isDisturbed, isReadableStream, streams } from './streams.js';
import { utf8Encode, utf8Decode } from './encoding.js';
import { URLSearchParams } from './url.js';
import { isBlob, blobBytes, makeBlob, makeFile } from './blob.js';
import { FormData, isFormData, serializeFormData, formDataFromUrlEncoded, multipartBoundary, appendEntry } from './form-data.js';
import { readHostStreamWhole } from './host-streams.js';

/** What the lazily loaded multipart parser (multipart.js) builds its FormData with. */
const MULTIPART_DEPS = { FormData, appendEntry, makeFile, utf8Decode };
let multipart = null;

const USED_MESSAGE = 'Body has already been used. It can only be used once. Use tee() first if you need to read it twice.';
const LOCKED_MESSAGE = "The body's ReadableStream is locked to a reader.";
const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const FORM_URLENCODED = 'application/x-www-form-urlencoded;charset=UTF-8';

// Captured at load: guest code may replace it.
const transferBuffer = ArrayBuffer.prototype.transfer;

/**
 * Frees the memory of bytes nobody else holds, now rather than at the next GC: dead ArrayBuffers cost a worker far
 * more in the GCs they bring on (measured: 50 MB of them, 60-200 ms of a later request's CPU) than in their copying.
 * @param {Uint8Array} bytes
 */
function release(bytes) {
  try {
    transferBuffer.call(bytes.buffer, 0);
  } catch {
    // Not detachable (a SharedArrayBuffer, a wasm memory): left to the GC.
  }
}

function copyBytes(buffer, offset, length) {
  const out = new Uint8Array(length);
  out.set(new Uint8Array(buffer, offset, length));
  return out;
}

/**
 * @param {unknown} value
 * @returns {Uint8Array | null}
 */
function chunkBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

/**
 * Reads a byte stream to its end into one Uint8Array. `options.max`: more bytes than this cancel the stream and
 * throw `options.tooLarge(max)`; `options.what` names the stream in the error for a chunk that is not bytes.
 */
/** @typedef {{ max?: number, what?: string, tooLarge?: (max: number) => Error }} ReadAllOptions  `max` comes with `tooLarge` */
/**
 * @param {ReadableStream} stream
 * @param {ReadAllOptions} [options]
 */
async function readAllBytes(stream, options = undefined) {
  const max = options?.max ?? Infinity;
  // A host stream nobody read (the request's body, an R2 or KV body, a cache match), read with no cap of the caller's,
  // is read by the host and moved in as one buffer: no chunk crosses, nothing is copied here. (Callers with a cap, the
  // KV and cache puts, hand such streams to the host unread before they get here.)
  const whole = max === Infinity ? readHostStreamWhole(stream) : null;
  if (whole !== null) return whole;
  // A byte stream's chunks are its own (enqueue transferred them): once copied into the result they are let go.
  const owned = isByteStream(stream);
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = chunkBytes(value);
    if (chunk === null) {
      const error = new TypeError(`${options?.what ?? 'A body stream'} must produce Uint8Array (or ArrayBuffer/ArrayBufferView) chunks, got ${value === null ? 'null' : typeof value}.`);
      reader.cancel(error).catch(() => {});
      throw error;
    }
    total += chunk.length;
    if (total > max) {
      // A finite max was given, and with it tooLarge.
      const error = /** @type {Required<ReadAllOptions>} */ (options).tooLarge(max);
      reader.cancel(error).catch(() => {});
      throw error;
    }
    chunks.push(chunk);
  }
  // One chunk of a byte stream that spans its buffer is the result as it is (nobody else holds it): no copy. Callers
  // take the result's .buffer (R2's arrayBuffer()), so a view on a larger buffer is copied out like several chunks.
  if (owned && chunks.length === 1 && chunks[0].byteOffset === 0 && chunks[0].byteLength === chunks[0].buffer.byteLength) return chunks[0];
  return concatBytes(chunks, total, owned);
}

/** The chunks one after the other in a new Uint8Array of `total` bytes; `release` frees each chunk once copied. */
function concatBytes(chunks, total, releaseChunks = false) {
  const out = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i], offset);
    offset += chunks[i].length;
    if (releaseChunks) {
      release(chunks[i]);
      chunks[i] = null;
    }
  }
  return out;
}

function bytesToStream(bytes) {
  return new (streams().ReadableStream)({
    type: 'bytes',
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

function toArrayBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

let initBody;
let cloneBodyInto;
let moveBody;
let hasBody;
let takeBodyFrom;

/** A Body is always a Request's or a Response's, which have headers. @typedef {Body & { headers: import('./headers.js').Headers }} BodyOwner */

export class Body {
  /** @type {string | Uint8Array | null} */
  #src = null; // a body that has not been turned into a stream
  /** @type {ReadableStream | null} */
  #stream = null;
  #used = false;

  static {
    initBody = (target, init) => {
      if (init === null || init === undefined) return null;
      if (typeof init === 'string') {
        target.#src = init;
        return TEXT_PLAIN;
      }
      if (isReadableStream(init)) {
        if (init.locked || isDisturbed(init)) throw new TypeError('The ReadableStream given as a body is locked or has already been read.');
        target.#stream = init;
        return null;
      }
      if (ArrayBuffer.isView(init)) {
        target.#src = copyBytes(init.buffer, init.byteOffset, init.byteLength);
        return null;
      }
      if (init instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && init instanceof SharedArrayBuffer)) {
        target.#src = copyBytes(init, 0, init.byteLength);
        return null;
      }
      if (init instanceof URLSearchParams) {
        target.#src = init.toString();
        return FORM_URLENCODED;
      }
      if (isBlob(init)) {
        // A copy: the body's bytes are handed out by bytes()/arrayBuffer(), and a Blob must stay as it is.
        target.#src = blobBytes(init).slice();
        return init.type === '' ? null : init.type;
      }
      if (isFormData(init)) {
        const { bytes, contentType } = serializeFormData(init);
        target.#src = bytes;
        return contentType;
      }
      target.#src = String(init);
      return TEXT_PLAIN;
    };
    hasBody = (target) => target.#src !== null || target.#stream !== null;
    cloneBodyInto = (from, to) => {
      from.#throwIfUnusable();
      if (from.#stream !== null) {
        const [a, b] = from.#stream.tee();
        from.#stream = a;
        to.#stream = b;
      } else if (from.#src !== null) {
        to.#src = typeof from.#src === 'string' ? from.#src : from.#src.slice();
      }
    };
    moveBody = (from, to) => {
      if (from.#src === null && from.#stream === null) return;
      from.#throwIfUnusable();
      to.#src = from.#src;
      to.#stream = from.#stream;
      from.#src = null;
      from.#stream = null;
      from.#used = true;
    };
    takeBodyFrom = (target) => {
      const stream = target.#stream;
      if (stream !== null) {
        target.#throwIfUnusable();
        target.#used = true;
        return stream;
      }
      const src = target.#src;
      if (src === null) {
        if (target.#used) throw new TypeError(USED_MESSAGE);
        return null;
      }
      target.#src = null;
      target.#used = true;
      return typeof src === 'string' ? utf8Encode(src) : src;
    };
  }

  #throwIfUnusable() {
    if (this.#used) throw new TypeError(USED_MESSAGE);
    const stream = this.#stream;
    if (stream !== null) {
      if (isDisturbed(stream)) throw new TypeError(USED_MESSAGE);
      if (stream.locked) throw new TypeError(LOCKED_MESSAGE);
    }
  }

  /** Takes the body for reading: a string (never streamed), bytes, or a promise of bytes from the stream. */
  #consume() {
    this.#throwIfUnusable();
    const stream = this.#stream;
    if (stream !== null) {
      this.#used = true;
      return readAllBytes(stream);
    }
    const src = this.#src;
    if (src === null) return new Uint8Array(0);
    this.#src = null;
    this.#used = true;
    return src;
  }

  get body() {
    let stream = this.#stream;
    if (stream === null) {
      const src = this.#src;
      if (src === null) return null;
      this.#src = null;
      stream = this.#stream = bytesToStream(typeof src === 'string' ? utf8Encode(src) : src);
    }
    return stream;
  }

  get bodyUsed() {
    if (this.#used) return true;
    const stream = this.#stream;
    return stream !== null && isDisturbed(stream);
  }

  async arrayBuffer() {
    const b = this.#consume();
    if (typeof b === 'string') return utf8Encode(b).buffer;
    return toArrayBuffer(b instanceof Uint8Array ? b : await b);
  }

  async bytes() {
    const b = this.#consume();
    if (typeof b === 'string') return utf8Encode(b);
    return b instanceof Uint8Array ? b : await b;
  }

  async text() {
    const b = this.#consume();
    if (typeof b === 'string') return b.toWellFormed();
    if (b instanceof Uint8Array) return utf8Decode(b);
    // Read from the stream into bytes of its own: once decoded, nothing holds them.
    const bytes = await b;
    const text = utf8Decode(bytes);
    release(bytes);
    return text;
  }

  async json() {
    return JSON.parse(await this.text());
  }

  /**
   * The body as a FormData: multipart/form-data (parsed as it streams in) or application/x-www-form-urlencoded.
   * @this {BodyOwner}
   */
  async formData() {
    const contentType = this.headers.get('content-type') ?? '';
    const essence = contentType.split(';', 1)[0].trim().toLowerCase();
    if (essence === 'multipart/form-data') {
      // eslint-disable-next-line no-undef
      const { parseMultipartFormData } = (multipart ??= require('./multipart.js'));
      const boundary = multipartBoundary(contentType);
      if (boundary === null) throw new TypeError(`Body.formData(): the Content-Type "${contentType}" has no boundary parameter, so the multipart body cannot be split into parts.`);
      this.#throwIfUnusable();
      const stream = this.#stream;
      if (stream !== null) {
        this.#used = true;
        return parseMultipartFormData(stream, boundary, MULTIPART_DEPS);
      }
      const b = this.#consume();
      return parseMultipartFormData(typeof b === 'string' ? utf8Encode(b) : b, boundary, MULTIPART_DEPS);
    }
    if (essence === 'application/x-www-form-urlencoded') return formDataFromUrlEncoded(await this.text());
    throw new TypeError(
      `Body.formData(): the Content-Type is ${contentType === '' ? 'missing' : `"${contentType}"`}; a body can be read as FormData only when it is multipart/form-data (with a boundary) or application/x-www-form-urlencoded.`,
    );
  }

  /**
   * The body as a Blob whose type is the Content-Type header (or '').
   * @this {BodyOwner}
   */
  async blob() {
    const bytes = await this.bytes();
    return makeBlob(bytes, (this.headers.get('content-type') ?? '').toLowerCase());
  }
}

/**
 * Takes the body of a Request or Response for the host, marking it used:
 *   null        no body
 *   Uint8Array  the body was given as a string, bytes or URLSearchParams and never turned into a stream
 *   ReadableStream  otherwise (the caller reads it)
 * Throws TypeError if the body was already used or its stream is locked.
 * @param {Body} requestOrResponse
 * @returns {Uint8Array | ReadableStream | null}
 */
export function takeBody(requestOrResponse) {
  return takeBodyFrom(requestOrResponse);
}

export { initBody, cloneBodyInto, moveBody, hasBody, readAllBytes, concatBytes, chunkBytes };
