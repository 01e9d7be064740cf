// `d1_databases = [{ binding = "DB", database_name = "my-db", database_id = "..." }]`: the wrangler section that
// grants D1 databases of the host's SQL store.
import type { ManifestSection } from '../../core/manifest.ts';
import { SQL_DATABASE_ID_RE } from '../../../storage/sql/sql-types.ts';

/** A D1 grant's settings: the database of this host that the binding names. */
export interface D1Grant extends Record<string, unknown> {
  /** The store's database: `database_id`, or `database_name` when there is no id. */
  id: string;
  /** `database_name`, as the CLI names the database. */
  name: string;
  /** Where the worker's migrations are (`migrations_dir`, default `migrations`), relative to the manifest. */
  migrationsDir: string;
  /** The table that records the migrations applied (`migrations_table`, default `d1_migrations`). */
  migrationsTable: string;
}

const EXAMPLE = 'd1_databases = [{ binding = "DB", database_name = "my-db", database_id = "my-db" }]';
const TABLE_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const d1Section: ManifestSection = {
  key: 'd1_databases',
  parse(value, ctx) {
    return ctx
      .entries('d1_databases', value, ['binding', 'database_name', 'database_id', 'preview_database_id', 'migrations_dir', 'migrations_table', 'database_internal_env', 'remote', 'experimental_remote'], EXAMPLE)
      .map(({ key, item }) => {
        const binding = ctx.bindingName(key, item['binding'], 'DB');
        const name = item['database_name'];
        const id = item['database_id'];
        if (name === undefined && id === undefined) throw ctx.invalid(`${key}.database_name`, `\`${key}\` names no database: give \`database_name\` (and \`database_id\`), as in ${EXAMPLE}`);
        for (const [k, v] of [['database_name', name], ['database_id', id], ['preview_database_id', item['preview_database_id']]] as const) {
          if (v !== undefined && (typeof v !== 'string' || !SQL_DATABASE_ID_RE.test(v))) throw ctx.expected(`${key}.${k}`, 'a database name or id of letters, digits, "_", "." and "-" (at most 63)', v);
        }
        const migrationsDir = item['migrations_dir'] ?? 'migrations';
        if (typeof migrationsDir !== 'string' || migrationsDir === '' || migrationsDir.includes('\0')) throw ctx.expected(`${key}.migrations_dir`, 'a directory path', migrationsDir);
        const migrationsTable = item['migrations_table'] ?? 'd1_migrations';
        if (typeof migrationsTable !== 'string' || !TABLE_RE.test(migrationsTable)) throw ctx.expected(`${key}.migrations_table`, 'a table name (letters, digits and "_")', migrationsTable);
        for (const k of ['remote', 'experimental_remote'] as const) {
          if (item[k] !== undefined && typeof item[k] !== 'boolean') throw ctx.expected(`${key}.${k}`, 'a boolean', item[k]);
        }
        const settings: D1Grant = { id: (id ?? name) as string, name: (name ?? id) as string, migrationsDir, migrationsTable };
        return { binding, settings, key };
      });
  },
};
