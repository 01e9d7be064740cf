import { mkdtemp, readdir, readFile, rm, writeFile, appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentLog, StorageCorruptionError, type Loc, type ScannedRecord } from './segment-log.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'edge-log-'));
  dirs.push(d);
  return d;
}
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function openCollect(dir: string, extra: { segmentBytes?: number } = {}) {
  const records: ScannedRecord[] = [];
  const torn: Array<{ offset: number; droppedBytes: number; reason: string }> = [];
  const log = await SegmentLog.open(dir, { ...extra, onRecord: (r) => records.push(r), onTornTail: (t) => torn.push(t) });
  return { log, records, torn, texts: () => records.map((r) => text(r.head)) };
}

describe('SegmentLog', () => {
  it('replays appended records in order after reopening', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir);
    for (const s of ['one', 'two', 'three']) await a.log.append(bytes(s));
    await a.log.close();
    const b = await openCollect(dir);
    expect(b.texts()).toEqual(['one', 'two', 'three']);
    expect(b.records.every((r) => r.whole)).toBe(true);
    expect(text(await b.log.read(b.records[1]!.loc))).toBe('two');
    await b.log.close();
  });

  it('group-commits concurrent appends: one fdatasync for many writes', async () => {
    const dir = await tempDir();
    const { log } = await openCollect(dir);
    const locs = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(bytes(`record ${i}`))));
    expect(log.stats.appends).toBe(500);
    expect(log.stats.fsyncs).toBeLessThan(50);
    // Locations are distinct and in append order.
    for (let i = 1; i < locs.length; i++) expect(locs[i]!.offset).toBeGreaterThan(locs[i - 1]!.offset);
    expect(text(await log.read(locs[321]!))).toBe('record 321');
    await log.close();
  });

  it('cuts off a torn tail (a record cut short) and keeps appending after it', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir);
    await a.log.append(bytes('kept 1'));
    await a.log.append(bytes('kept 2'));
    await a.log.close();
    const [file] = (await readdir(dir)).filter((f) => f.endsWith('.log'));
    const path = join(dir, file!);
    const before = (await stat(path)).size;
    // A record header announcing 100 bytes, followed by only 5 of them: the process died mid-write.
    const partial = Buffer.alloc(8 + 5);
    partial.writeUInt32LE(12345, 0);
    partial.writeUInt32LE(100, 4);
    await appendFile(path, partial);
    const b = await openCollect(dir);
    expect(b.texts()).toEqual(['kept 1', 'kept 2']);
    expect(b.torn).toEqual([{ file: path, offset: before, droppedBytes: partial.length, reason: 'a record cut short' } as never]);
    expect((await stat(path)).size).toBe(before);
    await b.log.append(bytes('after'));
    await b.log.close();
    expect((await openCollect(dir)).texts()).toEqual(['kept 1', 'kept 2', 'after']);
  });

  it('drops a tail record whose checksum fails and never returns it', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir);
    await a.log.append(bytes('good'));
    const bad = await a.log.append(bytes('will be damaged'));
    await a.log.close();
    const path = join(dir, (await readdir(dir)).find((f) => f.endsWith('.log'))!);
    const buf = await readFile(path);
    buf[bad.offset + 8 + 3] ^= 0xff;
    await writeFile(path, buf);
    const b = await openCollect(dir);
    expect(b.texts()).toEqual(['good']);
    expect(b.torn[0]!.reason).toBe('a checksum mismatch');
    await b.log.close();
  });

  it('refuses to open when a record is damaged in a sealed segment, and reads verify checksums', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir, { segmentBytes: 64 });
    const first = await a.log.append(bytes('x'.repeat(80)));
    await a.log.append(bytes('y'.repeat(80)));
    await a.log.append(bytes('z'));
    expect(first.segment).toBe(1);
    const path = join(dir, '0000000001.log');
    const buf = await readFile(path);
    buf[first.offset + 8 + 10] ^= 0x01;
    await writeFile(path, buf);
    await expect(a.log.read(first)).rejects.toThrow(/fails its checksum/);
    await a.log.close();
    const err = await SegmentLog.open(dir, { onRecord: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageCorruptionError);
    expect(String((err as Error).message)).toMatch(/0000000001\.log: damaged record at byte 16 .*refusing to open/);
  });

  it('rotates segments past segmentBytes and replays across them', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir, { segmentBytes: 100 });
    for (let i = 0; i < 10; i++) await a.log.append(bytes(`${i}`.repeat(40)));
    await a.log.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.log')).length).toBeGreaterThan(3);
    const b = await openCollect(dir, { segmentBytes: 100 });
    expect(b.texts()).toEqual(Array.from({ length: 10 }, (_, i) => `${i}`.repeat(40)));
    await b.log.close();
  });

  it('compacts: keeps only the records named live, moves them, deletes the old segments, and reopens from the compacted one', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir, { segmentBytes: 200 });
    const locs: Loc[] = [];
    for (let i = 0; i < 20; i++) locs.push(await a.log.append(bytes(`value ${i} `.padEnd(50, '.'))));
    const keep = new Map<number, Loc>([[3, locs[3]!], [17, locs[17]!]]);
    await a.log.compact(
      () => [...keep.values()],
      (from, to) => {
        for (const [k, l] of keep) if (l.segment === from.segment && l.offset === from.offset) keep.set(k, to);
      },
    );
    expect(text(await a.log.read(keep.get(3)!))).toMatch(/^value 3 /);
    expect(text(await a.log.read(keep.get(17)!))).toMatch(/^value 17 /);
    await a.log.append(bytes('after compaction'));
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.compact'))).toHaveLength(1);
    await a.log.close();
    const b = await openCollect(dir);
    expect(b.texts().map((t) => t.split(' ')[1])).toEqual(['3', '17', 'compaction']);
    expect(b.records[0]!.loc.segment).toBe(keep.get(3)!.segment);
    expect(a.log.stats.compactions).toBe(1);
    await b.log.close();
  });

  it('recovers from a compaction cut short: leftovers of either side are ignored', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir);
    await a.log.append(bytes('a'));
    await a.log.close();
    // An unfinished compaction output, and a stale log segment older than a finished compaction.
    await writeFile(join(dir, '0000000001.compact.tmp'), 'partial');
    const b = await openCollect(dir);
    expect(b.texts()).toEqual(['a']);
    expect(await readdir(dir)).not.toContain('0000000001.compact.tmp');
    await b.log.close();
  });

  it('starts over a newest segment whose file header was torn', async () => {
    const dir = await tempDir();
    const a = await openCollect(dir);
    await a.log.append(bytes('a'));
    await a.log.close();
    await writeFile(join(dir, '0000000002.log'), Buffer.from('EDGE'));
    const b = await openCollect(dir);
    expect(b.texts()).toEqual(['a']);
    await b.log.append(bytes('b'));
    await b.log.close();
    expect((await openCollect(dir)).texts()).toEqual(['a', 'b']);
  });
});
