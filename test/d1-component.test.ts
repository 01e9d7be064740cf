// D1 for WebAssembly components through a real host: every function of the sql interface through @edge/guest/d1
// (prepare/bind/all/first/raw/run, batch, exec, dump, bookmark), each SQLite type through the component both ways,
// batch atomicity, SQL errors logged before the trap, examples/d1-todo-as's REST API on the schema of its migration,
// a JS worker on the same database_id seeing the component's rows, and the deploy-time refusal of a component that
// imports sql without a d1_databases binding.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

/** An AssemblyScript worker calling every function of @edge/guest/d1; the path names the step. */
const API_WORKER = String.raw`// Every function of @edge/guest/d1, step by step (the path names the step); answers JSON.
import { Request, Response, jsonString } from "@edge/guest";
import { D1Database, D1ExecResult, D1Meta, D1PreparedStatement, D1Result, D1Row, SqlValue } from "@edge/guest/d1";

class J {
  parts: Array<string> = new Array<string>();
  add(name: string, raw: string): J {
    this.parts.push(jsonString(name) + ":" + raw);
    return this;
  }
  str(name: string, v: string | null): J {
    return this.add(name, v == null ? "null" : jsonString(v));
  }
  bool(name: string, v: bool): J {
    return this.add(name, v ? "true" : "false");
  }
  toString(): string {
    return "{" + this.parts.join(",") + "}";
  }
}

function bytes(b: Uint8Array | null): string {
  if (b == null) return "null";
  const parts = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) parts[i] = b[i].toString();
  return "[" + parts.join(",") + "]";
}

function kinds(values: Array<SqlValue>): string {
  const k = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) k[i] = jsonString(values[i].kindName);
  return "[" + k.join(",") + "]";
}

function count(db: D1Database, table: string): i64 {
  return db.prepare("SELECT count(*) AS n FROM " + table).first()!.getInteger("n");
}

export function fetch(request: Request): Response {
  const db = D1Database.open("DB");
  const step = request.path.substring(1);
  const q = request.searchParams;
  const out = new J();
  if (step == "types") {
    db.exec("DROP TABLE IF EXISTS typed; CREATE TABLE typed (k TEXT PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n)");
    const blob = new Uint8Array(256);
    for (let i = 0; i < 256; i++) blob[i] = <u8>i;
    const insert = db.prepare("INSERT INTO typed (k, i, r, t, b, n) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind([SqlValue.text("max"), SqlValue.integer(I64.MAX_VALUE), SqlValue.real(3.25), SqlValue.text("grüße \"quoted\" 🎉\n"), SqlValue.blob(blob), SqlValue.null()]).run();
    insert.bind([SqlValue.text("min"), SqlValue.integer(I64.MIN_VALUE), SqlValue.real(-1.5e300), SqlValue.text(""), SqlValue.blob(new Uint8Array(0)), SqlValue.boolean(true)]).run();
    // Named and numbered placeholders.
    db.prepare("INSERT INTO typed (k, i, r) VALUES (?1, ?2, ?2)").bind([SqlValue.text("numbered"), SqlValue.integer(7)]).run();
    db.prepare("INSERT INTO typed (k, t) VALUES (:k, :t)").bind([SqlValue.text("named"), SqlValue.text("by name")]).run();
    const all = db.prepare("SELECT k, i, r, t, b, n, typeof(i) AS ti, typeof(r) AS tr, typeof(t) AS tt, typeof(b) AS tb, typeof(n) AS tn FROM typed ORDER BY k").all();
    out.add("columns", "[" + all.columns.map<string>((c: string) => jsonString(c)).join(",") + "]");
    out.bool("success", all.success);
    const rows = new Array<string>();
    for (let i = 0; i < all.results.length; i++) {
      const row = all.results[i];
      const j = new J().str("k", row.getString("k"));
      j.str("i", row.isNull("i") ? null : row.getInteger("i").toString());
      j.add("r", row.isNull("r") ? "null" : row.getReal("r").toString());
      j.str("t", row.getStringOrNull("t"));
      j.add("b", bytes(row.getBlobOrNull("b")));
      j.str("n", row.get("n").toString());
      j.add("kinds", kinds(row.values));
      j.str("sqlTypes", row.getString("ti") + "," + row.getString("tr") + "," + row.getString("tt") + "," + row.getString("tb") + "," + row.getString("tn"));
      rows.push(j.toString());
    }
    out.add("rows", "[" + rows.join(",") + "]");
    const max = db.prepare("SELECT i, r, b, t FROM typed WHERE k = ?").bind([SqlValue.text("max")]).first()!;
    out.bool("blobRoundTrip", max.getBlob("b").length == 256 && max.getBlob("b")[255] == 255);
    out.str("text", max.getString("t"));
    out.add("asRealOfInteger", max.get("i").asReal.toString());
    out.str("maxJson", max.toJson());
    out.bool("has", max.has("i") && !max.has("nope"));
    out.bool("boolean", db.prepare("SELECT n FROM typed WHERE k = 'min'").first()!.getBoolean("n"));
    const raw = db.prepare("SELECT i, t FROM typed WHERE k = ?").bind([SqlValue.text("named")]).raw();
    out.add("raw", "[" + raw.map<string>((r: Array<SqlValue>) => "[" + r.map<string>((v: SqlValue) => v.toJson()).join(",") + "]").join(",") + "]");
    out.bool("firstOfNone", db.prepare("SELECT * FROM typed WHERE k = 'none'").first() == null);
    // A value bound and selected straight back, for each kind (no table in between).
    const echo = db.prepare("SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e").bind([SqlValue.integer(-42), SqlValue.real(0.1), SqlValue.text("x"), SqlValue.blob(blob.subarray(1, 4)), SqlValue.null()]).first()!;
    out.add("echo", kinds(echo.values)).str("echoJson", echo.toJson());
    out.add("asInteger", echo.get("a").asInteger.toString()).add("asReal", echo.get("b").asReal.toString());
    out.str("asText", echo.get("c").asText).add("asBlob", bytes(echo.get("d").asBlob)).bool("isNull", echo.get("e").isNull);
    out.add("resultJson", db.prepare("SELECT 1 AS one, 'two' AS two").all().toJson());
    out.add("kindConstants", "[" + SqlValue.NULL.toString() + "," + SqlValue.INTEGER.toString() + "," + SqlValue.REAL.toString() + "," + SqlValue.TEXT.toString() + "," + SqlValue.BLOB.toString() + "]");
    out.bool("kindOfReal", echo.get("b").kind == SqlValue.REAL);
    const twice = db.prepare("SELECT 1 AS a, 2 AS a").first()!;
    out.add("sameName", twice.getInteger("a").toString()).add("sameNameValues", twice.values.length.toString());
  } else if (step == "meta") {
    db.exec("DROP TABLE IF EXISTS m; CREATE TABLE m (id INTEGER PRIMARY KEY, v INTEGER)");
    const a = db.prepare("INSERT INTO m (v) VALUES (?), (?), (?)").bind([SqlValue.integer(1), SqlValue.integer(2), SqlValue.integer(3)]).run();
    out.add("insert", a.toJson()).add("insertLastRowId", a.lastRowId.toString()).add("insertChanges", a.changes.toString());
    out.add("insertWritten", a.rowsWritten.toString()).bool("insertChanged", a.changedDb).bool("sizeAfter", a.sizeAfter > 0).bool("duration", a.duration >= 0);
    const u = db.prepare("UPDATE m SET v = v + 10 WHERE v >= ?").bind([SqlValue.integer(2)]).run();
    out.add("updateChanges", u.changes.toString());
    const s = db.prepare("SELECT * FROM m").all();
    out.add("selectChanges", s.meta.changes.toString()).add("selectRead", s.meta.rowsRead.toString()).bool("selectChanged", s.meta.changedDb);
    const d = db.prepare("DELETE FROM m WHERE id = ?").bind([SqlValue.integer(99)]).run();
    out.add("deleteNone", d.changes.toString());
  } else if (step == "batch") {
    db.exec("CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    const ins = db.prepare("INSERT INTO b (v) VALUES (?)");
    const stmts = new Array<D1PreparedStatement>();
    stmts.push(ins.bind([SqlValue.text("one")]));
    stmts.push(ins.bind([SqlValue.text("two")]));
    stmts.push(db.prepare("SELECT count(*) AS n FROM b"));
    if (q.get("fail") == "1") stmts.push(ins.bind([SqlValue.null()]));
    const results: Array<D1Result> = db.batch(stmts);
    out.add("results", results.length.toString()).add("secondId", results[1].meta.lastRowId.toString()).add("countInside", results[2].results[0].getInteger("n").toString());
  } else if (step == "count") {
    out.add("n", count(db, q.get("table")!).toString());
  } else if (step == "exec") {
    const r: D1ExecResult = db.exec("DROP TABLE IF EXISTS e;\nCREATE TABLE e (x);\nINSERT INTO e VALUES (1);\nINSERT INTO e VALUES (2);");
    out.add("count", r.count.toString()).bool("duration", r.duration >= 0).add("rows", count(db, "e").toString());
  } else if (step == "dump") {
    const file = db.dump();
    const header = String.UTF8.decode(file.slice(0, 15).buffer);
    out.str("header", header).bool("size", file.length >= 512);
    const b1 = db.bookmark();
    db.exec("CREATE TABLE IF NOT EXISTS bm (x); INSERT INTO bm VALUES (1)");
    const b2 = db.bookmark();
    out.bool("bookmark", b1.length > 0).bool("bookmarkMoves", b1 != b2);
  } else if (step == "fail") {
    const what = q.get("case")!;
    if (what == "grant") D1Database.open("NOPE");
    else if (what == "table") db.prepare("SELECT * FROM no_such_table").all();
    else if (what == "syntax") db.prepare("SELEC 1").run();
    else if (what == "constraint") {
      db.exec("CREATE TABLE IF NOT EXISTS u (k TEXT PRIMARY KEY)");
      db.prepare("INSERT OR REPLACE INTO u VALUES ('a')").run();
      db.prepare("INSERT INTO u VALUES ('a')").run();
    } else if (what == "exec") db.exec("CREATE TABLE IF NOT EXISTS x1 (a); INSERT INTO nowhere VALUES (1)");
    else if (what == "column") db.prepare("SELECT 1 AS a").first()!.get("b");
    else if (what == "kind") db.prepare("SELECT 1 AS a").first()!.getString("a");
    else if (what == "null") db.prepare("SELECT NULL AS a").first()!.getInteger("a");
    else if (what == "value") SqlValue.text("x").asInteger;
    out.str("survived", what);
  }
  db.close();
  return Response.json(out.toString());
}
`;

