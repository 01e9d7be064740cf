// The one durability mechanism of storage/: an append-only log of checksummed records in segment files, with
// group commit (many appends, one write and one fdatasync), torn-tail detection on open, and compaction that
// bounds both disk use and recovery time. Engines (KV, R2 metadata, ...) give it opaque payloads and keep their
// own index of where each live record is; the log knows nothing of what a payload means.
//
// On-disk format: storage/README.md.
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** Where a record is: its segment, its offset there, and its framed length (header + payload). */
export interface Loc {
  segment: number;
  offset: number;
  length: number;
}

export interface ScannedRecord {
  loc: Loc;
  /** The payload, or its first `headBytes` bytes when the record was not read whole (compacted segments). */
  head: Uint8Array;
  /** Whether `head` is the whole payload. */
  whole: boolean;
}

export interface SegmentLogOptions {
  /** The active segment is sealed and a new one started past this size. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Records of compacted segments are not read whole at open (their checksums were verified when they were
   * copied, and reads verify again): only this many leading payload bytes are handed to `onRecord`. Default 4 KiB.
   */
  headBytes?: number;
  /** Called for every record at open, in log order. */
  onRecord(record: ScannedRecord): void;
  /** Told when a torn tail was cut off at open. */
  onTornTail?(info: { file: string; offset: number; droppedBytes: number; reason: string }): void;
}

export class StorageCorruptionError extends Error {
  readonly code = 'E_STORAGE_CORRUPT';
}

/** The segment a location names was compacted away: look the record up again (its new place was reported). */
export class SegmentGoneError extends Error {}

const FILE_MAGIC = Buffer.from('EDGELOG1', 'latin1');
/** magic (8) + kind (u32: 1 log segment, 2 compacted) + segment id (u32). */
const FILE_HEADER = 16;
/** crc32 (u32) of the payload + payload length (u32). */
const RECORD_HEADER = 8;
export const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;
const KIND_LOG = 1;
const KIND_COMPACT = 2;
const SEGMENT_RE = /^(\d{10})\.(log|compact)$/;

function fileName(id: number, kind: 'log' | 'compact'): string {
  return `${String(id).padStart(10, '0')}.${kind}`;
}

function fileHeader(kind: number, id: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER);
  FILE_MAGIC.copy(b, 0);
  b.writeUInt32LE(kind, 8);
  b.writeUInt32LE(id, 12);
  return b;
}

function frame(payload: Uint8Array): Buffer {
  if (payload.byteLength > MAX_RECORD_PAYLOAD) throw new RangeError(`a log record holds at most ${MAX_RECORD_PAYLOAD} bytes, got ${payload.byteLength}`);
  const b = Buffer.allocUnsafe(RECORD_HEADER + payload.byteLength);
  b.writeUInt32LE(crc32(payload), 0);
  b.writeUInt32LE(payload.byteLength, 4);
  b.set(payload, RECORD_HEADER);
  return b;
}

interface Segment {
  id: number;
  kind: 'log' | 'compact';
  path: string;
  fh: FileHandle;
  size: number;
  /** Reads in flight: a retired segment is closed when they finish. */
  reading: number;
  retired: boolean;
}

interface Pending {
  data: Buffer;
  resolve(loc: Loc): void;
  reject(err: unknown): void;
}

export interface LogStats {
  appends: number;
  /** fdatasync calls made for appends: appends / fsyncs is the group-commit factor. */
  fsyncs: number;
  /** Bytes of all segment files now. */
  bytes: number;
  compactions: number;
}

export class SegmentLog {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly segments = new Map<number, Segment>();
  private active!: Segment;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  private failed: Error | null = null;
  private compacting: Promise<void> | null = null;
  /** While compaction seals the active segment, batches wait for the new one. */
  private barrier: Promise<void> | null = null;
  /** The batch being written now. */
  private writing: Promise<void> | null = null;
  readonly stats: LogStats = { appends: 0, fsyncs: 0, bytes: 0, compactions: 0 };

