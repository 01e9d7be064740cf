// `env.MY_BUCKET`: R2 for JS workers (r2_buckets in the manifest), as Workers' R2Bucket. Every call is an async host
// op (host/bindings/r2/r2-service.ts); bodies stream in chunks both ways, never held whole.
import { hostAsync } from './internal/async.js';
import { chunkBytes, readAllBytes } from './body.js';
import { TextEncoder, TextDecoder } from './encoding.js';
import { isBlob, blobBytes } from './blob.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BINDING = new WeakMap();
const CHECKSUMS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
const HEX_BYTES = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const HTTP_FIELDS = ['contentType', 'contentLanguage', 'contentDisposition', 'contentEncoding', 'cacheControl'];

function bindingOf(self) {
  const b = BINDING.get(self);
  if (b === undefined) throw new TypeError('Illegal invocation: not an R2 bucket');
  return b;
}

function hexToBuffer(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out.buffer;
}

function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export class R2Checksums {
  #hex;
  constructor(hex) {
    this.#hex = hex;
    for (const name of CHECKSUMS) if (hex[name] !== undefined) this[name] = hexToBuffer(hex[name]);
  }
  toJSON() {
    return { ...this.#hex };
  }
}

function headerDate(ms) {
  return new Date(ms).toUTCString();
}

export class R2Object {
  #http;
  constructor(o, include) {
    this.key = o.key;
    this.version = o.version;
    this.size = o.size;
    this.etag = o.etag;
    this.httpEtag = `"${o.etag}"`;
    this.checksums = new R2Checksums(o.checksums ?? {});
    this.uploaded = new Date(o.uploaded);
    this.storageClass = 'Standard';
    const http = { ...o.httpMetadata };
    if (http.cacheExpiry !== undefined) http.cacheExpiry = new Date(http.cacheExpiry);
    this.#http = http;
    if (include === undefined || include.includes('httpMetadata')) this.httpMetadata = http;
    if (include === undefined || include.includes('customMetadata')) this.customMetadata = { ...o.customMetadata };
    if (o.range !== undefined) this.range = o.range;
  }

  /** Sets the stored HTTP metadata as response headers (content-type, cache-control, ..., expires). */
  writeHttpMetadata(headers) {
    const h = this.#http;
    if (h.contentType !== undefined) headers.set('content-type', h.contentType);
    if (h.contentLanguage !== undefined) headers.set('content-language', h.contentLanguage);
    if (h.contentDisposition !== undefined) headers.set('content-disposition', h.contentDisposition);
    if (h.contentEncoding !== undefined) headers.set('content-encoding', h.contentEncoding);
    if (h.cacheControl !== undefined) headers.set('cache-control', h.cacheControl);
    if (h.cacheExpiry !== undefined) headers.set('expires', headerDate(h.cacheExpiry.getTime()));
  }
}

export class R2ObjectBody extends R2Object {
  #stream;
  constructor(o, body) {
    super(o);
    this.#stream = body;
  }
  get body() {
    return this.#stream;
  }
  get bodyUsed() {
    return this.#stream.locked || this.#used;
  }
  #used = false;
  async bytes() {
    if (this.bodyUsed) throw new TypeError('The body of this R2 object has already been read.');
    this.#used = true;
    return readAllBytes(this.#stream);
  }
  async arrayBuffer() {
    return (await this.bytes()).buffer;
  }
  async text() {
    return decoder.decode(await this.bytes());
  }
  async json() {
    return JSON.parse(await this.text());
  }
  async blob() {
    const type = this.httpMetadata?.contentType ?? '';
    return new Blob([await this.bytes()], { type });
  }
}

/** A body the host streams: the first chunk came with the metadata, the rest is pulled. */
function bodyStream(reply) {
  let stream = reply.done ? null : reply.stream;
  let first = reply.body;
  return new ReadableStream({
    type: 'bytes',
    async pull(c) {
      if (first !== null) {
        const b = first;
        first = null;
        if (b.byteLength > 0) c.enqueue(b);
        if (stream === null) c.close();
        return;
      }
      const chunk = await hostAsync('r2.read', { stream });
      if (chunk === null) {
        stream = null;
        c.close();
      } else c.enqueue(chunk);
    },
    cancel() {
      if (stream !== null) hostAsync('r2.cancel', { stream }).catch(() => {});
      stream = null;
    },
  });
}

function conditional(onlyIf) {
  if (onlyIf === undefined || onlyIf === null) return null;
  if (onlyIf instanceof Headers) {
    const out = {};
    const m = onlyIf.get('if-match');
    const n = onlyIf.get('if-none-match');
    const since = onlyIf.get('if-modified-since');
    const until = onlyIf.get('if-unmodified-since');
    if (m !== null) out.etagMatches = m;
    if (n !== null) out.etagDoesNotMatch = n;
    // HTTP dates have seconds granularity, and If-Modified-Since means "uploaded after".
    if (since !== null) out.uploadedAfter = Date.parse(since);
    if (until !== null) out.uploadedBefore = Date.parse(until) + 1000;
    out.secondsGranularity = true;
    return out;
  }
  if (typeof onlyIf !== 'object') throw new TypeError('onlyIf must be an R2Conditional object or Headers.');
  const time = (v, what) => {
    if (v === undefined) return undefined;
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw new TypeError(`onlyIf.${what} must be a Date.`);
    return v.getTime();
  };
  const out = {};
  if (onlyIf.etagMatches !== undefined) out.etagMatches = String(onlyIf.etagMatches);
  if (onlyIf.etagDoesNotMatch !== undefined) out.etagDoesNotMatch = String(onlyIf.etagDoesNotMatch);
  const before = time(onlyIf.uploadedBefore, 'uploadedBefore');
  const after = time(onlyIf.uploadedAfter, 'uploadedAfter');
  if (before !== undefined) out.uploadedBefore = before;
  if (after !== undefined) out.uploadedAfter = after;
  if (onlyIf.secondsGranularity === true) out.secondsGranularity = true;
  return out;
}

function rangeOf(range) {
  if (range === undefined || range === null) return null;
  if (range instanceof Headers) {
    const h = range.get('range');
    if (h === null) return null;
    const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
    if (!m || (m[1] === '' && m[2] === '')) throw new TypeError(`Unsupported Range header ${JSON.stringify(h)} (one "bytes=a-b" range).`);
    if (m[1] === '') return { suffix: Number(m[2]) };
    const offset = Number(m[1]);
    return m[2] === '' ? { offset } : { offset, length: Number(m[2]) - offset + 1 };
  }
  if (typeof range !== 'object') throw new TypeError('range must be { offset, length }, { suffix } or Headers.');
  if (range.suffix !== undefined) return { suffix: Number(range.suffix) };
  if (range.offset === undefined && range.length === undefined) throw new TypeError('range needs an offset, a length or a suffix.');
  const out = {};
  if (range.offset !== undefined) out.offset = Number(range.offset);
  if (range.length !== undefined) out.length = Number(range.length);
  return out;
}

function httpMetadataOf(v) {
  if (v === undefined || v === null) return null;
  const out = {};
  if (v instanceof Headers) {
    const map = { contentType: 'content-type', contentLanguage: 'content-language', contentDisposition: 'content-disposition', contentEncoding: 'content-encoding', cacheControl: 'cache-control' };
    for (const [field, header] of Object.entries(map)) {
      const h = v.get(header);
      if (h !== null) out[field] = h;
    }
    const expires = v.get('expires');
    if (expires !== null && !Number.isNaN(Date.parse(expires))) out.cacheExpiry = Date.parse(expires);
    return out;
  }
  if (typeof v !== 'object') throw new TypeError('httpMetadata must be an R2HTTPMetadata object or Headers.');
  for (const f of HTTP_FIELDS) if (v[f] !== undefined) out[f] = String(v[f]);
  if (v.cacheExpiry !== undefined) {
    if (!(v.cacheExpiry instanceof Date)) throw new TypeError('httpMetadata.cacheExpiry must be a Date.');
    out.cacheExpiry = v.cacheExpiry.getTime();
  }
  return out;
}

function checksumHex(name, v) {
  if (typeof v === 'string') {
    if (!/^[0-9a-fA-F]*$/.test(v) || v.length !== HEX_BYTES[name] * 2) throw new TypeError(`The ${name} checksum must be ${HEX_BYTES[name]} bytes (as an ArrayBuffer or ${HEX_BYTES[name] * 2} hex digits).`);
    return v.toLowerCase();
  }
  const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
  if (bytes === null || bytes.byteLength !== HEX_BYTES[name]) throw new TypeError(`The ${name} checksum must be ${HEX_BYTES[name]} bytes (as an ArrayBuffer or ${HEX_BYTES[name] * 2} hex digits).`);
  return toHex(bytes);
}

function putOptions(options) {
  const o = options ?? {};
  if (typeof o !== 'object') throw new TypeError('The options of put() must be an object.');
  const out = {};
  const http = httpMetadataOf(o.httpMetadata);
  if (http) out.httpMetadata = http;
  if (o.customMetadata !== undefined) {
    if (o.customMetadata === null || typeof o.customMetadata !== 'object') throw new TypeError('customMetadata must be an object of strings.');
    out.customMetadata = Object.fromEntries(Object.entries(o.customMetadata).map(([k, v]) => [k, String(v)]));
  }
  const sums = {};
  let n = 0;
  for (const name of CHECKSUMS) {
    if (o[name] !== undefined) {
      sums[name] = checksumHex(name, o[name]);
      n++;
    }
  }
  if (n > 1) throw new TypeError('put() takes at most one checksum (md5, sha1, sha256, sha384 or sha512).');
  if (n > 0) out.checksums = sums;
  const c = conditional(o.onlyIf);
  if (c) out.onlyIf = c;
  return out;
}

/** A put value as bytes, or a ReadableStream to stream; null for no body. */
async function bodyOf(value, what) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (isBlob(value)) return blobBytes(value).slice();
  if (value instanceof ReadableStream) return value;
  throw new TypeError(`${what} accepts a ReadableStream, ArrayBuffer, ArrayBufferView, string, Blob or null.`);
}

/** Streams `stream` to the host under an open put (or part), chunk by chunk; resolves with the put's answer. */
async function streamTo(begin, stream) {
  const id = await hostAsync('r2.putBegin', begin);
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = chunkBytes(value);
      if (chunk === null) throw new TypeError('A ReadableStream put into R2 must produce bytes (Uint8Array chunks).');
      if (chunk.byteLength > 0) await hostAsync('r2.write', { stream: id, chunk });
    }
  } catch (err) {
    reader.cancel(err).catch(() => {});
    hostAsync('r2.cancel', { stream: id }).catch(() => {});
    throw err;
  }
  return hostAsync('r2.putEnd', { stream: id });
}

