// Durable Objects through a real host: ids, stubs (fetch and JS RPC), one live instance per id under concurrency,
// the input and output gates, storage (get/put/delete/list/deleteAll/transaction) and its durability across restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const WORKER = `
export class Counter {
  constructor(state, env) {
    this.state = state;
    this.storage = state.storage;
    this.instance = Math.random().toString(36).slice(2);
  }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/inc') {
      const n = ((await this.storage.get('n')) ?? 0) + 1;
      await this.storage.put('n', n);
      return new Response(String(n));
    }
    if (url.pathname === '/get') return new Response(String((await this.storage.get('n')) ?? 0));
    if (url.pathname === '/instance') return new Response(this.instance);
    if (url.pathname === '/slow-inc') {
      // Read, wait on the network (the input gate stays open), write: two live instances would lose an update.
      const n = ((await this.storage.get('n')) ?? 0) + 1;
      await fetch('http://do-helper.localhost/?ms=400');
      await this.storage.put('n', n);
      return new Response(String(n));
    }
    return new Response('?', { status: 404 });
  }
  async increment(by) {
    const n = ((await this.storage.get('n')) ?? 0) + by;
    this.storage.put('n', n);
    return { n, when: new Date(0), big: 10n ** 20n, tags: new Set(['a']) };
  }
  fail() { throw new RangeError('no way'); }
  async storageApi() {
    const s = this.storage;
    const out = {};
    await s.put({ 'b': 2, 'a': 1, 'c': { deep: [1, 2] }, 'p:1': 'x', 'p:2': 'y', 'q': new Map([[1, 2]]) });
    out.one = await s.get('a');
    out.many = [...(await s.get(['a', 'zz', 'c']))];
    out.list = [...(await s.list())].map(([k]) => k);
    out.prefix = [...(await s.list({ prefix: 'p:' }))];
    out.range = [...(await s.list({ start: 'b', end: 'p:2' }))].map(([k]) => k);
    out.after = [...(await s.list({ startAfter: 'b', limit: 2 }))].map(([k]) => k);
    out.reverse = [...(await s.list({ reverse: true, limit: 2 }))].map(([k]) => k);
    out.delOne = await s.delete('a');
    out.delAgain = await s.delete('a');
    out.delMany = await s.delete(['b', 'c', 'nope']);
    out.map = (await s.get('q')) instanceof Map;
    const v = await s.get('p:1');
    out.txn = await s.transaction(async (txn) => { await txn.put('t', 1); await txn.put('u', 2); return 'done'; });
    try { await s.transaction(async (txn) => { await txn.put('t', 99); throw new Error('abort'); }); } catch (e) { out.txnError = e.message; }
    out.afterTxn = [await s.get('t'), await s.get('u')];
    await s.transaction(async (txn) => { await txn.put('t', 42); txn.rollback(); });
    out.afterRollback = await s.get('t');
    await s.deleteAll();
    out.afterDeleteAll = [...(await s.list())].length;
    await s.put('survivor', 'yes');
    return out;
  }
  async read(key) { return (await this.storage.get(key)) ?? null; }
}

// The input gate: each event appends 'begin' and 'end' around an await. Across a storage read no other event may
// run (pairs stay together); across a fetch() others may (the gate is for storage only).
export class Gate {
  constructor(state, env) { this.storage = state.storage; this.env = env; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/log') return Response.json((await this.storage.get('log')) ?? []);
    const id = url.searchParams.get('id');
    const via = url.searchParams.get('via');
    const log = (await this.storage.get('log')) ?? [];
    log.push('begin ' + id);
    this.storage.put('log', log);
    if (via === 'storage') await this.storage.get('missing-' + id + '-' + Math.random());
    else await fetch('http://do-helper.localhost/');
    const after = (await this.storage.get('log')) ?? [];
    after.push('end ' + id);
    this.storage.put('log', after);
    return new Response('ok');
  }
}


