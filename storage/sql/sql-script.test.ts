// The SQL store's calls for Durable Objects' SQL: scripts (several statements, the parameters bound to the last) and
// transactions over several calls (begin ... commit or rollback), their replay from the log, a transaction whose owner
// went away, one the thread lost under it, and the cap on running threads. Separate engines on one directory stand
// for a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqlEngine } from './sql-store.ts';

const dirs: string[] = [];
const engines: SqlEngine[] = [];
async function open(dir?: string, options: Parameters<typeof SqlEngine.open>[1] = {}): Promise<{ e: SqlEngine; dir: string }> {
  const d = dir ?? (await mkdtemp(join(tmpdir(), 'edge-sql-script-')));
  if (!dir) dirs.push(d);
  const e = await SqlEngine.open(d, options);
  engines.push(e);
  return { e, dir: d };
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('SqlDatabase scripts and transactions', () => {
  it('a script runs every statement, binds the parameters to the last, and returns its rows with the rows read and written by all', async () => {
    const { e } = await open();
    const db = e.database('s');
    const r = await db.script("CREATE TABLE t (k, v); INSERT INTO t VALUES ('a', 1); INSERT INTO t VALUES (?, ?), (?, ?) RETURNING k, v", ['b', 2, 'c', 3n]);
    expect(r.columns).toEqual(['k', 'v']);
    expect(r.rows).toEqual([['b', 2n], ['c', 3n]]);
    expect(r.meta.rowsWritten).toBe(3);
    expect(r.meta.sizeAfter).toBeGreaterThan(0);
    await expect(db.script('INSERT INTO t VALUES (1, 1); SELECT * FROM nowhere', [])).rejects.toThrow(/no such table: nowhere/);
    expect((await db.script('SELECT count(*) FROM t', [])).rows).toEqual([[3n]]);
  });

  it('a committed transaction is one record, replayed whole after a restart; a rolled back one leaves nothing', async () => {
    const { e, dir } = await open();
    const db = e.database('t');
    await db.script('CREATE TABLE t (n INTEGER)', []);
    const t1 = await db.begin();
    await db.script('INSERT INTO t VALUES (1)', [], t1);
    await db.script('INSERT INTO t VALUES (random() % 1000 + 1000)', [], t1);
    expect((await db.script('SELECT count(*) FROM t', [], t1)).rows).toEqual([[2n]]);
    await db.commit(t1);
    const t2 = await db.begin();
    await db.script('INSERT INTO t VALUES (3)', [], t2);
    await db.rollback(t2);
    const before = (await db.script('SELECT n FROM t ORDER BY rowid', [])).rows;
    expect(before).toHaveLength(2);
    await e.close();
    const again = (await open(dir)).e.database('t');
    expect((await again.script('SELECT n FROM t ORDER BY rowid', [])).rows).toEqual(before);
  });

  it('a call outside a transaction that is still open rolls it back (its owner went away); its token no longer works', async () => {
    const { e } = await open();
    const db = e.database('a');
    await db.script('CREATE TABLE t (n)', []);
    const t1 = await db.begin();
    await db.script('INSERT INTO t VALUES (1)', [], t1);
    expect((await db.script('SELECT count(*) FROM t', [])).rows).toEqual([[0n]]);
    await expect(db.script('INSERT INTO t VALUES (2)', [], t1)).rejects.toThrow(/no longer open/);
    await expect(db.commit(t1)).rejects.toThrow(/no longer open/);
  });

  it('a transaction whose statement ran past the time limit is lost: its next call says so, and nothing of it applies', async () => {
    const { e } = await open(undefined, { limits: { statementMs: 300 } });
    const db = e.database('l');
    await db.script('CREATE TABLE t (n)', []);
    const t1 = await db.begin();
    await db.script('INSERT INTO t VALUES (1)', [], t1);
    await expect(db.script('WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r', [], t1)).rejects.toThrow(/interrupted/);
    await expect(db.script('INSERT INTO t VALUES (2)', [], t1)).rejects.toThrow(/transaction was rolled back/);
    await db.rollback(t1);
    expect((await db.script('SELECT count(*) FROM t', [])).rows).toEqual([[0n]]);
  });

  it('keeps at most maxThreads database threads running: the least recently used stop, and start again when called', async () => {
    const { e } = await open(undefined, { maxThreads: 2 });
    for (const id of ['a', 'b', 'c', 'd']) await e.database(id).script('CREATE TABLE t (n); INSERT INTO t VALUES (1)', []);
    const deadline = Date.now() + 10_000;
    while (e.runningThreads() > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(e.runningThreads()).toBeLessThanOrEqual(2);
    expect(e.database('d').running).toBe(true);
    expect((await e.database('a').script('SELECT n FROM t', [])).rows).toEqual([[1n]]);
    expect(e.database('a').running).toBe(true);
  });
});
