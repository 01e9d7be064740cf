// The SQL store (D1 on sql.js) without a host: serialized calls, snapshots and log compaction, recovery from the
// snapshot and the records since (also after a snapshot cut short), idle threads, one database's runaway statement
// not holding up another, and SIGKILL of a writer while snapshots run.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqlEngine } from './sql-store.ts';
import { SqlError } from './sql-types.ts';

const dirs: string[] = [];
const engines: SqlEngine[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'edge-sql-'));
  dirs.push(d);
  return d;
}
async function open(dir: string, options: Parameters<typeof SqlEngine.open>[1] = {}): Promise<SqlEngine> {
  const e = await SqlEngine.open(dir, options);
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const q = (sql: string, ...params: Array<string | number | bigint | null>) => ({ sql, params });

describe('SqlEngine', () => {
  it('serializes concurrent calls: 1,000 concurrent increments end at exactly 1,000', async () => {
    const e = await open(await tempDir());
    const db = e.database('counter');
    await db.exec('CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)');
    await Promise.all(Array.from({ length: 1000 }, () => db.query(q('UPDATE c SET n = n + 1'))));
    expect((await db.query(q('SELECT n FROM c'))).rows).toEqual([[1000n]]);
  });

  it('takes snapshots, compacts the log, and reopens to the same rows', async () => {
    const dir = await tempDir();
    let e = await open(dir, { snapshotBytes: 8 * 1024 });
    let db = e.database('snap');
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER, v TEXT)');
    for (let i = 0; i < 300; i++) await db.query(q("INSERT INTO t (r, v) VALUES (random(), ?)", 'x'.repeat(100)));
    const before = (await db.query(q('SELECT id, r, v FROM t ORDER BY id'))).rows;
    const bookmark = db.bookmark();
    // A snapshot may still be under way after the last insert (it is taken in the background): closing waits for it,
    // and then exactly one snapshot is in force (the one it replaced is gone).
    await e.close();
    const files = await readdir(join(dir, 'snap'));
    expect(files.filter((f) => /^snapshot-[0-9a-f]{16}\.sqlite$/.test(f))).toHaveLength(1);
    e = await open(dir, { snapshotBytes: 8 * 1024 });
    db = e.database('snap');
    expect((await db.query(q('SELECT id, r, v FROM t ORDER BY id'))).rows).toEqual(before);
    expect(db.bookmark()).toBe(bookmark);
    await db.query(q("INSERT INTO t (r, v) VALUES (1, 'after')"));
    expect(db.bookmark() > bookmark).toBe(true);
  });

  it('recovers from the older snapshot and the log when a snapshot was cut short, and refuses a log that disagrees with its snapshot', async () => {
    const dir = await tempDir();
    let e = await open(dir);
    let db = e.database('torn');
    await db.exec('CREATE TABLE t (a)');
    await db.query(q('INSERT INTO t VALUES (1)'));
    await db.dump();
    await db.query(q('INSERT INTO t VALUES (2)'));
    await e.close();
    // A snapshot the crash interrupted: its temporary file is ignored and removed.
    await writeFile(join(dir, 'torn', 'snapshot-00000000000000ff.sqlite.tmp'), 'garbage');
    e = await open(dir);
    db = e.database('torn');
    expect((await db.query(q('SELECT a FROM t ORDER BY a'))).rows).toEqual([[1n], [2n]]);
    expect((await readdir(join(dir, 'torn'))).some((f) => f.endsWith('.tmp'))).toBe(false);
    await e.close();
    // Without its snapshot, the records after it cannot apply: the database refuses to open rather than guess.
    for (const f of await readdir(join(dir, 'torn'))) if (f.startsWith('snapshot-')) await rm(join(dir, 'torn', f));
    e = await open(dir);
    const err = await e.database('torn').query(q('SELECT 1')).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^database torn: its log \(.*\) goes on from write 4, but no snapshot holds the writes before it; refusing to open rather than lose them$/);
  });

  it('stops an idle database thread and opens it again on the next call', async () => {
    const dir = await tempDir();
    const e = await open(dir, { idleMs: 100 });
    const db = e.database('idle');
    await db.exec('CREATE TABLE t (a); INSERT INTO t VALUES (42)');
    await new Promise((r) => setTimeout(r, 400));
    // Idle: its records went into a snapshot and the thread is gone; the next call starts it again.
    expect((await readdir(join(dir, 'idle'))).some((f) => f.startsWith('snapshot-'))).toBe(true);
    expect((await db.query(q('SELECT a FROM t'))).rows).toEqual([[42n]]);
  });

  it("one database's runaway statement does not hold up another database", async () => {
    const e = await open(await tempDir(), { limits: { statementMs: 1500 } });
    const slow = e.database('slow');
    const fast = e.database('fast');
    await fast.query(q('SELECT 1'));
    await slow.query(q('SELECT 1'));
    const t0 = Date.now();
    const spin = slow.query(q('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c')).catch((x: unknown) => x);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = Date.now();
      await fast.query(q('SELECT ?', i));
      times.push(Date.now() - s);
    }
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(Math.max(...times)).toBeLessThan(200);
    const err = await spin;
    expect(err).toBeInstanceOf(SqlError);
    expect((err as SqlError).sqlCode).toBe('timeout');
    // The interrupted database goes on.
    expect((await slow.query(q('SELECT 2'))).rows).toEqual([[2n]]);
  });

  it('keeps every acknowledged transaction when the writer is SIGKILLed while snapshots and compactions run', async () => {
    const dir = await tempDir();
    const NODE = join(import.meta.dirname, '../../node_modules/.bin/node');
    const WRITER = join(import.meta.dirname, '../test/sql-writer.ts');
    const acked = new Map<string, string>();
    for (let round = 0; round < 4; round++) {
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(NODE, ['--no-warnings', WRITER, dir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          if (!text.includes('READY') && (text + d).includes('READY')) setTimeout(() => child.kill('SIGKILL'), 300 + Math.floor(Math.random() * 700));
          text += d;
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(text) : reject(new Error(`writer exited with ${code}: ${err}`))));
      });
      for (const line of out.split('\n').slice(0, -1)) {
        const m = /^ACK (\S+) (-?\d+)$/.exec(line);
        if (m) acked.set(m[1]!, m[2]!);
      }
      const e = await open(dir);
      const db = e.database('kill');
      const rows = new Map((await db.query(q('SELECT k, CAST(r AS TEXT) FROM t'))).rows.map((r) => [r[0] as string, r[1] as string]));
      for (const [k, r] of acked) expect(rows.get(k), `${k} after kill ${round}`).toBe(r);
      // Both statements of each transaction or neither: the per-writer counters match the rows.
      const counts = (await db.query(q('SELECT w, c FROM n'))).rows;
      for (const [w, c] of counts) expect(c, String(w)).toBe(BigInt([...rows.keys()].filter((k) => k.includes(`-${String(w)}-`)).length));
      await e.close();
      engines.splice(engines.indexOf(e), 1);
    }
    expect(acked.size).toBeGreaterThan(200);
  }, 120_000);
});
