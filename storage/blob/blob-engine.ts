// The embedded object store (R2): object bodies live in files under `objects/`, streamed in and out and never held
// whole in memory; all metadata (objects, multipart uploads and their parts) goes through the same segment log as
// KV, so an acknowledged put, delete or part upload survives SIGKILL. A body file is made durable (written, fsync'd,
// renamed, directory fsync'd) before the record naming it is appended, so a record never names a missing file;
// files no record names (a put cut short by a crash, a replaced object) are swept away on open.
import { createHash, randomBytes, randomUUID, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SegmentLog, syncDir, type Loc } from '../log/segment-log.ts';
import { handOver } from '../owned-bytes.ts';
import { sortedIndex, type SortedIndex } from '../sorted-index.ts';
import { compareUtf8 } from '../kv/kv-types.ts';
import {
  BLOB_LIMITS,
  BlobError,
  conditionHolds,
  resolveRange,
  validateObjectKey,
  type BlobStore,
  type BodySource,
  type ChecksumName,
  type Conditional,
  type GetResult,
  type HttpMetadata,
  type ListOptions,
  type ListResult,
  type ObjectMeta,
  type PutOptions,
  type RangeSpec,
} from './blob-types.ts';


interface Indexed {
  meta: ObjectMeta;
  loc: Loc;
}
type Tree = SortedIndex<Indexed>;

interface Upload {
  uploadId: string;
  bucket: string;
  key: string;
  httpMetadata: HttpMetadata;
  customMetadata: Record<string, string>;
  created: number;
  loc: Loc;
  parts: Map<number, { etag: string; size: number; file: string; loc: Loc }>;
}

type LogRecord =
  | { t: 'put'; bucket: string; meta: ObjectMeta; completes?: string }
  | { t: 'del'; bucket: string; key: string }
  | { t: 'mpu'; uploadId: string; bucket: string; key: string; httpMetadata: HttpMetadata; customMetadata: Record<string, string>; created: number }
  | { t: 'part'; uploadId: string; partNumber: number; etag: string; size: number; file: string }
  | { t: 'mpu-end'; uploadId: string };

const CHECKSUMS: ChecksumName[] = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
const HEX_LENGTH: Record<ChecksumName, number> = { md5: 32, sha1: 40, sha256: 64, sha384: 96, sha512: 128 };
/** Bytes per read of an object's file: a read is a round trip to libuv's thread pool, so fewer larger ones cost less. */
export const READ_CHUNK_BYTES = 256 * 1024;

export interface BlobEngineOptions {
  now?: () => number;
  segmentBytes?: number;
  compactAtBytes?: number;
  onTornTail?(info: { file: string; offset: number; droppedBytes: number; reason: string }): void;
}

export class BlobEngine implements BlobStore {
  private readonly dir: string;
  private readonly objectsDir: string;
  private readonly log: SegmentLog;
  private readonly buckets = new Map<string, Tree>();
  private readonly uploads = new Map<string, Upload>();
  private readonly now: () => number;
  private readonly compactAtBytes: number;
  private readonly madeDirs = new Set<string>();
  /** Files being read: unlinking one waits until its readers are done. */
  private readonly readers = new Map<string, number>();
  private readonly doomed = new Set<string>();
  private compaction: Promise<void> | null = null;
  private liveBytes = 0;

  private constructor(dir: string, log: SegmentLog, now: () => number, compactAtBytes: number) {
    this.dir = dir;
    this.objectsDir = join(dir, 'objects');
    this.log = log;
    this.now = now;
    this.compactAtBytes = compactAtBytes;
  }