const API_TOML = `name = "d1-api-as"
main = "index.ts"
compatibility_date = "2026-11-01"
d1_databases = [{ binding = "DB", database_name = "api", database_id = "api-db" }]
[build]
language = "assemblyscript"
[limits]
cpu_ms = 2000
`;

/** A JS worker on the todo example's database (same database_id). */
const COUNT_JS = `export default {
  async fetch(req, env) {
    if (req.method === 'POST') await env.DB.prepare("INSERT INTO todos (title, done) VALUES (?, ?)").bind(await req.text(), 1).run();
    const r = await env.DB.prepare("SELECT count(*) AS n FROM todos").first();
    return Response.json(r);
  },
};`;
const COUNT_TOML = `name = "todo-count-js"
main = "index.js"
compatibility_date = "2026-11-01"
d1_databases = [{ binding = "DB", database_name = "todo", database_id = "todo-db" }]
`;

describe('D1 for components (edge:platform/sql, @edge/guest/d1)', () => {
  let t: TestHost;
  let apiDir: string;
  const logs: string[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    apiDir = await mkdtemp(join(tmpdir(), 'edge-d1-as-'));
    await writeFile(join(apiDir, 'index.ts'), API_WORKER);
    await writeFile(join(apiDir, 'wrangler.toml'), API_TOML);
    for (const dir of [apiDir, 'examples/d1-todo-as']) {
      const r = await t.admin('POST', '/v1/workers', await collectUpload(dir));
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const js = await t.deploy('todo-count-js', { toml: COUNT_TOML, modules: { 'index.js': COUNT_JS } });
    expect(js.status, JSON.stringify(js.body)).toBe(201);
    for (const name of ['d1-api-as', 'd1-todo-as']) t.host.logs.subscribe(name, (e) => logs.push(e.message));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (apiDir) await rm(apiDir, { recursive: true, force: true });
  });
  const step = async (path: string) => {
    const r = await t.get('d1-api-as', path);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text);
  };
  /** The request traps (500) after logging a line that matches `message`. */
  const fails = async (name: string, path: string, message: RegExp) => {
    logs.length = 0;
    const r = await t.get(name, path);
    expect(r.status, `${path}: ${r.text}`).toBe(500);
    await expect.poll(() => logs.join('\n'), { timeout: 2000 }).toMatch(message);
  };
  /**
   * The worker's migrations (`migrations/*.sql`), applied in order to the database through the host's SQL store, as
   * `wrangler d1 migrations apply` would (the CLI has no such command yet).
   */
  const applyMigrations = async (dir: string, databaseId: string) => {
    const files = (await readdir(join(dir, 'migrations'))).filter((f) => f.endsWith('.sql')).sort();
    expect(files).toContain('0001_create_todos.sql');
    for (const f of files) await t.host.sql.database(databaseId).exec(await readFile(join(dir, 'migrations', f), 'utf8'));
  };
  const todo = async (method: string, path: string, body?: unknown) => {
    const r = await t.get('d1-todo-as', path, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: r.status, json: r.text === '' ? undefined : JSON.parse(r.text), type: r.headers['content-type'] };
  };

  it('d1-todo-as: every route of the todo API, on the schema of migrations/0001_create_todos.sql', async () => {
    await applyMigrations('examples/d1-todo-as', 'todo-db');
    expect(await todo('GET', '/todos')).toEqual({ status: 200, json: [], type: 'application/json' });
    const milk = await todo('POST', '/todos', { title: 'milk' });
    expect(milk).toEqual({ status: 201, json: { id: 1, title: 'milk', done: false }, type: 'application/json' });
    expect(await todo('POST', '/todos', { title: 'Brötchen "frisch" 🥐' })).toEqual({ status: 201, json: { id: 2, title: 'Brötchen "frisch" 🥐', done: false }, type: 'application/json' });
    expect((await todo('POST', '/todos', { title: 'eggs' })).json.id).toBe(3);
    for (const bad of [{}, { title: '' }, { title: '   ' }, { title: 5 }, { title: null }, '{"title":', 'not json', '[1]']) {
      const r = await todo('POST', '/todos', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.json.error).toBe(typeof bad === 'string' && bad !== '' ? 'the body must be a JSON object' : 'title must be a non-empty string');
    }
    expect(await todo('GET', '/todos/1')).toEqual({ status: 200, json: { id: 1, title: 'milk', done: false }, type: 'application/json' });
    expect(await todo('GET', '/todos/99')).toMatchObject({ status: 404, json: { error: 'no todo 99' } });
    expect((await todo('GET', '/todos/abc')).status).toBe(404);
    expect(await todo('PATCH', '/todos/1', { done: true })).toEqual({ status: 200, json: { id: 1, title: 'milk', done: true }, type: 'application/json' });
    expect((await todo('PATCH', '/todos/1', { title: 'oat milk' })).json).toEqual({ id: 1, title: 'oat milk', done: true });
    expect((await todo('PATCH', '/todos/1', { done: false, title: 'soy milk' })).json).toEqual({ id: 1, title: 'soy milk', done: false });
    expect((await todo('PATCH', '/todos/1', {})).json).toEqual({ id: 1, title: 'soy milk', done: false });
    expect(await todo('PATCH', '/todos/1', { done: 'yes' })).toMatchObject({ status: 400, json: { error: 'done must be a boolean' } });
    expect(await todo('PATCH', '/todos/1', { title: 7 })).toMatchObject({ status: 400, json: { error: 'title must be a non-empty string' } });
    expect((await todo('PATCH', '/todos/99', { done: true })).status).toBe(404);
    expect(await todo('GET', '/todos/1')).toMatchObject({ json: { id: 1, title: 'soy milk', done: false } });
    expect(await todo('DELETE', '/todos/2')).toEqual({ status: 204, json: undefined, type: undefined });
    expect((await todo('DELETE', '/todos/2')).status).toBe(404);
    expect((await todo('GET', '/todos/2')).status).toBe(404);
    expect((await todo('GET', '/todos')).json).toEqual([{ id: 1, title: 'soy milk', done: false }, { id: 3, title: 'eggs', done: false }]);
    expect((await todo('PUT', '/todos')).status).toBe(405);
    expect((await todo('POST', '/todos/1')).status).toBe(405);
    expect((await todo('GET', '/elsewhere')).status).toBe(404);
    // AUTOINCREMENT: a deleted id is not given again.
    expect((await todo('POST', '/todos', { title: 'bread' })).json).toEqual({ id: 4, title: 'bread', done: false });
    // What the component stored: done as INTEGER 0/1, created_at from the default.
    const rows = (await t.host.sql.database('todo-db').query({ sql: 'SELECT id, done, typeof(done) AS t, created_at FROM todos ORDER BY id', params: [] })).rows;
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual([[1n, 0n, 'integer'], [3n, 0n, 'integer'], [4n, 0n, 'integer']]);
    expect(rows[0]![3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("d1-todo-as on a database without the migration creates the migration's table; a SQL error in it is a logged 500", async () => {
    const upload = await collectUpload('examples/d1-todo-as');
    const content = upload.manifest.content.replace('database_id = "todo-db"', 'database_id = "todo-fresh"').replace('name = "d1-todo-as"', 'name = "d1-todo-fresh"');
    expect(content).toContain('"todo-fresh"');
    const r = await t.admin('POST', '/v1/workers', { ...upload, manifest: { ...upload.manifest, content } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    t.host.logs.subscribe('d1-todo-fresh', (e) => logs.push(e.message));
    const list = await t.get('d1-todo-fresh', '/todos');
    expect([list.status, list.text]).toEqual([200, '[]']);
    const schema = async (id: string) => (await t.host.sql.database(id).query({ sql: "SELECT sql FROM sqlite_master WHERE name = 'todos'", params: [] })).rows;
    const migrated = await schema('todo-db');
    expect(migrated).toHaveLength(1);
    expect(await schema('todo-fresh')).toEqual(migrated);
    // A table the worker's statements do not fit: SQLite's reason in the log, a 500 for the client.
    await t.host.sql.database('todo-fresh').exec('DROP TABLE todos; CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL)');
    await fails('d1-todo-fresh', '/todos', /D1 query "SELECT id, title, done FROM todos ORDER BY id" failed: invalid SQL: no such column: done/);
  });

  it('a JS worker bound to the same database_id sees the rows the component wrote, and the component sees its', async () => {
    const before = (await todo('GET', '/todos')).json.length;
    expect(before).toBeGreaterThan(0);
    const count = async () => {
      const res = await t.get('todo-count-js', '/');
      expect(res.status, res.text).toBe(200);
      return JSON.parse(res.text);
    };
    expect(await count()).toEqual({ n: before });
    await todo('POST', '/todos', { title: 'from AS' });
    expect(await count()).toEqual({ n: before + 1 });
    // Written by the JS worker, read through the component.
    const r = await t.get('todo-count-js', '/', { method: 'POST', body: 'from JS' });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ n: before + 2 });
    const list = (await todo('GET', '/todos')).json;
    expect(list).toHaveLength(before + 2);
    expect(list.at(-2)).toMatchObject({ title: 'from AS', done: false });
    expect(list.at(-1)).toMatchObject({ title: 'from JS', done: true });
  });

  it('maps every SQLite type through the component both ways: integer (64 bits), real, text, blob, null', async () => {
    const o = await step('/types');
    expect(o.columns).toEqual(['k', 'i', 'r', 't', 'b', 'n', 'ti', 'tr', 'tt', 'tb', 'tn']);
    expect(o.success).toBe(true);
    const bytes = Array.from({ length: 256 }, (_, i) => i);
    expect(o.rows).toEqual([
      { k: 'max', i: '9223372036854775807', r: 3.25, t: 'grüße "quoted" 🎉\n', b: bytes, n: 'null', kinds: ['text', 'integer', 'real', 'text', 'blob', 'null', 'text', 'text', 'text', 'text', 'text'], sqlTypes: 'integer,real,text,blob,null' },
      { k: 'min', i: '-9223372036854775808', r: -1.5e300, t: '', b: [], n: '1', kinds: ['text', 'integer', 'real', 'text', 'blob', 'integer', 'text', 'text', 'text', 'text', 'text'], sqlTypes: 'integer,real,text,blob,integer' },
      { k: 'named', i: null, r: null, t: 'by name', b: null, n: 'null', kinds: ['text', 'null', 'null', 'text', 'null', 'null', 'text', 'text', 'text', 'text', 'text'], sqlTypes: 'null,null,text,null,null' },
      { k: 'numbered', i: '7', r: 7, t: null, b: null, n: 'null', kinds: ['text', 'integer', 'real', 'null', 'null', 'null', 'text', 'text', 'text', 'text', 'text'], sqlTypes: 'integer,real,null,null,null' },
    ]);
    expect(o.blobRoundTrip).toBe(true);
    expect(o.text).toBe('grüße "quoted" 🎉\n');
    expect(o.asRealOfInteger).toBe(9223372036854775807);
    expect(o.maxJson).toBe(JSON.stringify({ i: 0, r: 3.25, b: bytes, t: 'grüße "quoted" 🎉\n' }).replace('"i":0', '"i":9223372036854775807'));
    expect(o.has).toBe(true);
    expect(o.boolean).toBe(true);
    expect(o.raw).toEqual([[null, 'by name']]);
    expect(o.firstOfNone).toBe(true);
    expect(o.echo).toEqual(['integer', 'real', 'text', 'blob', 'null']);
    expect(JSON.parse(o.echoJson)).toEqual({ a: -42, b: 0.1, c: 'x', d: [1, 2, 3], e: null });
    expect([o.asInteger, o.asReal, o.asText, o.asBlob, o.isNull]).toEqual([-42, 0.1, 'x', [1, 2, 3], true]);
    expect(o.resultJson).toEqual([{ one: 1, two: 'two' }]);
    expect(o.kindConstants).toEqual([0, 1, 2, 3, 4]);
    expect(o.kindOfReal).toBe(true);
    expect([o.sameName, o.sameNameValues]).toEqual([2, 2]);
    // What the component stored is what the host's store reads: the same values, the same types.
    const rows = (await t.host.sql.database('api-db').query({ sql: 'SELECT i, r, t, b FROM typed WHERE k = ?', params: ['max'] })).rows;
    expect(rows).toEqual([[9223372036854775807n, 3.25, 'grüße "quoted" 🎉\n', new Uint8Array(bytes)]]);
  });

  it('run() and all() give D1 meta: changes, last row id, rows read and written, changed db, size', async () => {
    const o = await step('/meta');
    expect(o).toMatchObject({ insertLastRowId: 3, insertChanges: 3, insertWritten: 3, insertChanged: true, sizeAfter: true, duration: true, updateChanges: 2, selectChanges: 0, selectRead: 3, selectChanged: false, deleteNone: 0 });
    expect(o.insert).toMatchObject({ changes: 3, last_row_id: 3, rows_written: 3, changed_db: true });
    expect(Object.keys(o.insert)).toEqual(['changes', 'last_row_id', 'rows_read', 'rows_written', 'changed_db', 'size_after', 'duration']);
  });

  it('batch runs its statements in one transaction: a failing statement rolls back the ones before it', async () => {
    const ok = await step('/batch');
    expect(ok).toEqual({ results: 3, secondId: 2, countInside: 2 });
    expect(await step('/count?table=b')).toEqual({ n: 2 });
    await fails('d1-api-as', '/batch?fail=1', /D1 batch of 4 statements failed: constraint failed: NOT NULL constraint failed: b\.v/);
    // Neither of the two inserts before the failing one stayed.
    expect(await step('/count?table=b')).toEqual({ n: 2 });
    expect(await step('/batch')).toEqual({ results: 3, secondId: 4, countInside: 4 });
  });

  it('exec runs several statements; dump gives the SQLite file; bookmarks move with writes', async () => {
    expect(await step('/exec')).toEqual({ count: 4, duration: true, rows: 2 });
    expect(await step('/dump')).toEqual({ header: 'SQLite format 3', size: true, bookmark: true, bookmarkMoves: true });
  });

  it('reports SQL errors and misuse: logged with the reason, then the request traps; the worker serves again', async () => {
    const cases: Record<string, RegExp> = {
      grant: /D1 open failed: no D1 database is bound as "NOPE" \(d1_databases/,
      table: /D1 query "SELECT \* FROM no_such_table" failed: invalid SQL: no such table: no_such_table/,
      syntax: /D1 query "SELEC 1" failed: invalid SQL: .*syntax error/,
      constraint: /D1 query "INSERT INTO u VALUES \('a'\)" failed: constraint failed: UNIQUE constraint failed: u\.k/,
      exec: /D1 exec "CREATE TABLE IF NOT EXISTS x1 \(a\); INSERT INTO nowhere VALUES \(1\)" failed: invalid SQL: .*no such table: nowhere/,
      column: /D1 row: no column "b" in the result \(columns: a\)/,
      kind: /D1 row: column "a" is integer, not text/,
      null: /D1 row: column "a" is null, not integer/,
      value: /D1 value: text is not an integer/,
    };
    for (const [name, message] of Object.entries(cases)) await fails('d1-api-as', `/fail?case=${name}`, message);
    // exec is one transaction: the CREATE before the failing INSERT did not stay.
    await fails('d1-api-as', '/count?table=x1', /no such table: x1/);
    expect(await step('/count?table=b')).toEqual({ n: 4 });
  });

  it('refuses a component that imports sql without a d1_databases binding', async () => {
    const upload = await collectUpload('examples/d1-todo-as');
    const content = upload.manifest.content.replace(/^d1_databases.*$/m, '').replace('name = "d1-todo-as"', 'name = "d1-ungranted"');
    expect(content).not.toContain('d1_databases');
    const r = await t.admin('POST', '/v1/workers', { ...upload, manifest: { ...upload.manifest, content } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(r.body.error.message).toContain('edge:platform/sql');
    expect(r.body.error.message).toContain('d1_databases = [{ binding = "DB"');
    expect((await t.get('d1-ungranted', '/todos')).status).toBe(404);
  });

  it('the todos outlive a host restart', async () => {
    const before = (await todo('GET', '/todos')).json;
    await t.restart();
    expect((await todo('GET', '/todos')).json).toEqual(before);
  });
});
