// D1 through a real host: the env.DB API of JS workers (every call Workers users know), D1's type mapping, atomic
// batches, errors, what a statement may not do, the limits, and one database shared by two workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const D1_WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const step = url.pathname.slice(1);
    const db = env.DB;
    const out = {};
    const err = async (p) => { try { await (typeof p === 'function' ? p() : p); return null; } catch (e) { return { name: e.constructor.name, message: e.message, cause: e.cause?.message ?? null }; } };
    switch (step) {
      case 'setup': {
        out.exec = await db.exec('DROP TABLE IF EXISTS items; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, price REAL, qty INTEGER, data BLOB, flag INTEGER)');
        break;
      }
      case 'api': {
        const ins = await db.prepare('INSERT INTO items (name, price, qty) VALUES (?1, ?2, ?3)').bind('apple', 1.5, 3).run();
        out.run = { success: ins.success, results: ins.results, changes: ins.meta.changes, last_row_id: ins.meta.last_row_id, changed_db: ins.meta.changed_db, rows_written: ins.meta.rows_written, size_after: ins.meta.size_after > 0, duration: typeof ins.meta.duration };
        await db.prepare('INSERT INTO items (name, price, qty) VALUES (?, ?, ?)').bind('pear', 2, 5).run();
        out.first = await db.prepare('SELECT name, price, qty FROM items WHERE name = ?').bind('apple').first();
        out.firstCol = await db.prepare('SELECT name, price, qty FROM items WHERE name = ?').bind('pear').first('qty');
        out.firstNone = await db.prepare('SELECT * FROM items WHERE name = ?').bind('none').first();
        out.firstBadCol = await err(db.prepare('SELECT name FROM items').first('nope'));
        const all = await db.prepare('SELECT name, qty FROM items ORDER BY id').all();
        out.all = { results: all.results, success: all.success, rows_read: all.meta.rows_read, changes: all.meta.changes, changed_db: all.meta.changed_db };
        out.raw = await db.prepare('SELECT name, qty FROM items ORDER BY id').raw();
        out.rawNames = await db.prepare('SELECT name, qty FROM items ORDER BY id').raw({ columnNames: true });
        const stmt = db.prepare('SELECT qty FROM items WHERE name = ?');
        out.rebind = [await stmt.bind('apple').first('qty'), await stmt.bind('pear').first('qty')];
        const upd = await db.prepare('UPDATE items SET qty = qty + 1').run();
        out.update = { changes: upd.meta.changes, rows_written: upd.meta.rows_written };
        out.returning = (await db.prepare("INSERT INTO items (name) VALUES ('plum') RETURNING id, name").all()).results;
        out.className = [db.constructor.name, stmt.constructor.name, String(db)];
        break;
      }
      case 'types': {
        const blob = new Uint8Array([0, 1, 254, 255]);
        await db.prepare('INSERT INTO items (name, price, qty, data, flag) VALUES (?, ?, ?, ?, ?)').bind('typed', 0.25, 9007199254740991, blob, true).run();
        await db.prepare('INSERT INTO items (name, price, qty, data, flag) VALUES (?, ?, ?, ?, ?)').bind('typed2', null, 7, blob.buffer, false).run();
        await db.prepare('INSERT INTO items (name, qty, data) VALUES (?, ?, ?)').bind('typed3', 12n, [9, 8]).run();
        out.rows = (await db.prepare("SELECT name, price, qty, data, flag, typeof(qty) AS tq, typeof(price) AS tp, typeof(data) AS td, typeof(flag) AS tf FROM items WHERE name LIKE 'typed%' ORDER BY id").all()).results;
        out.undef = await err(() => db.prepare('SELECT ?').bind(undefined).all());
        out.undefSync = (() => { try { db.prepare('SELECT ?').bind(undefined); return 'no throw'; } catch (e) { return 'throws at bind()'; } })();
        out.object = await err(() => db.prepare('SELECT ?').bind({ a: 1 }).all());
        out.bigText = (await db.prepare('SELECT length(?) AS n').bind('x'.repeat(100000)).first('n'));
        break;
      }
      case 'batch': {
        const before = await db.prepare('SELECT count(*) AS n FROM items').first('n');
        out.failed = await err(db.batch([
          db.prepare('INSERT INTO items (name) VALUES (?)').bind('b1'),
          db.prepare('INSERT INTO items (name) VALUES (?)').bind('b2'),
          db.prepare('INSERT INTO items (name) VALUES (?)').bind('b1'),
        ]));
        out.afterFailed = await db.prepare('SELECT count(*) AS n FROM items').first('n') - before;
        const ok = await db.batch([
          db.prepare('INSERT INTO items (name) VALUES (?)').bind('b3'),
          db.prepare('UPDATE items SET qty = 42 WHERE name = ?').bind('b3'),
          db.prepare('SELECT name, qty FROM items WHERE name = ?').bind('b3'),
        ]);
        out.ok = ok.map((r) => ({ success: r.success, changes: r.meta.changes, results: r.results }));
        out.empty = await db.batch([]);
        out.notStatement = await err(db.batch(['SELECT 1']));
        break;
      }
      case 'errors': {
        out.noTable = await err(db.prepare('SELECT * FROM nope').all());
        out.syntax = await err(db.prepare('SELEC 1').all());
        out.unique = await err(db.prepare("INSERT INTO items (name) VALUES ('apple')").run());
        out.notNull = await err(db.prepare('INSERT INTO items (price) VALUES (1)').run());
        out.attach = await err(db.prepare("ATTACH DATABASE '/etc/passwd' AS p").run());
        out.begin = await err(db.exec('BEGIN TRANSACTION'));
        out.pragma = await err(db.prepare('PRAGMA journal_mode = DELETE').run());
        out.loadExt = await err(db.prepare("SELECT load_extension('/tmp/x.so')").all());
        out.tableInfo = (await db.prepare('PRAGMA table_info(items)').all()).results.map((r) => r.name);
        out.several = await err(db.prepare("INSERT INTO items (name) VALUES ('sev'); INSERT INTO nope VALUES (1)").run());
        out.severalSneaky = await err(db.prepare("INSERT INTO items (name) VALUES ('sev'); COMMIT").run());
        out.sneaky = await err(db.batch([db.prepare("INSERT INTO items (name) VALUES ('sneak')"), db.prepare(';COMMIT')]));
        out.afterSneaky = await db.prepare("SELECT count(*) AS n FROM items WHERE name IN ('sev', 'sneak')").first('n');
        out.execError = await err(db.exec("INSERT INTO items (name) VALUES ('e1'); INSERT INTO nope VALUES (1)"));
        out.execRolledBack = await db.prepare("SELECT count(*) AS n FROM items WHERE name = 'e1'").first('n');
        out.prepareNonString = await err(Promise.resolve().then(() => db.prepare(42)));
        out.tooManyParams = await err(db.prepare('SELECT ' + Array.from({ length: 101 }, () => '?').join(',')).bind(...Array.from({ length: 101 }, (_, i) => i)).all());
        break;
      }
      case 'dump': {
        const buf = await db.dump();
        out.isBuffer = buf instanceof ArrayBuffer;
        out.header = new TextDecoder().decode(new Uint8Array(buf, 0, 15));
        break;
      }
      case 'session': {
        const s = db.withSession('first-primary');
        out.before = s.getBookmark();
        await s.prepare("INSERT INTO items (name) VALUES ('s1')").run();
        const b1 = s.getBookmark();
        out.n = await s.prepare("SELECT count(*) AS n FROM items WHERE name = 's1'").first('n');
        const s2 = db.withSession(b1);
        out.resumed = s2.getBookmark() === b1;
        out.bookmarkType = typeof b1;
        out.batch = (await s2.batch([s2.prepare("SELECT 'x' AS v")]))[0].results;
        out.grows = s2.getBookmark() >= b1;
        break;
      }
      case 'several': {
        // As D1 runs a prepared statement of several statements: all of them, in one transaction; the last one's rows,
        // with what all of them read and wrote (Cloudflare's sessions template resets its table this way).
        const ddl = await db.prepare('DROP TABLE IF EXISTS orders; CREATE TABLE orders (customer TEXT NOT NULL, id TEXT NOT NULL, qty INTEGER NOT NULL, PRIMARY KEY (customer, id))').all();
        out.ddl = { results: ddl.results, changed_db: ddl.meta.changed_db };
        const w = await db.prepare("INSERT INTO orders VALUES ('c1', 'o1', 1); INSERT INTO orders VALUES ('c1', 'o2', 2); SELECT count(*) AS n, sum(qty) AS q FROM orders WHERE customer = ?").bind('c1').all();
        out.write = { results: w.results, changes: w.meta.changes, rows_written: w.meta.rows_written, rows_read: w.meta.rows_read, changed_db: w.meta.changed_db };
        out.reads = await db.prepare('SELECT 1 AS a; SELECT 2 AS b').first();
        out.readsRaw = await db.prepare('SELECT 1 AS a; SELECT ? AS b, ? AS c').bind(2, 'x').raw({ columnNames: true });
        out.paramsEarly = await err(db.prepare("INSERT INTO orders VALUES (?, 'o3', 3); SELECT 1").bind('c2').run());
        out.failLater = await err(db.prepare("INSERT INTO orders VALUES ('c3', 'o4', 4); INSERT INTO nope VALUES (1)").run());
        out.inBatch = (await db.batch([db.prepare("INSERT INTO orders VALUES ('c4', 'o5', 5); SELECT count(*) AS n FROM orders"), db.prepare('SELECT count(*) AS n FROM orders WHERE customer = ?').bind('c4')])).map((x) => x.results);
        out.left = await db.prepare('SELECT customer, id FROM orders ORDER BY customer, id').raw();
        break;
      }
      case 'limit': {
        // DELETE/UPDATE with ORDER BY/LIMIT, as D1's SQLite parses them (chanfana's delete endpoint sends one).
        await db.exec("DROP TABLE IF EXISTS lim; CREATE TABLE lim (id INTEGER PRIMARY KEY, g TEXT, v INTEGER); INSERT INTO lim (g, v) VALUES ('a', 1), ('a', 2), ('a', 3), ('b', 4)");
        out.deleted = (await db.prepare('DELETE FROM lim WHERE g = ? RETURNING * LIMIT 1').bind('a').all()).results.length;
        const upd = await db.prepare('UPDATE lim SET v = v * 10 WHERE g = ?1 RETURNING id, v ORDER BY v DESC LIMIT ?2').bind('a', 1).run();
        out.updated = { results: upd.results, changes: upd.meta.changes };
        out.left = await db.prepare('SELECT g, v FROM lim ORDER BY id').raw();
        out.bad = await err(db.prepare('DELETE FROM lim WHERE LIMIT 1').run());
        break;
      }
      case 'orders': {
        out.left = await db.prepare('SELECT customer, id FROM orders ORDER BY customer, id').raw();
        break;
      }
      case 'random': {
        const r = await db.prepare("INSERT INTO items (name, qty, price, data) VALUES ('rnd-' || hex(randomblob(8)), random(), unixepoch('now'), randomblob(16)) RETURNING name, qty, price, hex(data) AS data, typeof(qty) AS t").first();
        out.row = r;
        break;
      }
      case 'values': {
        // The same row through both ways the facade reads: first()/raw() of an idle database (the host's JSON text)
        // and batch() (the sql interface's typed values), as JSON that keeps -0, infinities and number precision.
        const sql = "SELECT 9007199254740993 AS big, -9223372036854775808 AS min, 9223372036854775807 AS max, 1e999 AS inf, -1e999 AS ninf, -0.0 AS nz, 5e-324 AS tiny, 1.7976931348623157e308 AS huge, 0.1 AS tenth, ? AS bound, ? AS boundReal, ? AS boundBig, 'a' || char(34) || 'b' || char(92) || 'c' || char(10, 9, 1, 127) || '😀é' AS text, x'' AS empty, x'00ff80' AS bytes, NULL AS nil, 1 AS dup, 2 AS dup, '' AS [q\\" x]";
        const show = (v) => JSON.stringify(v, (k, x) => (typeof x === 'number' && !Number.isFinite(x)) || Object.is(x, -0) ? 'num:' + String(Object.is(x, -0) ? '-0' : x) : x);
        const stmt = db.prepare(sql).bind(-4611686018427387905n, 2.5, 9007199254740993n);
        try { await stmt.first(); } catch (e) { out.E1 = String(e.stack); }
        try { await db.batch([stmt]); } catch (e) { out.E2 = String(e.stack); }
        // (Either failing is said in full by the test.)
        if (out.E1 || out.E2) break;
        out.first = show(await stmt.first());
        out.raw = show(await stmt.raw({ columnNames: true }));
        out.dupCol = await stmt.first('dup');
        const [viaBatch] = await db.batch([stmt]);
        out.batchFirst = show(viaBatch.results[0]);
        out.batchRaw = show([Object.keys(viaBatch.results[0]), Object.values(viaBatch.results[0])]);
        out.allRows = show((await stmt.all()).results);
        // A BLOB parameter (not a primitive): the read still answers at once, the other way across.
        out.blobParam = await db.prepare('SELECT ? AS b, typeof(?) AS t, ? AS n').bind(new Uint8Array([1, 2]), new Uint8Array([3]), 7).first();
        break;
      }
      case 'count': {
        out.n = await db.prepare('SELECT count(*) AS n FROM items').first('n');
        break;
      }
    }
    return Response.json(out);
  },
};
`;

describe('D1 for JS workers', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({ sqlLimits: { statementMs: 1500, databaseBytes: 2 * 1024 * 1024, rowsPerQuery: 1000 } });
    const toml = manifestFor('d1-api', 'index.js', 'd1_databases = [{ binding = "DB", database_name = "api-tests", database_id = "api-tests" }]\n[limits]\ncpu_ms = 500');
    const res = await t.deploy('d1-api', { toml, modules: { 'index.js': D1_WORKER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const setup = await t.get('d1-api', '/setup');
    expect(setup.status, setup.text).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  async function step(name: string): Promise<any> {
    const res = await t.get('d1-api', `/${name}`);
    expect(res.status, res.text).toBe(200);
    return JSON.parse(res.text);
  }

  it('prepare/bind then run, first, all, raw, and the result meta', async () => {
    const out = await step('api');
    expect(out.run).toEqual({ success: true, results: [], changes: 1, last_row_id: 1, changed_db: true, rows_written: 1, size_after: true, duration: 'number' });
    expect(out.first).toEqual({ name: 'apple', price: 1.5, qty: 3 });
    expect(out.firstCol).toBe(5);
    expect(out.firstNone).toBeNull();
    expect(out.firstBadCol.message).toBe('D1_COLUMN_NOTFOUND: Column not found');
    expect(out.all).toEqual({ results: [{ name: 'apple', qty: 3 }, { name: 'pear', qty: 5 }], success: true, rows_read: 2, changes: 0, changed_db: false });
    expect(out.raw).toEqual([['apple', 3], ['pear', 5]]);
    expect(out.rawNames).toEqual([['name', 'qty'], ['apple', 3], ['pear', 5]]);
    expect(out.rebind).toEqual([3, 5]);
    expect(out.update).toEqual({ changes: 2, rows_written: 2 });
    expect(out.returning).toEqual([{ id: 3, name: 'plum' }]);
    expect(out.className).toEqual(['D1Database', 'D1PreparedStatement', '[object D1Database]']);
  });

  it("maps types as D1 documents: numbers, strings, null, booleans to integers, buffers and byte arrays to BLOBs", async () => {
    const out = await step('types');
    expect(out.rows).toEqual([
      { name: 'typed', price: 0.25, qty: 9007199254740991, data: [0, 1, 254, 255], flag: 1, tq: 'integer', tp: 'real', td: 'blob', tf: 'integer' },
      { name: 'typed2', price: null, qty: 7, data: [0, 1, 254, 255], flag: 0, tq: 'integer', tp: 'null', td: 'blob', tf: 'integer' },
      { name: 'typed3', price: null, qty: 12, data: [9, 8], flag: null, tq: 'integer', tp: 'null', td: 'blob', tf: 'null' },
    ]);
    expect(out.undef.message).toBe("D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'");
    expect(out.undefSync).toBe('throws at bind()');
    expect(out.object.message).toBe("D1_TYPE_ERROR: Type 'object' not supported for value '[object Object]'");
    expect(out.bigText).toBe(100000);
  });

  it('a read answered at once (JSON text from the host) gives the values the typed way gives: precision, infinities, -0, text, BLOBs', async () => {
    const out = await step('values');
    expect(out.E1 ?? out.E2).toBeUndefined();
    expect(out.first).toBe(out.batchFirst);
    expect(out.allRows).toBe(`[${out.batchFirst}]`);
    const first = JSON.parse(out.first);
    expect(first).toEqual({
      big: 9007199254740992,
      min: -9223372036854775808,
      max: 9223372036854775807,
      inf: 'num:Infinity',
      ninf: 'num:-Infinity',
      nz: first.nz,
      tiny: 5e-324,
      huge: 1.7976931348623157e308,
      tenth: 0.1,
      bound: -4611686018427387904,
      boundReal: 2.5,
      boundBig: 9007199254740992,
      text: 'a"b\\c\n\t\u0001\u007f😀é',
      empty: [],
      bytes: [0, 255, 128],
      nil: null,
      dup: 2,
      'q" x': '',
    });
    // SQLite may fold -0.0 to 0.0: whichever it gives, both ways agree (compared above), and it is a number.
    expect([0, 'num:-0']).toContain(first.nz);
    expect(out.dupCol).toBe(2);
    expect(out.blobParam).toEqual({ b: [1, 2], t: 'blob', n: 7 });
    const raw = JSON.parse(out.raw);
    expect(raw[0]).toEqual(['big', 'min', 'max', 'inf', 'ninf', 'nz', 'tiny', 'huge', 'tenth', 'bound', 'boundReal', 'boundBig', 'text', 'empty', 'bytes', 'nil', 'dup', 'dup', 'q" x']);
    expect(raw[1]).toEqual([9007199254740992, -9223372036854775808, 9223372036854775807, 'num:Infinity', 'num:-Infinity', first.nz, 5e-324, 1.7976931348623157e308, 0.1, -4611686018427387904, 2.5, 9007199254740992, first.text, [], [0, 255, 128], null, 1, 2, '']);
  });

  it('batch() is atomic: a failing statement rolls back the ones before it', async () => {
    const out = await step('batch');
    expect(out.failed.message).toMatch(/^D1_ERROR: UNIQUE constraint failed: items\.name: SQLITE_CONSTRAINT/);
    expect(out.afterFailed).toBe(0);
    expect(out.ok).toEqual([
      { success: true, changes: 1, results: [] },
      { success: true, changes: 1, results: [] },
      { success: true, changes: 0, results: [{ name: 'b3', qty: 42 }] },
    ]);
    expect(out.empty).toEqual([]);
    expect(out.notStatement.name).toBe('TypeError');
  });

  it("errors carry SQLite's message, and a statement cannot break out", async () => {
    const out = await step('errors');
    expect(out.noTable).toEqual({ name: 'Error', message: 'D1_ERROR: no such table: nope: SQLITE_ERROR', cause: 'no such table: nope: SQLITE_ERROR' });
    expect(out.syntax.message).toBe('D1_ERROR: near "SELEC": syntax error: SQLITE_ERROR');
    expect(out.unique.message).toBe('D1_ERROR: UNIQUE constraint failed: items.name: SQLITE_CONSTRAINT_UNIQUE');
    expect(out.notNull.message).toBe('D1_ERROR: NOT NULL constraint failed: items.name: SQLITE_CONSTRAINT_NOTNULL');
    expect(out.attach.message).toMatch(/^D1_ERROR: ATTACH is not allowed: .*SQLITE_AUTH$/);
    expect(out.begin.message).toMatch(/^D1_EXEC_ERROR: Error in line 1: BEGIN is not allowed: .*use batch\(\)/);
    expect(out.pragma.message).toMatch(/^D1_ERROR: PRAGMA journal_mode is not allowed on D1 \(allowed: .*table_info/);
    expect(out.loadExt.message).toBe('D1_ERROR: no such function: load_extension: SQLITE_ERROR');
    expect(out.tableInfo).toEqual(['id', 'name', 'price', 'qty', 'data', 'flag']);
    // Text of several statements runs as one call: one failing applies none of them ('sev' is counted in afterSneaky).
    expect(out.several.message).toBe('D1_ERROR: no such table: nope: SQLITE_ERROR');
    expect(out.severalSneaky.message).toMatch(/^D1_ERROR: COMMIT is not allowed/);
    expect(out.sneaky.message).toMatch(/^D1_ERROR: COMMIT is not allowed/);
    expect(out.afterSneaky).toBe(0);
    expect(out.execError.message).toBe('D1_EXEC_ERROR: Error in line 2: no such table: nope: SQLITE_ERROR');
    expect(out.execRolledBack).toBe(0);
    expect(out.prepareNonString.name).toBe('TypeError');
    expect(out.tooManyParams.message).toMatch(/binds 101 parameters; D1 allows at most 100/);
  });

  it('dump() returns the database as a SQLite file', async () => {
    const out = await step('dump');
    expect(out).toEqual({ isBuffer: true, header: 'SQLite format 3' });
  });

  it('withSession(): bookmarks that only move forward', async () => {
    const out = await step('session');
    expect(out.before).toBeNull();
    expect(out.n).toBe(1);
    expect(out.resumed).toBe(true);
    expect(out.bookmarkType).toBe('string');
    expect(out.batch).toEqual([{ v: 'x' }]);
    expect(out.grows).toBe(true);
  });

  it('a point read on an idle database is answered within the entry that asked; a write only once it is durable', async () => {
    // How many microtask turns a D1 call takes to settle: a read the host answers at once (queryNow) settles in the
    // entry that made it; a write goes to the database's thread and its log, and can only settle in a later entry.
    const worker = `export default { async fetch(req, env) {
      const turns = async (p) => { let settled = false; p.then(() => (settled = true), () => (settled = true)); for (let i = 0; i < 20; i++) { if (settled) return i; await null; } return -1; };
      const step = new URL(req.url).pathname;
      if (step === '/setup') { await env.DB.exec('CREATE TABLE IF NOT EXISTS now (id INTEGER PRIMARY KEY, v TEXT)'); return new Response('ok'); }
      const read = env.DB.prepare('SELECT count(*) AS n FROM now').first('n');
      const readTurns = await turns(read);
      const write = env.DB.prepare('INSERT INTO now (v) VALUES (?)').bind('x').run();
      const writeTurns = await turns(write);
      await write;
      const after = await env.DB.prepare('SELECT count(*) AS n FROM now').first('n');
      const badTurns = await turns(env.DB.prepare('SELECT nope FROM now').first());
      const bad = await env.DB.prepare('SELECT nope FROM now').first().catch((e) => e.message);
      return Response.json({ readTurns, before: await read, writeTurns, after, badTurns, bad });
    } };`;
    const toml = manifestFor('d1-now', 'index.js', 'd1_databases = [{ binding = "DB", database_name = "api-tests" }]');
    expect((await t.deploy('d1-now', { toml, modules: { 'index.js': worker } })).status).toBe(201);
    expect((await t.get('d1-now', '/setup')).text).toBe('ok');
    for (let i = 1; i <= 3; i++) {
      const o = JSON.parse((await t.get('d1-now', '/')).text);
      expect(o.readTurns).toBeGreaterThanOrEqual(0);
      expect(o.writeTurns).toBe(-1);
      expect(o.after).toBe(o.before + 1);
      expect(o.badTurns).toBeGreaterThanOrEqual(0);
      expect(o.bad).toBe('D1_ERROR: no such column: nope: SQLITE_ERROR');
    }
  });

  it('a prepared statement of several statements runs them all as one call, as D1 does; their writes are logged and replayed', async () => {
    const out = await step('several');
    expect(out.ddl).toEqual({ results: [], changed_db: true });
    expect(out.write).toEqual({ results: [{ n: 2, q: 3 }], changes: 2, rows_written: 2, rows_read: 1, changed_db: true });
    expect(out.reads).toEqual({ b: 2 });
    expect(out.readsRaw).toEqual([['b', 'c'], [2, 'x']]);
    expect(out.paramsEarly.message).toMatch(/^D1_ERROR: When executing multiple SQL statements in a single call, only the last statement can have parameters\./);
    expect(out.failLater.message).toBe('D1_ERROR: no such table: nope: SQLITE_ERROR');
    expect(out.inBatch).toEqual([[{ n: 3 }], [{ n: 1 }]]);
    const left = [['c1', 'o1'], ['c1', 'o2'], ['c4', 'o5']];
    expect(out.left).toEqual(left);
    await t.restart({ sqlLimits: { statementMs: 1500, databaseBytes: 2 * 1024 * 1024, rowsPerQuery: 1000 } });
    expect((await step('orders')).left).toEqual(left);
  }, 60_000);

  it('DELETE and UPDATE take ORDER BY and LIMIT, as in D1', async () => {
    const out = await step('limit');
    expect(out.deleted).toBe(1);
    expect(out.updated).toEqual({ results: [{ id: 3, v: 30 }], changes: 1 });
    expect(out.left).toEqual([['a', 2], ['a', 30], ['b', 4]]);
    expect(out.bad.message).toMatch(/^D1_ERROR: near "LIMIT": syntax error/);
  });

  it('random() is a 64-bit INTEGER and the rows it made are the same after a restart (replayed from the log)', async () => {
    const out = await step('random');
    expect(out.row.t).toBe('integer');
    expect(out.row.data).toMatch(/^[0-9A-F]{32}$/);
    await t.restart({ sqlLimits: { statementMs: 1500, databaseBytes: 2 * 1024 * 1024, rowsPerQuery: 1000 } });
    const res = await t.get('d1-api', '/count');
    expect(res.status).toBe(200);
    // The same row, read back through a second worker bound to the same database.
    const toml = manifestFor('d1-reader', 'index.js', 'd1_databases = [{ binding = "OTHER", database_name = "api-tests" }]');
    const reader = `export default { async fetch(req, env) { const name = new URL(req.url).searchParams.get('name'); return Response.json(await env.OTHER.prepare('SELECT name, qty, price, hex(data) AS data, typeof(qty) AS t FROM items WHERE name = ?').bind(name).first()); } };`;
    expect((await t.deploy('d1-reader', { toml, modules: { 'index.js': reader } })).status).toBe(201);
    const again = await t.get('d1-reader', `/?name=${encodeURIComponent(out.row.name)}`);
    expect(JSON.parse(again.text)).toEqual(out.row);
  }, 60_000);
});

describe('D1 limits', () => {
  let t: TestHost;
  const LIMITS = { statementMs: 800, databaseBytes: 512 * 1024, rowsPerQuery: 50 };

  beforeAll(async () => {
    t = await startTestHost({ sqlLimits: LIMITS });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('a runaway query is interrupted at the time limit; the database and the host go on', async () => {
    const worker = `export default { async fetch(req, env) {
      const step = new URL(req.url).pathname;
      if (step === '/setup') { await env.DB.exec('CREATE TABLE IF NOT EXISTS k (v INTEGER)'); await env.DB.prepare('INSERT INTO k VALUES (1)').run(); return new Response('ok'); }
      if (step === '/spin') { const t0 = Date.now(); try { await env.DB.prepare('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c').all(); return new Response('finished?'); } catch (e) { return new Response(e.message + ' after ' + (Date.now() - t0)); } }
      return Response.json(await env.DB.prepare('SELECT count(*) AS n FROM k').first());
    } };`;
    const toml = manifestFor('d1-spin', 'index.js', 'd1_databases = [{ binding = "DB", database_name = "spin" }]\n[limits]\nwall_ms = 30000');
    expect((await t.deploy('d1-spin', { toml, modules: { 'index.js': worker } })).status).toBe(201);
    expect((await t.get('d1-spin', '/setup')).text).toBe('ok');
    const other = t.get('d1-spin', '/spin');
    // While the runaway runs, the host still answers (other databases, other workers).
    const hello = `export default { fetch() { return new Response('alive'); } };`;
    expect((await t.deploy('alive', { modules: { 'index.js': hello } })).status).toBe(201);
    expect((await t.get('alive')).text).toBe('alive');
    const spun = (await other).text;
    expect(spun).toMatch(/^D1_ERROR: the statement ran for more than 800 ms \(the D1 statement time limit\) and was interrupted: SQLITE_INTERRUPT after \d+$/);
    const ms = Number(spun.split(' after ')[1]);
    expect(ms).toBeGreaterThanOrEqual(800);
    expect(ms).toBeLessThan(5000);
    // The acknowledged row is still there on the reloaded database.
    expect(JSON.parse((await t.get('d1-spin', '/')).text)).toEqual({ n: 1 });
  }, 60_000);

  it('a runaway plain SELECT (answered on the host thread when it can be) is stopped: the host thread is held for its read budget at most', async () => {
    const worker = `export default { async fetch(req, env) {
      const step = new URL(req.url).pathname;
      if (step === '/setup') { await env.DB.exec('CREATE TABLE IF NOT EXISTS r (v INTEGER); DELETE FROM r; INSERT INTO r WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200) SELECT x FROM c'); return new Response('ok'); }
      if (step === '/spin') { const t0 = Date.now(); try { await env.DB.prepare('SELECT count(*) FROM r a, r b, r c, r d, r e, r f').all(); return new Response('finished?'); } catch (e) { return new Response(e.message + ' after ' + (Date.now() - t0)); } }
      return Response.json(await env.DB.prepare('SELECT count(*) AS n FROM r').first());
    } };`;
    const toml = manifestFor('d1-spin-select', 'index.js', 'd1_databases = [{ binding = "DB", database_name = "spin-select" }]\n[limits]\nwall_ms = 30000');
    expect((await t.deploy('d1-spin-select', { toml, modules: { 'index.js': worker } })).status).toBe(201);
    expect((await t.get('d1-spin-select', '/setup')).text).toBe('ok');
    expect(JSON.parse((await t.get('d1-spin-select', '/')).text)).toEqual({ n: 200 });
    // The host runs in this process: the longest gap between ticks is how long its thread was held.
    let last = performance.now();
    let longest = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    try {
      const spun = (await t.get('d1-spin-select', '/spin')).text;
      expect(spun).toMatch(/^D1_ERROR: the statement ran for more than 800 ms \(the D1 statement time limit\) and was interrupted: SQLITE_INTERRUPT after \d+$/);
    } finally {
      clearInterval(ticker);
    }
    // The read budget on the host thread is 20 ms; the rest ran on the database's own thread.
    expect(longest).toBeLessThan(400);
    expect(JSON.parse((await t.get('d1-spin-select', '/')).text)).toEqual({ n: 200 });
  }, 60_000);

  it('the database size limit and rows per query fail with clear errors and keep what was there', async () => {
    const worker = `export default { async fetch(req, env) {
      const step = new URL(req.url).pathname;
      try {
        if (step === '/setup') { await env.DB.exec('CREATE TABLE IF NOT EXISTS big (b BLOB)'); return new Response('ok'); }
        if (step === '/fill') { for (let i = 0; i < 100; i++) await env.DB.prepare('INSERT INTO big VALUES (randomblob(20000))').run(); return new Response('filled?'); }
        if (step === '/rows') { await env.DB.prepare('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60) SELECT x FROM c').all(); return new Response('rows?'); }
        if (step === '/rows50') { return Response.json((await env.DB.prepare('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50) SELECT x FROM c').all()).results.length); }
        return Response.json(await env.DB.prepare('SELECT count(*) AS n FROM big').first());
      } catch (e) { return new Response(e.message, { status: 500 }); }
    } };`;
    const toml = manifestFor('d1-full', 'index.js', 'd1_databases = [{ binding = "DB", database_name = "full" }]\n[limits]\ncpu_ms = 1000');
    expect((await t.deploy('d1-full', { toml, modules: { 'index.js': worker } })).status).toBe(201);
    expect((await t.get('d1-full', '/setup')).text).toBe('ok');
    const full = await t.get('d1-full', '/fill');
    expect(full.status).toBe(500);
    expect(full.text).toBe(`D1_ERROR: the database is full: it may hold at most ${LIMITS.databaseBytes} bytes (the D1 database size limit): SQLITE_FULL`);
    const n = JSON.parse((await t.get('d1-full', '/')).text).n;
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(26);
    const rows = await t.get('d1-full', '/rows');
    expect(rows.text).toBe('D1_ERROR: the statement returned more than 50 rows (the limit per query); add a LIMIT: SQLITE_TOOBIG');
    expect((await t.get('d1-full', '/rows50')).text).toBe('50');
  }, 60_000);

  it('refuses a d1_databases entry without a database, naming the key', async () => {
    const res = await t.deploy('d1-bad', { toml: manifestFor('d1-bad', 'index.js', 'd1_databases = [{ binding = "DB" }]'), modules: { 'index.js': 'export default { fetch() { return new Response("x"); } };' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('names no database');
  });
});
