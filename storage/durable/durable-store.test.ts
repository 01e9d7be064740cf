// The Durable Object store without a host: batches, key order and list bounds, limits, alarms, reopening, and
// compaction of a log whose objects keep rewriting the same keys.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableStore, DurableStorageError } from './durable-store.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'edge-do-store-'));
  dirs.push(d);
  return d;
}
const b = (s: string) => Buffer.from(s);
const keys = (pairs: Array<[string, Uint8Array]>) => pairs.map(([k]) => k);

describe('DurableStore', () => {
  it('applies batches atomically per object, lists in UTF-8 order within bounds, and reopens to the same state', async () => {
    const dir = await tempDir();
    let s = await DurableStore.open(dir);
    await s.write('w/C/1', [['b', b('2')], ['a', b('1')], ['é', b('e')], ['z', b('26')], ['p:1', b('x')], ['p:2', b('y')]]);
    await s.write('w/C/1', [['z', null], ['c', b('3')]]);
    await s.write('w/C/2', [['a', b('other')]]);
    const all = ['a', 'b', 'c', 'p:1', 'p:2', 'é'];
    expect(keys(s.list('w/C/1'))).toEqual(all);
    expect(keys(s.list('w/C/1', { prefix: 'p:' }))).toEqual(['p:1', 'p:2']);
    expect(keys(s.list('w/C/1', { start: 'b', end: 'p:2' }))).toEqual(['b', 'c', 'p:1']);
    expect(keys(s.list('w/C/1', { startAfter: 'b', limit: 2 }))).toEqual(['c', 'p:1']);
    expect(keys(s.list('w/C/1', { reverse: true, limit: 2 }))).toEqual(['é', 'p:2']);
    expect(keys(s.list('w/C/1', { reverse: true, prefix: 'p:' }))).toEqual(['p:2', 'p:1']);
    expect([...s.get('w/C/1', ['a', 'z', 'c'])].map(([k, v]) => [k, v.toString()])).toEqual([['a', '1'], ['c', '3']]);
    await s.write('w/C/1', [], { alarm: 12345 });
    await s.close();
    s = await DurableStore.open(dir);
    expect(keys(s.list('w/C/1'))).toEqual(all);
    expect(s.get('w/C/2', ['a']).get('a')!.toString()).toBe('other');
    expect(s.getAlarm('w/C/1')).toBe(12345);
    expect(s.alarms()).toEqual([['w/C/1', 12345]]);
    await s.write('w/C/1', [['only', b('1')]], { deleteAll: true, alarm: null });
    expect(keys(s.list('w/C/1'))).toEqual(['only']);
    await s.close();
  });

  it('refuses keys over 2 KiB and values over 128 KiB, writing nothing', async () => {
    const s = await DurableStore.open(await tempDir());
    expect(() => s.write('w/C/1', [['ok', b('1')], ['k'.repeat(2049), b('x')]])).toThrow(DurableStorageError);
    expect(() => s.write('w/C/1', [['big', new Uint8Array(128 * 1024 + 1)]])).toThrow(/Values cannot be larger than 131072 bytes/);
    expect(s.list('w/C/1')).toEqual([]);
    await s.close();
  });

  it('rewrites a busy object as one full record and compacts the dead ones away', async () => {
    const dir = await tempDir();
    let s = await DurableStore.open(dir);
    s.compactAtBytes = 256 * 1024;
    const value = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 2000; i++) await s.write(`w/C/${i % 4}`, [[`k${i % 10}`, value], ['n', b(String(i))]]);
    await s.settled();
    expect(s.stats.compactions).toBeGreaterThan(0);
    expect(s.stats.bytes).toBeLessThan(1024 * 1024);
    const before = [0, 1, 2, 3].map((o) => s.list(`w/C/${o}`).map(([k, v]) => [k, v.toString()]));
    await s.close();
    s = await DurableStore.open(dir);
    expect([0, 1, 2, 3].map((o) => s.list(`w/C/${o}`).map(([k, v]) => [k, v.toString()]))).toEqual(before);
    expect(s.get('w/C/3', ['n']).get('n')!.toString()).toBe('1999');
    await s.close();
  });
});
