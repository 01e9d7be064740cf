import { describe, expect, it } from 'vitest';
import { classify, hasParameters, hasSeveralStatements, rewriteRandom, rewriteRowLimit } from './sql-text.ts';

describe('classify', () => {
  it('tells reads from writes by the first keyword, past comments', () => {
    expect(classify('SELECT 1').kind).toBe('read');
    expect(classify('  -- a comment\n /* another */ select * from t').kind).toBe('read');
    expect(classify('VALUES (1)').kind).toBe('read');
    expect(classify('EXPLAIN QUERY PLAN SELECT 1').kind).toBe('read');
    expect(classify('WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x').kind).toBe('with');
    for (const w of ['INSERT INTO t VALUES (1)', 'update t set a = 1', 'DELETE FROM t', 'REPLACE INTO t VALUES (1)', 'CREATE TABLE t (a)', 'DROP TABLE t', 'ALTER TABLE t ADD b', 'PRAGMA optimize']) {
      expect(classify(w)).toEqual({ kind: 'write' });
    }
  });

  it('refuses what D1 refuses, saying why', () => {
    expect(classify("ATTACH DATABASE 'x' AS y").refused).toMatch(/ATTACH is not allowed/);
    expect(classify('detach y').refused).toMatch(/DETACH is not allowed/);
    for (const tx of ['BEGIN', 'BEGIN IMMEDIATE TRANSACTION', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT a', 'RELEASE a']) expect(classify(tx).refused).toMatch(/use batch\(\)/);
    expect(classify('VACUUM').refused).toMatch(/VACUUM/);
    expect(classify('PRAGMA journal_mode = DELETE').refused).toMatch(/^PRAGMA journal_mode is not allowed on D1 \(allowed: .*table_info/);
    expect(classify('PRAGMA main.journal_mode').refused).toMatch(/^PRAGMA journal_mode/);
  });

  it('knows the PRAGMAs D1 allows: reading ones, and settable ones', () => {
    expect(classify('PRAGMA table_info(t)')).toEqual({ kind: 'read' });
    expect(classify('PRAGMA main.table_list')).toEqual({ kind: 'read' });
    expect(classify('PRAGMA foreign_keys')).toEqual({ kind: 'read' });
    expect(classify('PRAGMA foreign_keys = OFF')).toEqual({ kind: 'pragma-set' });
    expect(classify('PRAGMA defer_foreign_keys = on')).toEqual({ kind: 'pragma-set' });
  });
});

describe('rewriteRandom', () => {
  it('rewrites random() calls into the seeded 64-bit form', () => {
    const out = rewriteRandom('SELECT random(), RANDOM ( ), abs(random()) % 10');
    expect(out.match(/__edge_rand32\(1\)/g)).toHaveLength(3);
    expect(out).not.toMatch(/\brandom\s*\(/i);
  });

  it('leaves strings, quoted names, comments, other identifiers and randomblob alone', () => {
    const untouched = [
      "SELECT 'random()'",
      'SELECT "random"() FROM t',
      'SELECT [random()]',
      'SELECT `random`()',
      'SELECT randomblob(4)',
      'SELECT my_random()',
      'SELECT t.random() FROM t',
      'SELECT random(1)',
      "SELECT 1 -- random()\n",
      'SELECT /* random() */ 1',
      "SELECT 'it''s random()'",
    ];
    for (const sql of untouched) expect(rewriteRandom(sql)).toBe(sql);
  });

  it('is idempotent: a rewritten statement (as exec() records it) is left as it is', () => {
    const once = rewriteRandom('INSERT INTO t VALUES (random())');
    expect(rewriteRandom(once)).toBe(once);
  });
});

describe('hasSeveralStatements', () => {
  it('finds a second statement, not a trailing semicolon, a comment or a semicolon in a string', () => {
    expect(hasSeveralStatements('SELECT 1; SELECT 2')).toBe(true);
    expect(hasSeveralStatements('SELECT 1;; DELETE FROM t')).toBe(true);
    expect(hasSeveralStatements('SELECT 1;')).toBe(false);
    expect(hasSeveralStatements('SELECT 1; -- done\n')).toBe(false);
    expect(hasSeveralStatements("SELECT 'a;b'")).toBe(false);
    expect(hasSeveralStatements('SELECT "x;y" FROM t /* ; */')).toBe(false);
    expect(hasSeveralStatements('CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; END')).toBe(false);
  });
});

describe('hasParameters', () => {
  it('finds ?, ?NNN, :name, @name and $name outside strings, quoted names and comments', () => {
    for (const p of ['SELECT ?', 'SELECT ?12', 'SELECT :a', 'SELECT @a', 'SELECT $a', 'INSERT INTO t VALUES(?)', "SELECT 'x' || ?"]) expect(hasParameters(p), p).toBe(true);
    for (const n of ['SELECT 1', "SELECT '?:a @b $c'", 'SELECT "?" FROM [t?]', 'SELECT `a?` -- ?', 'SELECT 1 /* :x */', 'SELECT a$b FROM t', "SELECT json_extract(v, '$.a')"]) expect(hasParameters(n), n).toBe(false);
  });
});

describe('rewriteRowLimit', () => {
  it('turns DELETE/UPDATE ... [ORDER BY] LIMIT into the same statement over the rows a SELECT picks', () => {
    expect(rewriteRowLimit('DELETE FROM tasks WHERE id = ?1 RETURNING * LIMIT 1')).toBe('DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks WHERE id = ?1 LIMIT 1) RETURNING *');
    expect(rewriteRowLimit('DELETE FROM t LIMIT 2')).toBe('DELETE FROM t WHERE rowid IN (SELECT rowid FROM t LIMIT 2)');
    expect(rewriteRowLimit('delete from t as x where x.a > 1 order by x.a desc limit 2 offset 1;')).toBe('delete from t as x WHERE rowid IN (SELECT rowid FROM t as x where x.a > 1 order by x.a desc limit 2 offset 1);');
    expect(rewriteRowLimit("UPDATE OR IGNORE t SET a = (SELECT max(b) FROM u LIMIT 1), c = 'LIMIT' WHERE id = 3 RETURNING id, a ORDER BY id LIMIT 5")).toBe(
      "UPDATE OR IGNORE t SET a = (SELECT max(b) FROM u LIMIT 1), c = 'LIMIT' WHERE rowid IN (SELECT rowid FROM t WHERE id = 3 ORDER BY id LIMIT 5) RETURNING id, a",
    );
    expect(rewriteRowLimit('WITH c AS (SELECT 1 LIMIT 1) DELETE FROM t WHERE id IN c LIMIT 1')).toBe('WITH c AS (SELECT 1 LIMIT 1) DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE id IN c LIMIT 1)');
  });

  it('leaves alone what is not one such statement', () => {
    for (const s of ['SELECT * FROM t LIMIT 1', 'DELETE FROM t WHERE id IN (SELECT id FROM u LIMIT 1)', 'UPDATE t SET a = 1 FROM u WHERE t.id = u.id LIMIT 1', 'DELETE FROM t LIMIT 1; DELETE FROM u', "INSERT INTO t VALUES ('LIMIT')"]) {
      expect(rewriteRowLimit(s), s).toBeNull();
    }
  });
});