export class Alarmed {
  constructor(state) { this.storage = state.storage; }
  async fetch(request) {
    const u = new URL(request.url);
    if (u.pathname === '/set') {
      await this.storage.put('failTimes', Number(u.searchParams.get('fail') ?? 0));
      await this.storage.setAlarm(Date.now() + Number(u.searchParams.get('ms')));
      return Response.json({ set: (await this.storage.getAlarm()) !== null });
    }
    return Response.json({ runs: (await this.storage.get('runs')) ?? [], alarm: await this.storage.getAlarm() });
  }
  async alarm(info) {
    const runs = (await this.storage.get('runs')) ?? [];
    runs.push(info);
    await this.storage.put('runs', runs);
    const fail = (await this.storage.get('failTimes')) ?? 0;
    if (fail > 0) {
      await this.storage.put('failTimes', fail - 1);
      throw new Error('flaky');
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get('name') ?? 'default';
    const stub = env.COUNTERS.getByName(name);
    if (url.pathname === '/rpc') {
      const v = await stub.increment(5);
      return Response.json({ n: v.n, date: v.when instanceof Date, when: v.when.getTime(), big: typeof v.big === 'bigint' && v.big === 10n ** 20n, set: v.tags instanceof Set && v.tags.has('a') });
    }
    if (url.pathname === '/rpc-error') { try { await stub.fail(); return new Response('no'); } catch (e) { return new Response(e.name + ': ' + e.message); } }
    if (url.pathname === '/storage') return Response.json(await stub.storageApi());
    if (url.pathname.startsWith('/alarm/')) return env.ALARMS.getByName(name).fetch('http://alarm/' + url.pathname.slice(7) + url.search);
    if (url.pathname === '/gate') return env.GATES.getByName(name).fetch('http://gate/?' + url.searchParams);
    if (url.pathname === '/gate-log') return env.GATES.getByName(name).fetch('http://gate/log');
    if (url.pathname === '/read') return Response.json(await stub.read(url.searchParams.get('key')));
    if (url.pathname === '/ids') {
      const a = env.COUNTERS.idFromName('x');
      const b = env.COUNTERS.idFromName('x');
      const u = env.COUNTERS.newUniqueId();
      const again = env.COUNTERS.idFromString(u.toString());
      let bad = null; try { env.COUNTERS.idFromString('zz'); } catch (e) { bad = e.name; }
      let other = null; try { env.OTHER.get(a); } catch (e) { other = e.message; }
      return Response.json({ hex: /^[0-9a-f]{64}$/.test(a.toString()), same: a.equals(b), name: a.name, unique: !u.equals(a), again: again.equals(u), bad, other, cls: env.COUNTERS.constructor.name });
    }
    return stub.fetch(new Request('http://do' + url.pathname));
  },
};
`;

describe('Durable Objects for JS workers', () => {
  let t: TestHost;
  const TOML = manifestFor('do-counter', 'index.js', '[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\n[[durable_objects.bindings]]\nname = "OTHER"\nclass_name = "Other"\n[[durable_objects.bindings]]\nname = "GATES"\nclass_name = "Gate"\n[[durable_objects.bindings]]\nname = "ALARMS"\nclass_name = "Alarmed"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Counter", "Other", "Gate", "Alarmed"]\n[limits]\ncpu_ms = 500');
  const OTHER = '\nexport class Other { fetch() { return new Response("other"); } }\n';

  beforeAll(async () => {
    t = await startTestHost({ alarmBackoffMs: 100 });
    const res = await t.deploy('do-counter', { toml: TOML, modules: { 'index.js': WORKER + OTHER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const helper = await t.deploy('do-helper', { modules: { 'index.js': 'export default { async fetch(req) { await new Promise((r) => setTimeout(r, Number(new URL(req.url).searchParams.get("ms") ?? 20))); return new Response("slow"); } };' } });
    expect(helper.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('ids: deterministic per name, unique, checked, and kept to their class', async () => {
    const r = JSON.parse((await t.get('do-counter', '/ids')).text);
    expect(r).toEqual({ hex: true, same: true, name: 'x', unique: true, again: true, bad: 'TypeError', other: expect.stringMatching(/another Durable Object class/), cls: 'DurableObjectNamespace' });
  });

  it('one live instance per id: 10,000 increments from many concurrent clients end at exactly 10,000', async () => {
    const N = 10_000;
    const CLIENTS = 200;
    const results: Array<{ status: number; text: string }> = [];
    let next = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < N) {
        next++;
        results.push(await t.get('do-counter', '/inc?name=concurrent'));
      }
    }));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const values = results.map((r) => Number(r.text)).sort((a, b) => a - b);
    // Every increment saw the one before it: the values are exactly 1..N.
    expect(values).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(results).toHaveLength(N);
    expect((await t.get('do-counter', '/get?name=concurrent')).text).toBe(String(N));
    const instances = new Set((await Promise.all(Array.from({ length: 20 }, () => t.get('do-counter', '/instance?name=concurrent')))).map((r) => r.text));
    expect(instances.size).toBe(1);
  }, 120_000);

  it('input gate: no other event runs across a storage read, while a fetch() lets them in', async () => {
    const logs: string[] = [];
    t.host.logs.subscribeAll((e) => logs.push(`${e.message} ${(e as { stack?: string }).stack ?? ''}`));
    const run = async (name: string, via: string) => {
      const res = await Promise.all(Array.from({ length: 8 }, (_, i) => t.get('do-counter', `/gate?name=${name}&id=${i}&via=${via}`)));
      expect(res.map((r) => r.status + ' ' + r.text.slice(0, 300)), logs.join('\n')).toEqual(res.map(() => '200 ok'));
      return JSON.parse((await t.get('do-counter', `/gate-log?name=${name}`)).text) as string[];
    };
    const paired = (log: string[]) => log.every((e, i) => (i % 2 === 0 ? e.startsWith('begin ') && log[i + 1] === `end ${e.slice(6)}` : true));
    const storage = await run('gate-storage', 'storage');
    expect(storage).toHaveLength(16);
    expect(paired(storage), storage.join(', ')).toBe(true);
    const fetched = await run('gate-fetch', 'fetch');
    expect(fetched).toHaveLength(16);
    expect(paired(fetched), fetched.join(', ')).toBe(false);
  }, 60_000);

  it('JS RPC: methods called on the stub, arguments and results structured-cloned, errors rethrown', async () => {
    const r = await t.get('do-counter', '/rpc?name=rpc');
    expect(JSON.parse(r.text)).toEqual({ n: 5, date: true, when: 0, big: true, set: true });
    expect(JSON.parse((await t.get('do-counter', '/rpc?name=rpc')).text).n).toBe(10);
    expect((await t.get('do-counter', '/rpc-error?name=rpc')).text).toBe('RangeError: no way');
  });

  it('storage: get/put/delete of one key or many, list in key order with bounds, transactions, deleteAll', async () => {
    const r = JSON.parse((await t.get('do-counter', '/storage?name=store')).text);
    expect(r).toEqual({
      one: 1,
      many: [['a', 1], ['c', { deep: [1, 2] }]],
      list: ['a', 'b', 'c', 'p:1', 'p:2', 'q'],
      prefix: [['p:1', 'x'], ['p:2', 'y']],
      range: ['b', 'c', 'p:1'],
      after: ['c', 'p:1'],
      reverse: ['q', 'p:2'],
      delOne: true,
      delAgain: false,
      delMany: 2,
      map: true,
      txn: 'done',
      txnError: 'abort',
      afterTxn: [1, 2],
      afterRollback: 1,
      afterDeleteAll: 0,
    });
  });

  it('an evicted object comes back with its storage, and a replaced instance finishes before the next one starts', async () => {
    await t.get('do-counter', '/inc?name=evict');
    const before = (await t.get('do-counter', '/instance?name=evict')).text;
    expect(t.host.runtime.evict('do-counter')).toBe(true);
    expect((await t.get('do-counter', '/get?name=evict')).text).toBe('1');
    expect((await t.get('do-counter', '/instance?name=evict')).text).not.toBe(before);
    // Evicted while an event is in flight: the next instance (and so the object) starts only once it is done.
    const first = t.get('do-counter', '/slow-inc?name=evict');
    await new Promise((r) => setTimeout(r, 100));
    expect(t.host.runtime.evict('do-counter')).toBe(true);
    const second = await t.get('do-counter', '/slow-inc?name=evict');
    expect((await first).text).toBe('2');
    expect(second.text).toBe('3');
    expect((await t.get('do-counter', '/get?name=evict')).text).toBe('3');
  }, 60_000);

  it('alarms fire, retry with backoff when the handler throws, and are cleared once it succeeds', async () => {
    expect(JSON.parse((await t.get('do-counter', '/alarm/set?name=a1&ms=200&fail=2')).text)).toEqual({ set: true });
    const deadline = Date.now() + 10_000;
    let state: { runs: Array<{ retryCount: number; isRetry: boolean }>; alarm: number | null };
    do {
      await new Promise((r) => setTimeout(r, 100));
      state = JSON.parse((await t.get('do-counter', '/alarm/state?name=a1')).text);
    } while (state.runs.length < 3 && Date.now() < deadline);
    expect(state.runs).toEqual([{ retryCount: 0, isRetry: false }, { retryCount: 1, isRetry: true }, { retryCount: 2, isRetry: true }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(JSON.parse((await t.get('do-counter', '/alarm/state?name=a1')).text)).toEqual({ runs: state.runs, alarm: null });
  }, 30_000);

  it('an alarm set before a restart fires after it', async () => {
    expect(JSON.parse((await t.get('do-counter', '/alarm/set?name=a2&ms=1500')).text)).toEqual({ set: true });
    await t.restart({ alarmBackoffMs: 100 });
    const deadline = Date.now() + 10_000;
    let runs: unknown[] = [];
    while (runs.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      runs = JSON.parse((await t.get('do-counter', '/alarm/state?name=a2')).text).runs;
    }
    expect(runs).toEqual([{ retryCount: 0, isRetry: false }]);
  }, 30_000);

  it('storage survives a restart (the objects come back with it)', async () => {
    await t.get('do-counter', '/inc?name=durable');
    await t.get('do-counter', '/inc?name=durable');
    await t.restart();
    expect((await t.get('do-counter', '/get?name=durable')).text).toBe('2');
    expect(JSON.parse((await t.get('do-counter', '/read?name=store&key=survivor')).text)).toBe('yes');
  }, 60_000);
});
