// Durable Object storage: an ordered key-value store per object, every object of a host in one segment log
// (storage/log), so that the writes of all objects share group commits. A write is a batch (puts and deletes of one
// object, or a delete of everything it holds) applied atomically: one log record, acknowledged once it is durable.
// Keys are kept in memory in a sorted index per object with their values (already serialized by the caller); the
// log is replayed at open. An object whose records since its last full one outweigh what it holds gets a full
// record (everything it holds, replacing what came before), so that its older records are dead; compaction drops
// dead records once the log passes 64 MiB and is mostly dead, which bounds disk use and recovery time.
//
// Payload of a record: v8.serialize({ o: object, a?: true (delete all first), p: [[key, value | null], ...],
// alarm?: number | null }).
import { serialize, deserialize } from 'node:v8';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SegmentLog, type Loc } from '../log/segment-log.ts';
import { sortedIndex, type SortedIndex } from '../sorted-index.ts';
import { compareUtf8 } from '../kv/kv-types.ts';

export const DURABLE_LIMITS = Object.freeze({
  /** A key, in bytes of UTF-8 (Cloudflare: 2 KiB). */
  keyBytes: 2048,
  /** A value, serialized (Cloudflare: 128 KiB). */
  valueBytes: 128 * 1024,
  /** Keys in one get/put/delete call. */
  keysPerCall: 128,
});

