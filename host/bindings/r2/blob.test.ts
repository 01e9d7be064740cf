// The blob capability on its own, through the registry's per-instance dispatch (as the runtime calls it) over a real
// BlobEngine in a temporary directory: grants, resources and their handles, bodies streamed both ways and released
// when dropped, store errors as the WIT error variant, and what JS workers' R2 facade relies on (get-content, streamed
// parts, checksums, second-granular conditions).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifestText } from '../../deploy/manifest.ts';
import { EdgeError } from '../../core/errors.ts';
import { BlobEngine } from '../../../storage/blob/blob-engine.ts';
import { CapabilityRegistry, type CapabilityCall, type CapabilityInstance, type CapabilityReply } from '../registry.ts';
import { MAX_READ_BYTES } from './blob.ts';

const PLATFORM = resolve(import.meta.dirname, '../../../wit');
const IFACE = 'edge:platform/blob';
let dir: string;
let store: BlobEngine;
let registry: CapabilityRegistry;

const manifest = (extra = '') => parseManifestText(`name = "w"\nmain = "w.wasm"\n${extra}`, 'wrangler.toml');
const granted = manifest('r2_buckets = [{ binding = "FILES", bucket_name = "unit" }]\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-blob-cap-'));
  store = await BlobEngine.open(join(dir, 'r2'));
  registry = await CapabilityRegistry.create({ platformWitDir: PLATFORM, dataDir: dir, stores: { blob: store } });
});
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

type Handle = { __h: number; __i: string; __r: string };
/** A call as the guest makes it; `{v}` unwrapped, `{e}` returned as `{ error }`, `{x}` thrown. */
async function call(inst: CapabilityInstance, c: Partial<CapabilityCall>): Promise<any> {
  const reply: CapabilityReply = await inst.invoke({ i: IFACE, r: 'Bucket', m: '', k: 'method', h: 0, a: [], ...c });
  if ('x' in reply) throw new Error(reply.x);
  if ('e' in reply) return { error: reply.e };
  return reply.v;
}
const noPut = { customMetadata: [] };

