// What the SQL store needs to know of a statement's text before SQLite runs it: whether it may write (so that the
// call runs in a transaction and is logged), whether D1 allows it at all, and `random()` rewritten to draw from the
// call's seeded generator (sql-thread.ts) so that a replay gives the same rows.

export interface StatementClass {
  /**
   * `read`: cannot change the database (SELECT, VALUES, EXPLAIN, reading PRAGMAs); `write`: may; `with`: a CTE, which
   * may end in INSERT/UPDATE/DELETE (logged only when it changed something); `pragma-set`: sets a connection PRAGMA.
   */
  kind: 'read' | 'write' | 'with' | 'pragma-set';
  /** Why D1 refuses it, when it does. */
  refused?: string;
}

/** PRAGMAs that only read (D1 allows these). */
const READ_PRAGMAS = new Set(['table_list', 'table_info', 'table_xinfo', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list', 'foreign_key_check', 'quick_check', 'integrity_check']);
/** PRAGMAs a statement may set (for the rest of its call; they are reset after it) or read. */
const SETTABLE_PRAGMAS = new Set(['case_sensitive_like', 'defer_foreign_keys', 'foreign_keys', 'ignore_check_constraints', 'legacy_alter_table', 'recursive_triggers', 'reverse_unordered_selects']);
const ALLOWED_PRAGMAS = [...READ_PRAGMAS, ...SETTABLE_PRAGMAS, 'optimize'].sort().join(', ');

const WRITE_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER', 'REINDEX', 'ANALYZE']);
const TX_KEYWORDS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);

/** Index of the first character after whitespace and comments from `i`. */
function skipSpace(sql: string, i: number): number {
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}

/** Index after the string or quoted name starting at `i` (a doubled quote is an escaped one); the end if unclosed. */
function skipQuoted(sql: string, i: number): number {
  const c = sql[i]!;
  if (c === '[') {
    const k = sql.indexOf(']', i + 1);
    return k < 0 ? sql.length : k + 1;
  }
  let j = i + 1;
  for (;;) {
    const k = sql.indexOf(c, j);
    if (k < 0) return sql.length;
    if (sql[k + 1] === c) j = k + 2;
    else return k + 1;
  }
}

function word(sql: string, i: number): { word: string; end: number } {
  const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 64));
  return m ? { word: m[0], end: i + m[0].length } : { word: '', end: i };
}

/** A piece of a statement's code: a name or keyword (letters, digits, `_`, `$`), or any other character alone. */
interface CodeToken {
  text: string;
  at: number;
  end: number;
}

