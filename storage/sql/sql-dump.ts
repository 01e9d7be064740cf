// A database as SQL text, as `wrangler d1 export` writes it (SQLite shell's .dump, as D1 adapted it): for each table
// its CREATE then its rows as INSERTs, AUTOINCREMENT counters (sqlite_sequence), then views, indexes and triggers.
// Built only on the SqlDatabaseHandle API, so it reads what a worker would: rows come in pages of `pageRows` (under the
// rows-per-query limit), each value written by SQLite's own quote() so that REALs, text and BLOBs round-trip exactly.
import type { SqlDatabaseHandle, SqlValue } from './sql-types.ts';

export interface SqlDumpOptions {
  /** Rows only (`--no-schema`). */
  noSchema?: boolean;
  /** Schema only (`--no-data`). */
  noData?: boolean;
  /** Only these tables (with their indexes and triggers) or views; empty: all. */
  tables?: readonly string[];
  /** Rows per query (default 1000). */
  pageRows?: number;
  /** Attempts before giving up on a database that keeps changing while it is read (default 3). */
  attempts?: number;
}

export type SqlDumpErrorReason = 'invalid-options' | 'unknown-table' | 'virtual-table' | 'changing';

/** An export that cannot be made: `reason` says which way. */
export class SqlDumpError extends Error {
  readonly reason: SqlDumpErrorReason;
  constructor(reason: SqlDumpErrorReason, message: string) {
    super(message);
    this.name = 'SqlDumpError';
    this.reason = reason;
  }
}

interface SchemaEntry { type: string; name: string; tblName: string; sql: string }

/** `"name"`, with inner quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function text(v: SqlValue | undefined): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

/**
 * The SQL text of `db` (statements one per line, each ending in ";"). The pages of rows are separate reads, so the
 * export is retried when a write lands between them (the bookmark moved): what it returns is one state of the database.
 */
export async function dumpSql(db: SqlDatabaseHandle, options: SqlDumpOptions = {}): Promise<string> {
  if (options.noSchema && options.noData) throw new SqlDumpError('invalid-options', 'an export with neither schema nor data would be empty: give at most one of no-schema and no-data');
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const before = db.bookmark();
    const statements = await dumpOnce(db, options);
    if (db.bookmark() === before) return statements.join('\n') + '\n';
    if (attempt >= attempts) {
      throw new SqlDumpError('changing', `database ${db.id} was written to during each of ${attempts} attempts to export it; export it when writes pause`);
    }
  }
}