describe('blob capability', () => {
  it('is granted by r2_buckets: imports without it are refused with a hint', () => {
    registry.checkImports(granted, [IFACE]);
    try {
      registry.checkImports(manifest(), ['edge:platform/blob@0.1.0']);
      expect.unreachable();
    } catch (e) {
      expect((e as EdgeError).code).toBe('E_IMPORT_NOT_GRANTED');
      expect((e as EdgeError).message).toContain('r2_buckets = [{ binding = "MY_BUCKET"');
    }
    expect(registry.plan(granted).interfaces.map((d) => d.id)).toContain(IFACE);
  });

  it('opens only granted bindings; puts, heads, gets in chunks, drops handles', async () => {
    const inst = registry.instantiate(granted, { worker: 'w', version: 'v1', vars: {}, log() {} });
    expect(await call(inst, { k: 'static', m: 'open', a: ['NOPE'] })).toEqual({ error: { tag: 'not-granted', val: 'NOPE' } });
    const b: Handle = await call(inst, { k: 'static', m: 'open', a: ['FILES'] });
    expect(b.__r).toBe('Bucket');

    const bytes = new Uint8Array(MAX_READ_BYTES + 100_000).map((_, i) => i % 251);
    const info = await call(inst, { m: 'put', h: b.__h, a: ['big', bytes, { ...noPut, httpMetadata: { contentType: 'application/x-test', cacheExpiry: 1234n }, customMetadata: [['a', '1']] }] });
    expect(info).toMatchObject({ key: 'big', size: BigInt(bytes.length), httpMetadata: { contentType: 'application/x-test', cacheExpiry: 1234n }, customMetadata: [['a', '1']] });
    expect(await call(inst, { m: 'head', h: b.__h, a: ['big'] })).toEqual(info);
    expect(await call(inst, { m: 'head', h: b.__h, a: ['none'] })).toBeUndefined();

    const got = await call(inst, { m: 'get', h: b.__h, a: ['big', {}] });
    expect(got.tag).toBe('found');
    const body: Handle = got.val[1];
    const first: Uint8Array = await call(inst, { r: 'ObjectBody', m: 'read', h: body.__h, a: [10] });
    expect([...first]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const chunks = [first];
    for (;;) {
      const c: Uint8Array | undefined = await call(inst, { r: 'ObjectBody', m: 'read', h: body.__h, a: [0xffffffff] });
      if (c === undefined) break;
      expect(c.byteLength).toBeLessThanOrEqual(MAX_READ_BYTES);
      chunks.push(c);
    }
    expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
    expect(await call(inst, { r: 'ObjectBody', m: 'read', h: body.__h, a: [0] })).toMatchObject({ error: { tag: 'invalid-argument' } });

    // A body dropped half read releases its stream (the object can be deleted and its files go).
    const suffix = await call(inst, { m: 'get', h: b.__h, a: ['big', { range: { tag: 'suffix', val: 5n } }] });
    expect([...(await call(inst, { r: 'ObjectBody', m: 'read', h: suffix.val[1].__h, a: [2] }))]).toEqual([...bytes.subarray(-5, -3)]);
    await call(inst, { r: 'ObjectBody', k: 'drop', h: suffix.val[1].__h });
    const again = await call(inst, { m: 'get', h: b.__h, a: ['big', { range: { tag: 'offset', val: [1000n, undefined] } }] });
    expect([...(await call(inst, { r: 'ObjectBody', m: 'read', h: again.val[1].__h, a: [2] }))]).toEqual([...bytes.subarray(1000, 1002)]);
    expect(await call(inst, { m: 'get', h: b.__h, a: ['big', { onlyIf: { etagDoesNotMatch: info.etag } }] })).toEqual({ tag: 'precondition-failed', val: info });
    const file = join(dir, 'r2', 'objects', (await store.head('unit', 'big'))!.parts[0]!.file);
    await call(inst, { m: 'delete', h: b.__h, a: [['big']] });
    expect(existsSync(file)).toBe(true); // still being read
    const handles = inst.handleCount;
    await call(inst, { r: 'ObjectBody', k: 'drop', h: again.val[1].__h });
    expect(inst.handleCount).toBe(handles - 1);
    await expect.poll(() => existsSync(file)).toBe(false);
    await call(inst, { m: 'put', h: b.__h, a: ['big', bytes, noPut] });

    expect(await call(inst, { m: 'get', h: b.__h, a: ['none', {}] })).toEqual({ tag: 'not-found' });
    expect(await call(inst, { m: 'get', h: b.__h, a: ['big', { range: { tag: 'offset', val: [BigInt(bytes.length + 1), undefined] } }] })).toMatchObject({ error: { tag: 'invalid-range' } });
    inst.dispose();
  });

  it('streams a put through a writer; a dropped writer stores nothing', async () => {
    const inst = registry.instantiate(granted, { worker: 'w', version: 'v1', vars: {}, log() {} });
    const b: Handle = await call(inst, { k: 'static', m: 'open', a: ['FILES'] });
    const w: Handle = await call(inst, { m: 'beginPut', h: b.__h, a: ['streamed', noPut] });
    for (let i = 0; i < 20; i++) expect(await call(inst, { r: 'ObjectWriter', m: 'write', h: w.__h, a: [new Uint8Array(100_000).fill(i)] })).toBeUndefined();
    const info = await call(inst, { r: 'ObjectWriter', m: 'finish', h: w.__h });
    expect(info.size).toBe(2_000_000n);
    expect(await call(inst, { r: 'ObjectWriter', m: 'write', h: w.__h, a: [new Uint8Array(1)] })).toMatchObject({ error: { tag: 'invalid-argument' } });
    // Dropping the finished writer (as the SDK does) leaves only the bucket's handle in the table.
    await call(inst, { r: 'ObjectWriter', k: 'drop', h: w.__h });
    expect(inst.handleCount).toBe(1);
    expect(await call(inst, { m: 'head', h: b.__h, a: ['streamed'] })).toEqual(info);

    const dropped: Handle = await call(inst, { m: 'beginPut', h: b.__h, a: ['dropped', noPut] });
    await call(inst, { r: 'ObjectWriter', m: 'write', h: dropped.__h, a: [new Uint8Array(10)] });
    await call(inst, { r: 'ObjectWriter', k: 'drop', h: dropped.__h });
    expect(await call(inst, { m: 'head', h: b.__h, a: ['dropped'] })).toBeUndefined();

    expect(await call(inst, { m: 'beginPut', h: b.__h, a: ['k'.repeat(1025), noPut] })).toMatchObject({ error: { tag: 'invalid-key' } });
    const bad: Handle = await call(inst, { m: 'beginPut', h: b.__h, a: ['bad-md5', { ...noPut, md5: new Uint8Array(16) }] });
    await call(inst, { r: 'ObjectWriter', m: 'write', h: bad.__h, a: [new Uint8Array([1, 2, 3])] });
    expect(await call(inst, { r: 'ObjectWriter', m: 'finish', h: bad.__h })).toMatchObject({ error: { tag: 'checksum-mismatch' } });
    expect(await call(inst, { m: 'put', h: b.__h, a: ['dup', new Uint8Array(1), { customMetadata: [['a', '1'], ['a', '2']] }] })).toMatchObject({ error: { tag: 'invalid-argument', val: 'customMetadata names "a" twice' } });
    inst.dispose();
  });
  it('get-content answers with the range and the first bytes; parts stream through a part writer; checksums and second-granular conditions', async () => {
    const inst = registry.instantiate(granted, { worker: 'w', version: 'v1', vars: {}, log() {} });
    const b: Handle = await call(inst, { k: 'static', m: 'open', a: ['FILES'] });
    const sha1 = createHash('sha1').update('hello').digest();
    const small = await call(inst, { m: 'put', h: b.__h, a: ['small', new TextEncoder().encode('hello'), { ...noPut, sha1 }] });
    expect(small.checksums).toEqual({ md5: createHash('md5').update('hello').digest(), sha1 });
    expect((await call(inst, { m: 'head', h: b.__h, a: ['small'] })).checksums).toEqual(small.checksums);
    expect(await call(inst, { m: 'put', h: b.__h, a: ['bad', new Uint8Array(1), { ...noPut, sha512: new Uint8Array(64) }] })).toMatchObject({ error: { tag: 'checksum-mismatch' } });

    // A small object whole in one call, without a body handle; a ranged one with the range it serves.
    const handles = inst.handleCount;
    const whole = await call(inst, { m: 'getContent', h: b.__h, a: ['small', {}, 1024] });
    expect(whole).toMatchObject({ tag: 'found', val: { info: { key: 'small', size: 5n }, range: { offset: 0n, length: 5n } } });
    expect(new TextDecoder().decode(whole.val.first)).toBe('hello');
    expect(whole.val.rest).toBeUndefined();
    expect(inst.handleCount).toBe(handles);
    const ranged = await call(inst, { m: 'getContent', h: b.__h, a: ['small', { range: { tag: 'suffix', val: 3n } }, 1024] });
    expect([new TextDecoder().decode(ranged.val.first), ranged.val.range]).toEqual(['llo', { offset: 2n, length: 3n }]);
    // A larger one: the first bytes, then the rest read from the body.
    const bytes = new Uint8Array(300_000).map((_, i) => i % 253);
    await call(inst, { m: 'put', h: b.__h, a: ['large', bytes, noPut] });
    const large = await call(inst, { m: 'getContent', h: b.__h, a: ['large', {}, 100_000] });
    expect(large.val.first.byteLength).toBe(100_000);
    const chunks = [large.val.first];
    for (;;) {
      const c: Uint8Array | undefined = await call(inst, { r: 'ObjectBody', m: 'read', h: large.val.rest.__h, a: [65536] });
      if (c === undefined) break;
      chunks.push(c);
    }
    expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
    await call(inst, { r: 'ObjectBody', k: 'drop', h: large.val.rest.__h });
    expect(await call(inst, { m: 'getContent', h: b.__h, a: ['none', {}, 1024] })).toEqual({ tag: 'not-found' });
    expect(await call(inst, { m: 'getContent', h: b.__h, a: ['small', { onlyIf: { etagMatches: 'other', secondsGranularity: false } }, 1024] })).toEqual({ tag: 'precondition-failed', val: small });

    // Upload times compared to the second: "after" the very millisecond of the upload holds only at ms granularity.
    const uploadedAfter = small.uploaded - 1n;
    expect((await call(inst, { m: 'getContent', h: b.__h, a: ['small', { onlyIf: { uploadedAfter, secondsGranularity: false } }, 8] })).tag).toBe('found');
    const sameSecond = (small.uploaded / 1000n) * 1000n;
    expect((await call(inst, { m: 'getContent', h: b.__h, a: ['small', { onlyIf: { uploadedAfter: sameSecond, secondsGranularity: true } }, 8] })).tag).toBe('precondition-failed');

    // A multipart upload whose parts are written in chunks; a dropped part writer stores no part.
    const up: Handle = await call(inst, { m: 'createMultipartUpload', h: b.__h, a: ['mp', noPut] });
    const part = async (n: number, size: number, fill: number) => {
      const w: Handle = await call(inst, { r: 'MultipartUpload', m: 'beginPart', h: up.__h, a: [n] });
      for (let at = 0; at < size; at += 1 << 20) await call(inst, { r: 'PartWriter', m: 'write', h: w.__h, a: [new Uint8Array(Math.min(1 << 20, size - at)).fill(fill)] });
      const done = await call(inst, { r: 'PartWriter', m: 'finish', h: w.__h });
      await call(inst, { r: 'PartWriter', k: 'drop', h: w.__h });
      return done;
    };
    const p1 = await part(1, 5 * 1024 * 1024, 1);
    const p2 = await part(2, 10, 2);
    expect(p1).toEqual({ partNumber: 1, etag: createHash('md5').update(Buffer.alloc(5 * 1024 * 1024, 1)).digest('hex') });
    const dropped: Handle = await call(inst, { r: 'MultipartUpload', m: 'beginPart', h: up.__h, a: [3] });
    await call(inst, { r: 'PartWriter', m: 'write', h: dropped.__h, a: [new Uint8Array(10)] });
    await call(inst, { r: 'PartWriter', k: 'drop', h: dropped.__h });
    expect(await call(inst, { r: 'MultipartUpload', m: 'complete', h: up.__h, a: [[p1, p2, { partNumber: 3, etag: p2.etag }]] })).toMatchObject({ error: { tag: 'invalid-part', val: expect.stringContaining('part 3 was not uploaded') } });
    const info = await call(inst, { r: 'MultipartUpload', m: 'complete', h: up.__h, a: [[p1, p2]] });
    expect(info).toMatchObject({ key: 'mp', size: BigInt(5 * 1024 * 1024 + 10), checksums: {} });
    const bad: Handle = await call(inst, { r: 'MultipartUpload', m: 'beginPart', h: up.__h, a: [1] });
    expect(await call(inst, { r: 'PartWriter', m: 'finish', h: bad.__h })).toMatchObject({ error: { tag: 'no-such-upload' } });
    inst.dispose();
  });
});
