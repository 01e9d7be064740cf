// Reads answered on the caller's thread (SqlDatabase.queryNow, and query()'s plain reads while the database is idle):
// what qualifies, that a read never sees a write before it is durable, and that a runaway read is stopped within its
// budget without losing anything, then runs the ordinary way under the statement time limit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqlEngine } from './sql-store.ts';

const dirs: string[] = [];
const engines: SqlEngine[] = [];
async function open(options: Parameters<typeof SqlEngine.open>[1] = {}): Promise<SqlEngine> {
  const d = await mkdtemp(join(tmpdir(), 'edge-sql-now-'));
  dirs.push(d);
  const e = await SqlEngine.open(d, options);
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('SqlDatabase.queryNow', () => {
  it('answers a plain read at once when the database is idle, and nothing else', async () => {
    const db = (await open()).database('now');
    // Not loaded yet: the first call loads it.
    expect(db.queryNow({ sql: 'SELECT 1', params: [] })).toBeNull();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES (\'a\'), (\'b\')');
    const r = db.queryNow({ sql: 'SELECT id, v FROM t WHERE v = ?', params: ['b'] });
    expect(r?.columns).toEqual(['id', 'v']);
    expect(r?.rows).toEqual([[2n, 'b']]);
    expect(r?.meta.rowsRead).toBe(1);
    expect(db.queryNow({ sql: 'PRAGMA table_info(t)', params: [] })?.rows.length).toBe(2);
    // Writes, CTEs (which may write) and text of several statements go the ordinary way.
    expect(db.queryNow({ sql: "INSERT INTO t (v) VALUES ('c')", params: [] })).toBeNull();
    expect(db.queryNow({ sql: 'WITH x AS (SELECT 1) SELECT * FROM x', params: [] })).toBeNull();
    expect(db.queryNow({ sql: 'SELECT 1; SELECT 2', params: [] })).toBeNull();
    expect((await db.query({ sql: 'SELECT count(*) FROM t', params: [] })).rows).toEqual([[2n]]);
    // A SQL error is thrown as the ordinary way rejects.
    expect(() => db.queryNow({ sql: 'SELECT nope FROM t', params: [] })).toThrow(/no such column: nope/);
  });

  it('does not answer while a write is queued or not yet durable; afterwards it sees the write', async () => {
    const db = (await open()).database('order');
    await db.exec('CREATE TABLE t (v INTEGER)');
    const write = db.query({ sql: 'INSERT INTO t VALUES (?)', params: [7] });
    expect(db.queryNow({ sql: 'SELECT count(*) FROM t', params: [] })).toBeNull();
    // A read made the ordinary way right behind the write is answered after it, and sees it.
    const read = db.query({ sql: 'SELECT count(*) FROM t', params: [] });
    await write;
    expect((await read).rows).toEqual([[1n]]);
    expect(db.queryNow({ sql: 'SELECT count(*) FROM t', params: [] })?.rows).toEqual([[1n]]);
  });

  it('stops a runaway read at its budget, loads the database again, and runs it the ordinary way under the statement limit', async () => {
    const db = (await open({ limits: { statementMs: 400 } })).database('runaway');
    await db.exec('CREATE TABLE r (v INTEGER); INSERT INTO r WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200) SELECT x FROM c');
    const spin = { sql: 'SELECT count(*) FROM r a, r b, r c, r d, r e, r f', params: [] };
    const t0 = performance.now();
    expect(db.queryNow(spin)).toBeNull();
    const held = performance.now() - t0;
    // The budget is 20 ms of wall-clock time; generous bound for a loaded machine.
    expect(held).toBeLessThan(500);
    const t1 = performance.now();
    await expect(db.query(spin)).rejects.toMatchObject({ sqlCode: 'timeout' });
    expect(performance.now() - t1).toBeGreaterThanOrEqual(390);
    // Nothing was lost, and reads go on (the ordinary way for a while).
    expect((await db.query({ sql: 'SELECT count(*) FROM r', params: [] })).rows).toEqual([[200n]]);
  }, 30_000);
});
