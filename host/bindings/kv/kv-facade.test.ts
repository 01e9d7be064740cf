// The KV facade (kv-facade.js) over the kv WIT implementation (kv.ts), through a real host: every WIT error reaches a
// worker as the Error Workers users know, several keys are read at once, hot reads cost no host call, and a read the
// store answers from memory settles without waiting for I/O.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from '../../../test/helpers/test-host.ts';
import { kvCapability } from './kv.ts';
import type { KvEntry, KvStore } from '../../../storage/kv/kv-types.ts';

const WORKER = `
export default {
  async fetch(request, env) {
    const step = new URL(request.url).pathname.slice(1);
    const kv = env.KV;
    const msg = async (p) => { try { await p; return 'no error'; } catch (e) { return e.constructor.name + ': ' + e.message; } };
    const out = {};
    switch (step) {
      case 'class': {
        const KVNamespace = Object.getPrototypeOf(kv).constructor;
        out.name = KVNamespace.name;
        out.isInstance = kv instanceof KVNamespace;
        out.construct = await msg((async () => new KVNamespace())());
        out.illegal = await msg(KVNamespace.prototype.get.call({}, 'k'));
        break;
      }
      case 'errors': {
        out.getLongKey = await msg(kv.get('k'.repeat(600)));
        out.deleteLongKey = await msg(kv.delete('k'.repeat(513)));
        out.bigMeta = await msg(kv.put('m', 'v', { metadata: { s: 'x'.repeat(1100) } }));
        out.dotKey = await msg(kv.put('..', 'v'));
        out.badCursor = await msg(kv.list({ cursor: 'bogus' }));
        out.nanLimit = await msg(kv.list({ limit: 'many' }));
        out.badExpiration = await msg(kv.put('t', 'v', { expiration: 'soon' }));
        out.both = await msg(kv.put('t', 'v', { expiration: Date.now() / 1000 + 3600, expirationTtl: 3600 }));
        out.noKeys = await msg(kv.get([]));
        out.tooManyKeys = await msg(kv.get(Array.from({ length: 101 }, (_, i) => 'k' + i)));
        out.bulkBuffer = await msg(kv.get(['a'], 'arrayBuffer'));
        break;
      }
      case 'big':
        out.bigValue = await msg(kv.put('big', new Uint8Array(25 * 1024 * 1024 + 1)));
        break;
      case 'big-stream':
        out.bigStream = await msg(kv.put('big', new Blob([new Uint8Array(25 * 1024 * 1024 + 1)]).stream()));
        break;
      case 'many': {
        await kv.put('a', '{"n":1}', { metadata: { tag: 'a' } });
        await kv.put('b', '{"n":2}', { expirationTtl: 3600 });
        const m = await kv.getWithMetadata(['a', 'b', 'none'], 'json');
        out.many = [...m.entries()];
        const listed = await kv.list({ prefix: 'b' });
        out.expirationType = typeof listed.keys[0].expiration;
        break;
      }
      case 'read':
        out.value = await kv.get('hot');
        break;
      case 'write':
        await kv.put('hot', new URL(request.url).searchParams.get('v'));
        break;
    }
    return Response.json(out);
  },
};`;

