// `edge d1 list|execute|export|migrations`: a running host's D1 databases through its admin API, as `wrangler d1 ...`
// does for Cloudflare's (with `--local`): SQL run from the command line or a file, exports as SQL text, and migrations
// (files in the database's migrations_dir, applied once each and recorded in its migrations table).

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Command, Option } from 'commander';
import { AdminApiError, type AdminClient, type D1Rows, type D1Statement } from './admin-client.ts';
import { resolveD1Target, type D1Target } from './d1-target.ts';
import { nested, printJsonFlushed, StorageCliError, writeText } from './kv.ts';
import { paint } from './output.ts';
import { adminClientFrom, jsonOption, withClientOptions, type ClientOptions } from './options.ts';
import { splitSql } from './sql-statements.ts';
import { SQL_LIMITS } from '../../storage/sql/sql-types.ts';

type TargetOpts = ClientOptions & { config?: string };

/** At most this much SQL per batch request (the admin API takes 32 MiB bodies; JSON escaping can double some text). */
const BATCH_SQL_BYTES = 8 * 1024 * 1024;

/** --config, and wrangler's --local (accepted so that `wrangler d1 ... --local` command lines work: every database is local here). */
function withConfig(cmd: Command): Command {
  return cmd
    .addOption(new Option('-c, --config <file>', 'the wrangler.toml / wrangler.json that declares <database> (default: the one in the current directory)'))
    .addOption(new Option('--local', "accepted for wrangler's command lines (the host's databases are all local)"));
}

function target(db: string, opts: { config?: string }): Promise<D1Target> {
  return resolveD1Target(db, opts.config === undefined ? {} : { config: opts.config });
}

async function exists(client: AdminClient, id: string): Promise<boolean> {
  return (await client.d1List()).databases.some((d) => d.id === id);
}

/** Errors for a database the manifest does not declare and the host does not have (a typo, most likely). */
function unknownDatabase(t: D1Target, client: AdminClient): StorageCliError {
  const declared = t.manifestPath ? `${relative(process.cwd(), t.manifestPath) || t.manifestPath} declares ${t.declared.length ? t.declared.join(', ') : 'no d1_databases'}` : 'no wrangler.toml / wrangler.json here declares it';
  return new StorageCliError('E_D1_DATABASE_UNKNOWN', `no D1 database "${t.id}" on the host at ${client.adminUrl} (${declared}; \`edge d1 list\` shows the host's databases)`, { database: t.id });
}

