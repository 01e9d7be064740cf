// The host side of R2 for JS workers (`env.MY_BUCKET`, the prelude's r2.js), over the host's object store. Bodies
// stream both ways in chunks through async host ops, so an object is never held whole in the host or the isolate:
// a get hands back the first chunk with the metadata and the rest on each pull; a put of a stream sends its chunks
// as the guest produces them, each acknowledged when the store has consumed it (backpressure).
// Open streams belong to the request that opened them and are closed when it ends.
import type { Readable } from 'node:stream';
import type { DeployManifest } from '../../deploy/manifest.ts';
import { HostOpError, type HostOpContext, type HostOps } from '../../core/host-ops.ts';
import { BodyChannel } from '../../../storage/blob/body-channel.ts';
import { BlobError, type BlobStore, type ChecksumName, type Conditional, type HttpMetadata, type ObjectMeta, type PutOptions, type RangeSpec } from '../../../storage/blob/blob-types.ts';

/** Bytes per chunk handed to the guest. */
const CHUNK = 256 * 1024;

export function bucketOf(manifest: DeployManifest, binding: unknown): string {
  const b = typeof binding === 'string' ? manifest.r2Buckets.find((x) => x.binding === binding) : undefined;
  if (!b) throw new HostOpError('TypeError', `no R2 bucket is bound as ${JSON.stringify(binding)} (r2_buckets in the manifest)`);
  return b.bucketName;
}

/** What the guest gets for an object (times in ms): everything but where its body is stored. */
export type GuestObject = Omit<ObjectMeta, 'parts'>;

function guestObject(m: ObjectMeta): GuestObject {
  return { key: m.key, version: m.version, size: m.size, etag: m.etag, uploaded: m.uploaded, httpMetadata: m.httpMetadata, customMetadata: m.customMetadata, checksums: m.checksums };
}

/** R2 failures as Workers reports them: an Error whose message names the operation. */
function guestError(op: string, err: unknown): unknown {
  if (err instanceof BlobError) {
    const name = err.blobCode === 'invalid-key' || err.blobCode === 'invalid-argument' || err.blobCode === 'invalid-range' ? 'TypeError' : 'Error';
    return new HostOpError(name, `${op}: ${err.message}`);
  }
  return err;
}

function rec(arg: unknown): Record<string, unknown> {
  if (arg === null || typeof arg !== 'object') throw new HostOpError('TypeError', 'R2: bad arguments');
  return arg as Record<string, unknown>;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new HostOpError('TypeError', `${what} must be a string`);
  return v;
}
function optNum(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new HostOpError('TypeError', `${what} must be a number`);
  return v;
}
function optStr(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  return str(v, what);
}

function conditional(v: unknown): Conditional | undefined {
  if (v === undefined || v === null) return undefined;
  const c = rec(v);
  const out: Conditional = {};
  const etagMatches = optStr(c.etagMatches, 'onlyIf.etagMatches');
  const etagDoesNotMatch = optStr(c.etagDoesNotMatch, 'onlyIf.etagDoesNotMatch');
  const uploadedBefore = optNum(c.uploadedBefore, 'onlyIf.uploadedBefore');
  const uploadedAfter = optNum(c.uploadedAfter, 'onlyIf.uploadedAfter');
  if (etagMatches !== undefined) out.etagMatches = etagMatches;
  if (etagDoesNotMatch !== undefined) out.etagDoesNotMatch = etagDoesNotMatch;
  if (uploadedBefore !== undefined) out.uploadedBefore = uploadedBefore;
  if (uploadedAfter !== undefined) out.uploadedAfter = uploadedAfter;
  if (c.secondsGranularity === true) out.secondsGranularity = true;
  return out;
}

function range(v: unknown): RangeSpec | undefined {
  if (v === undefined || v === null) return undefined;
  const r = rec(v);
  const suffix = optNum(r.suffix, 'range.suffix');
  if (suffix !== undefined) return { suffix };
  const offset = optNum(r.offset, 'range.offset');
  const length = optNum(r.length, 'range.length');
  if (offset === undefined && length === undefined) throw new HostOpError('TypeError', 'range needs offset, length or suffix');
  return { ...(offset !== undefined ? { offset } : {}), ...(length !== undefined ? { length } : {}) };
}

const HTTP_FIELDS = ['contentType', 'contentLanguage', 'contentDisposition', 'contentEncoding', 'cacheControl'] as const;

function httpMetadata(v: unknown): HttpMetadata | undefined {
  if (v === undefined || v === null) return undefined;
  const h = rec(v);
  const out: HttpMetadata = {};
  for (const f of HTTP_FIELDS) {
    const s = optStr(h[f], `httpMetadata.${f}`);
    if (s !== undefined) out[f] = s;
  }
  const exp = optNum(h.cacheExpiry, 'httpMetadata.cacheExpiry');
  if (exp !== undefined) out.cacheExpiry = exp;
  return out;
}