  private constructor(dir: string, segmentBytes: number) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
  }

  /**
   * Opens (or creates) the log in `dir`, replaying every record through `onRecord`. A record cut short or failing
   * its checksum at the end of the newest segment is a torn write (the process died mid-append, before the write
   * was acknowledged): it and anything after it are cut off. Damage anywhere else is refused.
   */
  static async open(dir: string, options: SegmentLogOptions): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true });
    const log = new SegmentLog(dir, options.segmentBytes ?? 64 * 1024 * 1024);
    await log.load(options);
    return log;
  }

  private async load(options: SegmentLogOptions): Promise<void> {
    const names = await readdir(this.dir);
    const found: Array<{ id: number; kind: 'log' | 'compact' }> = [];
    for (const name of names) {
      const m = SEGMENT_RE.exec(name);
      if (m) found.push({ id: Number(m[1]), kind: m[2] as 'log' | 'compact' });
      else if (name.endsWith('.tmp')) await rm(join(this.dir, name), { force: true }); // an unfinished compaction
    }
    // The newest compacted segment holds everything up to its id: older segments are leftovers of a compaction
    // that finished its rename but not its clean-up.
    const compact = found.filter((f) => f.kind === 'compact').sort((a, b) => b.id - a.id)[0];
    const base = compact?.id ?? 0;
    for (const f of found) {
      if (f.id < base || (f.id === base && f.kind === 'log') || (f.kind === 'compact' && f.id !== base)) {
        await rm(join(this.dir, fileName(f.id, f.kind)), { force: true });
      }
    }
    const logs = found.filter((f) => f.kind === 'log' && f.id > base).sort((a, b) => a.id - b.id);
    if (compact) await this.scan(compact.id, 'compact', false, options);
    for (let i = 0; i < logs.length; i++) await this.scan(logs[i]!.id, 'log', i === logs.length - 1, options);
    const last = logs[logs.length - 1];
    if (last) this.active = this.segments.get(last.id)!;
    else this.active = await this.createSegment(base + 1, 'log');
    await syncDir(this.dir);
  }

  private async scan(id: number, kind: 'log' | 'compact', isTail: boolean, options: SegmentLogOptions): Promise<void> {
    const path = join(this.dir, fileName(id, kind));
    const fh = await open(path, 'r+');
    const { size } = await fh.stat();
    const seg: Segment = { id, kind, path, fh, size, reading: 0, retired: false };
    this.segments.set(id, seg);
    const torn = async (offset: number, reason: string): Promise<void> => {
      if (!isTail) {
        throw new StorageCorruptionError(`${path}: damaged record at byte ${offset} (${reason}) in a segment that is not the newest: refusing to open rather than lose acknowledged writes`);
      }
      await fh.truncate(offset);
      await fh.datasync();
      seg.size = offset;
      options.onTornTail?.({ file: path, offset, droppedBytes: size - offset, reason });
    };
    const head = Buffer.alloc(FILE_HEADER);
    const got = size >= FILE_HEADER ? (await fh.read(head, 0, FILE_HEADER, 0)).bytesRead : 0;
    if (got < FILE_HEADER || !head.subarray(0, 8).equals(FILE_MAGIC) || head.readUInt32LE(12) !== id || head.readUInt32LE(8) !== (kind === 'log' ? KIND_LOG : KIND_COMPACT)) {
      if (kind === 'log' && isTail && size < FILE_HEADER + RECORD_HEADER && (got < FILE_HEADER || head.subarray(0, got).every((b, i) => b === fileHeader(KIND_LOG, id)[i]))) {
        // Created but its header not (fully) written when the process died: start it again.
        await fh.truncate(0);
        await fh.write(fileHeader(KIND_LOG, id), 0, FILE_HEADER, 0);
        await fh.datasync();
        seg.size = FILE_HEADER;
        return;
      }
      throw new StorageCorruptionError(`${path}: not a segment of this log (bad file header)`);
    }
    const whole = kind === 'log';
    const headBytes = options.headBytes ?? 4096;
    const rec = Buffer.alloc(RECORD_HEADER);
    let offset = FILE_HEADER;
    // Read sequentially through a window, so that small records do not cost a read each.
    let window = Buffer.alloc(0);
    let windowAt = offset;
    const readAt = async (pos: number, len: number): Promise<Buffer> => {
      if (pos >= windowAt && pos + len <= windowAt + window.length) return window.subarray(pos - windowAt, pos - windowAt + len);
      const want = Math.max(len, 1 << 20);
      const buf = Buffer.allocUnsafe(Math.min(want, Math.max(0, size - pos)));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      window = buf.subarray(0, bytesRead);
      windowAt = pos;
      return window.subarray(0, Math.min(len, bytesRead));
    };
    while (offset < size) {
      if (size - offset < RECORD_HEADER) return torn(offset, 'a record header cut short');
      (await readAt(offset, RECORD_HEADER)).copy(rec);
      const crc = rec.readUInt32LE(0);
      const len = rec.readUInt32LE(4);
      if (len > MAX_RECORD_PAYLOAD) return torn(offset, `a record length of ${len} bytes, over the maximum`);
      if (size - offset - RECORD_HEADER < len) return torn(offset, 'a record cut short');
      let payload: Buffer;
      if (whole) {
        payload = Buffer.from(await readAt(offset + RECORD_HEADER, len));
        if (payload.length < len) return torn(offset, 'a record cut short');
        if (crc32(payload) !== crc) return torn(offset, 'a checksum mismatch');
      } else {
        payload = Buffer.from(await readAt(offset + RECORD_HEADER, Math.min(len, headBytes)));
      }
      options.onRecord({ loc: { segment: id, offset, length: RECORD_HEADER + len }, head: payload, whole: whole || len <= headBytes });
      offset += RECORD_HEADER + len;
    }
  }

  private async createSegment(id: number, kind: 'log' | 'compact', tmp = false): Promise<Segment> {
    const path = join(this.dir, fileName(id, kind) + (tmp ? '.tmp' : ''));
    const fh = await open(path, 'w+');
    await fh.write(fileHeader(kind === 'log' ? KIND_LOG : KIND_COMPACT, id), 0, FILE_HEADER, 0);
    await fh.datasync();
    const seg: Segment = { id, kind, path, fh, size: FILE_HEADER, reading: 0, retired: false };
    if (!tmp) {
      this.segments.set(id, seg);
      await syncDir(this.dir);
    }
    return seg;
  }

  /**
   * Appends a record. Resolves once it is on disk (fdatasync'd): an acknowledged write survives a crash of the
   * process or the machine. Appends made while a flush runs are written and synced together by the next one.
   */
  append(payload: Uint8Array): Promise<Loc> {
    if (this.closed) return Promise.reject(new Error('the log is closed'));
    if (this.failed) return Promise.reject(this.failed);
    let data: Buffer;
    try {
      data = frame(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Loc>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch);
        } catch (err) {
          // A failed write or sync leaves the file in an unknown state: stop accepting writes (reopen recovers).
          this.failed = err instanceof Error ? err : new Error(String(err));
          for (const p of batch) p.reject(this.failed);
          for (const p of this.queue) p.reject(this.failed);
          this.queue = [];
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    while (this.barrier) await this.barrier;
    // Set in the same turn the barrier was seen clear: compaction waits for this batch before sealing.
    this.writing = this.writeNow(batch);
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
  }

  private async writeNow(batch: Pending[]): Promise<void> {
    if (this.active.size >= this.segmentBytes) await this.rotate();
    const seg = this.active;
    const locs: Loc[] = [];
    let at = seg.size;
    for (const p of batch) {
      locs.push({ segment: seg.id, offset: at, length: p.data.length });
      at += p.data.length;
    }
    const buffers = batch.map((p) => p.data);
    let position = seg.size;
    // writev may write fewer bytes than asked (large batches): continue until all is written.
    while (buffers.length > 0) {
      const { bytesWritten } = await seg.fh.writev(buffers, position);
      position += bytesWritten;
      let n = bytesWritten;
      while (n > 0 && buffers.length > 0) {
        const first = buffers[0]!;
        if (first.length <= n) {
          n -= first.length;
          buffers.shift();
        } else {
          buffers[0] = first.subarray(n);
          n = 0;
        }
      }
    }
    await seg.fh.datasync();
    seg.size = at;
    this.stats.fsyncs++;
    this.stats.appends += batch.length;
    batch.forEach((p, i) => p.resolve(locs[i]!));
  }

  /** Seals the active segment and starts the next one. */
  private async rotate(): Promise<void> {
    const next = Math.max(...this.segments.keys()) + 1;
    this.active = await this.createSegment(next, 'log');
  }

  /** Reads a record's payload, verifying its checksum: damaged data is an error, never returned. */
  async read(loc: Loc): Promise<Buffer> {
    const seg = this.segments.get(loc.segment);
    if (!seg || seg.retired) throw new SegmentGoneError(`segment ${loc.segment} of ${this.dir} is gone (compacted away): read the record's new location`);
    seg.reading++;
    try {
      const buf = Buffer.allocUnsafe(loc.length);
      const { bytesRead } = await seg.fh.read(buf, 0, loc.length, loc.offset);
      if (bytesRead !== loc.length) throw new StorageCorruptionError(`${seg.path}: record at byte ${loc.offset} is cut short (${bytesRead} of ${loc.length} bytes)`);
      const len = buf.readUInt32LE(4);
      const payload = buf.subarray(RECORD_HEADER);
      if (len !== payload.length || crc32(payload) !== buf.readUInt32LE(0)) {
        throw new StorageCorruptionError(`${seg.path}: record at byte ${loc.offset} fails its checksum: refusing to return damaged data`);
      }
      return payload;
    } finally {
      seg.reading--;
      if (seg.retired && seg.reading === 0) await seg.fh.close().catch(() => {});
    }
  }

  /** Bytes in all segments (for the compaction policy). */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.size;
    return n;
  }

  /**
   * Compaction: seals the active segment, copies the records `live` names (those of the sealed segments the
   * engine still needs, read and verified) into one new compacted segment, makes it durable, tells the engine each
   * record's new place through `moved`, then deletes the sealed segments. Appends continue meanwhile (into the
   * new active segment); a crash at any point leaves either the old segments or the new compacted one in force.
   */
  compact(live: (sealedUpTo: number) => Iterable<Loc>, moved: (from: Loc, to: Loc) => void): Promise<void> {
    this.compacting ??= this.runCompaction(live, moved).finally(() => {
      this.compacting = null;
    });
    return this.compacting;
  }

  private async runCompaction(live: (sealedUpTo: number) => Iterable<Loc>, moved: (from: Loc, to: Loc) => void): Promise<void> {
    // Seal between batches: no batch may be half in the sealed segment. Batches that start from now on wait at
    // the barrier; the one being written (if any) is waited for.
    let release!: () => void;
    this.barrier = new Promise<void>((resolve) => (release = resolve));
    let sealed: number;
    try {
      while (this.writing) await this.writing.catch(() => {});
      sealed = this.active.id;
      await this.rotate();
    } finally {
      this.barrier = null;
      release();
    }
    const out = await this.createSegment(sealed, 'compact', true);
    const moves: Array<[Loc, Loc]> = [];
    try {
      let at = out.size;
      const pending: Buffer[] = [];
      let pendingBytes = 0;
      const drain = async (): Promise<void> => {
        if (pending.length === 0) return;
        let pos = at - pendingBytes;
        for (const b of pending) {
          await out.fh.write(b, 0, b.length, pos);
          pos += b.length;
        }
        pending.length = 0;
        pendingBytes = 0;
      };
      for (const loc of live(sealed)) {
        if (loc.segment > sealed) continue;
        const payload = await this.read(loc);
        const framed = frame(payload);
        pending.push(framed);
        pendingBytes += framed.length;
        moves.push([loc, { segment: sealed, offset: at, length: framed.length }]);
        at += framed.length;
        if (pendingBytes >= 1 << 20) await drain();
      }
      await drain();
      await out.fh.datasync();
      out.size = at;
      await rename(out.path, join(this.dir, fileName(sealed, 'compact')));
      out.path = join(this.dir, fileName(sealed, 'compact'));
      await syncDir(this.dir);
    } catch (err) {
      await out.fh.close().catch(() => {});
      await rm(out.path, { force: true });
      throw err;
    }
    // The compacted segment is in force from here on (open prefers it over the sealed segments).
    const old = [...this.segments.values()].filter((s) => s.id <= sealed);
    this.segments.set(sealed, out);
    for (const [from, to] of moves) moved(from, to);
    for (const s of old) {
      s.retired = true;
      if (s !== out) {
        if (s.id !== sealed) this.segments.delete(s.id);
        await rm(s.path, { force: true });
        if (s.reading === 0) await s.fh.close().catch(() => {});
      }
    }
    await syncDir(this.dir);
    this.stats.compactions++;
  }

  /** Waits for appends in flight, then closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing) await this.flushing;
    while (this.compacting) await this.compacting.catch(() => {});
    this.closed = true;
    for (const s of this.segments.values()) await s.fh.close().catch(() => {});
    this.segments.clear();
  }
}

/** fsyncs a directory, so that files created, renamed or deleted in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
