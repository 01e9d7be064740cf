// SQL text split into its statements as SQLite would read them (the rules of sqlite3_complete): a ";" outside strings,
// quoted names and comments ends a statement, except inside CREATE TRIGGER, which ends at "; END ;". `edge d1 execute`
// sends a file or --command as a batch of these statements, so that each one's rows come back.
// Written here rather than taken from a package: the splitters on npm either ignore triggers or parse a whole SQL
// grammar; SQLite's own rule is this small.

interface Token {
  /** `;`, `word` (upper-cased in `text`), or `other`. */
  kind: ';' | 'word' | 'other';
  text: string;
  start: number;
  end: number;
}

/** The significant tokens of `sql` (whitespace and comments dropped; strings and quoted names as one `other`). */
function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      // A doubled quote is an escaped one.
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(c, j);
        if (k < 0) {
          j = n;
          break;
        }
        if (sql[k + 1] === c) j = k + 2;
        else {
          j = k + 1;
          break;
        }
      }
      i = j;
      out.push({ kind: 'other', text: sql.slice(start, i), start, end: i });
    } else if (c === '[') {
      const k = sql.indexOf(']', i + 1);
      i = k < 0 ? n : k + 1;
      out.push({ kind: 'other', text: sql.slice(start, i), start, end: i });
    } else if (c === ';') {
      i++;
      out.push({ kind: ';', text: ';', start, end: i });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i]!)) i++;
      out.push({ kind: 'word', text: sql.slice(start, i).toUpperCase(), start, end: i });
    } else {
      i++;
      out.push({ kind: 'other', text: c, start, end: i });
    }
  }
  return out;
}

/** Whether the statement's tokens begin `[EXPLAIN [QUERY PLAN]] CREATE [TEMP|TEMPORARY] TRIGGER`. */
function isTrigger(t: Token[]): boolean {
  let i = 0;
  if (t[i]?.text === 'EXPLAIN') {
    i++;
    if (t[i]?.text === 'QUERY' && t[i + 1]?.text === 'PLAN') i += 2;
  }
  if (t[i]?.text !== 'CREATE') return false;
  i++;
  if (t[i]?.text === 'TEMP' || t[i]?.text === 'TEMPORARY') i++;
  return t[i]?.kind === 'word' && t[i]!.text === 'TRIGGER';
}

export interface SplitSql {
  /** Each statement's text, without its ending ";" (comments before it kept); empty statements left out. */
  statements: string[];
  /** Whether the text ends where a statement ends (or holds none): false when its last statement lacks its ";". */
  complete: boolean;
}

export function splitSql(sql: string): SplitSql {
  const all = tokens(sql);
  const statements: string[] = [];
  let from = 0; // where the current statement's text starts
  let current: Token[] = [];
  for (const tok of all) {
    if (tok.kind !== ';') {
      current.push(tok);
      continue;
    }
    if (current.length > 0 && isTrigger(current)) {
      // Inside a trigger, only "; END ;" ends it: the ";" must follow END, which must follow a ";".
      const last = current[current.length - 1]!;
      const before = current[current.length - 2];
      if (!(last.kind === 'word' && last.text === 'END' && before?.kind === ';')) {
        current.push(tok);
        continue;
      }
    }
    if (current.length > 0) statements.push(sql.slice(from, tok.start).trim());
    current = [];
    from = tok.end;
  }
  if (current.length > 0) statements.push(sql.slice(from).trim());
  return { statements, complete: current.length === 0 };
}
