// The embedded KV engine: every namespace of the host in one segment log (so that writes of all namespaces share
// group commits), with an in-memory ordered index of live keys pointing at their records (values stay on disk and
// are read, checksum-verified, on get). Workers KV's rules (limits, expiration, listing by UTF-8 byte order with
// cursors) are enforced here, so that any backend behind `KvStore` behaves alike.
import { SegmentGoneError, SegmentLog, type Loc } from '../log/segment-log.ts';
import { sortedIndex, type SortedIndex } from '../sorted-index.ts';
import { KV_LIMITS, KvError, validateKey, validateMetadata, type KvEntry, type KvListOptions, type KvListResult, type KvPutOptions, type KvStore } from './kv-types.ts';

type Tree = SortedIndex<IndexEntry>;

interface IndexEntry {
  loc: Loc;
  /** ms since the epoch; 0 = never. */
  expiresAt: number;
  metadata: string | null;
}

const PUT = 1;
const DELETE = 2;
/** type u8, version u8, ns length u16, key length u16, metadata length u16, expiration f64 (ms; 0 none). */
const HEADER = 16;
const enc = new TextEncoder();
const dec = new TextDecoder();

function encodeRecord(type: number, ns: string, key: string, expiresAt: number, metadata: string | null, value: Uint8Array | null): Buffer {
  const nsB = Buffer.from(ns, 'utf8');
  const keyB = Buffer.from(key, 'utf8');
  const metaB = metadata === null ? Buffer.alloc(0) : Buffer.from(metadata, 'utf8');
  const size = HEADER + nsB.length + keyB.length + metaB.length + (value?.byteLength ?? 0);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt8(type, 0);
  b.writeUInt8(metadata === null ? 1 : 2, 1);
  b.writeUInt16LE(nsB.length, 2);
  b.writeUInt16LE(keyB.length, 4);
  b.writeUInt16LE(metaB.length, 6);
  b.writeDoubleLE(expiresAt, 8);
  let at = HEADER;
  at += nsB.copy(b, at);
  at += keyB.copy(b, at);
  at += metaB.copy(b, at);
  if (value) b.set(value, at);
  return b;
}

interface Decoded {
  type: number;
  ns: string;
  key: string;
  expiresAt: number;
  metadata: string | null;
  valueAt: number;
}

function decodeHead(b: Uint8Array): Decoded {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (v.length < HEADER) throw new Error('KV record shorter than its header');
  const type = v.readUInt8(0);
  const hasMeta = v.readUInt8(1) === 2;
  const nsLen = v.readUInt16LE(2);
  const keyLen = v.readUInt16LE(4);
  const metaLen = v.readUInt16LE(6);
  const expiresAt = v.readDoubleLE(8);
  let at = HEADER;
  const ns = dec.decode(v.subarray(at, (at += nsLen)));
  const key = dec.decode(v.subarray(at, (at += keyLen)));
  const metadata = hasMeta ? dec.decode(v.subarray(at, (at += metaLen))) : null;
  if (at > v.length) throw new Error('KV record head cut short');
  return { type, ns, key, expiresAt, metadata, valueAt: at };
}

export interface KvEngineOptions {
  /** Clock (ms), injectable for expiration tests. */
  now?: () => number;
  segmentBytes?: number;
  /** Compaction starts when the log is this many bytes and more than twice the live data. Default 64 MiB. */
  compactAtBytes?: number;
  /** Values kept in memory (least recently used go first), so that hot keys are read without the disk. Default 32 MiB. */
  cacheBytes?: number;
  onTornTail?(info: { file: string; offset: number; droppedBytes: number; reason: string }): void;
}

export class KvEngine implements KvStore {
  private readonly log: SegmentLog;
  private readonly spaces = new Map<string, Tree>();
  private readonly now: () => number;
  private readonly compactAtBytes: number;
  private liveBytes = 0;
  private compaction: Promise<void> | null = null;
  /** Recently read or written values by `ns\0key`, valid while the index still holds the same entry object. */
  private readonly cache = new Map<string, { entry: IndexEntry; value: Uint8Array }>();
  private cachedBytes = 0;
  private readonly cacheBytes: number;
  private readonly changeListeners: Array<(ns: string) => void> = [];