export class DurableStorageError extends Error {
  readonly code: 'key-too-large' | 'value-too-large' | 'too-many-keys' | 'invalid';
  constructor(code: DurableStorageError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface ListOptions {
  start?: string;
  startAfter?: string;
  end?: string;
  prefix?: string;
  reverse?: boolean;
  limit?: number;
}

/** A record that still counts: where it is (null while its append is in flight) and its size. */
interface RecordRef {
  loc: Loc | null;
  bytes: number;
  dead: boolean;
}

interface ObjectState {
  keys: SortedIndex<Uint8Array>;
  alarm: number | null;
  /** Bytes of keys and values it holds. */
  size: number;
  /** Its records since (and including) its last full one: what a replay of it needs. */
  records: RecordRef[];
  recordBytes: number;
}

/** The log is compacted past this size when less than half of it is live. */
const COMPACT_AT_BYTES = 64 * 1024 * 1024;

interface Record_ {
  o: string;
  a?: true;
  p: Array<[string, Uint8Array | null]>;
  alarm?: number | null;
}

export interface DurableStoreOptions {
  onTornTail?(info: { file: string; offset: number; droppedBytes: number; reason: string }): void;
}

/** UTF-8 byte order, as Durable Objects list keys (JS string comparison is UTF-16 order). */
const compareKeys = compareUtf8;

export class DurableStore {
  private readonly objects = new Map<string, ObjectState>();
  private readonly log: SegmentLog;
  /** Live records by location (`segment:offset`), for compaction. */
  private readonly live = new Map<string, RecordRef>();
  private liveBytes = 0;
  private compacting: Promise<void> | null = null;
  /** Compaction threshold (tests lower it). */
  compactAtBytes = COMPACT_AT_BYTES;
  /** The host's secret for object ids (`<dir>/id-key`): ids of one class cannot be made up or used for another. */
  readonly idKey: Buffer;

  private constructor(log: SegmentLog, idKey: Buffer) {
    this.log = log;
    this.idKey = idKey;
  }

  /** Opens (or creates) the store in `dir`: `log/` (the segment log) and `id-key`. */
  static async open(dir: string, options: DurableStoreOptions = {}): Promise<DurableStore> {
    await mkdir(dir, { recursive: true });
    const keyFile = join(dir, 'id-key');
    let idKey: Buffer;
    try {
      idKey = await readFile(keyFile);
    } catch {
      idKey = randomBytes(32);
      const fh = await open(keyFile, 'wx', 0o600);
      await fh.writeFile(idKey);
      await fh.datasync();
      await fh.close();
    }
    const pending: Array<{ r: Record_; loc: Loc; bytes: number }> = [];
    const log = await SegmentLog.open(join(dir, 'log'), {
      headBytes: 64 * 1024 * 1024,
      onRecord: ({ head, loc }) => pending.push({ r: deserialize(head) as Record_, loc, bytes: head.byteLength }),
      ...(options.onTornTail ? { onTornTail: options.onTornTail } : {}),
    });
    const store = new DurableStore(log, idKey);
    for (const { r, loc, bytes } of pending) {
      const ref: RecordRef = { loc, bytes, dead: false };
      store.apply(r, ref);
      if (!ref.dead) store.live.set(`${loc.segment}:${loc.offset}`, ref);
    }
    return store;
  }

  get stats(): SegmentLog['stats'] {
    return this.log.stats;
  }

  private state(object: string): ObjectState {
    let s = this.objects.get(object);
    if (!s) {
      s = { keys: sortedIndex<Uint8Array>(), alarm: null, size: 0, records: [], recordBytes: 0 };
      this.objects.set(object, s);
    }
    return s;
  }

  private kill(ref: RecordRef): void {
    if (ref.dead) return;
    ref.dead = true;
    this.liveBytes -= ref.bytes;
    if (ref.loc) this.live.delete(`${ref.loc.segment}:${ref.loc.offset}`);
  }

  /** Applies a record to the object's state; `ref` is the record's place among the object's live records. */
  private apply(r: Record_, ref: RecordRef): void {
    const s = this.state(r.o);
    if (r.a) {
      s.keys.clear();
      s.size = 0;
      // A full record: every record of the object before it is dead.
      for (const old of s.records) this.kill(old);
      s.records = [];
      s.recordBytes = 0;
    }
    for (const [k, v] of r.p) {
      const before = s.keys.get(k);
      if (before !== undefined) s.size -= k.length + before.byteLength;
      if (v === null) s.keys.delete(k);
      else {
        s.keys.set(k, v);
        s.size += k.length + v.byteLength;
      }
    }
    if (r.alarm !== undefined) s.alarm = r.alarm;
    s.records.push(ref);
    s.recordBytes += ref.bytes;
    this.liveBytes += ref.bytes;
    if (s.keys.size === 0 && s.alarm === null) {
      // Nothing left: none of its records is needed any more.
      for (const old of s.records) this.kill(old);
      this.objects.delete(r.o);
    }
  }

  /** The values of `keys` that exist. */
  get(object: string, keys: readonly string[]): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    const s = this.objects.get(object);
    if (!s) return out;
    for (const k of keys) {
      const v = s.keys.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }

  /** Whether each key exists (for delete()'s answer). */
  has(object: string, key: string): boolean {
    return this.objects.get(object)?.keys.has(key) ?? false;
  }

  /**
   * One atomic batch: puts (value bytes) and deletes (null), after deleting everything when `deleteAll`. Applied to
   * the index at once (later reads see it), resolved once durable.
   */
  write(object: string, ops: ReadonlyArray<readonly [string, Uint8Array | null]>, options: { deleteAll?: boolean; alarm?: number | null } = {}): Promise<void> {
    for (const [k, v] of ops) {
      if (Buffer.byteLength(k) > DURABLE_LIMITS.keyBytes) throw new DurableStorageError('key-too-large', `Keys cannot be larger than ${DURABLE_LIMITS.keyBytes} bytes; this one is ${Buffer.byteLength(k)}.`);
      if (v !== null && v.byteLength > DURABLE_LIMITS.valueBytes) throw new DurableStorageError('value-too-large', `Values cannot be larger than ${DURABLE_LIMITS.valueBytes} bytes; this one is ${v.byteLength} bytes serialized.`);
    }
    const r: Record_ = { o: object, p: ops.map(([k, v]) => [k, v]) };
    if (options.deleteAll) r.a = true;
    if (options.alarm !== undefined) r.alarm = options.alarm;
    const durable = this.append(r);
    // Its records outweigh what it holds: one full record replaces them (and makes them dead for compaction).
    const s = this.objects.get(object);
    if (s && s.records.length > 16 && s.recordBytes > 2 * s.size + 64 * 1024) {
      const full: Record_ = { o: object, a: true, p: [...s.keys.entries()], alarm: s.alarm };
      void this.append(full).catch(() => {});
    }
    return durable;
  }

  private append(r: Record_): Promise<void> {
    const payload = serialize(r);
    const ref: RecordRef = { loc: null, bytes: payload.byteLength, dead: false };
    const appended = this.log.append(payload);
    this.apply(r, ref);
    return appended.then((loc) => {
      ref.loc = loc;
      if (!ref.dead) this.live.set(`${loc.segment}:${loc.offset}`, ref);
      this.maybeCompact();
    });
  }

  private maybeCompact(): void {
    if (this.compacting || this.log.bytes < this.compactAtBytes || this.liveBytes * 2 > this.log.bytes) return;
    this.compacting = this.log
      .compact(
        (sealedUpTo) => [...this.live.values()].filter((r) => r.loc !== null && r.loc.segment <= sealedUpTo).map((r) => r.loc as Loc),
        (from, to) => {
          const key = `${from.segment}:${from.offset}`;
          const ref = this.live.get(key);
          if (!ref) return;
          this.live.delete(key);
          ref.loc = to;
          this.live.set(`${to.segment}:${to.offset}`, ref);
        },
      )
      .catch(() => {})
      .finally(() => {
        this.compacting = null;
      });
  }

  /** Finishes a compaction in progress (for tests). */
  async settled(): Promise<void> {
    await this.compacting;
  }

  list(object: string, options: ListOptions = {}): Array<[string, Uint8Array]> {
    const s = this.objects.get(object);
    if (!s) return [];
    const limit = options.limit ?? Infinity;
    const out: Array<[string, Uint8Array]> = [];
    const inRange = (k: string): boolean => {
      if (options.prefix !== undefined && !k.startsWith(options.prefix)) return false;
      if (options.start !== undefined && compareKeys(k, options.start) < 0) return false;
      if (options.startAfter !== undefined && compareKeys(k, options.startAfter) <= 0) return false;
      if (options.end !== undefined && compareKeys(k, options.end) >= 0) return false;
      return true;
    };
    // The lowest key of the range, as the B+ tree's starting point.
    let low: string | undefined = options.start;
    if (options.startAfter !== undefined && (low === undefined || compareKeys(options.startAfter, low) >= 0)) low = options.startAfter;
    if (options.prefix !== undefined && (low === undefined || compareKeys(options.prefix, low) > 0)) low = options.prefix;
    if (!options.reverse) {
      for (const [k, v] of s.keys.entries(low)) {
        if (out.length >= limit) break;
        if (options.end !== undefined && compareKeys(k, options.end) >= 0) break;
        if (options.prefix !== undefined && !k.startsWith(options.prefix) && compareKeys(k, options.prefix) > 0) break;
        if (inRange(k)) out.push([k, v]);
      }
    } else {
      for (const [k, v] of s.keys.entriesReversed()) {
        if (out.length >= limit) break;
        if (low !== undefined && compareKeys(k, low) < 0) break;
        if (inRange(k)) out.push([k, v]);
      }
    }
    return out;
  }

  getAlarm(object: string): number | null {
    return this.objects.get(object)?.alarm ?? null;
  }

  /** Every object with an alarm set, for the scheduler at start-up. */
  alarms(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [o, s] of this.objects) if (s.alarm !== null) out.push([o, s.alarm]);
    return out;
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
