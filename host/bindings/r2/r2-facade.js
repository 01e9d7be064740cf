// `env.MY_BUCKET`: R2 for JS workers (r2_buckets in the manifest), as Workers' R2Bucket, over the edge:platform/blob
// interface (blob.ts), the same implementation components import. Bodies stream in chunks both ways and are never
// held whole: a get answers with the body's first chunk (all of a small object: one call) and the rest is read as
// the body is pulled; a put of a stream is written chunk by chunk, each write answered once the store has taken it.
// Prelude code: bundled into the isolate snapshot; it imports nothing and gets what it needs from `host`
// (host/runtime/js/prelude/env.js).
export default function r2Facade(host) {
  const BLOB = 'edge:platform/blob';
  const INTERNAL = Symbol('internal');
  const CHECKSUMS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
  const HEX_BYTES = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
  const HTTP_FIELDS = ['contentType', 'contentLanguage', 'contentDisposition', 'contentEncoding', 'cacheControl'];
  const HTTP_HEADERS = { contentType: 'content-type', contentLanguage: 'content-language', contentDisposition: 'content-disposition', contentEncoding: 'content-encoding', cacheControl: 'cache-control' };
  /** WIT error cases Workers reports as a TypeError (a bad argument); the others are Errors. */
  const TYPE_ERRORS = ['invalid-key', 'invalid-range', 'invalid-argument'];
  /** Bytes per body chunk, both ways; a stream put shorter than this is stored with one call. */
  const CHUNK = host.caps.r2ChunkBytes;
  /**
   * Bytes that come with a get's metadata: all of a small object in one call, and little to copy in and out again
   * when the body is passed on unread (a 256 KiB first chunk cost ~2 ms of the worker's CPU per get to do so).
   */
  const FIRST = 16384;
  // Taken while the env module runs, before the worker's code can replace the globals.
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const ReadableStreamCtor = ReadableStream;
  const HeadersCtor = Headers;
  const BlobCtor = Blob;
  const DateCtor = Date;
  /** R2Bucket -> its binding's state: `{ binding, handle }` (the bucket's handle, opened on first use). */
  const BUCKETS = new WeakMap();

  /** A WIT error of the blob interface as Workers reports R2 failures: an Error whose message names the operation. */
  function guestError(op, err) {
    if (!(err instanceof host.CapabilityError)) return err;
    const p = err.payload;
    const tag = p !== null && typeof p === 'object' ? p.tag : undefined;
    const val = p !== null && typeof p === 'object' ? p.val : undefined;
    if (tag === 'not-granted') return new TypeError(`no R2 bucket is bound as ${JSON.stringify(val)} (r2_buckets in the manifest)`);
    const message = `${op}: ${typeof val === 'string' ? val : err.message}`;
    return TYPE_ERRORS.includes(tag) ? new TypeError(message) : new Error(message);
  }

  function stateOf(self) {
    const s = typeof self === 'object' && self !== null ? BUCKETS.get(self) : undefined;
    if (s === undefined) throw new TypeError('Illegal invocation: not an R2 bucket');
    return s;
  }

  /** The binding's bucket handle: opened once (the host answers at once), it lives as long as the instance. */
  function bucketHandle(state) {
    if (state.handle === 0) state.handle = host.callSync(BLOB, 'Bucket', 'open', 'static', 0, [state.binding]).__h;
    return state.handle;
  }

  /** `resource.member(...args)` on handle `h`; rejects with the guest's error for `op`. */
  function call(op, resource, member, h, args) {
    return host.call(BLOB, resource, member, 'method', h, args).catch((err) => {
      throw guestError(op, err);
    });
  }

  function onBucket(state, op, member, args) {
    let h;
    try {
      h = bucketHandle(state);
    } catch (err) {
      return Promise.reject(guestError(op, err));
    }
    return call(op, 'Bucket', member, h, args);
  }

  function toHex(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, '0');
    return s;
  }

  function fromHex(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return out;
  }

  function concat(chunks, total) {
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  /** A chunk a ReadableStream produced, as bytes; null when it is none. */
  function chunkBytes(value) {
    if (value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    return null;
  }

  class R2Checksums {
    #hex;
    constructor(key, sums) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor');
      const hex = {};
      for (const name of CHECKSUMS) {
        const bytes = sums?.[name];
        if (bytes === undefined) continue;
        hex[name] = toHex(bytes);
        this[name] = bytes.slice().buffer;
      }
      this.#hex = hex;
    }
    toJSON() {
      return { ...this.#hex };
    }
  }

  function httpMetadataOfInfo(h) {
    const out = {};
    for (const f of HTTP_FIELDS) if (h?.[f] !== undefined) out[f] = h[f];
    if (h?.cacheExpiry !== undefined) out.cacheExpiry = new DateCtor(Number(h.cacheExpiry));
    return out;
  }

  class R2Object {
    #http;
    /** `info`: the blob interface's object-info; `include`: what a list asked for; `range`: what a ranged get served. */
    constructor(key, info, include, range) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor');
      this.key = info.key;
      this.version = info.version;
      this.size = Number(info.size);
      this.etag = info.etag;
      this.httpEtag = `"${info.etag}"`;
      this.checksums = new R2Checksums(INTERNAL, info.checksums);
      this.uploaded = new DateCtor(Number(info.uploaded));
      this.storageClass = 'Standard';
      const http = httpMetadataOfInfo(info.httpMetadata);
      this.#http = http;
      if (include === undefined || include.includes('httpMetadata')) this.httpMetadata = http;
      if (include === undefined || include.includes('customMetadata')) this.customMetadata = Object.fromEntries(info.customMetadata);
      if (range !== undefined) this.range = range;
    }

    /** Sets the stored HTTP metadata as response headers (content-type, cache-control, ..., expires). */
    writeHttpMetadata(headers) {
      const h = this.#http;
      for (const f of HTTP_FIELDS) if (h[f] !== undefined) headers.set(HTTP_HEADERS[f], h[f]);
      if (h.cacheExpiry !== undefined) headers.set('expires', new DateCtor(h.cacheExpiry.getTime()).toUTCString());
    }
  }

  class R2ObjectBody extends R2Object {
    #stream;
    #used = false;
    constructor(key, info, range, stream) {
      super(key, info, undefined, range);
      this.#stream = stream;
    }
    get body() {
      return this.#stream;
    }
    get bodyUsed() {
      return this.#stream.locked || this.#used;
    }
    async bytes() {
      if (this.bodyUsed) throw new TypeError('The body of this R2 object has already been read.');
      this.#used = true;
      return host.readAllBytes(this.#stream);
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
      return new BlobCtor([await this.bytes()], { type });
    }
  }

  /** A body the host streams: `first` came with the metadata, the rest (`rest`, an object-body handle) is pulled. */
  function bodyStream(first, rest) {
    let handle = rest === undefined ? 0 : rest.__h;
    let pending = first;
    let cancelled = false;
    const release = () => {
      if (handle !== 0) host.drop(BLOB, 'ObjectBody', handle);
      handle = 0;
    };
    const stream = new ReadableStreamCtor({
      type: 'bytes',
      async pull(c) {
        if (pending !== null) {
          const b = pending;
          pending = null;
          if (b.byteLength > 0) c.enqueue(b);
          if (handle === 0) c.close();
          return;
        }
        let chunk;
        try {
          chunk = await call('get', 'ObjectBody', 'read', handle, [CHUNK]);
        } catch (err) {
          release();
          throw err;
        }
        if (cancelled) return;
        if (chunk === undefined) {
          release();
          c.close();
        } else c.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
        pending = null;
        release();
      },
    });
    // Returned or put unread, the rest of the body is read by the host from the handle, never entering the isolate.
    return host.markHostStream(stream, () => {
      if (cancelled) return null;
      const ref = { k: 'cap', i: BLOB, r: 'ObjectBody', h: handle, first: pending ?? new Uint8Array(0) };
      handle = 0;
      pending = null;
      return ref;
    });
  }

  /** A time of `onlyIf` as the interface's u64 (ms); undefined: no condition. */
  function conditionTime(ms, what, before) {
    if (!Number.isFinite(ms)) throw new TypeError(`onlyIf.${what} must be a number`);
    // Uploads are never before the epoch: "uploaded before" a negative time never holds, as before 0; "after" always.
    if (ms < 0) return before ? 0n : undefined;
    return BigInt(Math.trunc(ms));
  }

  function conditional(onlyIf) {
    if (onlyIf === undefined || onlyIf === null) return undefined;
    let etagMatches;
    let etagDoesNotMatch;
    let before;
    let after;
    let secondsGranularity = false;
    if (onlyIf instanceof HeadersCtor) {
      const m = onlyIf.get('if-match');
      const n = onlyIf.get('if-none-match');
      const since = onlyIf.get('if-modified-since');
      const until = onlyIf.get('if-unmodified-since');
      if (m !== null) etagMatches = m;
      if (n !== null) etagDoesNotMatch = n;
      // HTTP dates have seconds granularity, and If-Modified-Since means "uploaded after".
      if (since !== null) after = DateCtor.parse(since);
      if (until !== null) before = DateCtor.parse(until) + 1000;
      secondsGranularity = true;
    } else {
      if (typeof onlyIf !== 'object') throw new TypeError('onlyIf must be an R2Conditional object or Headers.');
      const time = (v, what) => {
        if (v === undefined) return undefined;
        if (!(v instanceof DateCtor) || Number.isNaN(v.getTime())) throw new TypeError(`onlyIf.${what} must be a Date.`);
        return v.getTime();
      };
      if (onlyIf.etagMatches !== undefined) etagMatches = String(onlyIf.etagMatches);
      if (onlyIf.etagDoesNotMatch !== undefined) etagDoesNotMatch = String(onlyIf.etagDoesNotMatch);
      before = time(onlyIf.uploadedBefore, 'uploadedBefore');
      after = time(onlyIf.uploadedAfter, 'uploadedAfter');
      if (onlyIf.secondsGranularity === true) secondsGranularity = true;
    }
    const out = { secondsGranularity };
    if (etagMatches !== undefined) out.etagMatches = etagMatches;
    if (etagDoesNotMatch !== undefined) out.etagDoesNotMatch = etagDoesNotMatch;
    const b = before === undefined ? undefined : conditionTime(before, 'uploadedBefore', true);
    const a = after === undefined ? undefined : conditionTime(after, 'uploadedAfter', false);
    if (b !== undefined) out.uploadedBefore = b;
    if (a !== undefined) out.uploadedAfter = a;
    return out;
  }

  /** A range bound as the interface's u64, with the messages R2 gives for one that cannot be. */
  function rangeBound(v, field, what) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`range.${field} must be a number`);
    if (!Number.isInteger(v) || v < 0) throw new TypeError(`get: range ${what} must be a non-negative integer, got ${v}`);
    return BigInt(v);
  }

  function rangeOf(range) {
    if (range === undefined || range === null) return undefined;
    let r;
    if (range instanceof HeadersCtor) {
      const h = range.get('range');
      if (h === null) return undefined;
      const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw new TypeError(`Unsupported Range header ${JSON.stringify(h)} (one "bytes=a-b" range).`);
      if (m[1] === '') r = { suffix: Number(m[2]) };
      else {
        const offset = Number(m[1]);
        r = m[2] === '' ? { offset } : { offset, length: Number(m[2]) - offset + 1 };
      }
    } else {
      if (typeof range !== 'object') throw new TypeError('range must be { offset, length }, { suffix } or Headers.');
      if (range.suffix !== undefined) r = { suffix: Number(range.suffix) };
      else {
        if (range.offset === undefined && range.length === undefined) throw new TypeError('range needs an offset, a length or a suffix.');
        r = {};
        if (range.offset !== undefined) r.offset = Number(range.offset);
        if (range.length !== undefined) r.length = Number(range.length);
      }
    }
    if (r.suffix !== undefined) return { tag: 'suffix', val: rangeBound(r.suffix, 'suffix', 'suffix') };
    const offset = r.offset === undefined ? 0n : rangeBound(r.offset, 'offset', 'offset');
    return { tag: 'offset', val: [offset, r.length === undefined ? undefined : rangeBound(r.length, 'length', 'length')] };
  }

  function expiryOf(ms) {
    if (!Number.isFinite(ms)) throw new TypeError('httpMetadata.cacheExpiry must be a number');
    return BigInt(Math.trunc(ms));
  }

  function httpMetadataOf(v) {
    if (v === undefined || v === null) return undefined;
    const out = {};
    if (v instanceof HeadersCtor) {
      for (const f of HTTP_FIELDS) {
        const h = v.get(HTTP_HEADERS[f]);
        if (h !== null) out[f] = h;
      }
      const expires = v.get('expires');
      if (expires !== null && !Number.isNaN(DateCtor.parse(expires))) out.cacheExpiry = expiryOf(DateCtor.parse(expires));
      return out;
    }
    if (typeof v !== 'object') throw new TypeError('httpMetadata must be an R2HTTPMetadata object or Headers.');
    for (const f of HTTP_FIELDS) if (v[f] !== undefined) out[f] = String(v[f]);
    if (v.cacheExpiry !== undefined) {
      if (!(v.cacheExpiry instanceof DateCtor)) throw new TypeError('httpMetadata.cacheExpiry must be a Date.');
      out.cacheExpiry = expiryOf(v.cacheExpiry.getTime());
    }
    return out;
  }

  function checksumBytes(name, v) {
    const n = HEX_BYTES[name];
    const wrong = () => new TypeError(`The ${name} checksum must be ${n} bytes (as an ArrayBuffer or ${n * 2} hex digits).`);
    if (typeof v === 'string') {
      if (!/^[0-9a-fA-F]*$/.test(v) || v.length !== n * 2) throw wrong();
      return fromHex(v);
    }
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
    if (bytes === null || bytes.byteLength !== n) throw wrong();
    return bytes.slice();
  }

  /** put()'s options as the interface's put-options. */
  function putOptions(options) {
    const o = options ?? {};
    if (typeof o !== 'object') throw new TypeError('The options of put() must be an object.');
    const out = { customMetadata: [] };
    const http = httpMetadataOf(o.httpMetadata);
    if (http) out.httpMetadata = http;
    if (o.customMetadata !== undefined) {
      if (o.customMetadata === null || typeof o.customMetadata !== 'object') throw new TypeError('customMetadata must be an object of strings.');
      out.customMetadata = Object.entries(o.customMetadata).map(([k, v]) => [k, String(v)]);
    }
    let n = 0;
    for (const name of CHECKSUMS) {
      if (o[name] === undefined) continue;
      out[name] = checksumBytes(name, o[name]);
      n++;
    }
    if (n > 1) throw new TypeError('put() takes at most one checksum (md5, sha1, sha256, sha384 or sha512).');
    const c = conditional(o.onlyIf);
    if (c) out.onlyIf = c;
    return out;
  }

  /**
   * A put value: bytes (copied now: the worker may change its buffer while the put is under way), a Blob or a
   * ReadableStream to read, or null for no body.
   */
  function bodyOf(value, what) {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return encoder.encode(value);
    if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    if (value instanceof BlobCtor || value instanceof ReadableStreamCtor) return value;
    throw new TypeError(`${what} accepts a ReadableStream, ArrayBuffer, ArrayBufferView, string, Blob or null.`);
  }

  /**
   * Stores a stream: up to one chunk's worth is read first, so that a short body goes in one call (`whole(bytes)`);
   * a longer one goes through a writer (`begin()` resolves with its handle, of `resource`), chunk by chunk, each
   * write waiting for the store (backpressure). A failure cancels the stream and drops the writer: nothing is stored.
   */
  async function storeStream(stream, op, resource, whole, begin) {
    const hostBody = host.claimHostStream(stream);
    if (hostBody !== null) return storeHostBody(hostBody, op, resource, begin);
    const reader = stream.getReader();
    const next = async () => {
      const { done, value } = await reader.read();
      if (done) return null;
      const chunk = chunkBytes(value);
      if (chunk === null) throw new TypeError('A ReadableStream put into R2 must produce bytes (Uint8Array chunks).');
      return chunk;
    };
    let writer = 0;
    try {
      const head = [];
      let size = 0;
      let ended = false;
      while (size <= CHUNK) {
        const chunk = await next();
        if (chunk === null) {
          ended = true;
          break;
        }
        if (chunk.byteLength === 0) continue;
        head.push(chunk);
        size += chunk.byteLength;
      }
      if (ended) return await whole(concat(head, size));
      writer = (await begin()).__h;
      await call(op, resource, 'write', writer, [concat(head, size)]);
      for (;;) {
        const chunk = await next();
        if (chunk === null) break;
        if (chunk.byteLength > 0) await call(op, resource, 'write', writer, [chunk]);
      }
      return await call(op, resource, 'finish', writer, []);
    } catch (err) {
      reader.cancel(err).catch(() => {});
      throw err;
    } finally {
      if (writer !== 0) host.drop(BLOB, resource, writer);
    }
  }

  /** Stores a host stream nobody read (the request's body, another object's): the host writes it, chunk by chunk. */
  async function storeHostBody(from, op, resource, begin) {
    let writer = 0;
    try {
      writer = (await begin()).__h;
      await host.pipeHostBody(from, { i: BLOB, r: resource, h: writer }).catch((err) => {
        throw new Error(`${op}: ${err instanceof Error ? err.message : String(err)}`);
      });
      return await call(op, resource, 'finish', writer, []);
    } finally {
      if (writer !== 0) host.drop(BLOB, resource, writer);
    }
  }

  class R2MultipartUpload {
    #bucket;
    constructor(key, bucket, objectKey, uploadId) {
      if (key !== INTERNAL) throw new TypeError('Illegal constructor');
      this.#bucket = bucket;
      Object.defineProperty(this, 'key', { value: objectKey, enumerable: true });
      Object.defineProperty(this, 'uploadId', { value: uploadId, enumerable: true });
    }

    /**
     * Runs `fn(handle)` on this upload's handle, resumed for the call (the host answers at once, without I/O) and
     * dropped after it: the object may outlive the request that made it, as R2's does.
     */
    #with(op, fn) {
      let h;
      try {
        h = host.callSync(BLOB, 'Bucket', 'resumeMultipartUpload', 'method', bucketHandle(this.#bucket), [this.key, this.uploadId]).__h;
      } catch (err) {
        return Promise.reject(guestError(op, err));
      }
      return fn(h).finally(() => host.drop(BLOB, 'MultipartUpload', h));
    }

    async uploadPart(partNumber, value) {
      const n = Number(partNumber);
      let body = bodyOf(value, 'uploadPart()');
      if (body === null) throw new TypeError('uploadPart() needs a body.');
      if (body instanceof BlobCtor) body = new Uint8Array(await body.arrayBuffer());
      const part = await this.#with('uploadPart', (h) => {
        const whole = (bytes) => call('uploadPart', 'MultipartUpload', 'uploadPart', h, [n, bytes]);
        if (!(body instanceof ReadableStreamCtor)) return whole(body);
        return storeStream(body, 'uploadPart', 'PartWriter', whole, () => call('uploadPart', 'MultipartUpload', 'beginPart', h, [n]));
      });
      return { partNumber: part.partNumber, etag: part.etag };
    }

    async abort() {
      await this.#with('abortMultipartUpload', (h) => call('abortMultipartUpload', 'MultipartUpload', 'abort', h, []));
    }

    async complete(uploadedParts) {
      if (!Array.isArray(uploadedParts)) throw new TypeError('complete() takes the array of parts uploadPart() returned.');
      const parts = uploadedParts.map((p) => ({ partNumber: Number(p?.partNumber), etag: String(p?.etag) }));
      const info = await this.#with('completeMultipartUpload', (h) => call('completeMultipartUpload', 'MultipartUpload', 'complete', h, [parts]));
      return new R2Object(INTERNAL, info);
    }
  }

  class R2Bucket {
    constructor() {
      throw new TypeError('R2 buckets are bound in the manifest (r2_buckets) and reached as env.<binding>.');
    }

    async head(key) {
      const info = await onBucket(stateOf(this), 'head', 'head', [String(key)]);
      return info === undefined ? null : new R2Object(INTERNAL, info);
    }

    async get(key, options) {
      const state = stateOf(this);
      const o = options ?? {};
      const range = rangeOf(o.range);
      const onlyIf = conditional(o.onlyIf);
      const getOptions = {};
      if (range !== undefined) getOptions.range = range;
      if (onlyIf !== undefined) getOptions.onlyIf = onlyIf;
      const r = await onBucket(state, 'get', 'getContent', [String(key), getOptions, FIRST]);
      if (r.tag === 'not-found') return null;
      if (r.tag === 'precondition-failed') return new R2Object(INTERNAL, r.val);
      const c = r.val;
      const served = o.range !== undefined && o.range !== null ? { offset: Number(c.range.offset), length: Number(c.range.length) } : undefined;
      return new R2ObjectBody(INTERNAL, c.info, served, bodyStream(c.first, c.rest));
    }

    async put(key, value, options) {
      const state = stateOf(this);
      const opts = putOptions(options);
      let body = bodyOf(value, 'put()');
      const k = String(key);
      if (body instanceof BlobCtor) body = new Uint8Array(await body.arrayBuffer());
      const whole = (bytes) => onBucket(state, 'put', 'put', [k, bytes, opts]);
      const info = body instanceof ReadableStreamCtor ? await storeStream(body, 'put', 'ObjectWriter', whole, () => onBucket(state, 'put', 'beginPut', [k, opts])) : await whole(body ?? new Uint8Array(0));
      return info === undefined ? null : new R2Object(INTERNAL, info);
    }

    async delete(keys) {
      const state = stateOf(this);
      const list = Array.isArray(keys) ? keys.map(String) : [String(keys)];
      if (list.length > 1000) throw new TypeError('delete() takes a key or an array of at most 1000 keys');
      await onBucket(state, 'delete', 'delete', [list]);
    }

    async list(options) {
      const state = stateOf(this);
      const o = options ?? {};
      if (typeof o !== 'object') throw new TypeError('The options of list() must be an object.');
      const include = o.include === undefined ? [] : Array.from(o.include, String);
      for (const i of include) if (i !== 'httpMetadata' && i !== 'customMetadata') throw new TypeError(`list(): include may name "httpMetadata" and "customMetadata", not ${JSON.stringify(i)}.`);
      // Objects always come with their metadata: an R2Object leaves out what `include` did not ask for, but its
      // writeHttpMetadata() still writes it.
      const listOptions = { includeHttpMetadata: true, includeCustomMetadata: true };
      if (o.limit !== undefined) {
        const limit = Number(o.limit);
        if (!Number.isFinite(limit)) throw new TypeError('limit must be a number');
        listOptions.limit = limit;
      }
      for (const f of ['prefix', 'cursor', 'delimiter', 'startAfter']) if (o[f] !== undefined) listOptions[f] = String(o[f]);
      const r = await onBucket(state, 'list', 'list', [listOptions]);
      const out = { objects: r.objects.map((x) => new R2Object(INTERNAL, x, include)), delimitedPrefixes: r.delimitedPrefixes, truncated: r.truncated };
      if (r.truncated) out.cursor = r.cursor;
      return out;
    }

    async createMultipartUpload(key, options) {
      const state = stateOf(this);
      const opts = putOptions(options);
      const k = String(key);
      const create = { customMetadata: opts.customMetadata };
      if (opts.httpMetadata) create.httpMetadata = opts.httpMetadata;
      const upload = await onBucket(state, 'createMultipartUpload', 'createMultipartUpload', [k, create]);
      try {
        return new R2MultipartUpload(INTERNAL, state, k, host.callSync(BLOB, 'MultipartUpload', 'uploadId', 'method', upload.__h, []));
      } finally {
        host.drop(BLOB, 'MultipartUpload', upload.__h);
      }
    }

    resumeMultipartUpload(key, uploadId) {
      return new R2MultipartUpload(INTERNAL, stateOf(this), String(key), String(uploadId));
    }
  }

  // Workers' class names, whatever the minifier calls them.
  for (const [C, name] of [
    [R2Bucket, 'R2Bucket'],
    [R2Object, 'R2Object'],
    [R2ObjectBody, 'R2ObjectBody'],
    [R2MultipartUpload, 'R2MultipartUpload'],
    [R2Checksums, 'R2Checksums'],
  ]) {
    Object.defineProperty(C, 'name', { value: name });
  }

  return {
    create(binding) {
      const bucket = Object.create(R2Bucket.prototype);
      const state = { binding: String(binding), handle: 0 };
      BUCKETS.set(bucket, state);
      // Opened now, while the worker loads: a synchronous call waits for the host's main thread, which during a
      // request may be busy (streaming that request's body), and the wait was charged as the worker's CPU (20+ ms
      // measured for a put of a 100 MB request body). A failure is reported again on first use.
      try {
        bucketHandle(state);
      } catch {
        // not granted, say: the first call reports it
      }
      return bucket;
    },
  };
}