/** A SQL file's text (without a byte order mark, which SQLite would not read). */
async function readSqlFile(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  } catch (e) {
    throw new StorageCliError('E_FILE_INVALID', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}

// ---- tables ------------------------------------------------------------------------------------------------

/** A value as a table shows it: null as `null`, a BLOB as its bytes `[1, 2]`, control characters escaped. */
function cell(v: number | string | null | number[]): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v).replace(/[\u0000-\u001f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * A table with box-drawing borders, as wrangler prints query results. Drawn here (a dozen lines) rather than with
 * cli-table3, which the project does not depend on; widths count code points, so wide characters misalign.
 */
export function boxTable(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}\n`;
  const row = (cells: string[]) => `│${widths.map((w, i) => ` ${cells[i] ?? ''}${' '.repeat(w - width(cells[i] ?? ''))} `).join('│')}│\n`;
  return line('┌', '┬', '┐') + row(header) + line('├', '┼', '┤') + rows.map(row).join('') + line('└', '┴', '┘');
}

function resultTable(r: D1Rows): string {
  return boxTable(r.columns, r.rows.map((row) => row.map(cell)));
}

/** A result as `wrangler d1 execute --json` prints it: rows as objects, D1's meta names. */
function wranglerJson(r: D1Rows): unknown {
  const results = r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null])));
  const m = r.meta;
  return {
    results,
    success: true,
    meta: { duration: m.durationMs, changes: m.changes, last_row_id: m.lastRowId, changed_db: m.changedDb, size_after: m.sizeAfter, rows_read: m.rowsRead, rows_written: m.rowsWritten },
  };
}

// ---- execute -----------------------------------------------------------------------------------------------

/** Statements grouped into batches under the host's limits (statements per batch, request size). */
function batches(statements: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const s of statements) {
    const size = Buffer.byteLength(s);
    if (cur.length > 0 && (cur.length >= SQL_LIMITS.batchStatements || bytes + size > BATCH_SQL_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(s);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function excerpt(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}

function executeCommand(): Command {
  type Opts = TargetOpts & { command?: string; file?: string; json?: boolean };
  const cmd: Command = withConfig(
    withClientOptions(
      new Command('execute')
        .summary('run SQL on a database')
        .description(
          'Run the SQL of --command or --file on <database>: each statement in turn, all of them in one transaction (a file of more than ' +
            `${SQL_LIMITS.batchStatements} statements or ${BATCH_SQL_BYTES / 1024 / 1024} MiB runs as several), printing the rows each one returns. ` +
            '<database> is a binding or database_name of d1_databases in the wrangler.toml/json of the current directory (or --config), else a database id.',
        )
        .argument('<database>', 'binding, database_name or database id'),
    ),
  )
    .addOption(new Option('--command <sql>', 'the SQL to run (one or more statements)'))
    .addOption(new Option('--file <path>', 'a file of SQL to run (an export, a seed, a schema)').conflicts('command'))
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  $ edge d1 execute DB --command "SELECT * FROM todos"
  $ edge d1 execute todo-db --file seed.sql
  $ edge d1 execute DB --command "SELECT count(*) AS n FROM todos" --json`,
    )
    .action(async (db: string, opts: Opts) => {
      if (opts.command === undefined && opts.file === undefined) cmd.error('error: give the SQL to run with --command "<sql>" or --file <path>');
      const t = await target(db, opts);
      const sql = opts.command ?? (await readSqlFile(opts.file!, '--file'));
      const { statements } = splitSql(sql);
      if (statements.length === 0) throw new StorageCliError('E_D1_NO_SQL', `${opts.file !== undefined ? opts.file : '--command'} holds no SQL statement (only whitespace and comments)`, opts.file !== undefined ? { file: opts.file } : undefined);
      const client = await adminClientFrom(opts);
      if (t.binding === undefined && !(await exists(client, t.id))) {
        process.stderr.write(`${paint('yellow', 'note', process.stderr)} database "${t.id}" does not exist on this host yet and is created now (no manifest here declares it)\n`);
      }
      const groups = batches(statements);
      if (groups.length > 1) process.stderr.write(`${paint('yellow', 'note', process.stderr)} ${statements.length} statements run as ${groups.length} transactions of at most ${SQL_LIMITS.batchStatements}\n`);
      const results: D1Rows[] = [];
      const started = performance.now();
      let offset = 0;
      for (const group of groups) {
        try {
          if (group.length === 1) results.push(await client.d1Query(t.id, { sql: group[0]! }));
          else results.push(...(await client.d1Batch(t.id, group.map((s): D1Statement => ({ sql: s })))));
        } catch (e) {
          if (!(e instanceof AdminApiError) || e.code !== 'E_D1_SQL') throw e;
          // The store names the failing statement of a batch, except one refused before any ran (BEGIN, ATTACH...).
          const at = typeof e.details?.['statement'] === 'number' ? e.details['statement'] : group.length === 1 ? 1 : undefined;
          const n = at === undefined ? undefined : offset + at;
          const which = n !== undefined ? `statement ${n}${statements.length > 1 ? ` of ${statements.length}` : ''}` : `one of statements ${offset + 1} to ${offset + group.length}`;
          throw new StorageCliError(e.code, `${which} failed: ${e.message}`, {
            ...e.details,
            ...(n !== undefined ? { statement: n, sql: excerpt(statements[n - 1] ?? '') } : {}),
            ...(opts.file !== undefined ? { file: opts.file } : {}),
            ...(offset > 0 ? { applied: `statements 1 to ${offset} were applied by earlier transactions` } : {}),
          });
        }
        offset += group.length;
      }
      if (opts.json) return printJsonFlushed(results.map(wranglerJson));
      let out = '';
      for (const r of results) if (r.columns.length > 0) out += resultTable(r);
      const read = results.reduce((n, r) => n + r.meta.rowsRead, 0);
      const written = results.reduce((n, r) => n + r.meta.rowsWritten, 0);
      const ms = Math.round(performance.now() - started);
      out += `${paint('green', 'executed')} ${statements.length} command${statements.length === 1 ? '' : 's'} on ${t.label} in ${ms} ms (${read} row${read === 1 ? '' : 's'} read, ${written} row${written === 1 ? '' : 's'} written)\n`;
      await writeText(out);
    });
  return cmd;
}