  static async open(dir: string, options: BlobEngineOptions = {}): Promise<BlobEngine> {
    const records: Array<{ r: LogRecord; loc: Loc }> = [];
    const log = await SegmentLog.open(join(dir, 'meta'), {
      ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}),
      headBytes: 64 * 1024 * 1024,
      onRecord: (rec) => records.push({ r: JSON.parse(Buffer.from(rec.head).toString('utf8')) as LogRecord, loc: rec.loc }),
      ...(options.onTornTail ? { onTornTail: options.onTornTail } : {}),
    });
    const engine = new BlobEngine(dir, log, options.now ?? Date.now, options.compactAtBytes ?? 16 * 1024 * 1024);
    for (const { r, loc } of records) engine.apply(r, loc);
    await mkdir(engine.objectsDir, { recursive: true });
    await engine.sweep();
    return engine;
  }

  get stats(): { appends: number; fsyncs: number; compactions: number; objects: number; uploads: number } {
    let objects = 0;
    for (const t of this.buckets.values()) objects += t.size;
    return { ...this.log.stats, objects, uploads: this.uploads.size };
  }

  /** Applies one log record to the in-memory index; returns the files it made unreferenced. */
  private apply(r: LogRecord, loc: Loc): string[] {
    switch (r.t) {
      case 'put': {
        const t = this.tree(r.bucket);
        const old = t.get(r.meta.key);
        t.set(r.meta.key, { meta: r.meta, loc });
        this.liveBytes += loc.length - (old?.loc.length ?? 0);
        const freed = old ? old.meta.parts.map((p) => p.file) : [];
        if (r.completes) {
          const u = this.uploads.get(r.completes);
          if (u) {
            this.dropUpload(u);
            const kept = new Set(r.meta.parts.map((p) => p.file));
            for (const p of u.parts.values()) if (!kept.has(p.file)) freed.push(p.file);
          }
        }
        return freed;
      }
      case 'del': {
        const t = this.buckets.get(r.bucket);
        const old = t?.get(r.key);
        if (!t || !old) return [];
        t.delete(r.key);
        this.liveBytes -= old.loc.length;
        return old.meta.parts.map((p) => p.file);
      }
      case 'mpu':
        this.uploads.set(r.uploadId, { uploadId: r.uploadId, bucket: r.bucket, key: r.key, httpMetadata: r.httpMetadata, customMetadata: r.customMetadata, created: r.created, loc, parts: new Map() });
        this.liveBytes += loc.length;
        return [];
      case 'part': {
        const u = this.uploads.get(r.uploadId);
        if (!u) return [r.file];
        const old = u.parts.get(r.partNumber);
        u.parts.set(r.partNumber, { etag: r.etag, size: r.size, file: r.file, loc });
        this.liveBytes += loc.length - (old?.loc.length ?? 0);
        return old ? [old.file] : [];
      }
      case 'mpu-end': {
        const u = this.uploads.get(r.uploadId);
        if (!u) return [];
        this.dropUpload(u);
        return [...u.parts.values()].map((p) => p.file);
      }
    }
  }

  private dropUpload(u: Upload): void {
    this.uploads.delete(u.uploadId);
    this.liveBytes -= u.loc.length;
    for (const p of u.parts.values()) this.liveBytes -= p.loc.length;
  }

  private tree(bucket: string): Tree {
    let t = this.buckets.get(bucket);
    if (!t) {
      t = sortedIndex<Indexed>();
      this.buckets.set(bucket, t);
    }
    return t;
  }

  /** Deletes body files no record names: puts cut short by a crash, and files of replaced or deleted objects. */
  private async sweep(): Promise<void> {
    const referenced = new Set<string>();
    for (const t of this.buckets.values()) t.forEach((e) => e.meta.parts.forEach((p) => referenced.add(p.file)));
    for (const u of this.uploads.values()) for (const p of u.parts.values()) referenced.add(p.file);
    for (const sub of await readdir(this.objectsDir)) {
      const subDir = join(this.objectsDir, sub);
      if (!(await stat(subDir)).isDirectory()) continue;
      this.madeDirs.add(sub);
      for (const name of await readdir(subDir)) {
        if (!referenced.has(`${sub}/${name}`)) await rm(join(subDir, name), { force: true });
      }
    }
  }

  private async record(r: LogRecord): Promise<void> {
    const loc = await this.log.append(Buffer.from(JSON.stringify(r), 'utf8'));
    for (const f of this.apply(r, loc)) this.release(f);
    this.maybeCompact();
  }

  /** Unlinks a body file once nobody reads it. */
  private release(file: string): void {
    if ((this.readers.get(file) ?? 0) > 0) {
      this.doomed.add(file);
      return;
    }
    unlink(join(this.objectsDir, file)).catch(() => {});
  }

  /** Streams `body` into a new durable file, computing the digests asked for (md5 always). */
  private async writeBody(body: BodySource, digests: ChecksumName[], maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ file: string; size: number; digests: Partial<Record<ChecksumName, string>> }> {
    const id = randomUUID();
    const sub = id.slice(0, 2);
    const subDir = join(this.objectsDir, sub);
    if (!this.madeDirs.has(sub)) {
      await mkdir(subDir, { recursive: true });
      await syncDir(this.objectsDir);
      this.madeDirs.add(sub);
    }
    const tmp = join(subDir, `${id}.tmp`);
    const hashes = new Map<ChecksumName, Hash>([...new Set<ChecksumName>(['md5', ...digests])].map((d) => [d, createHash(d)]));
    const fh = await open(tmp, 'wx');
    let size = 0;
    try {
      const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body === null ? [] : body instanceof Uint8Array ? [body] : body;
      for await (const chunk of chunks) {
        if (!(chunk instanceof Uint8Array)) throw new BlobError('invalid-argument', 'an object body must be bytes');
        size += chunk.byteLength;
        if (size > maxBytes) throw new BlobError('invalid-part', `a part is at most ${maxBytes} bytes`);
        for (const h of hashes.values()) h.update(chunk);
        let written = 0;
        while (written < chunk.byteLength) written += (await fh.write(chunk, written, chunk.byteLength - written)).bytesWritten;
      }
      await fh.datasync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await rename(tmp, join(subDir, id));
    await syncDir(subDir);
    const out: Partial<Record<ChecksumName, string>> = {};
    for (const [name, h] of hashes) out[name] = h.digest('hex');
    return { file: `${sub}/${id}`, size, digests: out };
  }

  async head(bucket: string, key: string): Promise<ObjectMeta | null> {
    validateObjectKey(key);
    return this.buckets.get(bucket)?.get(key)?.meta ?? null;
  }

  async get(bucket: string, key: string, options: { range?: RangeSpec; onlyIf?: Conditional } = {}): Promise<GetResult | null> {
    validateObjectKey(key);
    const e = this.buckets.get(bucket)?.get(key);
    if (!e) return null;
    const meta = e.meta;
    if (!conditionHolds(meta, options.onlyIf)) return { meta, body: null, range: { offset: 0, length: 0 } };
    const range = resolveRange(options.range, meta.size);
    return { meta, body: this.bodyStream(meta, range), range };
  }

  /** The bytes [offset, offset + length) of an object, read from its files chunk by chunk. */
  private bodyStream(meta: ObjectMeta, range: { offset: number; length: number }): Readable {
    const files = meta.parts.map((p) => p.file);
    for (const f of files) this.readers.set(f, (this.readers.get(f) ?? 0) + 1);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      for (const f of files) {
        const n = (this.readers.get(f) ?? 1) - 1;
        if (n > 0) this.readers.set(f, n);
        else {
          this.readers.delete(f);
          if (this.doomed.delete(f)) this.release(f);
        }
      }
    };
    const objectsDir = this.objectsDir;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        let skip = range.offset;
        let left = range.length;
        for (const part of meta.parts) {
          if (left === 0) break;
          if (skip >= part.size) {
            skip -= part.size;
            continue;
          }
          const fh = await open(join(objectsDir, part.file), 'r');
          try {
            let pos = skip;
            skip = 0;
            while (left > 0 && pos < part.size) {
              const n = Math.min(READ_CHUNK_BYTES, left, part.size - pos);
              // Never from Node's shared pool (a small tail would be): the buffer is this read's alone.
              const buf = Buffer.allocUnsafeSlow(n);
              const { bytesRead } = await fh.read(buf, 0, n, pos);
              if (bytesRead === 0) throw new BlobError('internal', `object file ${part.file} is shorter than its recorded ${part.size} bytes`);
              pos += bytesRead;
              left -= bytesRead;
              const chunk = buf.subarray(0, bytesRead);
              // Read for this reader alone: whoever writes it out may free it (owned-bytes.ts).
              handOver(chunk);
              yield chunk;
            }
          } finally {
            await fh.close();
          }
        }
      } finally {
        finish();
      }
    }
    const stream = Readable.from(chunks(), { objectMode: false });
    stream.once('close', finish);
    return stream;
  }

  async put(bucket: string, key: string, body: BodySource, options: PutOptions = {}): Promise<ObjectMeta | null> {
    validateObjectKey(key);
    const customMetadata = checkCustomMetadata(options.customMetadata);
    const expected = checkChecksums(options.checksums);
    const current = (): ObjectMeta | undefined => this.buckets.get(bucket)?.get(key)?.meta;
    // R2 evaluates onlyIf against the stored object; an absent object fails etagMatches and passes etagDoesNotMatch.
    const holds = (): boolean => {
      const m = current();
      if (!options.onlyIf) return true;
      if (!m) return options.onlyIf.etagMatches === undefined && options.onlyIf.uploadedBefore === undefined && options.onlyIf.uploadedAfter === undefined;
      return conditionHolds(m, options.onlyIf);
    };
    if (!holds()) {
      await drain(body);
      return null;
    }
    const written = await this.writeBody(body, Object.keys(expected) as ChecksumName[]);
    for (const [name, want] of Object.entries(expected) as Array<[ChecksumName, string]>) {
      if (written.digests[name] !== want) {
        this.release(written.file);
        throw new BlobError('checksum-mismatch', `the ${name} of the bytes received (${written.digests[name]}) does not match the ${name} given (${want})`);
      }
    }
    if (!holds()) {
      this.release(written.file);
      return null;
    }
    const meta: ObjectMeta = {
      key,
      version: randomBytes(16).toString('hex'),
      size: written.size,
      etag: written.digests.md5!,
      uploaded: this.now(),
      httpMetadata: options.httpMetadata ?? {},
      customMetadata,
      checksums: { md5: written.digests.md5!, ...Object.fromEntries(Object.keys(expected).map((k) => [k, written.digests[k as ChecksumName]!])) },
      parts: [{ file: written.file, size: written.size }],
    };
    await this.record({ t: 'put', bucket, meta });
    return meta;
  }

  async delete(bucket: string, keys: string[]): Promise<void> {
    for (const k of keys) validateObjectKey(k);
    await Promise.all(keys.filter((k) => this.buckets.get(bucket)?.has(k)).map((key) => this.record({ t: 'del', bucket, key })));
  }

  async list(bucket: string, options: ListOptions = {}): Promise<ListResult> {
    const limit = options.limit ?? BLOB_LIMITS.listLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > BLOB_LIMITS.listLimit) throw new BlobError('invalid-argument', `list limit must be an integer from 1 to ${BLOB_LIMITS.listLimit}, got ${limit}`);
    const prefix = options.prefix ?? '';
    const delimiter = options.delimiter ?? '';
    let after = options.startAfter ?? null;
    if (options.cursor) {
      const c = decodeCursor(options.cursor);
      if (c === null) throw new BlobError('invalid-argument', `the list cursor ${JSON.stringify(options.cursor)} is not one this bucket returned`);
      if (after === null || compareUtf8(c, after) > 0) after = c;
    }
    const out: ListResult = { objects: [], delimitedPrefixes: [], truncated: false };
    const t = this.buckets.get(bucket);
    if (!t) return out;
    let last: string | null = null;
    let skipGroup: string | null = after !== null && delimiter && after.endsWith(delimiter) ? after : null;
    const start = after !== null && compareUtf8(after, prefix) > 0 ? after : prefix;
    for (const [key, e] of t.entries(start)) {
      if (after !== null && compareUtf8(key, after) <= 0) continue;
      if (!key.startsWith(prefix)) {
        if (compareUtf8(key, prefix) > 0) break;
        continue;
      }
      if (skipGroup !== null && key.startsWith(skipGroup)) continue;
      let group: string | null = null;
      if (delimiter) {
        const at = key.indexOf(delimiter, prefix.length);
        if (at >= 0) group = key.slice(0, at + delimiter.length);
      }
      if (out.objects.length + out.delimitedPrefixes.length === limit) {
        out.truncated = true;
        break;
      }
      if (group !== null) {
        out.delimitedPrefixes.push(group);
        skipGroup = group;
        last = group;
      } else {
        out.objects.push(e.meta);
        last = key;
      }
    }
    if (out.truncated && last !== null) out.cursor = encodeCursor(last);
    return out;
  }

  async createMultipartUpload(bucket: string, key: string, options: { httpMetadata?: HttpMetadata; customMetadata?: Record<string, string> } = {}): Promise<string> {
    validateObjectKey(key);
    const customMetadata = checkCustomMetadata(options.customMetadata);
    const uploadId = `${randomBytes(24).toString('base64url')}`;
    await this.record({ t: 'mpu', uploadId, bucket, key, httpMetadata: options.httpMetadata ?? {}, customMetadata, created: this.now() });
    return uploadId;
  }

  private upload(bucket: string, key: string, uploadId: string): Upload {
    const u = this.uploads.get(uploadId);
    if (!u || u.bucket !== bucket || u.key !== key) throw new BlobError('no-such-upload', `no multipart upload ${JSON.stringify(uploadId)} for key ${JSON.stringify(key)} (completed, aborted, or never created)`);
    return u;
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: BodySource): Promise<{ partNumber: number; etag: string }> {
    this.upload(bucket, key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > BLOB_LIMITS.maxParts) {
      await drain(body);
      throw new BlobError('invalid-part', `part numbers are integers from 1 to ${BLOB_LIMITS.maxParts}, got ${partNumber}`);
    }
    const written = await this.writeBody(body, [], BLOB_LIMITS.maxPartBytes);
    if (!this.uploads.has(uploadId)) {
      this.release(written.file);
      throw new BlobError('no-such-upload', `multipart upload ${JSON.stringify(uploadId)} ended while the part was uploading`);
    }
    const etag = written.digests.md5!;
    await this.record({ t: 'part', uploadId, partNumber, etag, size: written.size, file: written.file });
    return { partNumber, etag };
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<ObjectMeta> {
    const u = this.upload(bucket, key, uploadId);
    if (parts.length === 0) throw new BlobError('invalid-part', 'completing a multipart upload needs at least one part');
    const chosen = parts.map((p, i) => {
      const got = u.parts.get(p.partNumber);
      const etag = String(p.etag).replace(/^"|"$/g, '');
      if (!got) throw new BlobError('invalid-part', `part ${p.partNumber} was not uploaded to ${uploadId}`);
      if (got.etag !== etag) throw new BlobError('invalid-part', `part ${p.partNumber}: etag ${JSON.stringify(p.etag)} is not the uploaded part's (${got.etag})`);
      if (i > 0 && p.partNumber <= parts[i - 1]!.partNumber) throw new BlobError('invalid-part', 'parts must be listed in ascending part-number order, each once');
      return got;
    });
    // R2's rules: every part but the last at least 5 MiB and all the same size; the last no larger.
    const first = chosen[0]!.size;
    chosen.forEach((p, i) => {
      const isLast = i === chosen.length - 1;
      if (!isLast && p.size < BLOB_LIMITS.minPartBytes) throw new BlobError('invalid-part', `part ${parts[i]!.partNumber} is ${p.size} bytes: every part but the last must be at least ${BLOB_LIMITS.minPartBytes} bytes (5 MiB)`);
      if (!isLast && p.size !== first) throw new BlobError('invalid-part', `part ${parts[i]!.partNumber} is ${p.size} bytes but part ${parts[0]!.partNumber} is ${first}: all parts but the last must be the same size`);
      if (isLast && chosen.length > 1 && p.size > first) throw new BlobError('invalid-part', `the last part (${p.size} bytes) must not be larger than the others (${first} bytes)`);
    });
    const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag, 'hex')));
    const meta: ObjectMeta = {
      key,
      version: randomBytes(16).toString('hex'),
      size: chosen.reduce((n, p) => n + p.size, 0),
      etag: `${createHash('md5').update(md5s).digest('hex')}-${chosen.length}`,
      uploaded: this.now(),
      httpMetadata: u.httpMetadata,
      customMetadata: u.customMetadata,
      checksums: {},
      parts: chosen.map((p) => ({ file: p.file, size: p.size })),
    };
    await this.record({ t: 'put', bucket, meta, completes: uploadId });
    return meta;
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.upload(bucket, key, uploadId);
    await this.record({ t: 'mpu-end', uploadId });
  }

  private maybeCompact(): void {
    if (this.compaction) return;
    const bytes = this.log.bytes;
    if (bytes < this.compactAtBytes || bytes < 2 * this.liveBytes) return;
    this.compaction = this.compact().finally(() => {
      this.compaction = null;
    });
    this.compaction.catch((err: unknown) => process.emitWarning(`R2 metadata compaction failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Rewrites the metadata log down to the records of live objects and open uploads. */
  async compact(): Promise<void> {
    const key = (l: Loc): string => `${l.segment}:${l.offset}`;
    const owners = new Map<string, (to: Loc) => void>();
    await this.log.compact(
      (sealed) => {
        const out: Loc[] = [];
        const add = (loc: Loc, set: (to: Loc) => void): void => {
          if (loc.segment > sealed) return;
          out.push(loc);
          owners.set(key(loc), set);
        };
        for (const t of this.buckets.values()) t.forEach((e) => add(e.loc, (to) => (e.loc = to)));
        for (const u of this.uploads.values()) {
          add(u.loc, (to) => (u.loc = to));
          for (const p of u.parts.values()) add(p.loc, (to) => (p.loc = to));
        }
        return out.sort((a, b) => a.segment - b.segment || a.offset - b.offset);
      },
      // The setters hold the entry objects of the moment: an entry replaced meanwhile is no longer in the index,
      // so moving it changes nothing (the newer record supersedes the copy).
      (from, to) => owners.get(key(from))?.(to),
    );
  }

  async close(): Promise<void> {
    await this.compaction?.catch(() => {});
    await this.log.close();
  }
}

function checkCustomMetadata(m: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(m ?? {})) {
    if (typeof v !== 'string') throw new BlobError('invalid-argument', `customMetadata values must be strings; ${JSON.stringify(k)} is ${typeof v}`);
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  if (bytes > BLOB_LIMITS.customMetadataBytes) throw new BlobError('invalid-argument', `customMetadata is at most ${BLOB_LIMITS.customMetadataBytes} bytes (keys and values); this is ${bytes} bytes`);
  return out;
}

function checkChecksums(c: PutOptions['checksums']): Partial<Record<ChecksumName, string>> {
  const out: Partial<Record<ChecksumName, string>> = {};
  for (const [name, value] of Object.entries(c ?? {})) {
    if (!CHECKSUMS.includes(name as ChecksumName)) throw new BlobError('invalid-argument', `unknown checksum ${JSON.stringify(name)} (one of ${CHECKSUMS.join(', ')})`);
    if (value === undefined) continue;
    const hex = String(value).toLowerCase();
    if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[name as ChecksumName]}}$`).test(hex)) {
      throw new BlobError('invalid-argument', `the ${name} checksum must be ${HEX_LENGTH[name as ChecksumName] / 2} bytes (${HEX_LENGTH[name as ChecksumName]} hex digits), got ${JSON.stringify(value)}`);
    }
    out[name as ChecksumName] = hex;
  }
  return out;
}

async function drain(body: BodySource): Promise<void> {
  if (body === null || body instanceof Uint8Array) return;
  for await (const _ of body) {
    // discarded
  }
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor, 'base64url'));
  } catch {
    return null;
  }
}
