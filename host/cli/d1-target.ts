// Which database `edge d1 <command> <db>` means, as wrangler decides it: a `d1_databases` entry of the manifest in the
// current directory (or --config) whose `binding` or `database_name` is <db> gives its id and its migrations; with no
// manifest or no such entry, <db> is the database id itself.
import { readFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { grantsOfType } from '../core/manifest.ts';
import { findManifest, parseManifestText, type DeployManifest } from '../deploy/manifest.ts';
import type { D1Grant } from '../bindings/d1/d1-section.ts';
import { SQL_DATABASE_ID_RE } from '../../storage/sql/sql-types.ts';
import { StorageCliError } from './kv.ts';

export interface D1Target {
  /** The store's database id. */
  id: string;
  /** How the commands name it: `DB (todo-db)`, or the id alone when no manifest declares it. */
  label: string;
  /** The manifest entry it comes from, if any. */
  binding?: string;
  /** Absolute path of the migrations directory (`migrations_dir`, relative to the manifest; `migrations` otherwise). */
  migrationsDir: string;
  migrationsTable: string;
  /** The manifest file read (absolute), if any. */
  manifestPath?: string;
  /** The databases the manifest declares, for messages: `DB → todo-db`. */
  declared: string[];
}

async function readManifest(config: string | undefined, cwd: string): Promise<{ manifest: DeployManifest; path: string } | null> {
  if (config !== undefined) {
    const path = resolve(cwd, config);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new EdgeError('E_MANIFEST_NOT_FOUND', `cannot read --config ${config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { details: { file: path } });
    }
    return { manifest: parseManifestText(text, basename(path)), path };
  }
  try {
    const found = await findManifest(cwd);
    return { manifest: parseManifestText(found.text, found.fileName), path: found.path };
  } catch (e) {
    if (e instanceof EdgeError && e.code === 'E_MANIFEST_NOT_FOUND') return null;
    throw e;
  }
}

/** Resolves <db> against the manifest in `cwd` (or `config`). Throws E_D1_DATABASE_UNKNOWN when it can be neither. */
export async function resolveD1Target(db: string, options: { config?: string; cwd?: string } = {}): Promise<D1Target> {
  const cwd = options.cwd ?? process.cwd();
  const found = await readManifest(options.config, cwd);
  const grants = found ? grantsOfType(found.manifest, 'd1') : [];
  const declared = grants.map((g) => `${g.binding} → ${(g.settings as D1Grant).id}`);
  const match = grants.find((g) => g.binding === db || (g.settings as D1Grant).name === db) ?? grants.find((g) => (g.settings as D1Grant).id === db);
  if (found && match) {
    const s = match.settings as D1Grant;
    return {
      id: s.id,
      label: `${match.binding} (${s.id})`,
      binding: match.binding,
      migrationsDir: resolve(dirname(found.path), s.migrationsDir),
      migrationsTable: s.migrationsTable,
      manifestPath: found.path,
      declared,
    };
  }
  if (!SQL_DATABASE_ID_RE.test(db)) {
    const where = found ? `${relative(cwd, found.path) || found.path} declares ${declared.length ? declared.join(', ') : 'no d1_databases'}` : `there is no wrangler.toml / wrangler.json in ${cwd}`;
    throw new StorageCliError('E_D1_DATABASE_UNKNOWN', `"${db}" is no D1 database: not a binding or database_name (${where}), nor a database id (letters, digits, "_", "." and "-", at most 63)`, {
      database: db,
    });
  }
  return {
    id: db,
    label: db,
    migrationsDir: resolve(cwd, 'migrations'),
    migrationsTable: 'd1_migrations',
    ...(found ? { manifestPath: found.path } : {}),
    declared,
  };
}
