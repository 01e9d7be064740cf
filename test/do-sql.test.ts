// SQLite-backed Durable Objects through a real host: ctx.storage.sql (exec, the cursor, bindings and types, errors,
// databaseSize), transactionSync, the synchronous ctx.storage.kv, one database per object, data across eviction and
// deleteAll, a `new_classes` class refused, Cloudflare's template shape, and an acknowledged SQL write under SIGKILL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './helpers/http.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { childAdmin, kill9, startChildHost, type ChildHost } from './helpers/child-host.ts';

const WORKER = `
import { DurableObject } from 'cloudflare:workers';

const bytes = (b) => (b instanceof ArrayBuffer ? { buffer: true, bytes: [...new Uint8Array(b)] } : b);
const attempt = (fn) => { try { return { ok: fn() }; } catch (e) { return { name: e.name, message: e.message, error: e instanceof Error }; } };

// Cloudflare's SQL template shape: the table is made in the constructor.
export class Notes extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL UNIQUE)');
    this.instance = Math.random().toString(36).slice(2);
  }
  add(body) { return this.sql.exec('INSERT INTO notes (body) VALUES (?) RETURNING id', body).one().id; }
  all() { return this.sql.exec('SELECT body FROM notes ORDER BY id').toArray().map((r) => r.body); }
  who() { return this.instance; }
  addTwice(body) {
    return this.ctx.storage.transactionSync(() => [this.add(body + ' 1'), this.add(body + ' 2')]);
  }
  bench(n) {
    n = Number(n);
    let t0 = performance.now();
    for (let i = 0; i < n; i++) this.sql.exec('INSERT INTO notes (body) VALUES (?)', 'bench ' + Math.random());
    const write = (performance.now() - t0) / n;
    t0 = performance.now();
    for (let i = 0; i < n; i++) this.sql.exec('SELECT body FROM notes WHERE id = ?', i).toArray();
    const read = (performance.now() - t0) / n;
    t0 = performance.now();
    this.ctx.storage.transactionSync(() => { for (let i = 0; i < n; i++) this.sql.exec('INSERT INTO notes (body) VALUES (?)', 'bench ' + Math.random()); });
    const txn = (performance.now() - t0) / n;
    return { write, read, txn };
  }

  cursor() {
    const s = this.sql;
    const out = {};
    // Several statements: the bindings go to the last one, whose rows the cursor holds.
    const c = s.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v); INSERT INTO t VALUES ('a', 1), ('b', 2); INSERT INTO t VALUES (?, ?), (?, ?) RETURNING k", 'c', 3, 'd', 4);
    out.multi = { rows: c.toArray(), columns: c.columnNames, read: c.rowsRead, written: c.rowsWritten };
    const it = s.exec('SELECT k, v FROM t ORDER BY k');
    out.next = [it.next(), it.next()];
    out.rest = it.toArray();
    out.done = it.next();
    out.iterated = [...s.exec('SELECT k FROM t WHERE v > ? ORDER BY k', 2)].map((r) => r.k);
    const raw = s.exec('SELECT k, v FROM t ORDER BY k DESC').raw();
    out.raw = { first: raw.next().value, rest: raw.toArray(), columns: raw.columnNames };
    out.one = s.exec('SELECT count(*) AS n FROM t').one();
    out.oneNone = attempt(() => s.exec('SELECT 1 WHERE 0').one());
    out.oneMany = attempt(() => s.exec('SELECT k FROM t').one());
    const upd = s.exec('UPDATE t SET v = v + 10 WHERE v >= ?', 3);
    out.update = { read: upd.rowsRead, written: upd.rowsWritten, rows: upd.toArray() };
    out.size = s.databaseSize;
    out.sameSql = this.ctx.storage.sql === s;
    return out;
  }

  types() {
    const s = this.sql;
    s.exec('CREATE TABLE IF NOT EXISTS v (i INTEGER, r REAL, t TEXT, n, b BLOB)');
    s.exec('INSERT INTO v VALUES (?, ?, ?, ?, ?)', 42, 1.5, 'héllo', null, new Uint8Array([1, 2, 255]).buffer);
    s.exec('INSERT INTO v VALUES (?, ?, ?, ?, ?)', 2n ** 40n, -0.25, '', null, new Uint16Array([0x0201]));
    const rows = s.exec('SELECT i, r, t, n, b, typeof(i) AS ti, typeof(r) AS tr, typeof(b) AS tb FROM v ORDER BY rowid').toArray();
    return rows.map((r) => ({ ...r, b: bytes(r.b) }));
  }

  errors() {
    const s = this.sql;
    return {
      syntax: attempt(() => s.exec('SELEKT 1')),
      noTable: attempt(() => s.exec('SELECT * FROM nowhere')),
      attach: attempt(() => s.exec("ATTACH DATABASE 'x.db' AS x")),
      begin: attempt(() => s.exec('BEGIN TRANSACTION')),
      unique: attempt(() => { s.exec('CREATE TABLE IF NOT EXISTS u (k UNIQUE)'); s.exec('INSERT INTO u VALUES (1)'); s.exec('INSERT INTO u VALUES (1)'); }),
      binding: attempt(() => s.exec('SELECT ?', { not: 'storable' })),
      tooMany: attempt(() => s.exec('SELECT ?', 1, 2)),
      // A failed statement of several leaves nothing of the others.
      atomic: attempt(() => s.exec("CREATE TABLE half (x); INSERT INTO half VALUES (1); INSERT INTO nowhere VALUES (2)")),
      afterAtomic: attempt(() => s.exec("SELECT name FROM sqlite_master WHERE name = 'half'").toArray()),
      // Parameters in a statement before the last are an error (as in workerd), not run as NULL; nothing is applied.
      paramsEarly: attempt(() => s.exec('CREATE TABLE early (v TEXT); INSERT INTO early VALUES (?); SELECT 1', 'x')),
      paramsEarlyUnbound: attempt(() => s.exec('CREATE TABLE early (v TEXT); INSERT INTO early VALUES (:v); SELECT 1')),
      afterEarly: attempt(() => s.exec("SELECT name FROM sqlite_master WHERE name = 'early'").toArray()),
      // A '?' or ':x' inside a string, a quoted name or a comment is no parameter.
      notParams: attempt(() => s.exec("CREATE TABLE [q?] (v TEXT); INSERT INTO [q?] VALUES ('?:a@b$c') /* ? */; -- ?\\nSELECT v FROM [q?] WHERE v <> ?", 'z').toArray()),
      still: s.exec('SELECT 1 AS ok').one().ok,
    };
  }

  transactions() {
    const s = this.sql;
    const st = this.ctx.storage;
    s.exec('CREATE TABLE IF NOT EXISTS acct (name TEXT PRIMARY KEY, balance INTEGER)');
    s.exec("INSERT OR REPLACE INTO acct VALUES ('a', 100), ('b', 0)");
    const returned = st.transactionSync(() => {
      s.exec("UPDATE acct SET balance = balance - 30 WHERE name = 'a'");
      s.exec("UPDATE acct SET balance = balance + 30 WHERE name = 'b'");
      return 'moved';
    });
    let thrown = null;
    try {
      st.transactionSync(() => {
        s.exec("UPDATE acct SET balance = balance - 50 WHERE name = 'a'");
        // Seen inside the transaction...
        if (s.exec("SELECT balance FROM acct WHERE name = 'a'").one().balance !== 20) throw new Error('not seen');
        throw new Error('insufficient funds');
      });
    } catch (e) { thrown = e.message; }
    const nested = attempt(() => st.transactionSync(() => st.transactionSync(() => 1)));
    const notFn = attempt(() => st.transactionSync(42));
    // A failing statement inside a transaction that the closure catches: the rest of it still commits.
    st.transactionSync(() => {
      try { s.exec('INSERT INTO nowhere VALUES (1)'); } catch {}
      s.exec("UPDATE acct SET balance = 1 WHERE name = 'b'");
    });
    return { returned, thrown, nested, notFn, balances: s.exec('SELECT name, balance FROM acct ORDER BY name').toArray() };
  }

  async kvApi() {
    const kv = this.ctx.storage.kv;
    const out = {};
    out.missing = kv.get('nope');
    kv.put('b', { deep: [1, 2] });
    kv.put('a', 1);
    kv.put('p:1', 'x');
    kv.put('p:2', 'y');
    out.got = [kv.get('a'), kv.get('b')];
    out.asyncSees = await this.ctx.storage.get('b');
    await this.ctx.storage.put('c', new Map([[1, 2]]));
    out.syncSeesAsync = kv.get('c') instanceof Map;
    out.list = [...kv.list()].map(([k]) => k);
    out.prefix = [...kv.list({ prefix: 'p:' })];
    out.limited = [...kv.list({ reverse: true, limit: 2 })].map(([k]) => k);
    out.delete = [kv.delete('a'), kv.delete('a')];
    out.afterDelete = [...kv.list({ limit: 2 })].map(([k]) => k);
    out.putUndefined = attempt(() => kv.put('x', undefined));
    return out;
  }

  // Killed by the CPU limit inside a transaction: the isolate goes, the transaction must not commit.
  hang() {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO notes (body) VALUES ('never')");
      for (;;) {}
    });
  }

  kvOrder(put) {
    const kv = this.ctx.storage.kv;
    if (put) { kv.put('z\u{1F600}', 2); kv.put('z\uFFFD', 1); kv.put('y', 0); }
    return [...kv.list({ startAfter: 'y' })].map(([k]) => k);
  }

  async deleteEverything() {
    this.ctx.storage.kv.put('k', 1);
    await this.ctx.storage.deleteAll();
    return {
      tables: this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").toArray().map((r) => r.name),
      kv: this.ctx.storage.kv.get('k') ?? null,
    };
  }
}

// A key-value-backed class: no SQL.
export class Plain {
  constructor(ctx) { this.ctx = ctx; }
  sql() { return attempt(() => this.ctx.storage.sql); }
  kv() { return attempt(() => this.ctx.storage.kv); }
  txn() { return attempt(() => this.ctx.storage.transactionSync(() => 1)); }
  async deleteAll() { await this.ctx.storage.put('x', 1); await this.ctx.storage.deleteAll(); return (await this.ctx.storage.get('x')) ?? null; }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const o = url.searchParams.get('o') ?? 'default';
    const method = url.pathname.slice(1);
    const ns = method.startsWith('plain-') ? env.PLAIN : env.NOTES;
    const stub = ns.getByName(o);
    const arg = url.searchParams.get('arg');
    const name = method.replace(/^plain-/, '');
    return Response.json(arg === null ? await stub[name]() : await stub[name](arg));
  },
};
`;