describe('the KV facade over the kv interface', () => {
  let t: TestHost;
  const calls = { get: 0, peek: 0, peekKnown: 0 };
  beforeAll(async () => {
    t = await startTestHost();
    // The capability holds the host's store object: counting its reads counts the facade's trips to the host.
    const store = t.host.kv as KvStore;
    const get = store.get.bind(store);
    const peek = store.peek!.bind(store);
    store.get = (ns, key) => {
      calls.get++;
      return get(ns, key);
    };
    store.peek = (ns, key) => {
      calls.peek++;
      const known = peek(ns, key);
      if (known !== undefined) calls.peekKnown++;
      return known;
    };
    const toml = manifestFor('kv-facade', 'index.js', 'kv_namespaces = [{ binding = "KV", id = "facade-tests" }]\n[limits]\ncpu_ms = 2000\nmemory_mb = 256');
    const res = await t.deploy('kv-facade', { toml, modules: { 'index.js': WORKER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });
  const step = async (path: string) => {
    const r = await t.get('kv-facade', `/${path}`);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text);
  };

  it('is a KVNamespace that workers cannot construct', async () => {
    expect(await step('class')).toEqual({
      name: 'KVNamespace',
      isInstance: true,
      construct: 'TypeError: KV namespaces are bound in the manifest (kv_namespaces) and reached as env.<binding>.',
      illegal: 'TypeError: Illegal invocation: not a KV namespace',
    });
  });

  it('reports each WIT error as the store words it, naming the operation', async () => {
    const o = { ...(await step('errors')), ...(await step('big')), ...(await step('big-stream')) };
    expect(o.getLongKey).toBe('Error: KV GET failed: keys are at most 512 bytes of UTF-8; this one is 600 bytes');
    expect(o.deleteLongKey).toBe('Error: KV DELETE failed: keys are at most 512 bytes of UTF-8; this one is 513 bytes');
    expect(o.bigValue).toBe(`Error: KV PUT failed: KV values are at most ${25 * 1024 * 1024} bytes (25 MiB); this one is ${25 * 1024 * 1024 + 1} bytes`);
    expect(o.bigStream).toBe(`Error: KV PUT failed: values are at most ${25 * 1024 * 1024} bytes (25 MiB); this stream is longer`);
    expect(o.bigMeta).toMatch(/^Error: KV PUT failed: metadata is at most 1024 bytes of JSON; this is 11\d\d bytes$/);
    expect(o.dotKey).toBe('TypeError: KV PUT failed: ".." is not a valid key (empty, "." and ".." are reserved)');
    expect(o.badCursor).toMatch(/^TypeError: KV LIST failed: the list cursor "bogus" is not one this namespace returned/);
    expect(o.nanLimit).toBe('TypeError: limit must be a number');
    expect(o.badExpiration).toBe('TypeError: expiration must be a number of seconds, got soon');
    expect(o.both).toBe('Error: KV PUT failed: set either expiration or expirationTtl, not both');
    expect(o.noKeys).toBe('TypeError: get() of several keys takes an array of 1 to 100 keys');
    expect(o.tooManyKeys).toBe(o.noKeys);
    expect(o.bulkBuffer).toMatch(/^TypeError: get\(\) of several keys supports only the "text" and "json" types/);
  });

  it('reads several keys with their metadata; expirations are numbers', async () => {
    const o = await step('many');
    expect(o.many).toEqual([
      ['a', { value: { n: 1 }, metadata: { tag: 'a' } }],
      ['b', { value: { n: 2 }, metadata: null }],
      ['none', null],
    ]);
    expect(o.expirationType).toBe('number');
  });

  it('serves a hot value without calling the host, and asks again after a write', async () => {
    await step('write?v=one');
    expect((await step('read')).value).toBe('one');
    const before = { ...calls };
    for (let i = 0; i < 5; i++) expect((await step('read')).value).toBe('one');
    expect(calls).toEqual(before);
    await step('write?v=two');
    expect((await step('read')).value).toBe('two');
    expect(calls.peek).toBe(before.peek + 1);
  });
});

describe('kvCapability: Namespace.get', () => {
  const entry: KvEntry = { value: new Uint8Array([1]), metadata: '{"a":1}', expiration: 2_000_000_000 };
  const store = {
    peek: (_ns: string, key: string) => (key === 'hot' ? entry : key === 'gone' ? null : undefined),
    get: async () => entry,
  } as unknown as KvStore;
  const { Namespace } = kvCapability(store).instantiate(new Map([['KV', { id: 'ns' }]]), {} as never) as unknown as {
    Namespace: { open(binding: string): { get(key: string): unknown } };
  };

  it('answers at once (no promise) what the store knows without I/O, with its expiration', async () => {
    const ns = Namespace.open('KV');
    expect(ns.get('hot')).toEqual({ value: entry.value, metadata: '{"a":1}', expiration: 2_000_000_000n });
    expect(ns.get('gone')).toBeUndefined();
    const cold = ns.get('cold');
    expect(cold).toBeInstanceOf(Promise);
    expect(await cold).toEqual({ value: entry.value, metadata: '{"a":1}', expiration: 2_000_000_000n });
  });
});