export class R2MultipartUpload {
  #binding;
  constructor(binding, key, uploadId) {
    this.#binding = binding;
    Object.defineProperty(this, 'key', { value: key, enumerable: true });
    Object.defineProperty(this, 'uploadId', { value: uploadId, enumerable: true });
  }
  async uploadPart(partNumber, value) {
    const n = Number(partNumber);
    const body = await bodyOf(value, 'uploadPart()');
    if (body === null) throw new TypeError('uploadPart() needs a body.');
    if (body instanceof ReadableStream) return streamTo({ binding: this.#binding, key: this.key, uploadId: this.uploadId, partNumber: n }, body);
    return hostAsync('r2.mpuPart', { binding: this.#binding, key: this.key, uploadId: this.uploadId, partNumber: n, body });
  }
  async abort() {
    await hostAsync('r2.mpuAbort', { binding: this.#binding, key: this.key, uploadId: this.uploadId });
  }
  async complete(uploadedParts) {
    if (!Array.isArray(uploadedParts)) throw new TypeError('complete() takes the array of parts uploadPart() returned.');
    const parts = uploadedParts.map((p) => ({ partNumber: Number(p?.partNumber), etag: String(p?.etag) }));
    return new R2Object(await hostAsync('r2.mpuComplete', { binding: this.#binding, key: this.key, uploadId: this.uploadId, parts }));
  }
}

export class R2Bucket {
  constructor() {
    throw new TypeError('R2 buckets are bound in the manifest (r2_buckets) and reached as env.<binding>.');
  }

  async head(key) {
    const o = await hostAsync('r2.head', { binding: bindingOf(this), key: String(key) });
    return o === null ? null : new R2Object(o);
  }

  async get(key, options) {
    const binding = bindingOf(this);
    const o = options ?? {};
    const reply = await hostAsync('r2.get', { binding, key: String(key), range: rangeOf(o.range), onlyIf: conditional(o.onlyIf) });
    if (reply === null) return null;
    if (reply.precondition) return new R2Object(reply.object);
    const object = { ...reply.object };
    if (o.range !== undefined && o.range !== null) object.range = reply.range;
    return new R2ObjectBody(object, bodyStream(reply));
  }

  async put(key, value, options) {
    const binding = bindingOf(this);
    const opts = putOptions(options);
    const body = await bodyOf(value, 'put()');
    const reply = body instanceof ReadableStream ? await streamTo({ binding, key: String(key), options: opts }, body) : await hostAsync('r2.put', { binding, key: String(key), body, options: opts });
    return reply === null ? null : new R2Object(reply);
  }

  async delete(keys) {
    const list = Array.isArray(keys) ? keys.map(String) : [String(keys)];
    await hostAsync('r2.delete', { binding: bindingOf(this), keys: list });
  }

  async list(options) {
    const o = options ?? {};
    if (typeof o !== 'object') throw new TypeError('The options of list() must be an object.');
    const include = o.include === undefined ? [] : Array.from(o.include, String);
    for (const i of include) if (i !== 'httpMetadata' && i !== 'customMetadata') throw new TypeError(`list(): include may name "httpMetadata" and "customMetadata", not ${JSON.stringify(i)}.`);
    const r = await hostAsync('r2.list', {
      binding: bindingOf(this),
      options: {
        limit: o.limit === undefined ? null : Number(o.limit),
        prefix: o.prefix === undefined ? null : String(o.prefix),
        cursor: o.cursor === undefined ? null : String(o.cursor),
        delimiter: o.delimiter === undefined ? null : String(o.delimiter),
        startAfter: o.startAfter === undefined ? null : String(o.startAfter),
      },
    });
    const out = { objects: r.objects.map((x) => new R2Object(x, include)), delimitedPrefixes: r.delimitedPrefixes, truncated: r.truncated };
    if (r.truncated) out.cursor = r.cursor;
    return out;
  }

  async createMultipartUpload(key, options) {
    const binding = bindingOf(this);
    const opts = putOptions(options);
    const uploadId = await hostAsync('r2.mpuCreate', { binding, key: String(key), options: opts });
    return new R2MultipartUpload(binding, String(key), uploadId);
  }

  resumeMultipartUpload(key, uploadId) {
    return new R2MultipartUpload(bindingOf(this), String(key), String(uploadId));
  }
}

/** `env` entries for the manifest's r2_buckets bindings. */
export function r2Env(bindings) {
  const env = {};
  for (const b of bindings) {
    const bucket = Object.create(R2Bucket.prototype);
    BINDING.set(bucket, b);
    env[b] = bucket;
  }
  return env;
}