  private constructor(log: SegmentLog, now: () => number, compactAtBytes: number, cacheBytes: number) {
    this.log = log;
    this.now = now;
    this.compactAtBytes = compactAtBytes;
    this.cacheBytes = cacheBytes;
  }

  /** Opens the engine's log under `dir`, rebuilding the index from it (a torn tail is cut off). */
  static async open(dir: string, options: KvEngineOptions = {}): Promise<KvEngine> {
    const now = options.now ?? Date.now;
    const replayed: Array<{ d: Decoded; loc: Loc }> = [];
    const log = await SegmentLog.open(dir, {
      ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}),
      headBytes: HEADER + 2 * 65535 + 1024,
      onRecord: (r) => replayed.push({ d: decodeHead(r.head), loc: r.loc }),
      ...(options.onTornTail ? { onTornTail: options.onTornTail } : {}),
    });
    const engine = new KvEngine(log, now, options.compactAtBytes ?? 64 * 1024 * 1024, options.cacheBytes ?? 32 * 1024 * 1024);
    const t = now();
    for (const { d, loc } of replayed) {
      if (d.type === DELETE || (d.expiresAt !== 0 && d.expiresAt <= t)) engine.remove(d.ns, d.key);
      else engine.index(d.ns, d.key, { loc, expiresAt: d.expiresAt, metadata: d.metadata });
    }
    return engine;
  }

  /** Calls `listener(ns)` after every write to a namespace takes effect (before the writer's promise resolves). */
  onChange(listener: (ns: string) => void): void {
    this.changeListeners.push(listener);
  }

  private changed(ns: string): void {
    for (const l of this.changeListeners) l(ns);
  }

  get stats(): { appends: number; fsyncs: number; bytes: number; liveBytes: number; compactions: number } {
    return { ...this.log.stats, bytes: this.log.bytes, liveBytes: this.liveBytes };
  }

  private tree(ns: string): Tree {
    let t = this.spaces.get(ns);
    if (!t) {
      t = sortedIndex<IndexEntry>();
      this.spaces.set(ns, t);
    }
    return t;
  }

  private index(ns: string, key: string, e: IndexEntry): void {
    const t = this.tree(ns);
    const old = t.get(key);
    if (old) this.liveBytes -= old.loc.length;
    t.set(key, e);
    this.liveBytes += e.loc.length;
  }

  private remove(ns: string, key: string): void {
    const cached = this.cache.get(`${ns}\0${key}`);
    if (cached) {
      this.cache.delete(`${ns}\0${key}`);
      this.cachedBytes -= cached.value.byteLength;
    }
    const t = this.spaces.get(ns);
    const old = t?.get(key);
    if (!t || !old) return;
    t.delete(key);
    this.liveBytes -= old.loc.length;
  }

  /** The live index entry of a key, dropping it if it expired. */
  private live(ns: string, key: string): IndexEntry | undefined {
    const e = this.spaces.get(ns)?.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== 0 && e.expiresAt <= this.now()) {
      this.remove(ns, key);
      return undefined;
    }
    return e;
  }

  private remember(ns: string, key: string, entry: IndexEntry, value: Uint8Array): void {
    if (value.byteLength > this.cacheBytes / 8) return;
    const id = `${ns}\0${key}`;
    const old = this.cache.get(id);
    if (old) {
      this.cache.delete(id);
      this.cachedBytes -= old.value.byteLength;
    }
    this.cache.set(id, { entry, value });
    this.cachedBytes += value.byteLength;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes) break;
      this.cache.delete(k);
      this.cachedBytes -= v.value.byteLength;
    }
  }

  /**
   * A read answered from memory when it can be: the entry (or null: no such key) when the value is cached or the
   * key does not exist, undefined when only the disk knows (then use get()).
   */
  peek(ns: string, key: string): KvEntry | null | undefined {
    validateKey(key);
    const e = this.live(ns, key);
    if (!e) return null;
    const id = `${ns}\0${key}`;
    const hit = this.cache.get(id);
    if (!hit || hit.entry !== e) return undefined;
    this.cache.delete(id);
    this.cache.set(id, hit);
    return { value: hit.value, metadata: e.metadata, expiration: e.expiresAt === 0 ? null : Math.floor(e.expiresAt / 1000) };
  }

  async get(ns: string, key: string): Promise<KvEntry | null> {
    const known = this.peek(ns, key);
    if (known !== undefined) return known;
    for (let attempt = 0; ; attempt++) {
      const e = this.live(ns, key);
      if (!e) return null;
      try {
        const payload = await this.log.read(e.loc);
        const d = decodeHead(payload);
        if (d.ns !== ns || d.key !== key) throw new KvError('internal', `index of ${ns}/${key} points at the record of ${d.ns}/${d.key}`);
        const value = payload.subarray(d.valueAt);
        // Cached only if the key did not change while the disk was read.
        if (this.spaces.get(ns)?.get(key) === e) this.remember(ns, key, e, value);
        return { value, metadata: d.metadata, expiration: d.expiresAt === 0 ? null : Math.floor(d.expiresAt / 1000) };
      } catch (err) {
        // Compacted away between the lookup and the read: its new place is in the index now.
        if (err instanceof SegmentGoneError && attempt < 3) continue;
        throw err;
      }
    }
  }

  async put(ns: string, key: string, value: Uint8Array, options: KvPutOptions = {}): Promise<void> {
    validateKey(key);
    if (value.byteLength > KV_LIMITS.valueBytes) throw new KvError('value-too-large', `KV values are at most ${KV_LIMITS.valueBytes} bytes (25 MiB); this one is ${value.byteLength} bytes`, value.byteLength);
    const metadata = options.metadata ?? null;
    if (metadata !== null) validateMetadata(metadata);
    const expiresAt = this.expiresAt(options);
    const loc = await this.log.append(encodeRecord(PUT, ns, key, expiresAt, metadata, value));
    const entry: IndexEntry = { loc, expiresAt, metadata };
    this.index(ns, key, entry);
    // A copy: the caller keeps its buffer.
    this.remember(ns, key, entry, value.slice());
    this.changed(ns);
    this.maybeCompact();
  }

  async delete(ns: string, key: string): Promise<void> {
    validateKey(key);
    // Always logged, even for a key not indexed: a put of it may still be in flight, and must not win.
    await this.log.append(encodeRecord(DELETE, ns, key, 0, null, null));
    this.remove(ns, key);
    this.changed(ns);
    this.maybeCompact();
  }

  async list(ns: string, options: KvListOptions = {}): Promise<KvListResult> {
    const limit = options.limit ?? KV_LIMITS.listLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > KV_LIMITS.listLimit) {
      throw new KvError('invalid-list', `list limit must be an integer from 1 to ${KV_LIMITS.listLimit}, got ${limit}`);
    }
    const prefix = options.prefix ?? '';
    let after: string | null = null;
    if (options.cursor) {
      after = decodeCursor(options.cursor);
      if (after === null || !after.startsWith(prefix)) throw new KvError('invalid-list', `the list cursor ${JSON.stringify(options.cursor)} is not one this namespace returned for prefix ${JSON.stringify(prefix)}`);
    }
    const t = this.spaces.get(ns);
    const keys: KvListResult['keys'] = [];
    if (!t) return { keys, listComplete: true };
    const now = this.now();
    const expired: string[] = [];
    let more = false;
    for (const [key, e] of t.entries(after ?? prefix)) {
      if (after !== null && key === after) continue;
      if (!key.startsWith(prefix)) break;
      if (e.expiresAt !== 0 && e.expiresAt <= now) {
        expired.push(key);
        continue;
      }
      if (keys.length === limit) {
        more = true;
        break;
      }
      keys.push({ name: key, expiration: e.expiresAt === 0 ? null : Math.floor(e.expiresAt / 1000), metadata: e.metadata });
    }
    for (const k of expired) this.remove(ns, k);
    if (!more) return { keys, listComplete: true };
    return { keys, listComplete: false, cursor: encodeCursor(keys[keys.length - 1]!.name) };
  }

  private expiresAt(options: KvPutOptions): number {
    const now = this.now();
    if (options.expiration != null && options.expirationTtl != null) {
      throw new KvError('invalid-expiration', 'set either expiration or expirationTtl, not both');
    }
    if (options.expiration != null) {
      const at = Number(options.expiration);
      if (!Number.isFinite(at)) throw new KvError('invalid-expiration', `expiration must be a number of seconds since the epoch, got ${String(options.expiration)}`);
      if (at * 1000 < now + KV_LIMITS.minTtlSeconds * 1000) {
        throw new KvError('invalid-expiration', `expiration ${at} is less than ${KV_LIMITS.minTtlSeconds} seconds in the future (now is ${Math.floor(now / 1000)})`);
      }
      return Math.floor(at) * 1000;
    }
    if (options.expirationTtl != null) {
      const ttl = Number(options.expirationTtl);
      if (!Number.isFinite(ttl) || ttl < KV_LIMITS.minTtlSeconds) {
        throw new KvError('invalid-expiration', `expirationTtl must be at least ${KV_LIMITS.minTtlSeconds} seconds, got ${String(options.expirationTtl)}`);
      }
      return now + Math.floor(ttl) * 1000;
    }
    return 0;
  }

  /** Compacts when the log is large and mostly dead records (overwritten, deleted or expired). */
  private maybeCompact(): void {
    if (this.compaction) return;
    const bytes = this.log.bytes;
    if (bytes < this.compactAtBytes || bytes < 2 * this.liveBytes) return;
    this.compaction = this.compact().finally(() => {
      this.compaction = null;
    });
    // A failed compaction changes nothing (the old segments stay in force); it is retried at a later write.
    this.compaction.catch((err: unknown) => process.emitWarning(`KV compaction failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Rewrites the live records into one compacted segment and drops the rest, expired keys included. */
  async compact(): Promise<void> {
    const now = this.now();
    for (const [ns, t] of this.spaces) {
      const dead: string[] = [];
      t.forEach((e, k) => {
        if (e.expiresAt !== 0 && e.expiresAt <= now) dead.push(k);
      });
      for (const k of dead) this.remove(ns, k);
    }
    const owner = new Map<string, { ns: string; key: string }>();
    const locKey = (l: Loc): string => `${l.segment}:${l.offset}`;
    await this.log.compact(
      (sealedUpTo) => {
        const out: Loc[] = [];
        for (const [ns, t] of this.spaces) {
          t.forEach((e, key) => {
            if (e.loc.segment <= sealedUpTo) {
              out.push(e.loc);
              owner.set(locKey(e.loc), { ns, key });
            }
          });
        }
        // In file order: the copy reads each sealed segment front to back.
        return out.sort((a, b) => a.segment - b.segment || a.offset - b.offset);
      },
      (from, to) => {
        const o = owner.get(locKey(from));
        const e = o && this.spaces.get(o.ns)?.get(o.key);
        // Only if the key still points there (not overwritten or deleted while compacting).
        if (e && e.loc.segment === from.segment && e.loc.offset === from.offset) {
          this.liveBytes += to.length - e.loc.length;
          e.loc = to;
        }
      },
    );
  }

  async close(): Promise<void> {
    await this.compaction?.catch(() => {});
    await this.log.close();
  }
}

function encodeCursor(key: string): string {
  return Buffer.from(enc.encode(key)).toString('base64url');
}

function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor, 'base64url'));
  } catch {
    return null;
  }
}
