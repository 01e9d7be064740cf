// Blob and File (W3C File API) as Workers has them: immutable bytes held in memory. Hand-written rather than taken
// from a package (fetch-blob, formdata-node) because the bodies need the bytes synchronously: `new Response(blob)`
// then sends one buffer with its Content-Length, as it does for a string, instead of an async stream of parts.
// Slices share the bytes of the Blob they come from.
import { utf8Encode, utf8Decode } from './encoding.js';
import { streams } from './streams.js';

const EMPTY = new Uint8Array(0);
const INTERNAL = Symbol('internal');
/** A type is kept only if it is all printable ASCII (then lowercased), per the File API. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function normalizeType(type) {
  if (type === undefined) return '';
  const s = String(type);
  return PRINTABLE_ASCII.test(s) ? s.toLowerCase() : '';
}

function partBytes(part, endings) {
  if (isBlobImpl(part)) return getBytes(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  if (part instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && part instanceof SharedArrayBuffer)) return new Uint8Array(part);
  let s = String(part);
  if (endings === 'native') s = s.replace(/\r\n|\r/g, '\n');
  return utf8Encode(s.toWellFormed());
}

function concatParts(parts, endings, what) {
  if (parts === undefined || parts === null) {
    if (parts === null) throw new TypeError(`Failed to construct '${what}': The provided value cannot be converted to a sequence.`);
    return EMPTY;
  }
  if (typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
    throw new TypeError(`Failed to construct '${what}': The provided value cannot be converted to a sequence (pass an array of strings, ArrayBuffers, typed arrays or Blobs).`);
  }
  const list = [];
  let total = 0;
  for (const part of parts) {
    const bytes = partBytes(part, endings);
    list.push(bytes);
    total += bytes.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of list) {
    out.set(b, offset);
    offset += b.byteLength;
  }
  return out;
}

function relativeIndex(value, size) {
  if (value === undefined) return undefined;
  let n = Math.trunc(Number(value));
  if (Number.isNaN(n)) n = 0;
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
}

let getBytes;
let fromBytes;
let setFileFields;
let isBlobImpl;

export class Blob {
  #bytes = EMPTY;
  #type = '';

  static {
    getBytes = (blob) => blob.#bytes;
    isBlobImpl = (v) => typeof v === 'object' && v !== null && #bytes in v;
    fromBytes = (blob, bytes, type) => {
      blob.#bytes = bytes;
      blob.#type = type;
      return blob;
    };
  }

  /**
   * @param {unknown} [blobParts]
   * @param {{ type?: unknown, endings?: unknown } | null} [options]  BlobPropertyBag
   */
  constructor(blobParts = undefined, options = undefined) {
    const opts = options ?? {};
    if (blobParts === INTERNAL) return;
    if (typeof opts !== 'object' && typeof opts !== 'function') throw new TypeError("Failed to construct 'Blob': The provided value is not of type 'BlobPropertyBag'.");
    const endings = opts.endings === undefined ? 'transparent' : String(opts.endings);
    if (endings !== 'transparent' && endings !== 'native') throw new TypeError(`Failed to construct 'Blob': '${endings}' is not a valid value for endings (expected 'transparent' or 'native').`);
    this.#bytes = concatParts(blobParts, endings, new.target === File ? 'File' : 'Blob');
    this.#type = normalizeType(opts.type);
  }

  get size() {
    return this.#bytes.byteLength;
  }

  get type() {
    return this.#type;
  }

  slice(start = undefined, end = undefined, contentType = undefined) {
    const size = this.#bytes.byteLength;
    const from = relativeIndex(start, size) ?? 0;
    const to = relativeIndex(end, size) ?? size;
    return makeBlob(this.#bytes.subarray(from, Math.max(from, to)), normalizeType(contentType));
  }

  async arrayBuffer() {
    return this.#bytes.slice().buffer;
  }

  async bytes() {
    return this.#bytes.slice();
  }

  async text() {
    return utf8Decode(this.#bytes);
  }

  stream() {
    const bytes = this.#bytes;
    let offset = 0;
    // Chunks of at most 64 KiB, each a copy: a reader may transfer or modify what it gets.
    return new (streams().ReadableStream)({
      type: 'bytes',
      pull(controller) {
        if (offset >= bytes.byteLength) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const end = Math.min(offset + 65536, bytes.byteLength);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
  }
}
Object.defineProperty(Blob.prototype, Symbol.toStringTag, { value: 'Blob', configurable: true });

export class File extends Blob {
  #name = '';
  #lastModified = 0;

  /**
   * @param {unknown} fileBits
   * @param {unknown} [fileName]
   * @param {{ type?: unknown, endings?: unknown, lastModified?: unknown } | null} [options]  FilePropertyBag
   */
  constructor(fileBits, fileName, options = undefined) {
    if (fileBits === INTERNAL) {
      super(INTERNAL);
      return;
    }
    if (arguments.length < 2) throw new TypeError(`Failed to construct 'File': 2 arguments required, but only ${arguments.length} present.`);
    super(fileBits, options);
    this.#name = String(fileName);
    const lm = options?.lastModified;
    this.#lastModified = lm === undefined ? Date.now() : Math.trunc(Number(lm)) || 0;
  }

  static {
    setFileFields = (file, name, lastModified) => {
      file.#name = name;
      file.#lastModified = lastModified;
      return file;
    };
  }

  get name() {
    return this.#name;
  }

  get lastModified() {
    return this.#lastModified;
  }
}
Object.defineProperty(File.prototype, Symbol.toStringTag, { value: 'File', configurable: true });

/** A Blob over `bytes` (not copied: the caller gives up the buffer). */
export function makeBlob(bytes, type = '') {
  return fromBytes(new Blob(INTERNAL), bytes, type);
}

/** A File over `bytes` (not copied). */
export function makeFile(bytes, name, type = '', lastModified = Date.now()) {
  return setFileFields(fromBytes(new File(INTERNAL), bytes, type), name, lastModified);
}

/** True for a real Blob (or File). */
export function isBlob(value) {
  return isBlobImpl(value);
}

/** The bytes of a Blob, without copying: callers must not modify them. */
export function blobBytes(blob) {
  return getBytes(blob);
}