async function dumpOnce(db: SqlDatabaseHandle, options: SqlDumpOptions): Promise<string[]> {
  const pageRows = options.pageRows ?? 1000;
  const schema = (
    await db.query({
      sql: "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY tbl_name = 'sqlite_sequence', rowid",
      params: [],
    })
  ).rows.map((r): SchemaEntry => ({ type: text(r[0]), name: text(r[1]), tblName: text(r[2]), sql: text(r[3]) }));

  const filter = new Set(options.tables ?? []);
  if (filter.size > 0) {
    const known = new Set(schema.filter((e) => e.type === 'table' || e.type === 'view').map((e) => e.name));
    const missing = [...filter].filter((t) => !known.has(t));
    if (missing.length > 0) {
      const names = [...known].filter((n) => !n.startsWith('sqlite_') && !n.startsWith('_cf_'));
      throw new SqlDumpError('unknown-table', `database ${db.id} has no table ${missing.map((m) => `"${m}"`).join(', ')} (its tables and views: ${names.length ? names.join(', ') : 'none'})`);
    }
  }
  const included = (name: string) => filter.size === 0 || filter.has(name);

  const withoutRowid = new Set(
    (await db.query({ sql: "SELECT name FROM pragma_table_list WHERE schema = 'main' AND wr = 1", params: [] })).rows.map((r) => text(r[0])),
  );

  // D1 writes this first: rows go in table by table, so a foreign key may point at a row that comes later.
  const out: string[] = ['PRAGMA defer_foreign_keys=TRUE;'];
  for (const entry of schema) {
    if (entry.type !== 'table' || !included(entry.name)) continue;
    if (entry.name === 'sqlite_sequence') {
      // The AUTOINCREMENT counters: replaced as a whole, as the shell's dump does (written with the data, so that a
      // data-only import does not add a second row per table).
      if (options.noData) continue;
      out.push('DELETE FROM sqlite_sequence;');
      out.push(...(await tableRows(db, entry.name, false, pageRows)));
      continue;
    }
    // sqlite_stat1 and the like are SQLite's own; _cf_ tables are D1's.
    if (entry.name.startsWith('sqlite_') || entry.name.startsWith('_cf_')) continue;
    if (/^CREATE\s+VIRTUAL\s+TABLE/i.test(entry.sql)) {
      throw new SqlDumpError('virtual-table', `table "${entry.name}" is a virtual table, which an export cannot recreate (as on D1); leave it out with a table filter`);
    }
    if (!options.noSchema) {
      // SQLite's shell (and D1) write a table created under a quoted name with IF NOT EXISTS.
      out.push(/^CREATE TABLE ['"]/.test(entry.sql) ? `CREATE TABLE IF NOT EXISTS ${entry.sql.slice(13)};` : `${entry.sql};`);
    }
    if (!options.noData) out.push(...(await tableRows(db, entry.name, withoutRowid.has(entry.name), pageRows)));
  }
  if (!options.noSchema) {
    // Views before triggers (an INSTEAD OF trigger is on a view), triggers after the rows (they must not fire on them).
    for (const type of ['view', 'index', 'trigger']) {
      for (const entry of schema) if (entry.type === type && included(entry.tblName)) out.push(`${entry.sql};`);
    }
  }
  return out;
}

/** A table's rows as INSERT statements, read in pages: by rowid when the table has one, else by primary key. */
async function tableRows(db: SqlDatabaseHandle, table: string, withoutRowid: boolean, pageRows: number): Promise<string[]> {
  const columns = (await db.query({ sql: 'SELECT name, pk FROM pragma_table_info(?) ORDER BY cid', params: [table] })).rows.map((r) => ({
    name: text(r[0]),
    pk: Number(r[1]),
  }));
  const names = columns.map((c) => quoteIdentifier(c.name));
  const insert = `INSERT INTO ${quoteIdentifier(table)} (${names.join(',')}) VALUES(`;
  const quoted = columns.map((c) => `quote(${quoteIdentifier(c.name)})`).join(', ');
  const from = quoteIdentifier(table);
  const taken = new Set(columns.map((c) => c.name.toLowerCase()));
  const rowid = withoutRowid ? undefined : ['rowid', '_rowid_', 'oid'].find((a) => !taken.has(a));
  const out: string[] = [];

  if (rowid !== undefined) {
    // Keyset pages: each query starts after the last rowid seen.
    let after: SqlValue | undefined;
    for (;;) {
      const page = await db.query(
        after === undefined
          ? { sql: `SELECT ${rowid}, ${quoted} FROM ${from} ORDER BY ${rowid} LIMIT ${pageRows}`, params: [] }
          : { sql: `SELECT ${rowid}, ${quoted} FROM ${from} WHERE ${rowid} > ? ORDER BY ${rowid} LIMIT ${pageRows}`, params: [after] },
      );
      for (const row of page.rows) out.push(`${insert}${row.slice(1).map(text).join(',')});`);
      if (page.rows.length < pageRows) return out;
      after = page.rows[page.rows.length - 1]![0]!;
    }
  }
  // WITHOUT ROWID (or every rowid alias is a column name): pages by offset, in primary key order.
  const order = columns
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => quoteIdentifier(c.name));
  const orderBy = order.length > 0 ? ` ORDER BY ${order.join(', ')}` : '';
  for (let offset = 0; ; offset += pageRows) {
    const page = await db.query({ sql: `SELECT ${quoted} FROM ${from}${orderBy} LIMIT ${pageRows} OFFSET ${offset}`, params: [] });
    for (const row of page.rows) out.push(`${insert}${row.map(text).join(',')});`);
    if (page.rows.length < pageRows) return out;
  }
}