// ---- export ------------------------------------------------------------------------------------------------

function exportCommand(): Command {
  type Opts = TargetOpts & { output?: string; data: boolean; schema: boolean; table: string[] };
  const cmd: Command = withConfig(
    withClientOptions(
      new Command('export')
        .summary('write a database out as SQL')
        .description(
          'Write <database> as SQL text, as `wrangler d1 export` does: for each table its CREATE TABLE and its rows as INSERTs, then ' +
            'views, indexes and triggers. `edge d1 execute <other> --file` reads it back. Databases with virtual tables cannot be exported.',
        )
        .argument('<database>', 'binding, database_name or database id'),
    ),
  )
    .addOption(new Option('--output <file>', 'write to this file (default: stdout)'))
    .addOption(new Option('--no-data', 'only the schema'))
    .addOption(new Option('--no-schema', 'only the rows (INSERTs)'))
    .addOption(new Option('--table <name>', 'only this table (with its indexes and triggers); repeat for more').argParser((v: string, prev: string[] = []) => [...prev, v]).default([]))
    .addHelpText('after', '\nExamples:\n  $ edge d1 export DB --output backup.sql\n  $ edge d1 export todo-db --table todos --no-schema --output rows.sql\n  $ edge d1 execute restored-db --file backup.sql')
    .action(async (db: string, opts: Opts) => {
      if (!opts.data && !opts.schema) cmd.error('error: --no-data and --no-schema together would export nothing; give at most one');
      const t = await target(db, opts);
      const client = await adminClientFrom(opts);
      if (!(await exists(client, t.id))) throw unknownDatabase(t, client);
      const text = await client.d1Export(t.id, { noData: !opts.data, noSchema: !opts.schema, tables: opts.table });
      if (opts.output === undefined) return writeText(text);
      try {
        await writeFile(opts.output, text);
      } catch (e) {
        throw new StorageCliError('E_FILE_INVALID', `cannot write --output ${opts.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: opts.output });
      }
      await writeText(`${paint('green', 'exported')} ${t.label} to ${opts.output} (${Buffer.byteLength(text)} bytes of SQL)\n`);
    });
  return cmd;
}

// ---- list --------------------------------------------------------------------------------------------------

function listCommand(): Command {
  return withClientOptions(new Command('list').summary("list the host's databases").description('List the D1 databases of the host: every database a worker, `edge d1 execute` or a migration has used.'))
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge d1 list\n  $ edge d1 list --json')
    .action(async (opts: ClientOptions & { json?: boolean }) => {
      const { databases } = await (await adminClientFrom(opts)).d1List();
      if (opts.json) return printJsonFlushed({ databases });
      if (databases.length === 0) return writeText('no D1 databases on this host\n');
      await writeText(boxTable(['id'], databases.map((d) => [d.id])));
    });
}

// ---- migrations --------------------------------------------------------------------------------------------

const MIGRATION_FILE_RE = /\.sql$/i;

/** The migration files, in the order they apply (by name: the 4-digit numbers sort). */
async function migrationFiles(t: D1Target): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(t.migrationsDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const from = t.binding !== undefined ? `migrations_dir of ${t.binding}` : 'the default, as no manifest here declares the database';
      throw new StorageCliError(
        'E_D1_MIGRATIONS_DIR',
        `no migrations directory ${relative(process.cwd(), t.migrationsDir) || t.migrationsDir} for ${t.label} (${from}); create the first migration with \`edge d1 migrations create ${t.binding ?? t.id} <message>\``,
        { database: t.id, migrationsDir: t.migrationsDir },
      );
    }
    throw e;
  }
  return names.filter((n) => MIGRATION_FILE_RE.test(n)).sort();
}

/** The migrations recorded as applied (none when the table is not there yet). */
async function appliedMigrations(client: AdminClient, t: D1Target): Promise<Set<string>> {
  const table = await client.d1Query(t.id, { sql: "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", params: [t.migrationsTable] });
  if (table.rows[0]?.[0] === 0) return new Set();
  const rows = await client.d1Query(t.id, { sql: `SELECT name FROM ${quoteName(t.migrationsTable)} ORDER BY id` });
  return new Set(rows.rows.map((r) => String(r[0])));
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function createMigrationCommand(): Command {
  return withConfig(
    new Command('create')
      .summary('create a new migration file')
      .description('Create <migrations_dir>/NNNN_<message>.sql for <database>, NNNN the next 4-digit number, with a header comment; write its SQL, then `edge d1 migrations apply`.')
      .argument('<database>', 'binding, database_name or database id')
      .argument('<message>', 'what the migration does, e.g. "create users" (spaces become _)'),
  )
    .addHelpText('after', '\nExamples:\n  $ edge d1 migrations create DB create_todos\n  $ edge d1 migrations create DB "add index on title"')
    .action(async (db: string, message: string, opts: { config?: string }) => {
      const t = await target(db, opts);
      const slug = message.trim().replace(/\s+/g, '_');
      if (slug === '' || /[/\\\0]/.test(slug)) throw new StorageCliError('E_D1_MIGRATION_NAME', `${JSON.stringify(message)} cannot name a migration file: give words without "/" or "\\"`, { message });
      await mkdir(t.migrationsDir, { recursive: true });
      const numbers = (await readdir(t.migrationsDir)).map((n) => /^(\d+)_.*\.sql$/i.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]));
      const next = String(Math.max(0, ...numbers) + 1).padStart(4, '0');
      const file = join(t.migrationsDir, `${next}_${slug}.sql`);
      try {
        await writeFile(file, `-- Migration number: ${next} \t ${new Date().toISOString()}\n`, { flag: 'wx' });
      } catch (e) {
        throw new StorageCliError('E_FILE_INVALID', `cannot create ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
      }
      await writeText(`${paint('green', 'created')} ${relative(process.cwd(), file) || file}\n`);
    });
}

function listMigrationsCommand(): Command {
  return withConfig(
    withClientOptions(
      new Command('list')
        .summary('list the migrations not applied yet')
        .description("List the files of <database>'s migrations_dir that its migrations table does not record as applied, in the order `apply` would run them.")
        .argument('<database>', 'binding, database_name or database id'),
    ),
  )
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge d1 migrations list DB')
    .action(async (db: string, opts: TargetOpts & { json?: boolean }) => {
      const t = await target(db, opts);
      const files = await migrationFiles(t);
      const client = await adminClientFrom(opts);
      // A database that does not exist yet has applied nothing (and is not created by looking).
      const applied = (await exists(client, t.id)) ? await appliedMigrations(client, t) : new Set<string>();
      const pending = files.filter((f) => !applied.has(f));
      if (opts.json) return printJsonFlushed({ database: t.id, migrationsDir: t.migrationsDir, pending });
      if (pending.length === 0) return writeText(`no migrations to apply to ${t.label}\n`);
      await writeText(`migrations to apply to ${t.label}:\n${boxTable(['name'], pending.map((f) => [f]))}`);
    });
}

function applyMigrationsCommand(): Command {
  return withConfig(
    withClientOptions(
      new Command('apply')
        .summary('apply the migrations not applied yet')
        .description(
          "Apply each migration of <database>'s migrations_dir that is not recorded yet, in order: the file's SQL and its record in the " +
            'migrations table (wrangler\'s d1_migrations) in one transaction, so each applies once. Stops at the first that fails, leaving those before it applied.',
        )
        .argument('<database>', 'binding, database_name or database id'),
    ),
  )
    .addHelpText('after', '\nExamples:\n  $ edge d1 migrations apply DB\n  $ edge d1 migrations apply DB --config path/to/wrangler.toml')
    .action(async (db: string, opts: TargetOpts) => {
      const t = await target(db, opts);
      const files = await migrationFiles(t);
      const client = await adminClientFrom(opts);
      if (t.binding === undefined && !(await exists(client, t.id))) {
        process.stderr.write(`${paint('yellow', 'note', process.stderr)} database "${t.id}" does not exist on this host yet and is created now (no manifest here declares it)\n`);
      }
      const table = quoteName(t.migrationsTable);
      await client.d1Query(t.id, { sql: `CREATE TABLE IF NOT EXISTS ${table}(\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  name TEXT UNIQUE,\n  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n)` });
      const applied = await appliedMigrations(client, t);
      const pending = files.filter((f) => !applied.has(f));
      if (pending.length === 0) return writeText(`no migrations to apply to ${t.label}\n`);
      let done = 0;
      for (const file of pending) {
        const sql = await readSqlFile(join(t.migrationsDir, file), 'migration');
        const split = splitSql(sql);
        // The record goes after the file's last statement, which may lack its ";".
        const body = `${sql}${split.complete ? '' : '\n;'}\nINSERT INTO ${table} (name) VALUES (${sqlString(file)});\n`;
        try {
          await client.d1Exec(t.id, body);
        } catch (e) {
          if (!(e instanceof AdminApiError) || e.code !== 'E_D1_SQL') throw e;
          const n = typeof e.details?.['statement'] === 'number' ? e.details['statement'] : undefined;
          const recording = n !== undefined && n > split.statements.length;
          await writeText(`${paint('red', 'failed')}  ${file}\n`);
          throw new StorageCliError(
            'E_D1_MIGRATION_FAILED',
            recording
              ? `migration ${file} could not be recorded in ${t.migrationsTable} (${e.message}); was it applied at the same time by another \`migrations apply\`?`
              : `migration ${file} failed: ${e.message}${n !== undefined ? ` (statement ${n})` : ''}; ${done} migration${done === 1 ? '' : 's'} before it applied, it and the ones after it not`,
            { database: t.id, migration: join(relative(process.cwd(), t.migrationsDir) || '.', file), ...(n !== undefined ? { statement: n } : {}) },
          );
        }
        done++;
        await writeText(`${paint('green', 'applied')} ${file}\n`);
      }
      await writeText(`${done} migration${done === 1 ? '' : 's'} applied to ${t.label}\n`);
    });
}

export function d1Command(): Command {
  const migrations = nested(
    new Command('migrations')
      .summary('create, list and apply migrations')
      .description("Migrations are the .sql files of a database's migrations_dir (default migrations/, beside the manifest), applied in name order, each once."),
    [createMigrationCommand(), listMigrationsCommand(), applyMigrationsCommand()],
  );
  return nested(
    new Command('d1')
      .summary("query, export and migrate a running host's D1 databases")
      .description(
        'Work with the D1 databases of a running host through its admin API. <database> is a binding or database_name of d1_databases in the ' +
          'wrangler.toml/json of the current directory (or --config), which also gives migrations_dir and migrations_table; otherwise it is the database id.',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  $ edge d1 list\n  $ edge d1 execute DB --command "SELECT * FROM todos"\n  $ edge d1 migrations create DB create_todos\n  $ edge d1 migrations apply DB\n  $ edge d1 export DB --output backup.sql',
      ),
    [listCommand(), executeCommand(), exportCommand(), migrations],
  );
}