const TOML = manifestFor(
  'do-sql',
  'index.js',
  '[[durable_objects.bindings]]\nname = "NOTES"\nclass_name = "Notes"\n[[durable_objects.bindings]]\nname = "PLAIN"\nclass_name = "Plain"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Plain"]\n[[migrations]]\ntag = "v2"\nnew_sqlite_classes = ["Notes"]',
);

describe('SQLite-backed Durable Objects', () => {
  let t: TestHost;
  const call = async (method: string, o: string, arg?: string) => {
    const r = await t.get('do-sql', `/${method}?o=${o}${arg !== undefined ? `&arg=${encodeURIComponent(arg)}` : ''}`);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text);
  };

  beforeAll(async () => {
    // Database threads stop after 1.5 s without a call (the default is 60 s): the tests also cover their restarts.
    t = await startTestHost({ sqlIdleMs: 1500 });
    const res = await t.deploy('do-sql', { toml: TOML, modules: { 'index.js': WORKER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('exec runs one or more statements (bindings to the last) and its cursor reads the rows every way Workers does', async () => {
    const r = await call('cursor', 'cursor');
    expect(r.multi).toEqual({ rows: [{ k: 'c' }, { k: 'd' }], columns: ['k'], read: 2, written: 4 });
    expect(r.next).toEqual([{ done: false, value: { k: 'a', v: 1 } }, { done: false, value: { k: 'b', v: 2 } }]);
    expect(r.rest).toEqual([{ k: 'c', v: 3 }, { k: 'd', v: 4 }]);
    expect(r.done).toEqual({ done: true });
    expect(r.iterated).toEqual(['c', 'd']);
    expect(r.raw).toEqual({ first: ['d', 4], rest: [['c', 3], ['b', 2], ['a', 1]], columns: ['k', 'v'] });
    expect(r.one).toEqual({ n: 4 });
    expect(r.oneNone).toMatchObject({ error: true, message: expect.stringMatching(/exactly one result.*no results/) });
    expect(r.oneMany).toMatchObject({ error: true, message: expect.stringMatching(/exactly one result.*multiple results/) });
    expect(r.update).toEqual({ read: 0, written: 2, rows: [] });
    expect(r.size).toBeGreaterThan(0);
    expect(r.size % 4096).toBe(0);
    expect(r.sameSql).toBe(true);
  });

  it('binds and returns numbers, bigints, strings, null and blobs (ArrayBuffer in, ArrayBuffer out)', async () => {
    const rows = await call('types', 'types');
    expect(rows).toEqual([
      { i: 42, r: 1.5, t: 'héllo', n: null, b: { buffer: true, bytes: [1, 2, 255] }, ti: 'integer', tr: 'real', tb: 'blob' },
      { i: 2 ** 40, r: -0.25, t: '', n: null, b: { buffer: true, bytes: [1, 2] }, ti: 'integer', tr: 'real', tb: 'blob' },
    ]);
  });

  it('errors are Errors with SQLite message and code; refused statements say why; a failed exec applies nothing', async () => {
    const r = await call('errors', 'errors');
    expect(r.syntax).toMatchObject({ error: true, name: 'Error', message: expect.stringMatching(/near "SELEKT": syntax error.*SQLITE_ERROR/) });
    expect(r.noTable).toMatchObject({ error: true, message: expect.stringMatching(/no such table: nowhere/) });
    expect(r.attach).toMatchObject({ error: true, message: expect.stringMatching(/ATTACH is not allowed.*SQLITE_AUTH/) });
    expect(r.begin).toMatchObject({ error: true, message: expect.stringMatching(/BEGIN is not allowed in a Durable Object's SQL: use ctx\.storage\.transactionSync\(\)/) });
    expect(r.unique).toMatchObject({ error: true, message: expect.stringMatching(/UNIQUE constraint failed: u\.k.*SQLITE_CONSTRAINT/) });
    expect(r.binding).toMatchObject({ error: true, name: 'TypeError', message: expect.stringMatching(/binding 1 cannot be stored/) });
    expect(r.tooMany).toMatchObject({ error: true });
    expect(r.atomic).toMatchObject({ error: true, message: expect.stringMatching(/no such table: nowhere/) });
    expect(r.afterAtomic).toEqual({ ok: [] });
    const early = 'When executing multiple SQL statements in a single call, only the last statement can have parameters.';
    expect(r.paramsEarly).toMatchObject({ error: true, message: expect.stringContaining(early) });
    expect(r.paramsEarlyUnbound).toMatchObject({ error: true, message: expect.stringContaining(early) });
    expect(r.afterEarly).toEqual({ ok: [] });
    expect(r.notParams).toEqual({ ok: [{ v: '?:a@b$c' }] });
    expect(r.still).toBe(1);
  });

  it('transactionSync commits what its closure did, rolls all of it back when it throws', async () => {
    const r = await call('transactions', 'txn');
    expect(r.returned).toBe('moved');
    expect(r.thrown).toBe('insufficient funds');
    expect(r.nested).toMatchObject({ error: true, message: expect.stringMatching(/cannot be nested/) });
    expect(r.notFn).toMatchObject({ name: 'TypeError' });
    expect(r.balances).toEqual([{ name: 'a', balance: 70 }, { name: 'b', balance: 1 }]);
  });

  it('ctx.storage.kv: synchronous get/put/delete/list, the same data as the asynchronous API', async () => {
    const r = await call('kvApi', 'kv');
    expect(r).toEqual({
      got: [1, { deep: [1, 2] }],
      asyncSees: { deep: [1, 2] },
      syncSeesAsync: true,
      list: ['a', 'b', 'c', 'p:1', 'p:2'],
      prefix: [['p:1', 'x'], ['p:2', 'y']],
      limited: ['p:2', 'p:1'],
      delete: [true, false],
      afterDelete: ['b', 'c'],
      putUndefined: { error: true, name: 'TypeError', message: expect.stringMatching(/a value is required/) },
    });
    // Durable like put(): after eviction the host's store answers.
    expect(t.host.runtime.evict('do-sql')).toBe(true);
    const again = await call('kvApi', 'kv');
    expect(again.missing).toBeUndefined();
    expect(again.list).toEqual(['a', 'b', 'c', 'p:1', 'p:2']);
  });

  it('ctx.storage.kv lists in the store\'s order (UTF-8 bytes) before and after its writes reach the host', async () => {
    const expected = ['z\uFFFD', 'z\u{1F600}'];
    expect(await call('kvOrder', 'order', 'put')).toEqual(expected);
    expect(t.host.runtime.evict('do-sql')).toBe(true);
    expect(await call('kvOrder', 'order')).toEqual(expected);
  });

  it('one database per object; the rows survive eviction (the constructor runs again over them)', async () => {
    expect(await call('add', 'alice', 'a1')).toBe(1);
    expect(await call('add', 'alice', 'a2')).toBe(2);
    expect(await call('add', 'bob', 'b1')).toBe(1);
    expect(await call('all', 'alice')).toEqual(['a1', 'a2']);
    expect(await call('all', 'bob')).toEqual(['b1']);
    const before = await call('who', 'alice');
    expect(t.host.runtime.evict('do-sql')).toBe(true);
    expect(await call('who', 'alice')).not.toBe(before);
    expect(await call('all', 'alice')).toEqual(['a1', 'a2']);
    expect(await call('add', 'alice', 'a3')).toBe(3);
  });

  it('the data survives a restart of the host', async () => {
    await call('add', 'restart', 'kept');
    // A transaction is one record of the log, replayed whole.
    expect(await call('addTwice', 'restart', 'txn')).toEqual([2, 3]);
    await t.restart();
    expect(await call('all', 'restart')).toEqual(['kept', 'txn 1', 'txn 2']);
  }, 60_000);

  it('a transaction cut off by the CPU limit is rolled back: the object goes on over what was committed', async () => {
    expect(await call('add', 'hang', 'before')).toBe(1);
    // The object lives in the worker's own isolate: the CPU limit resets it, and the request that called fails too.
    const hung = await t.get('do-sql', '/hang?o=hang');
    expect(hung.status, hung.text).toBe(503);
    expect(hung.text).toMatch(/E_CPU_LIMIT|E_ISOLATE_RESET/);
    expect(await call('all', 'hang')).toEqual(['before']);
    expect(await call('add', 'hang', 'after')).toBe(2);
    expect(await call('all', 'hang')).toEqual(['before', 'after']);
  });

  it("an idle object's database thread stops, and starts again over its data", async () => {
    await call('add', 'idle', 'one');
    expect(t.host.durableSql.runningThreads()).toBeGreaterThan(0);
    const deadline = Date.now() + 15_000;
    while (t.host.durableSql.runningThreads() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(t.host.durableSql.runningThreads()).toBe(0);
    expect(await call('all', 'idle')).toEqual(['one']);
    expect(t.host.durableSql.runningThreads()).toBe(1);
  }, 30_000);

  it('deleteAll() drops the SQL data too', async () => {
    await call('add', 'wipe', 'x');
    expect(await call('deleteEverything', 'wipe')).toEqual({ tables: [], kv: null });
    // The next instance's constructor makes its table again, empty.
    expect(t.host.runtime.evict('do-sql')).toBe(true);
    expect(await call('all', 'wipe')).toEqual([]);
  });

  it('a class declared in new_classes has no SQL: the error names the class and the fix', async () => {
    const sql = await call('plain-sql', 'p');
    expect(sql).toMatchObject({ error: true, name: 'Error' });
    expect(sql.message).toMatch(/"Plain" of worker "do-sql" is not SQLite-backed/);
    expect(sql.message).toMatch(/new_sqlite_classes = \["Plain"\]/);
    expect(await call('plain-kv', 'p')).toMatchObject({ error: true, message: expect.stringMatching(/not SQLite-backed/) });
    expect(await call('plain-txn', 'p')).toMatchObject({ error: true, message: expect.stringMatching(/not SQLite-backed/) });
    // Its key-value storage and deleteAll() work as before.
    expect(await call('plain-deleteAll', 'p')).toBe(null);
  });
});

const COUNTER = `
export class SqlCounter {
  constructor(ctx) {
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS hits (n INTEGER PRIMARY KEY)');
  }
  fetch(request) {
    if (new URL(request.url).pathname === '/get') return new Response(String(this.sql.exec('SELECT coalesce(max(n), 0) AS n FROM hits').one().n));
    const n = this.sql.exec('INSERT INTO hits SELECT coalesce(max(n), 0) + 1 FROM hits RETURNING n').one().n;
    return new Response(String(n));
  }
}
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return env.COUNTERS.getByName(url.searchParams.get('o')).fetch('http://do' + url.pathname);
  },
};
`;

describe('Durable Object SQL under SIGKILL', () => {
  let dataDir = '';
  let host: ChildHost | undefined;
  afterAll(async () => {
    if (host) await kill9(host);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (h: ChildHost, path: string) => request(`${h.dataUrl}${path}`, { host: `do-sql-writer.localhost:${h.port}` });

  it('a row whose insert was answered is there after kill -9 and a restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-do-sql-'));
    host = await startChildHost(dataDir);
    const deployed = await childAdmin(host, 'POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifestFor('do-sql-writer', 'index.js', '[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "SqlCounter"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["SqlCounter"]') },
      modules: [{ path: 'index.js', content: COUNTER }],
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    // Each object's first request starts its database thread: done before the kills (the restarts' reads do it too).
    const highest = [Number((await call(host, '/inc?o=obj0')).text), Number((await call(host, '/inc?o=obj1')).text)];
    for (let round = 0; round < 2; round++) {
      const before = [...highest];
      const h = host;
      let stop = false;
      const clients = Array.from({ length: 6 }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const o = (c + i) % 2;
          try {
            const r = await call(h, `/inc?o=obj${o}`);
            if (r.status === 200) highest[o] = Math.max(highest[o]!, Number(r.text));
          } catch {
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 600)));
      stop = true;
      await kill9(h);
      await Promise.all(clients);
      host = await startChildHost(dataDir);
      for (let o = 0; o < 2; o++) {
        const now = Number((await call(host, `/get?o=obj${o}`)).text);
        expect(highest[o], `object ${o} answered increments in round ${round}`).toBeGreaterThan(before[o]!);
        expect(now, `object ${o} after kill ${round}`).toBeGreaterThanOrEqual(highest[o]!);
        highest[o] = now;
      }
    }
    expect(Number((await call(host, '/inc?o=obj0')).text)).toBe(highest[0]! + 1);
  }, 120_000);
});
