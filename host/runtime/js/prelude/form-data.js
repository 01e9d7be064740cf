// FormData (XHR standard) without form elements, as in Workers: an ordered list of (name, value) entries whose values
// are strings or Files. Also its encodings for bodies: the multipart/form-data serialization (HTML's algorithm; the
// bytes are built at once because every value is in memory) and the application/x-www-form-urlencoded parse.
import { PairIterator } from './headers.js';
import { Blob, File, isBlob, blobBytes, makeFile } from './blob.js';
import { utf8Encode } from './encoding.js';
import { URLSearchParams } from './url.js';
import { crypto } from './crypto.js';

function entryValue(value, filename, argCount, method) {
  if (isBlob(value)) {
    if (argCount < 3 && value instanceof File) return value;
    const name = argCount >= 3 ? String(filename) : value instanceof File ? value.name : 'blob';
    return makeFile(blobBytes(value), name, value.type, value instanceof File ? value.lastModified : Date.now());
  }
  if (argCount >= 3) throw new TypeError(`Failed to execute '${method}' on 'FormData': parameter 2 is not of type 'Blob' (a filename can only be given with a Blob or File value).`);
  return String(value).toWellFormed();
}

function checkArgs(n, needed, method) {
  if (n < needed) throw new TypeError(`Failed to execute '${method}' on 'FormData': ${needed} argument${needed > 1 ? 's' : ''} required, but only ${n} present.`);
}

let entriesOf;

export class FormData {
  /** [name, value][]: value is a string or a File. */
  #entries = [];

  static {
    entriesOf = (fd) => fd.#entries;
  }

  constructor(form = undefined) {
    if (form !== undefined) throw new TypeError("Failed to construct 'FormData': there are no form elements in this runtime; create an empty FormData and append() to it.");
  }

  append(name, value, filename = undefined) {
    checkArgs(arguments.length, 2, 'append');
    this.#entries.push([String(name).toWellFormed(), entryValue(value, filename, arguments.length, 'append')]);
  }

  set(name, value, filename = undefined) {
    checkArgs(arguments.length, 2, 'set');
    const n = String(name).toWellFormed();
    const entry = [n, entryValue(value, filename, arguments.length, 'set')];
    const list = this.#entries;
    const first = list.findIndex((e) => e[0] === n);
    if (first < 0) {
      list.push(entry);
      return;
    }
    list[first] = entry;
    for (let i = list.length - 1; i > first; i--) if (list[i][0] === n) list.splice(i, 1);
  }

  get(name) {
    checkArgs(arguments.length, 1, 'get');
    const n = String(name).toWellFormed();
    const e = this.#entries.find((x) => x[0] === n);
    return e === undefined ? null : e[1];
  }

  getAll(name) {
    checkArgs(arguments.length, 1, 'getAll');
    const n = String(name).toWellFormed();
    return this.#entries.filter((x) => x[0] === n).map((x) => x[1]);
  }

  has(name) {
    checkArgs(arguments.length, 1, 'has');
    const n = String(name).toWellFormed();
    return this.#entries.some((x) => x[0] === n);
  }

  delete(name) {
    checkArgs(arguments.length, 1, 'delete');
    const n = String(name).toWellFormed();
    const list = this.#entries;
    for (let i = list.length - 1; i >= 0; i--) if (list[i][0] === n) list.splice(i, 1);
  }

  entries() {
    return new PairIterator(this.#entries, 'entries');
  }

  keys() {
    return new PairIterator(this.#entries, 'keys');
  }

  values() {
    return new PairIterator(this.#entries, 'values');
  }

  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'FormData': The callback provided as parameter 1 is not a function.");
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}
Object.defineProperty(FormData.prototype, Symbol.toStringTag, { value: 'FormData', configurable: true });

export function isFormData(value) {
  return value instanceof FormData;
}

/** Adds an entry that is known to be valid (from a parser): no argument conversions. */
export function appendEntry(fd, name, value) {
  entriesOf(fd).push([name, value]);
}

// Names and filenames are quoted strings in Content-Disposition: HTML's algorithm percent-encodes the three
// characters that would end or break them.
function escapeQuoted(s) {
  return s.replace(/[\n\r"]/g, (c) => (c === '\n' ? '%0A' : c === '\r' ? '%0D' : '%22'));
}

function normalizeNewlines(s) {
  return s.replace(/\r\n|\r|\n/g, '\r\n');
}

function randomBoundary() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return '----formdata-edge-' + hex;
}

/** The multipart/form-data encoding of `fd`: `{ bytes, contentType }` with a random boundary. */
export function serializeFormData(fd) {
  const boundary = randomBoundary();
  const chunks = [];
  let total = 0;
  const push = (bytes) => {
    chunks.push(bytes);
    total += bytes.byteLength;
  };
  for (const [name, value] of entriesOf(fd)) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuoted(normalizeNewlines(name))}"`;
    if (typeof value === 'string') {
      push(utf8Encode(`${head}\r\n\r\n${normalizeNewlines(value)}\r\n`));
    } else {
      head += `; filename="${escapeQuoted(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`;
      push(utf8Encode(head));
      push(blobBytes(value));
      push(utf8Encode('\r\n'));
    }
  }
  push(utf8Encode(`--${boundary}--\r\n`));
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The boundary parameter of a multipart Content-Type (quoted or not), or null. */
export function multipartBoundary(contentType) {
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  const b = m === null ? '' : (m[1] ?? m[2]);
  return b === '' ? null : b;
}

/** A FormData from an application/x-www-form-urlencoded body. */
export function formDataFromUrlEncoded(text) {
  const fd = new FormData();
  for (const [name, value] of new URLSearchParams(text)) appendEntry(fd, name, value);
  return fd;
}

export { Blob, File };
