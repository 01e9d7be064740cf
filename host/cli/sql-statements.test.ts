import { describe, expect, it } from 'vitest';
import { splitSql } from './sql-statements.ts';

describe('splitSql', () => {
  it('splits at semicolons outside strings, quoted names and comments', () => {
    const sql = `INSERT INTO t VALUES ('a;b', "c;d", \`e;f\`, [g;h]); -- a comment; with a semicolon
/* block; comment */ SELECT 1;SELECT 'it''s;';`;
    expect(splitSql(sql)).toEqual({
      statements: [`INSERT INTO t VALUES ('a;b', "c;d", \`e;f\`, [g;h])`, '-- a comment; with a semicolon\n/* block; comment */ SELECT 1', "SELECT 'it''s;'"],
      complete: true,
    });
  });

  it('keeps a trigger body whole: it ends at "; END ;", not at a CASE ... END', () => {
    const trigger = `CREATE TEMP TRIGGER trg AFTER INSERT ON t BEGIN
  UPDATE t SET a = CASE WHEN new.a > 1 THEN 1 ELSE 0 END WHERE rowid = new.rowid;
  INSERT INTO log VALUES ('end;');
END`;
    const { statements } = splitSql(`CREATE TABLE t (a);\n${trigger};\nINSERT INTO t VALUES (2)`);
    expect(statements).toEqual(['CREATE TABLE t (a)', trigger, 'INSERT INTO t VALUES (2)']);
  });

  it('drops empty statements and trailing comments, and tells whether the text ends a statement', () => {
    expect(splitSql(';; SELECT 1 ;;\n-- done')).toEqual({ statements: ['SELECT 1'], complete: true });
    expect(splitSql('SELECT 1; SELECT 2 -- no semicolon')).toEqual({ statements: ['SELECT 1', 'SELECT 2 -- no semicolon'], complete: false });
    expect(splitSql('  -- only a comment\n')).toEqual({ statements: [], complete: true });
    expect(splitSql('CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;').complete).toBe(false);
  });
});
