import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KvEngine } from './kv-engine.ts';
import { compareUtf8, KvError } from './kv-types.ts';

const dirs: string[] = [];
const open: KvEngine[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function engine(options: Parameters<typeof KvEngine.open>[1] = {}, dir?: string): Promise<{ kv: KvEngine; dir: string }> {
  dir ??= await mkdtemp(join(tmpdir(), 'edge-kv-'));
  if (!dirs.includes(dir)) dirs.push(dir);
  const kv = await KvEngine.open(dir, options);
  open.push(kv);
  return { kv, dir };
}
const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array | undefined) => (u ? new TextDecoder().decode(u) : undefined);
function kvError(p: Promise<unknown>): Promise<KvError> {
  return p.then(
    () => {
      throw new Error('expected a KvError');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(KvError);
      return e as KvError;
    },
  );
}

describe('KvEngine', () => {
  it('puts, gets, overwrites and deletes, namespaces apart, and keeps it all across a reopen', async () => {
    const { kv, dir } = await engine();
    await kv.put('ns1', 'a', b('1'), { metadata: '{"v":1}' });
    await kv.put('ns2', 'a', b('other namespace'));
    await kv.put('ns1', 'b', b('2'));
    await kv.put('ns1', 'b', b('2 again'));
    await kv.put('ns1', 'c', b('3'));
    await kv.delete('ns1', 'c');
    await kv.delete('ns1', 'never-there');
    expect(await kv.get('ns1', 'a')).toEqual({ value: expect.anything(), metadata: '{"v":1}', expiration: null });
    expect(s((await kv.get('ns1', 'a'))?.value)).toBe('1');
    expect(s((await kv.get('ns2', 'a'))?.value)).toBe('other namespace');
    expect(s((await kv.get('ns1', 'b'))?.value)).toBe('2 again');
    expect(await kv.get('ns1', 'c')).toBeNull();
    await kv.close();
    const { kv: again } = await engine({}, dir);
    expect(s((await again.get('ns1', 'b'))?.value)).toBe('2 again');
    expect(await again.get('ns1', 'c')).toBeNull();
    expect((await again.list('ns1')).keys.map((k) => k.name)).toEqual(['a', 'b']);
  });

  it('a delete issued while a put of the same key is in flight wins (log order)', async () => {
    const { kv } = await engine();
    const p = kv.put('n', 'k', b('v'));
    const d = kv.delete('n', 'k');
    await Promise.all([p, d]);
    expect(await kv.get('n', 'k')).toBeNull();
  });

  it('enforces the Workers KV limits with clear errors', async () => {
    const { kv } = await engine();
    expect((await kvError(kv.put('n', 'k'.repeat(513), b('v')))).kvCode).toBe('key-too-long');
    expect((await kvError(kv.put('n', 'é'.repeat(257), b('v')))).message).toContain('this one is 514 bytes');
    await kv.put('n', 'k'.repeat(512), b('v'));
    for (const bad of ['', '.', '..']) expect((await kvError(kv.put('n', bad, b('v')))).kvCode).toBe('invalid-key');
    expect((await kvError(kv.put('n', 'x\uD800', b('v')))).kvCode).toBe('invalid-key');
    expect((await kvError(kv.put('n', 'big', new Uint8Array(25 * 1024 * 1024 + 1)))).kvCode).toBe('value-too-large');
    expect((await kvError(kv.put('n', 'm', b('v'), { metadata: JSON.stringify('x'.repeat(1023)) }))).kvCode).toBe('metadata-too-large');
    expect((await kvError(kv.put('n', 't', b('v'), { expirationTtl: 59 }))).message).toContain('at least 60 seconds');
    expect((await kvError(kv.put('n', 't', b('v'), { expiration: Date.now() / 1000 + 10 }))).kvCode).toBe('invalid-expiration');
    expect((await kvError(kv.list('n', { limit: 1001 }))).kvCode).toBe('invalid-list');
    expect((await kvError(kv.list('n', { cursor: 'not a cursor!' }))).message).toContain('cursor');
  });

  it('never returns an expired key, in get or list, and compaction reclaims it', async () => {
    let now = 1_800_000_000_000;
    const { kv, dir } = await engine({ now: () => now });
    await kv.put('n', 'short', b('x'), { expirationTtl: 60 });
    await kv.put('n', 'at', b('y'), { expiration: now / 1000 + 120 });
    await kv.put('n', 'forever', b('z'));
    expect((await kv.get('n', 'short'))?.expiration).toBe(now / 1000 + 60);
    expect((await kv.list('n')).keys).toEqual([
      { name: 'at', expiration: now / 1000 + 120, metadata: null },
      { name: 'forever', expiration: null, metadata: null },
      { name: 'short', expiration: now / 1000 + 60, metadata: null },
    ]);
    now += 61_000;
    expect(await kv.get('n', 'short')).toBeNull();
    expect((await kv.list('n')).keys.map((k) => k.name)).toEqual(['at', 'forever']);
    now += 60_000;
    await kv.compact();
    expect(kv.stats.liveBytes).toBeGreaterThan(0);
    expect((await kv.list('n')).keys.map((k) => k.name)).toEqual(['forever']);
    await kv.close();
    // Reopened later, the expired records are gone from disk too: the compacted segment holds one key.
    const { kv: again } = await engine({ now: () => now }, dir);
    expect((await again.list('n')).keys.map((k) => k.name)).toEqual(['forever']);
  });

  it('lists in UTF-8 byte order with prefixes and cursors across pages', async () => {
    const { kv } = await engine();
    // UTF-16 order would put the emoji (a surrogate pair) before U+E000; UTF-8 byte order puts it after.
    const odd = ['\uE000', '😀', 'Z', 'a', 'ä'];
    for (const k of odd) await kv.put('u', k, b(k));
    expect((await kv.list('u')).keys.map((k) => k.name)).toEqual(['Z', 'a', 'ä', '\uE000', '😀']);
    expect(compareUtf8('\uE000', '😀')).toBeLessThan(0);

    await Promise.all(Array.from({ length: 2500 }, (_, i) => kv.put('p', `item:${String(i).padStart(5, '0')}`, b(String(i)), { metadata: JSON.stringify({ i }) })));
    await kv.put('p', 'other', b('not listed under item:'));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await kv.list('p', { prefix: 'item:', limit: 1000, ...(cursor ? { cursor } : {}) });
      pages++;
      seen.push(...page.keys.map((k) => k.name));
      if (page.listComplete) {
        expect(page.cursor).toBeUndefined();
        break;
      }
      cursor = page.cursor;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(2500);
    expect(seen[0]).toBe('item:00000');
    expect(seen[2499]).toBe('item:02499');
    const small = await kv.list('p', { prefix: 'item:0249', limit: 3 });
    expect(small.keys.map((k) => [k.name, k.metadata])).toEqual([
      ['item:02490', '{"i":2490}'],
      ['item:02491', '{"i":2491}'],
      ['item:02492', '{"i":2492}'],
    ]);
    expect(small.listComplete).toBe(false);
    const rest = await kv.list('p', { prefix: 'item:0249', cursor: small.cursor! });
    expect(rest.keys.map((k) => k.name)).toEqual(['item:02493', 'item:02494', 'item:02495', 'item:02496', 'item:02497', 'item:02498', 'item:02499']);
    expect(rest.listComplete).toBe(true);
  });

  it('compacts by itself once dead records dominate, keeping the latest value of every key', async () => {
    const { kv, dir } = await engine({ compactAtBytes: 64 * 1024, segmentBytes: 32 * 1024 });
    const value = (k: number, round: number) => b(`key ${k} round ${round} `.padEnd(200, '#'));
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => kv.put('c', `k${k}`, value(k, round))));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(kv.stats.compactions).toBeGreaterThan(0);
    expect(kv.stats.bytes).toBeLessThan(10 * 100 * 230);
    for (let k = 0; k < 100; k += 7) expect(s((await kv.get('c', `k${k}`))?.value)).toBe(s(value(k, 9)));
    await kv.close();
    const { kv: again } = await engine({}, dir);
    for (let k = 0; k < 100; k++) expect(s((await again.get('c', `k${k}`))?.value)).toBe(s(value(k, 9)));
  });

  it('answers hot keys from memory (peek), never a stale value', async () => {
    const { kv, dir } = await engine({ cacheBytes: 1024 });
    await kv.put('n', 'a', b('one'));
    expect(s(kv.peek('n', 'a')?.value ?? undefined)).toBe('one');
    expect(kv.peek('n', 'missing')).toBeNull();
    await kv.put('n', 'a', b('two'), { metadata: '{"m":1}' });
    expect(kv.peek('n', 'a')).toMatchObject({ metadata: '{"m":1}' });
    expect(s(kv.peek('n', 'a')!.value)).toBe('two');
    await kv.delete('n', 'a');
    expect(kv.peek('n', 'a')).toBeNull();
    // Values over an eighth of the cache are not kept; small ones are evicted least recently used first.
    await kv.put('n', 'big', new Uint8Array(200));
    expect(kv.peek('n', 'big')).toBeUndefined();
    expect((await kv.get('n', 'big'))!.value.byteLength).toBe(200);
    await kv.close();
    const { kv: again } = await engine({}, dir);
    await again.put('n', 'x', b('x'));
    await again.close();
    const { kv: third } = await engine({}, dir);
    expect(third.peek('n', 'x')).toBeUndefined();
    expect(s((await third.get('n', 'x'))!.value)).toBe('x');
    expect(s(third.peek('n', 'x')!.value)).toBe('x');
  });
});