function putOptions(v: unknown): PutOptions {
  const o = v === undefined || v === null ? {} : rec(v);
  const out: PutOptions = {};
  const hm = httpMetadata(o.httpMetadata);
  if (hm) out.httpMetadata = hm;
  if (o.customMetadata !== undefined && o.customMetadata !== null) {
    const cm = rec(o.customMetadata);
    out.customMetadata = Object.fromEntries(Object.entries(cm).map(([k, val]) => [k, str(val, `customMetadata.${k}`)]));
  }
  if (o.checksums !== undefined && o.checksums !== null) {
    out.checksums = Object.fromEntries(Object.entries(rec(o.checksums)).map(([k, val]) => [k, str(val, `the ${k} checksum`)])) as PutOptions['checksums'];
  }
  const c = conditional(o.onlyIf);
  if (c) out.onlyIf = c;
  return out;
}

interface OpenRead {
  kind: 'read';
  iter: AsyncIterator<Uint8Array>;
  body: Readable;
  pending: Uint8Array | null;
}
interface OpenWrite {
  kind: 'write';
  channel: BodyChannel;
  done: Promise<unknown>;
}
type Open = OpenRead | OpenWrite;

/** Open streams per request (its AbortSignal is unique to it): closed when the request ends. */
class Streams {
  private readonly byRequest = new WeakMap<AbortSignal, Map<number, Open>>();
  private next = 1;

  add(ctx: HostOpContext, s: Open): number {
    if (ctx.reqId === 0) throw new HostOpError('TypeError', 'R2 bodies can only be streamed while handling a request (not in the global scope)');
    let m = this.byRequest.get(ctx.signal);
    if (!m) {
      const map = new Map<number, Open>();
      m = map;
      this.byRequest.set(ctx.signal, map);
      ctx.signal.addEventListener('abort', () => {
        for (const o of map.values()) close(o, ctx.signal.reason);
        map.clear();
      }, { once: true });
    }
    const id = this.next++;
    m.set(id, s);
    return id;
  }

  get(ctx: HostOpContext, id: unknown): Open {
    const s = typeof id === 'number' ? this.byRequest.get(ctx.signal)?.get(id) : undefined;
    if (!s) throw new HostOpError('TypeError', 'this R2 body stream is closed (or belongs to another request)');
    return s;
  }

  remove(ctx: HostOpContext, id: number): void {
    this.byRequest.get(ctx.signal)?.delete(id);
  }
}

function close(o: Open, reason: unknown): void {
  if (o.kind === 'read') o.body.destroy();
  else o.channel.fail(reason instanceof Error ? reason : new Error('the request ended before the R2 body was written'));
}