/** The code of `sql` from `from`, outside strings, quoted names and comments (which are stepped over), token by token. */
function* codeTokens(sql: string, from = 0): Generator<CodeToken> {
  let i = from;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`' || c === '[') i = skipQuoted(sql, i);
    else if (sql.startsWith('--', i) || sql.startsWith('/*', i)) i = skipSpace(sql, i);
    else if (/[A-Za-z_]/.test(c)) {
      let end = i + 1;
      while (end < sql.length && /[A-Za-z0-9_$]/.test(sql[end]!)) end++;
      yield { text: sql.slice(i, end), at: i, end };
      i = end;
    } else {
      yield { text: c, at: i, end: i + 1 };
      i++;
    }
  }
}

/** The next token of `tokens` that is not white space. */
function nextCode(tokens: Iterator<CodeToken>): CodeToken | undefined {
  for (;;) {
    const t = tokens.next();
    if (t.done) return undefined;
    if (!/\s/.test(t.value.text)) return t.value;
  }
}

export function classify(sql: string): StatementClass {
  // SQLite skips empty statements (a lone ";") before the first keyword: so must we, or "; COMMIT" passes as a write.
  let start = skipSpace(sql, 0);
  while (sql[start] === ';') start = skipSpace(sql, start + 1);
  const first = word(sql, start);
  const kw = first.word.toUpperCase();
  if (kw === 'SELECT' || kw === 'VALUES' || kw === 'EXPLAIN') return { kind: 'read' };
  if (kw === 'WITH') return { kind: 'with' };
  if (WRITE_KEYWORDS.has(kw)) return { kind: 'write' };
  if (kw === 'ATTACH' || kw === 'DETACH') return { kind: 'write', refused: `${kw} is not allowed: a D1 database cannot reach other database files` };
  if (TX_KEYWORDS.has(kw)) return { kind: 'write', refused: `${kw} is not allowed: D1 runs each call in its own transaction; use batch() for statements that must apply together` };
  if (kw === 'VACUUM') return { kind: 'write', refused: 'VACUUM is not allowed on D1' };
  if (kw === 'PRAGMA') {
    let at = skipSpace(sql, first.end);
    let name = word(sql, at);
    // A schema prefix: PRAGMA main.table_info(...)
    const afterName = skipSpace(sql, name.end);
    if (sql[afterName] === '.') {
      at = skipSpace(sql, afterName + 1);
      name = word(sql, at);
    }
    const pragma = name.word.toLowerCase();
    const rest = skipSpace(sql, name.end);
    const sets = sql[rest] === '=';
    if (READ_PRAGMAS.has(pragma)) return { kind: 'read' };
    if (SETTABLE_PRAGMAS.has(pragma)) return { kind: sets || sql[rest] === '(' ? 'pragma-set' : 'read' };
    if (pragma === 'optimize') return { kind: 'write' };
    return { kind: 'write', refused: `PRAGMA ${pragma || '(none)'} is not allowed on D1 (allowed: ${ALLOWED_PRAGMAS})` };
  }
  return { kind: 'write' };
}

/** What `random()` becomes: 64 bits from two 32-bit draws of the call's generator, an INTEGER as SQLite's is. */
const RANDOM_EXPR = '(CAST(__edge_rand32(1) AS INTEGER)*4294967296+CAST(__edge_rand32(0) AS INTEGER))';

/** `random()` calls (outside strings, quoted names and comments) replaced by RANDOM_EXPR. */
export function rewriteRandom(sql: string): string {
  if (!/random/i.test(sql)) return sql;
  let out = '';
  let last = 0;
  const tokens = codeTokens(sql);
  for (let t = tokens.next(); !t.done; t = tokens.next()) {
    const w = t.value;
    if (w.text.toLowerCase() !== 'random' || (w.at > 0 && sql[w.at - 1] === '.')) continue;
    const open = nextCode(tokens);
    if (open?.text !== '(') continue;
    const close = nextCode(tokens);
    if (close?.text !== ')') continue;
    out += sql.slice(last, w.at) + RANDOM_EXPR;
    last = close.end;
  }
  return last === 0 ? sql : out + sql.slice(last);
}

/** Whether `sql` holds more than one statement (something other than space, comments and `;` after the first `;`). */
export function hasSeveralStatements(sql: string): boolean {
  if (!sql.includes(';')) return false;
  for (const t of codeTokens(sql)) {
    if (t.text !== ';') continue;
    let j = t.end;
    for (;;) {
      j = skipSpace(sql, j);
      if (sql[j] === ';') j++;
      else break;
    }
    // A trigger body holds `;` inside BEGIN ... END: SQLite itself then reports what is wrong.
    return j < sql.length && !/^END\b/i.test(sql.slice(j));
  }
  return false;
}

/** Whether `sql` holds no statement: only space, comments and `;` (what is left after the last statement of a script). */
export function isEmptySql(sql: string): boolean {
  let i = skipSpace(sql, 0);
  while (sql[i] === ';') i = skipSpace(sql, i + 1);
  return i >= sql.length;
}

/** Whether `sql` has a parameter (`?`, `?NNN`, `:name`, `@name`, `$name`) outside strings, quoted names and comments. */
export function hasParameters(sql: string): boolean {
  if (!/[?:@$]/.test(sql)) return false;
  let prev: CodeToken | null = null;
  for (const t of codeTokens(sql)) {
    if (t.text === '?') return true;
    // `:name`, `@name`, `$name` (a name's own `$`, as in a$b, is inside its token).
    if (prev !== null && /^[:@$]$/.test(prev.text) && prev.end === t.at && /^[A-Za-z0-9_]/.test(t.text)) return true;
    prev = t;
  }
  return false;
}

/**
 * A DELETE or UPDATE with a LIMIT (and maybe ORDER BY), which SQLite only parses when built with
 * SQLITE_ENABLE_UPDATE_DELETE_LIMIT (D1's is, sql.js's is not), as the same statement over the rows a SELECT of its
 * table picks: `DELETE FROM t WHERE c RETURNING * LIMIT 1` becomes
 * `DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE c LIMIT 1) RETURNING *`. Null when `sql` is not one such
 * statement (an UPDATE ... FROM, whose WHERE may name the other tables, included).
 */
export function rewriteRowLimit(sql: string): string | null {
  // Top-level keywords (outside parentheses, strings, quoted names and comments) and where they start and end.
  const words: Array<{ w: string; at: number; end: number }> = [];
  let depth = 0;
  let stop = sql.length;
  for (const t of codeTokens(sql)) {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (t.text === ';' && depth === 0) {
      stop = t.at;
      break;
    } else if (depth === 0 && /^[A-Za-z_]/.test(t.text)) words.push({ w: t.text.toUpperCase(), at: t.at, end: t.end });
  }
  if (!isEmptySql(sql.slice(stop))) return null;
  // The statement's verb: the first word, or the first DELETE/UPDATE at the top level after a WITH's common tables.
  const verbAt = words[0]?.w === 'WITH' ? words.findIndex((x) => x.w === 'DELETE' || x.w === 'UPDATE') : 0;
  const verb = words[verbAt]?.w;
  if (verbAt < 0 || (verb !== 'DELETE' && verb !== 'UPDATE')) return null;
  const rest = words.slice(verbAt + 1);
  const find = (w: string, from = 0): number => rest.findIndex((x, k) => k >= from && x.w === w);
  const limit = find('LIMIT');
  if (limit < 0) return null;
  let table: { start: number; end: number };
  let clausesFrom: number;
  if (verb === 'DELETE') {
    if (rest[0]?.w !== 'FROM') return null;
    clausesFrom = 1;
    table = { start: rest[0].end, end: 0 };
  } else {
    const set = find('SET');
    if (set < 0 || find('FROM', set) >= 0) return null;
    // UPDATE [OR <conflict>] <table> SET ...
    const first = rest[0]?.w === 'OR' ? rest[1] : undefined;
    table = { start: first ? first.end : words[verbAt]!.end, end: rest[set]!.at };
    clausesFrom = set + 1;
  }
  const clause = (w: string): number => {
    const k = find(w, clausesFrom);
    return k >= 0 && k <= limit ? k : -1;
  };
  const where = clause('WHERE');
  const returning = clause('RETURNING');
  const order = clause('ORDER');
  const at = (k: number): number => (k >= 0 ? rest[k]!.at : stop);
  const firstClause = Math.min(at(where), at(returning), at(order), rest[limit]!.at);
  if (verb === 'DELETE') table.end = firstClause;
  const tableText = sql.slice(table.start, table.end).trim();
  if (tableText === '') return null;
  const next = (from: number): number => Math.min(...[where, returning, order, limit].map((k) => (k >= 0 && rest[k]!.at > from ? rest[k]!.at : stop)));
  const part = (k: number): string => (k >= 0 ? sql.slice(rest[k]!.at, next(rest[k]!.at)).trim() : '');
  const picked = [`SELECT rowid FROM ${tableText}`, part(where), part(order), part(limit)].filter((s) => s !== '').join(' ');
  return `${sql.slice(0, firstClause).trimEnd()} WHERE rowid IN (${picked})${returning >= 0 ? ` ${part(returning)}` : ''}${sql.slice(stop)}`;
}
