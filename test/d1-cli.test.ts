// `edge d1` and the admin API's D1 routes against a real host: migrations (numbering, applied once each, a failing one
// stopping the run), execute (tables, files, JSON), export and its round trip into a fresh database, list, errors; then
// examples/d1-todo-js and projects shaped like Cloudflare's d1-template, d1-starter-sessions-api-template and
// chanfana-openapi-template (with the real durable-utils, chanfana, hono and zod), each migrated and deployed from its directory.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const EDGE = join(ROOT, 'host/cli/edge.mjs');

interface Run { code: number | null; out: string; err: string }

let t: TestHost;
const dirs: string[] = [];

/** Runs `edge <args>` in `cwd` against the test host (its URL and token from the environment, as a user may give them). */
function edge(args: string[], cwd: string = ROOT): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', EDGE_ADMIN_URL: t.host.adminUrl, EDGE_ADMIN_TOKEN: t.host.adminToken };
  delete env['NODE_OPTIONS'];
  const child = spawn(NODE, [EDGE, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => res({ code, out, err }));
  });
}

async function ok(args: string[], cwd?: string): Promise<Run> {
  const r = await edge(args, cwd);
  if (r.code !== 0) throw new Error(`edge ${args.join(' ')} exited with ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

async function fails(args: string[], cwd?: string): Promise<Run> {
  const r = await edge(args, cwd);
  if (r.code === 0) throw new Error(`edge ${args.join(' ')} should have failed\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

/** A temporary project directory holding `files`. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-d1-cli-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** The rows of `sql` on database `id`, through the admin API. */
async function rows(id: string, sql: string, params: unknown[] = []): Promise<unknown[][]> {
  const r = await t.admin('POST', `/v1/d1/${id}/query`, { sql, params });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.rows;
}

beforeAll(async () => {
  t = await startTestHost();
}, 60_000);

afterAll(async () => {
  await t?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('admin API /v1/d1', () => {
  it('queries with JSON parameters and answers values as JSON: INTEGER, REAL, TEXT, NULL, BLOB as bytes, big integers as strings', async () => {
    const r = await t.admin('POST', '/v1/d1/api-db/query', {
      sql: 'SELECT ? AS i, ? AS r, ? AS s, ? AS n, ? AS b, ? AS yes, typeof(?) AS ti, typeof(?) AS tr, typeof(?) AS ts, 9007199254740993 AS big, -9007199254740991 AS small',
      params: [42, 2.5, 'text', null, [0, 1, 255], true, 7, 7.5, '5'],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.columns).toEqual(['i', 'r', 's', 'n', 'b', 'yes', 'ti', 'tr', 'ts', 'big', 'small']);
    expect(r.body.rows).toEqual([[42, 2.5, 'text', null, [0, 1, 255], 1, 'integer', 'real', 'text', '9007199254740993', -9007199254740991]]);
    expect(r.body.meta).toMatchObject({ changes: 0, rowsRead: 1, changedDb: false });
  });

  it('runs batches atomically and exec as one transaction, and reports SQL errors as E_D1_SQL with SQLite words', async () => {
    expect((await t.admin('POST', '/v1/d1/api-db/exec', { sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v); INSERT INTO kv VALUES (\'a\', 1)' })).body).toMatchObject({ count: 2 });
    const batch = await t.admin('POST', '/v1/d1/api-db/batch', {
      statements: [{ sql: 'INSERT INTO kv VALUES (?, ?)', params: ['b', 2] }, { sql: 'SELECT k, v FROM kv ORDER BY k' }],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.results[0].meta).toMatchObject({ changes: 1, changedDb: true });
    expect(batch.body.results[1].rows).toEqual([['a', 1], ['b', 2]]);

    const failed = await t.admin('POST', '/v1/d1/api-db/batch', { statements: [{ sql: "INSERT INTO kv VALUES ('c', 3)" }, { sql: "INSERT INTO kv VALUES ('a', 9)" }] });
    expect(failed.status).toBe(400);
    expect(failed.body.error).toEqual({
      code: 'E_D1_SQL',
      message: 'UNIQUE constraint failed: kv.k: SQLITE_CONSTRAINT_PRIMARYKEY',
      details: { database: 'api-db', sqlCode: 'constraint', sqliteCode: 'SQLITE_CONSTRAINT_PRIMARYKEY', statement: 2 },
    });
    expect(await rows('api-db', 'SELECT count(*) FROM kv')).toEqual([[2]]);

    const noTable = await t.admin('POST', '/v1/d1/api-db/query', { sql: 'SELECT * FROM nope' });
    expect(noTable.status).toBe(400);
    expect(noTable.body.error.message).toBe('no such table: nope: SQLITE_ERROR');
    const execFailed = await t.admin('POST', '/v1/d1/api-db/exec', { sql: "INSERT INTO kv VALUES ('d', 4); BEGIN" });
    expect(execFailed.body.error).toMatchObject({ code: 'E_D1_SQL', details: { sqliteCode: 'SQLITE_AUTH', statement: 2 } });
    expect(execFailed.body.error.message).toMatch(/^BEGIN is not allowed/);
    expect(await rows('api-db', "SELECT count(*) FROM kv WHERE k = 'd'")).toEqual([[0]]);
    // An empty statement before a refused one does not hide it (";COMMIT" would commit writes the call then reports failed).
    const hidden = await t.admin('POST', '/v1/d1/api-db/batch', { statements: [{ sql: "INSERT INTO kv VALUES ('e', 5)" }, { sql: ';COMMIT' }] });
    expect(hidden.body.error).toMatchObject({ code: 'E_D1_SQL', details: { sqliteCode: 'SQLITE_AUTH' } });
    expect(hidden.body.error.message).toMatch(/^COMMIT is not allowed/);
    expect((await t.admin('POST', '/v1/d1/api-db/exec', { sql: "SELECT 1;; ATTACH DATABASE 'x.db' AS x" })).body.error.message).toMatch(/^ATTACH is not allowed/);
    expect(await rows('api-db', "SELECT count(*) FROM kv WHERE k = 'e'")).toEqual([[0]]);
  });

  it('refuses bad input and missing tokens, and lists databases', async () => {
    expect((await t.admin('POST', '/v1/d1/api-db/query', { sql: 'SELECT ?', params: [{ a: 1 }] })).body.error.code).toBe('E_REQUEST_INVALID');
    expect((await t.admin('POST', '/v1/d1/api-db/query', { sql: 'SELECT ?', params: [[1, 256]] })).status).toBe(400);
    expect((await t.admin('POST', '/v1/d1/api-db/query', {})).body.error.code).toBe('E_REQUEST_INVALID');
    expect((await t.admin('POST', '/v1/d1/not%20an%20id/query', { sql: 'SELECT 1' })).body.error.code).toBe('E_REQUEST_INVALID');
    expect((await t.admin('POST', '/v1/d1/api-db/query', { sql: 'SELECT 1' }, null)).status).toBe(401);
    expect((await t.admin('GET', '/v1/d1/api-db/export?no-data=1&no-schema=1')).body.error.code).toBe('E_D1_EXPORT');
    const list = await t.admin('GET', '/v1/d1');
    expect(list.body.databases).toContainEqual({ id: 'api-db' });
  });
});

describe('edge d1 migrations', { timeout: 120_000 }, () => {
  const TOML = `name = "app"\nmain = "src/index.js"\ncompatibility_date = "2026-11-01"\nd1_databases = [{ binding = "DB", database_name = "app-db", database_id = "app-db-id", migrations_dir = "db/migrations" }]\n`;

  it('create numbers files in migrations_dir with a header, after the highest number there', async () => {
    const dir = await project({ 'wrangler.toml': TOML });
    const first = await ok(['d1', 'migrations', 'create', 'DB', 'create users'], dir);
    expect(first.out).toContain(join('db', 'migrations', '0001_create_users.sql'));
    const header = await readFile(join(dir, 'db/migrations/0001_create_users.sql'), 'utf8');
    expect(header).toMatch(/^-- Migration number: 0001 \t \d{4}-\d{2}-\d{2}T[\d:.]+Z\n$/);
    // By database_name too.
    await ok(['d1', 'migrations', 'create', 'app-db', 'seed'], dir);
    await writeFile(join(dir, 'db/migrations/0007_by_hand.sql'), 'SELECT 1;');
    await ok(['d1', 'migrations', 'create', 'DB', 'later'], dir);
    expect((await readdir(join(dir, 'db/migrations'))).sort()).toEqual(['0001_create_users.sql', '0002_seed.sql', '0007_by_hand.sql', '0008_later.sql']);

    // No manifest: <db> is an id and the directory is ./migrations.
    const bare = await project({});
    await ok(['d1', 'migrations', 'create', 'some-id', 'init'], bare);
    expect(await readdir(join(bare, 'migrations'))).toEqual(['0001_init.sql']);
  });

  it('list shows what is not applied; apply applies each once, in order, recording it; a later one is applied alone', async () => {
    const dir = await project({
      'wrangler.toml': TOML,
      'db/migrations/0001_create_users.sql': '-- Migration number: 0001\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n',
      // Its last statement has no ";" and is followed by a comment: the record must still be a statement of its own.
      'db/migrations/0002_seed.sql': "INSERT INTO users (name) VALUES ('ada');\nINSERT INTO users (name) VALUES ('grace') -- the second\n",
    });
    const before = await ok(['d1', 'migrations', 'list', 'DB'], dir);
    expect(before.out).toContain('0001_create_users.sql');
    expect(before.out).toContain('0002_seed.sql');

    const applied = await ok(['d1', 'migrations', 'apply', 'DB'], dir);
    expect(applied.out).toMatch(/applied 0001_create_users\.sql\napplied 0002_seed\.sql\n2 migrations applied to DB \(app-db-id\)/);
    expect(await rows('app-db-id', 'SELECT id, name FROM d1_migrations ORDER BY id')).toEqual([[1, '0001_create_users.sql'], [2, '0002_seed.sql']]);
    expect(await rows('app-db-id', 'SELECT name FROM users ORDER BY id')).toEqual([['ada'], ['grace']]);
    expect((await ok(['d1', 'migrations', 'list', 'DB'], dir)).out).toBe('no migrations to apply to DB (app-db-id)\n');

    const again = await ok(['d1', 'migrations', 'apply', 'DB'], dir);
    expect(again.out).toBe('no migrations to apply to DB (app-db-id)\n');
    expect(await rows('app-db-id', 'SELECT count(*) FROM users')).toEqual([[2]]);

    await writeFile(join(dir, 'db/migrations/0003_add_email.sql'), 'ALTER TABLE users ADD COLUMN email TEXT;');
    expect((await ok(['d1', 'migrations', 'list', 'DB'], dir)).out).toMatch(/0003_add_email\.sql/);
    expect((await ok(['d1', 'migrations', 'list', 'DB'], dir)).out).not.toMatch(/0001|0002/);
    const third = await ok(['d1', 'migrations', 'apply', 'DB'], dir);
    expect(third.out).toBe('applied 0003_add_email.sql\n1 migration applied to DB (app-db-id)\n');
    expect(await rows('app-db-id', 'SELECT count(*), max(name) FROM d1_migrations')).toEqual([[3, '0003_add_email.sql']]);
    expect(await rows('app-db-id', "SELECT name FROM pragma_table_info('users') ORDER BY cid")).toEqual([['id'], ['name'], ['email']]);

    // A failing migration stops the run: it is rolled back and not recorded, those before it stay, those after wait.
    await writeFile(join(dir, 'db/migrations/0004_backfill.sql'), "UPDATE users SET email = name || '@example.com';\n");
    await writeFile(join(dir, 'db/migrations/0005_broken.sql'), "INSERT INTO users (name) VALUES ('linus');\nINSERT INTO nope VALUES (1);\n");
    await writeFile(join(dir, 'db/migrations/0006_after.sql'), 'CREATE TABLE after_broken (a);\n');
    const broken = await fails(['d1', 'migrations', 'apply', 'DB'], dir);
    expect(broken.out).toContain('applied 0004_backfill.sql\nfailed  0005_broken.sql');
    expect(broken.err).toContain('error E_D1_MIGRATION_FAILED: migration 0005_broken.sql failed: no such table: nope: SQLITE_ERROR (statement 2)');
    expect(broken.err).toContain(join('db', 'migrations', '0005_broken.sql'));
    expect(await rows('app-db-id', 'SELECT name FROM d1_migrations ORDER BY id')).toEqual([['0001_create_users.sql'], ['0002_seed.sql'], ['0003_add_email.sql'], ['0004_backfill.sql']]);
    expect(await rows('app-db-id', 'SELECT name, email FROM users ORDER BY id')).toEqual([['ada', 'ada@example.com'], ['grace', 'grace@example.com']]);
    expect(await rows('app-db-id', "SELECT count(*) FROM sqlite_schema WHERE name = 'after_broken'")).toEqual([[0]]);
    const pending = JSON.parse((await ok(['d1', 'migrations', 'list', 'DB', '--json'], dir)).out);
    expect(pending.pending).toEqual(['0005_broken.sql', '0006_after.sql']);

    // Fixed, the rest applies.
    await writeFile(join(dir, 'db/migrations/0005_broken.sql'), "INSERT INTO users (name) VALUES ('linus');\n");
    expect((await ok(['d1', 'migrations', 'apply', 'DB'], dir)).out).toBe('applied 0005_broken.sql\napplied 0006_after.sql\n2 migrations applied to DB (app-db-id)\n');
  });

  it('uses migrations_table, --config, and says what is missing', async () => {
    const dir = await project({
      'conf/wrangler.json': JSON.stringify({ name: 'app', main: 'src/index.js', d1_databases: [{ binding: 'MAIN', database_name: 'main-db', migrations_table: 'schema_history' }] }),
      'conf/migrations/0001_t.sql': 'CREATE TABLE t (a);',
    });
    await ok(['d1', 'migrations', 'apply', 'MAIN', '--config', 'conf/wrangler.json'], dir);
    expect(await rows('main-db', 'SELECT name FROM schema_history')).toEqual([['0001_t.sql']]);
    expect(await rows('main-db', "SELECT count(*) FROM sqlite_schema WHERE name = 'd1_migrations'")).toEqual([[0]]);

    const noDir = await project({ 'wrangler.toml': TOML });
    const missing = await fails(['d1', 'migrations', 'apply', 'DB'], noDir);
    expect(missing.err).toContain(`error E_D1_MIGRATIONS_DIR: no migrations directory ${join('db', 'migrations')} for DB (app-db-id) (migrations_dir of DB)`);
    const bad = await fails(['d1', 'migrations', 'list', 'no such db'], noDir);
    expect(bad.err).toContain('error E_D1_DATABASE_UNKNOWN: "no such db" is no D1 database: not a binding or database_name (wrangler.toml declares DB → app-db-id)');
  });
});

describe('edge d1 execute, export, list', { timeout: 120_000 }, () => {
  it('execute --command prints each result as a table, --json as wrangler does', async () => {
    const table = await ok(['d1', 'execute', 'exec-db', '--command', "SELECT 1 AS one, 'a''b' AS two, NULL AS three, x'0102' AS four, 2.5 AS five"]);
    expect(table.out).toMatch(
      new RegExp(
        '^' +
          [
            '┌─────┬─────┬───────┬────────┬──────┐',
            '│ one │ two │ three │ four   │ five │',
            '├─────┼─────┼───────┼────────┼──────┤',
            "│ 1   │ a'b │ null  │ \\[1, 2\\] │ 2\\.5  │",
            '└─────┴─────┴───────┴────────┴──────┘',
            'executed 1 command on exec-db in \\d+ ms \\(1 row read, 0 rows written\\)',
          ].join('\n') +
          '\n$',
      ),
    );
    // The database did not exist: said on stderr, created.
    expect(table.err).toContain('database "exec-db" does not exist on this host yet');

    const several = await ok(['d1', 'execute', 'exec-db', '--command', "CREATE TABLE n (v); INSERT INTO n VALUES (1), (2); SELECT sum(v) AS total FROM n; SELECT v FROM n WHERE v > 5"]);
    expect(several.out).toContain('│ total │\n├───────┤\n│ 3     │\n');
    expect(several.out).toContain('│ v │\n├───┤\n└───┘\n');
    expect(several.out).toMatch(/executed 4 commands on exec-db in \d+ ms \(1 row read, 2 rows written\)/);
    expect(several.err).toBe('');

    const json = JSON.parse((await ok(['d1', 'execute', 'exec-db', '--command', 'SELECT v FROM n ORDER BY v; UPDATE n SET v = v * 10', '--json'])).out);
    expect(json).toEqual([
      { results: [{ v: 1 }, { v: 2 }], success: true, meta: expect.objectContaining({ changes: 0, rows_read: 2, changed_db: false, duration: expect.any(Number) }) },
      { results: [], success: true, meta: expect.objectContaining({ changes: 2, rows_written: 2, changed_db: true }) },
    ]);
    expect(await rows('exec-db', 'SELECT v FROM n ORDER BY v')).toEqual([[10], [20]]);
  });

  it('execute --file runs a file (a trigger inside) in one transaction; an error names the statement and applies nothing', async () => {
    const dir = await project({
      'schema.sql': `-- a schema with a trigger
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE audit (item INTEGER, note TEXT);
CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN
  INSERT INTO audit VALUES (new.id, CASE WHEN new.name LIKE '%;%' THEN 'semi' ELSE 'plain' END);
END;
INSERT INTO items (name) VALUES ('a;b'), ('c');
SELECT item, note FROM audit ORDER BY item;
`,
      'broken.sql': "INSERT INTO items (name) VALUES ('d');\nINSERT INTO items (nope) VALUES (1);\n",
    });
    const r = await ok(['d1', 'execute', 'file-db', '--file', 'schema.sql'], dir);
    expect(r.out).toContain('│ item │ note  │\n├──────┼───────┤\n│ 1    │ semi  │\n│ 2    │ plain │\n');
    expect(r.out).toMatch(/executed 5 commands on file-db in \d+ ms \(2 rows read, 4 rows written\)/);

    const broken = await fails(['d1', 'execute', 'file-db', '--file', 'broken.sql'], dir);
    expect(broken.err).toContain('error E_D1_SQL: statement 2 of 2 failed: table items has no column named nope: SQLITE_ERROR');
    expect(broken.err).toContain('sql: INSERT INTO items (nope) VALUES (1)');
    expect(broken.err).toContain('file: broken.sql');
    expect(await rows('file-db', 'SELECT count(*) FROM items')).toEqual([[2]]);

    const refused = await fails(['d1', 'execute', 'file-db', '--command', "INSERT INTO items (name) VALUES ('e'); BEGIN"], dir);
    expect(refused.err).toMatch(/error E_D1_SQL: statement 2 of 2 failed: BEGIN is not allowed: .*: SQLITE_AUTH/);
    expect(refused.err).toContain('sql: BEGIN');
    expect(await rows('file-db', 'SELECT count(*) FROM items')).toEqual([[2]]);
    expect((await fails(['d1', 'execute', 'file-db', '--file', 'missing.sql'], dir)).err).toContain('error E_FILE_INVALID: cannot read --file missing.sql: ENOENT');
    expect((await fails(['d1', 'execute', 'file-db'], dir)).err).toContain('give the SQL to run with --command');
    expect((await fails(['d1', 'execute', 'file-db', '--command', '-- nothing'], dir)).err).toContain('error E_D1_NO_SQL');
  });

  it('export writes schema then rows; the file read into a fresh database gives the same rows and the same export', async () => {
    const setup = `
CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT, amount REAL, data BLOB, n INTEGER, "odd ""name""" TEXT);
CREATE TABLE pairs (a TEXT, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE INDEX things_label ON things (label);
CREATE VIEW big_things AS SELECT id, label FROM things WHERE amount > 100;
CREATE TRIGGER things_pair AFTER DELETE ON things BEGIN INSERT INTO pairs VALUES ('deleted', old.id); END;
INSERT INTO things (label, amount, data, n, "odd ""name""") VALUES
  (NULL, NULL, NULL, NULL, NULL),
  ('it''s "quoted"; -- not a comment', 0.1, x'00ff10', 4611686018427387904, 'multi
line'),
  ('ünïcødé ✓', -1e300, x'', -7, ''),
  ('tab	and \\ backslash', 1.0, x'deadbeef', 0, 'x');
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 2500) INSERT INTO pairs SELECT 'p' || (i % 7), i FROM seq;
INSERT INTO things (label, amount) VALUES ('gone', 1);
DELETE FROM things WHERE label = 'gone';
`;
    const dir = await project({ 'setup.sql': setup });
    await ok(['d1', 'execute', 'export-src', '--file', 'setup.sql'], dir);
    await ok(['d1', 'export', 'export-src', '--output', 'dump.sql'], dir);
    const dump = await readFile(join(dir, 'dump.sql'), 'utf8');
    const lines = dump.trimEnd().split('\n');
    expect(lines[0]).toBe('PRAGMA defer_foreign_keys=TRUE;');
    expect(lines[1]).toMatch(/^CREATE TABLE things \(/);
    expect(lines[2]).toBe(`INSERT INTO "things" ("id","label","amount","data","n","odd ""name""") VALUES(1,NULL,NULL,NULL,NULL,NULL);`);
    expect(dump).toContain(`INSERT INTO "things" ("id","label","amount","data","n","odd ""name""") VALUES(2,'it''s "quoted"; -- not a comment',0.1,X'00FF10',4611686018427387904,'multi\nline');`);
    expect(dump).toContain("DELETE FROM sqlite_sequence;\nINSERT INTO \"sqlite_sequence\" (\"name\",\"seq\") VALUES('things',5);");
    // Schema objects after the rows: the trigger must not fire on them.
    expect(dump.indexOf('CREATE TRIGGER')).toBeGreaterThan(dump.lastIndexOf('INSERT INTO "pairs"'));
    expect(lines.filter((l) => l.startsWith('INSERT INTO "pairs"'))).toHaveLength(2501);

    await ok(['d1', 'execute', 'export-copy', '--file', 'dump.sql'], dir);
    const compare = [
      'SELECT id, label, amount, data, n, "odd ""name""", typeof(amount), typeof(n), typeof(data) FROM things ORDER BY id',
      'SELECT a, b FROM pairs ORDER BY a, b',
      'SELECT name, seq FROM sqlite_sequence',
      "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
      'SELECT * FROM big_things',
    ];
    for (const sql of compare) expect(await rows('export-copy', sql), sql).toEqual(await rows('export-src', sql));
    expect((await rows('export-copy', 'SELECT count(*) FROM pairs'))[0]).toEqual([2501]);
    // The trigger came across and works.
    await rows('export-copy', "DELETE FROM things WHERE label = 'x'");
    await ok(['d1', 'export', 'export-copy', '--output', 'copy.sql'], dir);
    await rows('export-src', "DELETE FROM things WHERE label = 'x'");
    const again = await ok(['d1', 'export', 'export-src'], dir);
    expect(await readFile(join(dir, 'copy.sql'), 'utf8')).toBe(again.out);

    // --no-data, --no-schema, --table.
    const schemaOnly = (await ok(['d1', 'export', 'export-src', '--no-data'], dir)).out;
    expect(schemaOnly).toMatch(/CREATE TABLE things/);
    expect(schemaOnly).not.toMatch(/INSERT INTO "|DELETE FROM sqlite_sequence/);
    const dataOnly = (await ok(['d1', 'export', 'export-src', '--no-schema'], dir)).out;
    expect(dataOnly).not.toMatch(/CREATE/);
    expect(dataOnly).toMatch(/INSERT INTO "things"/);
    const one = (await ok(['d1', 'export', 'export-src', '--table', 'things'], dir)).out;
    expect(one).toMatch(/CREATE TABLE things[\s\S]*CREATE INDEX things_label[\s\S]*CREATE TRIGGER things_pair/);
    expect(one).not.toMatch(/pairs \(|INSERT INTO "pairs"|big_things/);
    expect((await fails(['d1', 'export', 'export-src', '--table', 'nope'], dir)).err).toContain('error E_D1_EXPORT: database export-src has no table "nope" (its tables and views: things, pairs, big_things)');
    expect((await fails(['d1', 'export', 'export-src', '--no-data', '--no-schema'], dir)).err).toContain('would export nothing');
    expect((await fails(['d1', 'export', 'never-made'], dir)).err).toContain('error E_D1_DATABASE_UNKNOWN: no D1 database "never-made" on the host');
  });

  it('list prints the databases of the host', async () => {
    const r = await ok(['d1', 'list']);
    for (const id of ['api-db', 'exec-db', 'file-db', 'export-src', 'export-copy']) expect(r.out).toContain(`│ ${id} `);
    expect(r.out).not.toContain('never-made');
    expect(JSON.parse((await ok(['d1', 'list', '--json'])).out).databases).toContainEqual({ id: 'export-copy' });
  });
});

describe('D1 projects deployed from their directories', { timeout: 120_000 }, () => {
  it('examples/d1-todo-js: migrations apply DB, deploy, then every route', async () => {
    const dir = join(ROOT, 'examples/d1-todo-js');
    expect((await ok(['d1', 'migrations', 'apply', 'DB'], dir)).out).toContain('applied 0001_create_todos.sql');
    expect((await ok(['deploy', '.'], dir)).out).toContain('deployed d1-todo-js');
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await t.get('d1-todo-js', path, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
      return { status: r.status, json: r.text ? JSON.parse(r.text) : null };
    };
    expect(await call('GET', '/todos')).toEqual({ status: 200, json: [] });
    expect(await call('POST', '/todos', { title: 'milk' })).toEqual({ status: 201, json: { id: 1, title: 'milk', done: false } });
    expect(await call('POST', '/todos', { title: 'eggs' })).toEqual({ status: 201, json: { id: 2, title: 'eggs', done: false } });
    expect((await call('POST', '/todos', {})).status).toBe(400);
    expect((await call('POST', '/todos', { title: '  ' })).status).toBe(400);
    expect((await call('POST', '/todos', 'not json')).status).toBe(400);
    expect(await call('GET', '/todos/2')).toEqual({ status: 200, json: { id: 2, title: 'eggs', done: false } });
    expect((await call('GET', '/todos/99')).status).toBe(404);
    expect((await call('GET', '/todos/abc')).status).toBe(404);
    expect(await call('PATCH', '/todos/1', { done: true })).toEqual({ status: 200, json: { id: 1, title: 'milk', done: true } });
    expect(await call('PATCH', '/todos/1', { title: 'oat milk' })).toEqual({ status: 200, json: { id: 1, title: 'oat milk', done: true } });
    expect(await call('PATCH', '/todos/2', { title: 'brown eggs', done: false })).toEqual({ status: 200, json: { id: 2, title: 'brown eggs', done: false } });
    expect((await call('PATCH', '/todos/1', { done: 'yes' })).status).toBe(400);
    expect((await call('PATCH', '/todos/99', { done: true })).status).toBe(404);
    expect(await call('GET', '/todos')).toEqual({ status: 200, json: [{ id: 1, title: 'oat milk', done: true }, { id: 2, title: 'brown eggs', done: false }] });
    expect(await call('DELETE', '/todos/1')).toEqual({ status: 204, json: null });
    expect((await call('DELETE', '/todos/1')).status).toBe(404);
    expect(await call('GET', '/todos')).toEqual({ status: 200, json: [{ id: 2, title: 'brown eggs', done: false }] });
    expect((await call('PUT', '/todos')).status).toBe(405);
    // The rows are in the database the manifest names, as the CLI sees it.
    expect((await ok(['d1', 'execute', 'DB', '--command', 'SELECT title, done FROM todos'], dir)).out).toContain('│ brown eggs │ 0    │');
  });

  it("a project shaped like Cloudflare's d1-template (wrangler.json, UUID database_id, TypeScript) deploys unmodified", async () => {
    const uuid = '151f7d9b-365f-41d7-83ed-0bf4eeef5086';
    const dir = await project({
      'wrangler.json': JSON.stringify(
        {
          $schema: 'node_modules/wrangler/config-schema.json',
          compatibility_date: '2025-10-08',
          main: 'src/index.ts',
          name: 'd1-template',
          upload_source_maps: true,
          d1_databases: [{ binding: 'DB', database_id: uuid, database_name: 'd1-template-database', migrations_dir: 'migrations' }],
        },
        null,
        '\t',
      ),
      'migrations/0001_create_comments_table.sql': `-- Migration number: 0001 \t 2024-12-27T22:04:18.794Z
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY NOT NULL,
    author TEXT NOT NULL,
    content TEXT NOT NULL
);

-- Insert some sample data into our comments table.
INSERT INTO comments (author, content)
VALUES
    ('Kristian', 'Congrats!'),
    ('Serena', 'Great job!'),
    ('Max', 'Keep up the good work!')
;
`,
      'src/index.ts': `import { renderHtml } from "./renderHtml";

export default {
\tasync fetch(request, env) {
\t\tconst stmt = env.DB.prepare("SELECT * FROM comments LIMIT 3");
\t\tconst { results } = await stmt.all();

\t\treturn new Response(renderHtml(JSON.stringify(results, null, 2)), {
\t\t\theaders: {
\t\t\t\t"content-type": "text/html",
\t\t\t},
\t\t});
\t},
} satisfies ExportedHandler<Env>;
`,
      'src/renderHtml.ts': `export function renderHtml(content: string) {
\treturn \`
    <!DOCTYPE html>
    <html lang="en">
      <head><meta charset="UTF-8" /><title>D1</title></head>
      <body>
        <h1>Successfully connected d1-template to D1</h1>
        <pre><code>SELECT * FROM comments LIMIT 3;<br>\${content}</code></pre>
      </body>
    </html>
\`;
}
`,
      'worker-configuration.d.ts': 'interface Env { DB: D1Database }\n',
    });
    expect((await ok(['d1', 'migrations', 'list', 'DB'], dir)).out).toContain('0001_create_comments_table.sql');
    // As the template's package.json runs it (seedLocalD1).
    expect((await ok(['d1', 'migrations', 'apply', 'DB', '--local'], dir)).out).toContain(`1 migration applied to DB (${uuid})`);
    expect((await ok(['deploy'], dir)).out).toContain('deployed d1-template');
    const page = await t.get('d1-template', '/');
    expect(page.status, page.text).toBe(200);
    expect(page.headers['content-type']).toBe('text/html');
    expect(page.text).toContain('Successfully connected d1-template to D1');
    const json = /<br>([\s\S]*)<\/code>/.exec(page.text)![1]!;
    expect(JSON.parse(json)).toEqual([
      { id: 1, author: 'Kristian', content: 'Congrats!' },
      { id: 2, author: 'Serena', content: 'Great job!' },
      { id: 3, author: 'Max', content: 'Keep up the good work!' },
    ]);
    expect(JSON.parse((await ok(['d1', 'list', '--json'])).out).databases).toContainEqual({ id: uuid });
  });

  it("a project shaped like Cloudflare's d1-starter-sessions-api-template (Sessions API, tables made on first use, durable-utils) deploys unmodified", async () => {
    const dir = await project({
      'wrangler.jsonc': `/**
 * Comments as wrangler writes them.
 */{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "d1-sessions",
  "main": "src/index.ts",
  "compatibility_date": "2025-10-08",
  "observability": { "enabled": true },
  "assets": { "directory": "./public/" },
  "d1_databases": [
    { "binding": "DB01", "database_name": "d1-sessions-db", "database_id": "3f0c33a4-7d5e-4a53-9c1e-5c2a0e6f7b10" }
  ],
  "upload_source_maps": true
}
`,
      'public/index.html': '<!doctype html><title>Orders</title><h1>Orders</h1>\n',
      'src/index.ts': `import { Retries } from "durable-utils";

type Order = { orderId: string; customerId: string; quantity: number };

export default {
\tasync fetch(request, env): Promise<Response> {
\t\tconst session = env.DB01.withSession(request.headers.get("x-d1-bookmark") ?? "first-unconstrained");
\t\ttry {
\t\t\tconst response = await tablesMade(request, session, route);
\t\t\tresponse.headers.set("x-d1-bookmark", session.getBookmark() ?? "");
\t\t\treturn response;
\t\t} catch (e) {
\t\t\treturn Response.json({ error: String(e) }, { status: 500 });
\t\t}
\t},
} satisfies ExportedHandler<Env>;

async function route(request: Request, session: D1DatabaseSession): Promise<Response> {
\tconst { pathname } = new URL(request.url);
\tconst started = Date.now();
\tif (request.method === "GET" && pathname === "/api/orders") {
\t\treturn Retries.tryWhile(async () => body(session, await session.prepare("SELECT * FROM Orders").all(), started), retryable);
\t}
\tif (request.method === "POST" && pathname === "/api/orders") {
\t\tconst order = await request.json<Order>();
\t\treturn Retries.tryWhile(async () => {
\t\t\tawait session.prepare("INSERT INTO Orders VALUES (?, ?, ?) ON CONFLICT DO NOTHING").bind(order.customerId, order.orderId, order.quantity).run();
\t\t\treturn body(session, await session.prepare("SELECT * FROM Orders").all(), started);
\t\t}, retryable);
\t}
\tif (request.method === "POST" && pathname === "/api/reset") {
\t\treturn Retries.tryWhile(async () => body(session, await make(session, true), started), retryable);
\t}
\treturn new Response("Not found", { status: 404 });
}

function body(session: D1DatabaseSession, res: D1Result, started: number): Response {
\treturn Response.json({
\t\tlatency: Date.now() - started,
\t\tresults: res.results,
\t\tservedByRegion: res.meta.served_by_region ?? "",
\t\tservedByPrimary: res.meta.served_by_primary ?? "",
\t\tsessionBookmark: session.getBookmark(),
\t});
}

function retryable(err: unknown, nextAttempt: number): boolean {
\treturn nextAttempt <= 5 && String(err).includes("Network connection lost");
}

// The table is made when a query first finds it missing, by the text of D1's error.
async function tablesMade(request: Request, session: D1DatabaseSession, handler: (r: Request, s: D1DatabaseSession) => Promise<Response>): Promise<Response> {
\ttry {
\t\treturn await handler(request.clone(), session);
\t} catch (e) {
\t\tif (String(e).includes("no such table: Orders: SQLITE_ERROR")) {
\t\t\tawait make(session, false);
\t\t\treturn await handler(request.clone(), session);
\t\t}
\t\tthrow e;
\t}
}

const TABLE = "CREATE TABLE IF NOT EXISTS Orders(customerId TEXT NOT NULL, orderId TEXT NOT NULL, quantity INTEGER NOT NULL, PRIMARY KEY (customerId, orderId))";

async function make(session: D1DatabaseSession, drop: boolean): Promise<D1Result> {
\t// Two statements in one prepare when resetting.
\treturn session.prepare(drop ? "DROP TABLE IF EXISTS Orders; " + TABLE : TABLE).all();
}
`,
    });
    // As \`npm install\` leaves it: the template's devDependency, the real package.
    await mkdir(join(dir, 'node_modules'), { recursive: true });
    await symlink(join(ROOT, 'node_modules/durable-utils'), join(dir, 'node_modules/durable-utils'), 'dir');
    expect((await ok(['deploy'], dir)).out).toContain('deployed d1-sessions');
    expect((await t.get('d1-sessions', '/')).text).toContain('<h1>Orders</h1>');

    // The first read finds no table, makes it, and reads again; each answer carries the session's bookmark.
    const first = await t.get('d1-sessions', '/api/orders');
    expect(first.status, first.text).toBe(200);
    const b1 = first.headers['x-d1-bookmark'] as string;
    expect(b1).toMatch(/\S/);
    expect(JSON.parse(first.text)).toMatchObject({ results: [], servedByRegion: expect.any(String), servedByPrimary: true, sessionBookmark: b1 });

    const post = (o: object, bookmark: string) => t.get('d1-sessions', '/api/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'x-d1-bookmark': bookmark }, body: JSON.stringify(o) });
    const added = await post({ customerId: 'c1', orderId: 'o1', quantity: 2 }, b1);
    expect(added.status, added.text).toBe(200);
    expect(JSON.parse(added.text).results).toEqual([{ customerId: 'c1', orderId: 'o1', quantity: 2 }]);
    const b2 = added.headers['x-d1-bookmark'] as string;
    expect(b2 > b1).toBe(true);
    // The same order again: ON CONFLICT DO NOTHING; then a session resumed from the bookmark reads what it wrote.
    expect(JSON.parse((await post({ customerId: 'c1', orderId: 'o1', quantity: 9 }, b2)).text).results).toHaveLength(1);
    const resumed = await t.get('d1-sessions', '/api/orders', { headers: { 'x-d1-bookmark': b2 } });
    expect(JSON.parse(resumed.text).results).toEqual([{ customerId: 'c1', orderId: 'o1', quantity: 2 }]);
    expect((resumed.headers['x-d1-bookmark'] as string) >= b2).toBe(true);

    // Reset: DROP and CREATE in one prepare.
    const reset = await t.get('d1-sessions', '/api/reset', { method: 'POST' });
    expect(reset.status, reset.text).toBe(200);
    expect(JSON.parse(reset.text).results).toEqual([]);
    expect(JSON.parse((await t.get('d1-sessions', '/api/orders')).text).results).toEqual([]);
    expect((await t.get('d1-sessions', '/api/nothing')).status).toBe(404);
  });

  it("a project shaped like Cloudflare's chanfana-openapi-template (Hono, chanfana's D1 endpoints, zod, a migration) deploys unmodified", async () => {
    const model = (fields: string): string => `import { D1${fields}Endpoint } from "chanfana";
import { HandleArgs } from "../../types";
import { TaskModel } from "./base";
`;
    const dir = await project({
      'wrangler.jsonc': `{
\t"compatibility_date": "2025-10-08",
\t"main": "src/index.ts",
\t"name": "openapi-tasks",
\t"workers_dev": true,
\t"upload_source_maps": true,
\t"observability": { "enabled": true },
\t"d1_databases": [{ "binding": "DB", "database_name": "openapi-tasks-db", "database_id": "0b7cf1d2-2f6e-4a8b-9d51-6c1f0e2a9b37" }]
}
`,
      'migrations/0001_add_tasks_table.sql': `-- Migration number: 0001
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  slug TEXT NOT NULL,
  description TEXT NOT NULL,
  completed INTEGER NOT NULL DEFAULT 0,
  due_date DATETIME NOT NULL
);
`,
      'src/types.ts': `import type { Context } from "hono";

export type AppContext = Context<{ Bindings: Env }>;
export type HandleArgs = [AppContext];
`,
      'src/endpoints/tasks/base.ts': `import { z } from "zod";

export const task = z.object({
\tid: z.number().int(),
\tname: z.string().min(1),
\tslug: z.string(),
\tdescription: z.string(),
\tcompleted: z.boolean(),
\tdue_date: z.string().datetime(),
});

export const TaskModel = {
\ttableName: "tasks",
\tprimaryKeys: ["id"],
\tschema: task,
\t// SQLite keeps booleans as 0/1.
\tserializer: (obj: Partial<Record<string, string | number | boolean>>) => ({ ...obj, completed: Boolean(obj.completed) }),
\tserializerObject: task,
};
`,
      'src/endpoints/tasks/taskCreate.ts': `${model('Create')}
export class TaskCreate extends D1CreateEndpoint<HandleArgs> {
\t_meta = { model: TaskModel, fields: TaskModel.schema.pick({ name: true, slug: true, description: true, completed: true, due_date: true }) };
}
`,
      'src/endpoints/tasks/taskList.ts': `${model('List')}
export class TaskList extends D1ListEndpoint<HandleArgs> {
\t_meta = { model: TaskModel };
\tsearchFields = ["name", "slug", "description"];
\tdefaultOrderBy = "id DESC";
}
`,
      'src/endpoints/tasks/taskRead.ts': `${model('Read')}
export class TaskRead extends D1ReadEndpoint<HandleArgs> {
\t_meta = { model: TaskModel };
}
`,
      'src/endpoints/tasks/taskUpdate.ts': `${model('Update')}
export class TaskUpdate extends D1UpdateEndpoint<HandleArgs> {
\t_meta = { model: TaskModel, fields: TaskModel.schema.pick({ name: true, slug: true, description: true, completed: true, due_date: true }) };
}
`,
      'src/endpoints/tasks/taskDelete.ts': `${model('Delete')}
export class TaskDelete extends D1DeleteEndpoint<HandleArgs> {
\t_meta = { model: TaskModel };
}
`,
      'src/endpoints/tasks/router.ts': `import { Hono } from "hono";
import { fromHono } from "chanfana";
import { TaskCreate } from "./taskCreate";
import { TaskDelete } from "./taskDelete";
import { TaskList } from "./taskList";
import { TaskRead } from "./taskRead";
import { TaskUpdate } from "./taskUpdate";

export const tasksRouter = fromHono(new Hono());
tasksRouter.get("/", TaskList);
tasksRouter.post("/", TaskCreate);
tasksRouter.get("/:id", TaskRead);
tasksRouter.put("/:id", TaskUpdate);
tasksRouter.delete("/:id", TaskDelete);
`,
      'src/index.ts': `import { ApiException, fromHono } from "chanfana";
import { Hono } from "hono";
import { ContentfulStatusCode } from "hono/utils/http-status";
import { tasksRouter } from "./endpoints/tasks/router";

const app = new Hono<{ Bindings: Env }>();

app.onError((err, c) => {
\tif (err instanceof ApiException) {
\t\treturn c.json({ success: false, errors: err.buildResponse() }, err.status as ContentfulStatusCode);
\t}
\tconsole.error("unexpected", err);
\treturn c.json({ success: false, errors: [{ code: 7000, message: "Internal Server Error" }] }, 500);
});

const openapi = fromHono(app, {
\tdocs_url: "/",
\tschema: { info: { title: "Tasks API", version: "2.0.0", description: "Tasks on D1." } },
});
openapi.route("/tasks", tasksRouter);

export default app;
`,
      'worker-configuration.d.ts': 'interface Env { DB: D1Database }\n',
    });
    // As \`npm install\` leaves it: the template's dependencies, the real packages.
    await mkdir(join(dir, 'node_modules'), { recursive: true });
    for (const pkg of ['chanfana', 'hono', 'zod']) await symlink(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
    // As its package.json's seedLocalDb runs it, then deploy.
    expect((await ok(['d1', 'migrations', 'apply', 'DB', '--local'], dir)).out).toContain('1 migration applied to DB');
    expect((await ok(['deploy'], dir)).out).toContain('deployed openapi-tasks');

    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const res = await t.get('openapi-tasks', path, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
      return { status: res.status, json: res.headers['content-type']?.toString().includes('json') ? JSON.parse(res.text) : res.text };
    };
    const schema = await call('GET', '/openapi.json');
    expect(schema.status).toBe(200);
    expect(schema.json.info.title).toBe('Tasks API');
    expect(Object.keys(schema.json.paths)).toEqual(expect.arrayContaining(['/tasks', '/tasks/{id}']));
    const docs = await t.get('openapi-tasks', '/');
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger/i);

    expect(await call('GET', '/tasks')).toMatchObject({ status: 200, json: { success: true, result: [] } });
    const a = { name: 'Write docs', slug: 'write-docs', description: 'the README', completed: false, due_date: '2025-01-01T00:00:00.000Z' };
    const created = await call('POST', '/tasks', a);
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toEqual({ success: true, result: { id: expect.any(Number), ...a } });
    const id = created.json.result.id as number;
    const b = { name: 'Ship it', slug: 'ship-it', description: 'release', completed: true, due_date: '2025-02-01T12:00:00.000Z' };
    expect((await call('POST', '/tasks', b)).status).toBe(201);
    const invalid = await call('POST', '/tasks', { description: 'no name' });
    expect(invalid.status).toBe(400);
    expect(invalid.json.success).toBe(false);
    expect(invalid.json.errors).toBeInstanceOf(Array);

    // Newest first (defaultOrderBy), then a search across its fields.
    expect((await call('GET', '/tasks')).json.result.map((x: { slug: string }) => x.slug)).toEqual(['ship-it', 'write-docs']);
    expect((await call('GET', '/tasks?search=README')).json.result).toEqual([{ id, ...a }]);
    expect(await call('GET', `/tasks/${id}`)).toEqual({ status: 200, json: { success: true, result: { id, ...a } } });
    const missing = await call('GET', '/tasks/9999');
    expect(missing.status).toBe(404);
    expect(missing.json.errors[0].message).toBe('Not Found');

    const changed = { ...a, name: 'Write better docs', completed: true };
    expect(await call('PUT', `/tasks/${id}`, changed)).toEqual({ status: 200, json: { success: true, result: { id, ...changed } } });
    expect((await call('PUT', '/tasks/9999', changed)).status).toBe(404);
    expect((await call('PUT', `/tasks/${id}`, { name: '' })).status).toBe(400);

    // chanfana deletes with DELETE ... RETURNING * LIMIT 1.
    expect(await call('DELETE', `/tasks/${id}`)).toMatchObject({ status: 200, json: { success: true, result: { id } } });
    expect((await call('GET', `/tasks/${id}`)).status).toBe(404);
    expect((await call('DELETE', '/tasks/9999')).status).toBe(404);
    expect((await ok(['d1', 'execute', 'DB', '--command', 'SELECT slug FROM tasks'], dir)).out).toContain('│ ship-it │');
  });
});