/** Reads up to CHUNK bytes from a body (the store's chunks are 64 KiB; several are joined). */
async function readChunk(o: OpenRead): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  if (o.pending) {
    parts.push(o.pending);
    size += o.pending.byteLength;
    o.pending = null;
  }
  while (size < CHUNK) {
    const { value, done } = await o.iter.next();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
  }
  if (size === 0) return null;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export function registerR2Ops(ops: HostOps, store: BlobStore): void {
  const streams = new Streams();
  const guarded = <T>(op: string, p: () => Promise<T>): Promise<T> => p().catch((err: unknown) => Promise.reject(guestError(op, err)));

  ops.register('r2.head', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    return guarded('head', async () => {
      const m = await store.head(bucket, key);
      return m ? guestObject(m) : null;
    });
  });

  ops.register('r2.get', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    const r = range(a.range);
    const onlyIf = conditional(a.onlyIf);
    return guarded('get', async () => {
      const got = await store.get(bucket, key, { ...(r ? { range: r } : {}), ...(onlyIf ? { onlyIf } : {}) });
      if (!got) return null;
      const object = guestObject(got.meta);
      if (!got.body) return { object, precondition: true };
      const open: OpenRead = { kind: 'read', iter: got.body[Symbol.asyncIterator](), body: got.body, pending: null };
      // Small objects (and the first chunk of large ones) travel with the metadata: one round trip for most gets.
      const first = await readChunk(open);
      const next = first === null ? null : await open.iter.next();
      if (first === null || next?.done) {
        got.body.destroy();
        return { object, range: got.range, body: first ?? new Uint8Array(0), done: true };
      }
      open.pending = next!.value;
      return { object, range: got.range, body: first, done: false, stream: streams.add(ctx, open) };
    });
  });

  ops.register('r2.read', (arg, ctx) => {
    const a = rec(arg);
    const open = streams.get(ctx, a.stream);
    if (open.kind !== 'read') throw new HostOpError('TypeError', 'not a readable R2 body');
    return guarded('get', async () => {
      const chunk = await readChunk(open);
      if (chunk === null) {
        streams.remove(ctx, a.stream as number);
        open.body.destroy();
      }
      return chunk;
    });
  });

  ops.register('r2.cancel', (arg, ctx) => {
    const a = rec(arg);
    try {
      const open = streams.get(ctx, a.stream);
      streams.remove(ctx, a.stream as number);
      close(open, new Error('cancelled by the worker'));
    } catch {
      // already closed
    }
    return null;
  });

  ops.register('r2.put', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    const options = putOptions(a.options);
    if (a.body !== null && !(a.body instanceof Uint8Array)) throw new HostOpError('TypeError', 'put(): the body must be bytes');
    const body = a.body as Uint8Array | null;
    return guarded('put', async () => {
      const m = await store.put(bucket, key, body, options);
      return m ? guestObject(m) : null;
    });
  });

  // A put (or part upload) whose body is a stream: begin, write chunks, end.
  ops.register('r2.putBegin', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    const channel = new BodyChannel();
    let done: Promise<unknown>;
    if (a.uploadId !== undefined) {
      const uploadId = str(a.uploadId, 'uploadId');
      const partNumber = optNum(a.partNumber, 'partNumber') ?? 0;
      done = store.uploadPart(bucket, key, uploadId, partNumber, channel);
    } else {
      const options = putOptions(a.options);
      done = store.put(bucket, key, channel, options).then((m) => (m ? guestObject(m) : null));
    }
    // A failure before the end (a bad key, a part over 5 GiB) reaches the writer on its next chunk.
    done.catch((err: unknown) => channel.fail(guestError(a.uploadId !== undefined ? 'uploadPart' : 'put', err)));
    return streams.add(ctx, { kind: 'write', channel, done });
  });

  ops.register('r2.write', (arg, ctx) => {
    const a = rec(arg);
    const open = streams.get(ctx, a.stream);
    if (open.kind !== 'write') throw new HostOpError('TypeError', 'not a writable R2 body');
    if (!(a.chunk instanceof Uint8Array)) throw new HostOpError('TypeError', 'an R2 body chunk must be bytes');
    return open.channel.push(a.chunk).then(() => null);
  });

  ops.register('r2.putEnd', (arg, ctx) => {
    const a = rec(arg);
    const open = streams.get(ctx, a.stream);
    if (open.kind !== 'write') throw new HostOpError('TypeError', 'not a writable R2 body');
    streams.remove(ctx, a.stream as number);
    open.channel.end();
    return open.done.catch((err: unknown) => Promise.reject(guestError('put', err)));
  });

  ops.register('r2.delete', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    if (!Array.isArray(a.keys) || a.keys.length > 1000) throw new HostOpError('TypeError', 'delete() takes a key or an array of at most 1000 keys');
    const keys = a.keys.map((k) => str(k, 'each key'));
    return guarded('delete', () => store.delete(bucket, keys).then(() => null));
  });

  ops.register('r2.list', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const o = a.options === undefined || a.options === null ? {} : rec(a.options);
    const limit = optNum(o.limit, 'limit');
    const prefix = optStr(o.prefix, 'prefix');
    const cursor = optStr(o.cursor, 'cursor');
    const delimiter = optStr(o.delimiter, 'delimiter');
    const startAfter = optStr(o.startAfter, 'startAfter');
    return guarded('list', async () => {
      const r = await store.list(bucket, {
        ...(limit !== undefined ? { limit } : {}),
        ...(prefix !== undefined ? { prefix } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
        ...(delimiter !== undefined ? { delimiter } : {}),
        ...(startAfter !== undefined ? { startAfter } : {}),
      });
      return { objects: r.objects.map(guestObject), delimitedPrefixes: r.delimitedPrefixes, truncated: r.truncated, ...(r.cursor !== undefined ? { cursor: r.cursor } : {}) };
    });
  });

  ops.register('r2.mpuCreate', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    const options = putOptions(a.options);
    return guarded('createMultipartUpload', () =>
      store.createMultipartUpload(bucket, key, { ...(options.httpMetadata ? { httpMetadata: options.httpMetadata } : {}), ...(options.customMetadata ? { customMetadata: options.customMetadata } : {}) }),
    );
  });

  ops.register('r2.mpuPart', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    const uploadId = str(a.uploadId, 'uploadId');
    const partNumber = optNum(a.partNumber, 'partNumber') ?? 0;
    if (!(a.body instanceof Uint8Array)) throw new HostOpError('TypeError', 'uploadPart(): the body must be bytes');
    const body = a.body;
    return guarded('uploadPart', () => store.uploadPart(bucket, key, uploadId, partNumber, body));
  });

  ops.register('r2.mpuComplete', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    const key = str(a.key, 'an object key');
    const uploadId = str(a.uploadId, 'uploadId');
    if (!Array.isArray(a.parts)) throw new HostOpError('TypeError', 'complete() takes an array of uploaded parts');
    const parts = a.parts.map((p) => {
      const r = rec(p);
      return { partNumber: optNum(r.partNumber, 'partNumber') ?? 0, etag: str(r.etag, 'etag') };
    });
    return guarded('completeMultipartUpload', async () => guestObject(await store.completeMultipartUpload(bucket, key, uploadId, parts)));
  });

  ops.register('r2.mpuAbort', (arg, ctx) => {
    const a = rec(arg);
    const bucket = bucketOf(ctx.manifest, a.binding);
    return guarded('abortMultipartUpload', () => store.abortMultipartUpload(bucket, str(a.key, 'an object key'), str(a.uploadId, 'uploadId')).then(() => null));
  });
}
